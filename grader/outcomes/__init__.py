"""What the grader says: results, statuses, the score, the schema of a check's result, errors.

The bottom layer: it imports nothing else of grader, and no torch, so the gradebook and the
reports can read results without loading a tensor library.
"""
