"""How the grader measures: tolerances, comparisons in numbers, named mistakes, derivatives.

Imports ``grader.outcomes`` only (its failures are ``CheckFailed``, a ``GraderError``).
"""
