"""What the staff page shows and downloads: the queue, each assignment's current score per
student (the class list's students included), its distribution, and today's reports built
from the gradebook, in the formats ``grader report`` writes."""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from grader import options
from grader.gradebook import JobState, QueueOverview, queue_overview
from grader.reports import outputs
from grader.reports.charts import score_histogram
from grader.service.submissions import Service

_MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "html": "text/html; charset=utf-8",
    "json": "application/json",
    "parquet": "application/vnd.apache.parquet",
}
DOWNLOADS = tuple(fmt for fmt in options.REPORT_FORMATS if fmt in _MEDIA_TYPES)
SHOWN_COLUMNS = ("student", "name", "score", "max_score", "percent", "status", "graded_at")


@dataclass(frozen=True)
class AssignmentScores:
    name: str
    rows: list[Mapping[str, object]]  # SHOWN_COLUMNS of each student's current grading
    histogram: str  # a PNG data URI; "" with no score yet


@dataclass(frozen=True)
class Overview:
    queue: QueueOverview
    by_worker: dict[str, int]  # running jobs per worker
    assignments: list[AssignmentScores]
    downloads: tuple[str, ...]

    @property
    def waiting(self) -> int:
        return self.queue.counts[JobState.QUEUED]


@dataclass(frozen=True)
class Download:
    data: bytes
    media_type: str
    filename: str


def overview(service: Service) -> Overview:
    queue = queue_overview(service.gradebook, service.name)
    by_worker: dict[str, int] = {}
    for job in queue.running:
        by_worker[job.worker] = by_worker.get(job.worker, 0) + 1
    scores = _scores(service)
    shown = []
    for name in service.course.assignments:
        mine = scores[scores["assignment"] == name]
        graded = mine[mine["score"].notna()]
        shown.append(AssignmentScores(
            name, [_row(row) for _, row in mine.iterrows()],
            score_histogram(graded, name) if not graded.empty else ""))
    return Overview(queue, by_worker, shown, DOWNLOADS)


def report(service: Service, fmt: str) -> Download | None:
    """The class report in ``fmt`` as ``grader report`` writes it; None for a format not
    offered."""
    if fmt not in DOWNLOADS:
        return None
    with tempfile.TemporaryDirectory(prefix="grader-report-") as folder:
        path = Path(folder) / f"{service.name}.{fmt}"
        outputs.report(path, fmt, db=service.db, course=str(service.course.folder))
        return Download(path.read_bytes(), _MEDIA_TYPES[fmt], f"{_safe(service.name)}.{fmt}")


def _scores(service: Service) -> pd.DataFrame:
    return outputs.class_scores(service.db, str(service.course.folder))


def _row(row: pd.Series) -> dict[str, object]:
    return {column: row.get(column) for column in SHOWN_COLUMNS}


def _safe(name: str) -> str:
    """A file name for a header: letters, digits, dot, dash and underscore only."""
    return "".join(char if char.isalnum() or char in "._-" else "_" for char in name) or "report"
