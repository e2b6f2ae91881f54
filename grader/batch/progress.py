"""A batch's progress on the terminal: a bar with an ETA, a live count of failures, a line each."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from grader.batch.run import Graded
from grader.outcomes import SCORED
from grader.outcomes.text import printable


class BatchProgress:
    """Callbacks for ``run_batch`` that draw on stderr; use as a context manager."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True, highlight=False)
        self._progress = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
            TextColumn("{task.fields[failures]}"), console=self.console,
        )
        self._task = None
        self._below = self._errors = 0

    def __enter__(self) -> BatchProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc) -> None:
        self._progress.stop()

    def plan(self, pending: int, skipped: int) -> None:
        if skipped:
            self.console.print(f"{skipped} already graded at this version: skipped "
                               "(--force grades them again)")
        self._task = self._progress.add_task("grading", total=pending, failures="")

    def graded(self, graded: Graded) -> None:
        name = escape(printable(graded.student))
        if graded.duplicate:
            self.console.print(f"[dim]= {name}  graded by another batch meanwhile: kept its run[/]")
        elif graded.status in SCORED:
            self._below += not graded.full_marks
            mark = "[green]✓[/]" if graded.full_marks else "[yellow]✗[/]"
            late = f"  {graded.status}: {escape(printable(graded.error))}" if graded.error else ""
            self.console.print(f"{mark} {name}  {graded.score:g}/{graded.max_score:g}{late}")
        else:
            self._errors += 1
            error = escape(printable(graded.error))
            self.console.print(f"[red]! {name}  {graded.status}: {error}[/]")
        failures = f"{self._below} below full marks, {self._errors} not graded"
        self._progress.update(self._task, advance=1, failures=failures)
