"""What grading says while it runs, for a person waiting on it: phases, then each check."""

from __future__ import annotations

from typing import Protocol

from grader.outcomes import CheckResult


class Progress(Protocol):
    def phase(self, text: str) -> None:
        """A step before the checks: ``starting the sandbox, loading Fashion-MNIST``."""

    def running(self, title: str, done: int, total: int) -> None:
        """A check begins: ``done`` of the ``total`` have ended."""

    def checked(self, result: CheckResult) -> None:
        """A check ended."""


class Silent:
    """Progress nobody watches."""

    def phase(self, text: str) -> None:
        pass

    def running(self, title: str, done: int, total: int) -> None:
        pass

    def checked(self, result: CheckResult) -> None:
        pass
