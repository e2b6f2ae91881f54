"""Typed results: what a check and a submission come to."""

from __future__ import annotations

from dataclasses import dataclass, field
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

    @property
    def counted(self) -> bool:
        """Skipped checks count towards neither the score nor the maximum."""
        return self.status is not Outcome.SKIPPED

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "function": self.function,
            "category": str(self.category),
            "status": str(self.status),
            "points": self.points,
            "max_points": self.max_points,
            "title": self.title,
            "message": self.message,
            "hint": self.hint,
            "duration": round(self.duration, 4),
            "hidden": self.hidden,
        }


@dataclass(frozen=True)
class SubmissionResult:
    assignment: str
    student: str
    checks: tuple[CheckResult, ...]
    environment: dict[str, str] = field(default_factory=dict)

    @property
    def score(self) -> float:
        return round(sum(c.points for c in self.checks if c.counted), 6)

    @property
    def max_score(self) -> float:
        return round(sum(c.max_points for c in self.checks if c.counted), 6)

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
            "checks": [c.to_dict() for c in self.checks],
        }
