"""Trusted reference solutions for the chapter 3 assignments, in the book's PyTorch style."""
