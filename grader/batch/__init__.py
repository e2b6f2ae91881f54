"""Grading a class: finding its submissions, executors that grade them (local slots or Ray),
the run that stores each result in the gradebook, its progress on the terminal, fingerprints.

Imports grading, gradebook and below; never reports.
"""
