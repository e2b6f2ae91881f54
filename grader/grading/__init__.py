"""Grading one submission on a worker: the session, what a check sees, each check's verdict.

The only package that joins assignments (``grader.authoring``, the catalog of courses) and the
runner. Imports authoring, runner, numeric, data, options and outcomes.
"""
