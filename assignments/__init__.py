"""Assignments: one package each, declaring an ``assignment`` with its checks and points."""
