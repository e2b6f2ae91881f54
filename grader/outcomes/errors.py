"""Every exception the grader raises on purpose, under one root, and the exit codes.

``UsageError`` is what a person can fix (a missing folder, an unknown assignment, no data): the
command line prints its one line and exits 2. ``StudentProblem`` and ``CheckFailed`` (in
``grader.numeric``) become a check's outcome and never reach the command line. Anything else
that reaches it is the grader's own failure: a crash report.
"""

from __future__ import annotations

from enum import IntEnum

from grader.outcomes.results import Outcome


class ExitCode(IntEnum):
    OK = 0  # the work was done, whatever the scores
    FAILED = 1  # not all done: a submission needs a regrade, strict isolation is impossible
    USAGE = 2  # a usage error, said in one line
    CRASH = 70  # the grader itself failed (sysexits' EX_SOFTWARE); a report says where
    INTERRUPTED = 130  # Ctrl-C, as shells report a SIGINT


class GraderError(Exception):
    """The root of every exception the grader raises on purpose."""


class UsageError(GraderError):
    """A problem the user can fix: the message is one line saying how."""


class GraderFault(GraderError):
    """The grader's own failure while it grades one submission (its worker could not fork or
    was lost, a check crashed): the submission is not at fault, so no score comes of it."""


class Interrupted(GraderError):
    """Ctrl-C: the message says what was kept and how to go on."""


class StudentProblem(GraderError):
    """The student's code did not produce a result; ``outcome`` says which way, and ``cause``
    what every check it fails shares (the exception and where it was raised)."""

    outcome = Outcome.ERROR

    def __init__(self, message: str, hint: str = "", cause: str = "") -> None:
        super().__init__(message)
        self.message, self.hint, self.cause = message, hint, cause or message


class StudentError(StudentProblem):
    outcome = Outcome.ERROR


class StudentTimeout(StudentProblem):
    outcome = Outcome.TIMEOUT


class NotImplementedByStudent(StudentProblem):
    outcome = Outcome.MISSING
