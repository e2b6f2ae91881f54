"""Typed results: what a check, a submission and a stored run come to, and how they score."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum
from typing import Any

HIDDEN_MESSAGE = "this hidden check failed; its inputs are not shown"


class Outcome(str, Enum):
    PASSED = "passed"
    FAILED = "failed"  # the code ran and its result is wrong
    ERROR = "error"  # the code raised, crashed, or could not be imported
    TIMEOUT = "timeout"  # killed at the check's time limit
    MISSING = "missing"  # the function is absent or still raises NotImplementedError
    SKIPPED = "skipped"  # not applicable here (no GPU); counts towards no score

    def __str__(self) -> str:
        return self.value


# Checks that count towards neither the score nor the maximum (device checks without a GPU).
UNCOUNTED = frozenset({Outcome.SKIPPED})


class RunStatus(str, Enum):
    """How grading a submission ended, as the gradebook stores it."""

    GRADED = "graded"  # its checks ran; the score stands
    # nothing of it ran: no file or a misnamed one, a syntax error, an import that failed, a
    # corrupt zip, a notebook that is not one; ``reason`` says which, in one sentence
    NOT_RUN = "not_run"
    TIMED_OUT = "timed_out"  # its import, or its time budget, ran out; what ran is scored
    CRASHED = "crashed"  # its code killed the process it ran in on import: nothing else ran
    # The grader's own failure (a fork refused, a worker or slot lost, a check that crashed, a
    # disk full): no score; it needs a regrade, which the next batch does by itself.
    INFRASTRUCTURE_ERROR = "infrastructure_error"
    ERROR = "error"  # stored by gradebooks before not_run existed; reports read it as not_run

    def __str__(self) -> str:
        return self.value


class Category(str, Enum):
    CORRECTNESS = "correctness"
    GRADIENT = "gradient"
    STABILITY = "stability"
    SEMANTICS = "semantics"
    TRAINING = "training"
    PERFORMANCE = "performance"
    RULES = "rules"
    DEVICE = "device"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class CheckResult:
    id: str
    function: str
    category: Category
    status: Outcome
    points: float
    max_points: float
    title: str  # the check's one-line docstring: what it proves
    message: str = ""  # what was tried and what came out, in numbers
    hint: str = ""  # the likely mistake, where the failure matches a known one
    duration: float = 0.0  # seconds
    hidden: bool = False
    # Checks of one function that did not pass for the same reason (one exception at one place in
    # the student's code, one named mistake) share this id; "" for a pass or a skip.
    cause: str = ""
    # A failed check's wrong answer as a digest (never the answer): two submissions with the same
    # one on the same hidden inputs made the same mistake, which the similarity report weighs by
    # how rare it is. "" unless failed.
    answer: str = ""

    @property
    def counted(self) -> bool:
        """Skipped checks count towards neither the score nor the maximum."""
        return self.status not in UNCOUNTED

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: every field of CHECK_FIELDS, enums as their values."""
        return {name: _plain(name, getattr(self, name)) for name in CHECK_FIELDS}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CheckResult:
        """The check ``to_dict`` made, read back (a service's answer): unknown keys ignored,
        the enums and numbers checked. Raises ValueError, KeyError or TypeError on others."""
        fields = {name: data[name] for name in CHECK_FIELDS if name in data}
        fields["category"] = Category(fields["category"])
        fields["status"] = Outcome(fields["status"])
        for name in ("points", "max_points", "duration"):
            if name in fields:
                fields[name] = float(fields[name])
        return cls(**fields)


# The fields of a check's result, in order: the JSON's keys, the gradebook's columns and the
# reports' check table all derive from this tuple.
CHECK_FIELDS = tuple(f.name for f in dataclasses.fields(CheckResult))
# Beside a run's own id, a table names a check's id check_id.
STORED_AS = {"id": "check_id"}
RESULT_COLUMNS = tuple(STORED_AS.get(name, name) for name in CHECK_FIELDS)


def cause_id(function: str, signature: str) -> str:
    """The id shared by ``function``'s checks that failed with the same ``signature``."""
    return hashlib.sha256(f"{function}\0{signature}".encode()).hexdigest()[:8]


# Runs whose score stands: their checks ran (a timed-out one's, up to its time budget).
SCORED = frozenset({RunStatus.GRADED, RunStatus.TIMED_OUT})
# The one status that is no grading at all: it stands in for no score and is graded again.
NEEDS_REGRADE = RunStatus.INFRASTRUCTURE_ERROR

# What a status other than graded means, said in these words wherever it is shown.
STATUS_MEANINGS = {
    RunStatus.NOT_RUN: "Nothing of this submission ran, so no check could pass",
    RunStatus.TIMED_OUT: "This submission ran out of time; the checks that ran are scored",
    RunStatus.CRASHED: "This submission crashed the process it ran in, so no check could run",
    RunStatus.INFRASTRUCTURE_ERROR: "Needs regrade: the grading machine failed, not the "
                                    "submission; no score is recorded until it is graded again",
}


def _plain(name: str, value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    return round(value, 4) if name == "duration" else value


def total(checks: Iterable[CheckResult]) -> tuple[float, float]:
    """(score, max_score) of ``checks``: the points of the counted ones, to 6 decimals."""
    counted = [c for c in checks if c.counted]
    return (round(sum(c.points for c in counted), 6),
            round(sum(c.max_points for c in counted), 6))


def penalised(score: float, penalty: float) -> float:
    """``score`` less the fraction ``penalty`` a late submission loses, to 6 decimals: the one
    formula every report, export and the service's pages use."""
    return round(score * (1 - penalty), 6)


@dataclass(frozen=True)
class SubmissionResult:
    assignment: str
    student: str
    checks: tuple[CheckResult, ...]
    status: RunStatus = RunStatus.GRADED
    reason: str = ""  # why, one sentence, unless graded

    @property
    def score(self) -> float:
        return total(self.checks)[0]

    @property
    def max_score(self) -> float:
        return total(self.checks)[1]

    def by_function(self) -> dict[str, list[CheckResult]]:
        grouped: dict[str, list[CheckResult]] = {}
        for c in self.checks:
            grouped.setdefault(c.function, []).append(c)
        return grouped

    def to_dict(self) -> dict[str, Any]:
        return {
            "assignment": self.assignment,
            "student": self.student,
            "score": self.score,
            "max_score": self.max_score,
            "status": self.status.value,
            "reason": self.reason,
            "checks": [c.to_dict() for c in self.checks],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SubmissionResult:
        """The result ``to_dict`` made (``grader check --json``, a service's answer), read
        back; score and max_score are recomputed from the checks. Raises ValueError, KeyError
        or TypeError on anything else."""
        return cls(str(data["assignment"]), str(data["student"]),
                   tuple(CheckResult.from_dict(c) for c in data["checks"]),
                   RunStatus(data.get("status", RunStatus.GRADED.value)),
                   str(data.get("reason", "")))
