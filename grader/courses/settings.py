"""course.toml: the course's name, what its service accepts, and, per assignment, what this
term changes.

```toml
name = "my-course"
submit_interval = 30                     # seconds between two uploads of one assignment
submits_per_day = 50                     # uploads of one assignment in any 24 hours
upload_limit_mb = 5                      # one upload, all its files (MiB)
upload_quota_mb = 100                    # one student's stored uploads in the course (MiB)

[huber]                                  # the assignment folder's name
title = "Huber loss"
deadline = 2026-10-01T23:59:00+02:00     # ISO 8601 with a time zone
late_until = 2026-10-04T23:59:00+02:00
late_penalty = 0.1                       # of the score per day begun late, at most all
points_scale = 0.5                       # every check's points times this
hidden_checks = ["huber_matches"]        # hidden from students this term
time_budget = 60                         # seconds one submission may take in all
notebook_drop_calls = ["fit_huber"]      # in notebooks, `x = fit_huber(...)` is not graded
reference = "../answers/huber.py"        # default: the folder's reference.py
template = ["../starter/huber.py"]       # default: the folder's template/
book = ["../book/chapter3.py"]           # the book's own code: default the folder's book.py
```

A key this file does not know is an error naming the key and the file: a typo must not
silently do nothing.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from grader import options
from grader.outcomes import UsageError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

FILE = "course.toml"


class CourseError(UsageError):
    """A course that cannot be used as asked: the message names the course and the file."""


@dataclass(frozen=True)
class AssignmentSettings:
    """One assignment's table in course.toml; every field is optional there."""

    title: str | None = None
    deadline: datetime | None = None
    late_until: datetime | None = None
    late_penalty: float = 0.0
    points_scale: float = 1.0
    hidden_checks: tuple[str, ...] = ()
    time_budget: float | None = None  # None: the assignment's own, else measured on the reference
    notebook_drop_calls: tuple[str, ...] = ()  # added to the assignment's own
    reference: Path | None = None
    template: tuple[Path, ...] | None = None
    # The book's own code for the assignment, which grader similarity never counts as shared.
    book: tuple[Path, ...] = ()
    table: dict = field(default_factory=dict)  # as written: part of the assignment's version

    def penalty(self, late_days: float) -> float:
        """The fraction of the score a submission ``late_days`` late loses: ``late_penalty``
        for every day begun after the deadline (0.01 days late is one day), at most all of it.
        """
        return min(1.0, round(days_begun(late_days) * self.late_penalty, 9))


def days_late(deadline: datetime | None, moment: datetime) -> float:
    """How many days after ``deadline`` ``moment`` is, fractional; 0 on time or without a
    deadline. The one measure of lateness: the service's uploads and a batch's submissions."""
    if deadline is None or moment <= deadline:
        return 0.0
    return (moment - deadline) / timedelta(days=1)


def days_begun(late_days: float) -> int:
    """The days of lateness the penalty counts: every one begun (0.01 days late is 1)."""
    return max(0, math.ceil(late_days))


@dataclass(frozen=True)
class ServiceSettings:
    """What ``grader serve`` accepts from one student: course.toml's top-level keys, in seconds
    and bytes (course.toml gives MiB)."""

    submit_interval: float = options.SUBMIT_INTERVAL  # per student and assignment
    submits_per_day: int = options.SUBMITS_PER_DAY  # per student and assignment, any 24 hours
    upload_max_bytes: int = options.UPLOAD_MAX_BYTES  # one upload, as sent
    upload_quota_bytes: int = options.UPLOAD_QUOTA_BYTES  # per student, the course's uploads


@dataclass(frozen=True)
class CourseSettings:
    name: str
    title: str
    assignments: dict[str, AssignmentSettings]
    service: ServiceSettings = field(default_factory=ServiceSettings)

    def of(self, assignment: str) -> AssignmentSettings:
        return self.assignments.get(assignment, AssignmentSettings())


_SERVICE_KEYS = {"submit_interval", "submits_per_day", "upload_limit_mb", "upload_quota_mb"}
_COURSE_KEYS = {"name", "title"} | _SERVICE_KEYS
# Seconds: the longest submit_interval, so the last day's uploads, which the rate limit reads,
# always hold the one that interval counts from.
DAY = 86_400
_KEYS = {"title", "deadline", "late_until", "late_penalty", "points_scale", "hidden_checks",
         "time_budget", "notebook_drop_calls", "reference", "template", "book"}


def read_toml(path: Path) -> dict:
    """A course's TOML file (course.toml, a mistake's expect.toml); CourseError says why not."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise CourseError(f"{path}: {err}") from None


def read(folder: Path) -> CourseSettings:
    """The settings of the course in ``folder``; CourseError names what is wrong."""
    path = folder / FILE
    if not path.is_file():
        raise CourseError(f"{folder} is not a course: it has no {FILE}")
    data = read_toml(path)
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise CourseError(f"{path}: needs a name (name = \"my-course\")")
    unknown = [k for k, v in data.items() if not isinstance(v, dict) and k not in _COURSE_KEYS]
    if unknown:
        raise CourseError(f"{path}: unknown key {unknown[0]!r} (known: "
                          f"{', '.join(sorted(_COURSE_KEYS))}, and one [table] per assignment)")
    service = _service(str(path), data)
    assignments = {k: _assignment(path, k, v, folder) for k, v in data.items()
                   if isinstance(v, dict)}
    return CourseSettings(name.strip(), str(data.get("title", name)), assignments, service)


def _service(where: str, data: dict) -> ServiceSettings:
    interval = _typed(where, data, "submit_interval", (int, float))
    per_day = _typed(where, data, "submits_per_day", int)
    limit = _typed(where, data, "upload_limit_mb", (int, float))
    quota = _typed(where, data, "upload_quota_mb", (int, float))
    if interval is not None and not 0 <= interval <= DAY:
        raise CourseError(f"{where}: submit_interval is in seconds, from 0 to {DAY} (a day)")
    if per_day is not None and per_day < 1:
        raise CourseError(f"{where}: submits_per_day must be at least 1")
    for key, value in (("upload_limit_mb", limit), ("upload_quota_mb", quota)):
        if value is not None and not 0 < value < math.inf:  # TOML has inf and nan
            raise CourseError(f"{where}: {key} is in MiB and must be positive")
    return ServiceSettings(
        submit_interval=options.SUBMIT_INTERVAL if interval is None else float(interval),
        submits_per_day=options.SUBMITS_PER_DAY if per_day is None else per_day,
        upload_max_bytes=options.UPLOAD_MAX_BYTES if limit is None else int(limit * 2**20),
        upload_quota_bytes=options.UPLOAD_QUOTA_BYTES if quota is None else int(quota * 2**20),
    )


def _assignment(path: Path, name: str, table: dict, folder: Path) -> AssignmentSettings:
    where = f"{path}: [{name}]"
    unknown = sorted(set(table) - _KEYS)
    if unknown:
        raise CourseError(f"{where}: unknown key {unknown[0]!r} "
                          f"(known: {', '.join(sorted(_KEYS))})")
    if not (folder / name / "__init__.py").is_file():
        raise CourseError(f"{where}: there is no assignment folder {name}/ with an __init__.py")
    settings = AssignmentSettings(
        title=_typed(where, table, "title", str),
        deadline=_moment(where, table, "deadline"),
        late_until=_moment(where, table, "late_until"),
        late_penalty=float(_typed(where, table, "late_penalty", (int, float)) or 0.0),
        points_scale=float(_typed(where, table, "points_scale", (int, float)) or 1.0),
        hidden_checks=tuple(_strings(where, table, "hidden_checks") or ()),
        time_budget=_typed(where, table, "time_budget", (int, float)),
        notebook_drop_calls=tuple(_strings(where, table, "notebook_drop_calls") or ()),
        reference=_file(where, folder / name, _typed(where, table, "reference", str)),
        template=_files(where, folder / name, table, "template"),
        book=_book(where, folder / name, table),
        table=table,
    )
    if not 0 <= settings.late_penalty <= 1:
        raise CourseError(f"{where}: late_penalty is a fraction per day, from 0 to 1")
    if "points_scale" in table and settings.points_scale <= 0:
        raise CourseError(f"{where}: points_scale must be positive")
    if settings.time_budget is not None and settings.time_budget <= 0:
        raise CourseError(f"{where}: time_budget is in seconds and must be positive")
    if settings.late_until and not settings.deadline:
        raise CourseError(f"{where}: late_until needs a deadline")
    if settings.late_until and settings.deadline and settings.late_until < settings.deadline:
        raise CourseError(f"{where}: late_until is before the deadline")
    return settings


def _typed(where: str, table: dict, key: str, kind):
    value = table.get(key)
    if value is not None and (not isinstance(value, kind) or isinstance(value, bool)):
        raise CourseError(f"{where}: {key} = {value!r} is not a {_kind(kind)}")
    return value


def _kind(kind) -> str:
    return {str: "string", int: "whole number"}.get(kind, "number")


def _strings(where: str, table: dict, key: str) -> list[str] | None:
    value = table.get(key)
    if isinstance(value, str):
        value = [value]
    if value is not None and not (isinstance(value, list)
                                  and all(isinstance(v, str) for v in value)):
        raise CourseError(f"{where}: {key} is a list of strings")
    return value


def _moment(where: str, table: dict, key: str) -> datetime | None:
    value = table.get(key)
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise CourseError(f"{where}: {key} = {value!r} is not ISO 8601") from None
    if not isinstance(value, datetime):
        raise CourseError(f"{where}: {key} is a date and time (2026-10-01T23:59:00+02:00)")
    if value.tzinfo is None:
        raise CourseError(f"{where}: {key} = {value.isoformat()} needs a time zone "
                          "(+02:00, or Z for UTC)")
    return value


def _file(where: str, folder: Path, name: str | None) -> Path | None:
    if name is None:
        return None
    path = (folder / name).resolve()
    if not path.is_file():
        raise CourseError(f"{where}: {name} is not a file (relative to {folder})")
    return path


def _files(where: str, folder: Path, table: dict, key: str) -> tuple[Path, ...] | None:
    """The files ``key`` names, relative to ``folder``; None where it names none."""
    names = _strings(where, table, key)
    if names is None:
        return None
    return tuple(_file(where, folder, name) for name in names)


def _book(where: str, folder: Path, table: dict) -> tuple[Path, ...]:
    named = _files(where, folder, table, "book")
    if named is not None:
        return named
    default = folder / "book.py"
    return (default.resolve(),) if default.is_file() else ()
