"""``python -m grader``: the command line, as the ``grader`` script runs it."""

from grader.cli import run

run()
