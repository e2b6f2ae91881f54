"""Grading a class: find the submissions, skip what is graded, grade the rest, store each run.

Only this process writes to the gradebook, one transaction per submission as its result comes
in, so a batch killed at any moment leaves whole runs only and the next batch grades the rest.
A submission that cannot be graded (a corrupt zip, a folder too big) gets an error run of its
own; nothing a submission does stops the batch.
"""

from __future__ import annotations

import dataclasses
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from pathlib import Path

from grader import options as defaults
from grader.batch.executor import Executor, Finished, Job, LocalExecutor, Settings, utcnow
from grader.batch.submissions import Submission, SubmissionsError, discover, readable
from grader.courses.settings import days_late
from grader.gradebook import Gradebook, NewRun
from grader.outcomes import (
    NEEDS_REGRADE,
    SCORED,
    Interrupted,
    RunStatus,
    SubmissionResult,
    UsageError,
)
from grader.roster import Roster, RosterError, match, read_roster, resolve
from grader.runner.isolation import choose_isolation


class BatchError(UsageError):
    """The batch cannot start: the message is one line saying what to fix."""


@dataclass(frozen=True)
class Graded:
    """One submission's outcome, as the progress display and the summary see it."""

    student: str
    status: RunStatus
    score: float = 0.0
    max_score: float = 0.0
    error: str = ""
    duplicate: bool = False  # another batch stored this submission first: this run was dropped

    @property
    def full_marks(self) -> bool:
        return self.status in SCORED and self.score >= self.max_score


@dataclass
class BatchSummary:
    assignment: str
    version: str
    course: str = ""
    course_version: str = ""  # the whole course's, recorded with each run
    found: int = 0
    skipped: int = 0  # already graded at this version, same content
    outcomes: list[Graded] = field(default_factory=list)
    roster: str = ""  # the class list the submissions were matched to; "" without one
    unmatched: tuple[str, ...] = ()  # submissions that match no one on it
    missing: tuple[str, ...] = ()  # "name (id)" of its students with no submission here

    def count(self, status: RunStatus) -> int:
        return sum(g.status is status for g in self.outcomes)

    @property
    def needing_regrade(self) -> list[Graded]:
        """The submissions the grader failed on twice: no score, graded by the next batch."""
        return [g for g in self.outcomes if g.status is NEEDS_REGRADE]

    @property
    def below_full_marks(self) -> int:
        return sum(g.status in SCORED and not g.full_marks for g in self.outcomes)


@dataclass(frozen=True)
class Options:
    """How to grade; every field has the command line's default."""

    assignment: str
    course: str | None = None  # a folder or an installed course's name; None: the default
    jobs: int | None = None  # slots; default one per core
    regrade: bool = False  # grade again what this version already graded (--force)
    students: tuple[str, ...] = ()  # only these (folder or zip names, or roster ids); () all
    roster: str | Path | None = None  # the class list; None: the one imported, if any
    device: str = defaults.DEVICE
    data_root: str | Path | None = None
    seed: int = defaults.SEED
    isolation: str = defaults.ISOLATION
    # Late days from each submission's newest file time, against course.toml's deadline. Off
    # by default: a time the student's clock set (a zip's are local times, read as UTC) or a
    # copy reset to the moment of copying says nothing reliable about when it was handed in.
    late_from_mtime: bool = False


def run_batch(
    root: str | Path,
    gradebook: Gradebook,
    options: Options,
    *,
    executor: Callable[[Settings, int | None], Executor] = LocalExecutor,
    on_plan: Callable[[int, int], None] = lambda pending, skipped: None,
    on_graded: Callable[[Graded], None] = lambda graded: None,
) -> BatchSummary:
    """Grade every submission under ``root`` that is not graded yet; returns what happened.

    ``on_plan`` hears how many submissions will be graded and skipped, ``on_graded`` hears each
    outcome as it is stored.
    """
    isolation = choose_isolation(options.isolation)
    with tempfile.TemporaryDirectory(prefix="grader-unpacked-") as unpacked:
        from grader.courses.locate import course_name

        settings = _settings(options, isolation, gradebook, Path(root))
        roster = (read_roster(options.roster) if options.roster is not None
                  else gradebook.roster(course_name(settings.course)))
        try:
            everyone = discover(Path(root), Path(unpacked))
            matching = match(roster, [s.student for s in everyone]) if roster else None
            found = _chosen(everyone, options.students, Path(root), roster)
        except (SubmissionsError, RosterError) as err:
            raise BatchError(str(err)) from None
        with executor(settings, options.jobs) as pool:
            pool.start(len(found))  # slots import torch while this process does the same
            from grader.courses.course import open_course
            from grader.grading.catalog import load

            assignment = load(options.assignment, course=settings.course,
                              data_root=options.data_root)
            course = open_course(settings.course)
            summary = BatchSummary(assignment.name, assignment.version, assignment.course,
                                   course.version, found=len(found))
            if roster is not None and matching is not None:
                summary.roster, summary.unmatched = roster.source, matching.unmatched
                summary.missing = tuple(f"{s.name} ({s.id})" for s in matching.missing)
            done = set() if options.regrade else gradebook.graded(
                assignment.course, assignment.name, assignment.version)
            pending = [_taken_in(s, assignment.student_file) for s in found
                       if (s.student, s.content_hash) not in done]
            summary.skipped = len(found) - len(pending)
            on_plan(len(pending), summary.skipped)
            deadline = (course.settings.of(assignment.name).deadline
                        if options.late_from_mtime else None)
            store = _Store(gradebook, assignment, settings, summary, on_graded, options.regrade,
                           deadline)
            for submission in (s for s in pending if s.problem):
                store.error(submission)
            jobs = [Job(i, s.student, str(s.folder)) for i, s in enumerate(pending)
                    if not s.problem]
            try:
                again = []  # the grader's own failures, retried once after a pause
                for finished in pool.run(jobs):
                    if _grader_trouble(finished):
                        again.append(finished.job)
                        continue
                    store.finished(pending[finished.job.key], finished)
                if again:
                    time.sleep(defaults.GRADER_RETRY_PAUSE)
                    for finished in pool.run(again):  # a second failure is stored: no score,
                        store.finished(pending[finished.job.key], finished)  # retried next batch
            except KeyboardInterrupt:
                stored = len(summary.outcomes)
                raise Interrupted(
                    f"interrupted: {stored} of {len(pending)} submissions graded and stored by "
                    f"this batch; the same command again grades the other {len(pending) - stored}"
                ) from None
    return summary


def grade_class(
    root: str | Path,
    options: Options,
    *,
    db: str | None = None,
    executor: str = defaults.EXECUTOR,
    ray_address: str | None = None,
    on_plan: Callable[[int, int], None] = lambda pending, skipped: None,
    on_graded: Callable[[Graded], None] = lambda graded: None,
) -> BatchSummary:
    """``grader batch``: open the gradebook ``db`` and grade ``root`` into it with the named
    executor (``local`` or ``ray``, at ``ray_address`` or a local cluster)."""
    if executor not in defaults.EXECUTORS:
        raise BatchError(f"unknown executor {executor!r}: use {', '.join(defaults.EXECUTORS)}")
    if ray_address and executor != "ray":
        raise BatchError("--ray-address is for --executor ray")
    factory: Callable[[Settings, int | None], Executor] = LocalExecutor
    if executor == "ray":
        from grader.batch.ray_executor import RayExecutor

        factory = partial(RayExecutor, address=ray_address)
    with Gradebook(db) as gradebook:
        return run_batch(root, gradebook, options, executor=factory, on_plan=on_plan,
                         on_graded=on_graded)


@contextmanager
def _uninterrupted() -> Iterator[None]:
    """Hold a Ctrl-C (SIGINT) until the block ends, then raise it, so that a run is stored and
    counted whole; a second Ctrl-C raises at once (the gradebook may be locked for good).
    Signals reach the main thread only; elsewhere this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []

    def hold(signum, frame) -> None:
        if caught:
            raise KeyboardInterrupt
        caught.append(signum)

    previous = signal.signal(signal.SIGINT, hold)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous if previous is not None else signal.SIG_DFL)
    if caught:
        raise KeyboardInterrupt


def _settings(options: Options, isolation: str, gradebook: Gradebook, root: Path) -> Settings:
    from grader.courses.locate import course_folder

    # The class itself: a submission unpacked from a zip must not find its classmates' folders.
    hide = (str(root.resolve()),)
    if gradebook.path is not None:
        hide += (str(gradebook.path.parent),)
    return Settings(
        assignment=options.assignment,
        course=str(course_folder(options.course)),
        # None: each slot resolves it as grader check does ($GRADER_DATA, else ./data); slots
        # share this process's environment and folder.
        data_root=str(Path(options.data_root).resolve()) if options.data_root else None,
        device=options.device, seed=options.seed, isolation=isolation, hide=hide,
    )


class _Store:
    """Turns each outcome into a run in the gradebook, then tells the caller."""

    def __init__(self, gradebook, assignment, settings, summary, on_graded, regrade,
                 deadline: datetime | None = None) -> None:
        self.gradebook, self.assignment, self.settings = gradebook, assignment, settings
        self.summary, self.on_graded, self.regrade = summary, on_graded, regrade
        self.deadline = deadline  # None: every run on time (Options.late_from_mtime says why)
        self._environment: dict | None = None  # for runs no slot saw: computed once

    def error(self, submission: Submission) -> None:
        now = utcnow()
        self._store(submission, RunStatus.NOT_RUN, now, now, error=submission.problem)

    def finished(self, submission: Submission, finished: Finished) -> None:
        status, error, result = run_outcome(finished)
        self._store(submission, status, finished.started_at, finished.finished_at,
                    result=result, error=error, device=finished.device,
                    fingerprint=finished.fingerprint)

    def _store(self, submission: Submission, status: RunStatus, started, ended, *,
               result: SubmissionResult | None = None, error: str = "", device: str = "",
               fingerprint: dict | None = None) -> None:
        with _uninterrupted():  # a Ctrl-C here waits until the run is stored and counted
            self._record(submission, status, started, ended, result=result, error=error,
                         device=device, fingerprint=fingerprint)

    def _record(self, submission: Submission, status: RunStatus, started, ended, *,
                result: SubmissionResult | None, error: str, device: str,
                fingerprint: dict | None) -> None:
        checks = result.checks if result is not None else ()
        recorded = self.gradebook.record(NewRun(
            student=submission.student, course=self.assignment.course,
            assignment=self.assignment.name, version=self.summary.version,
            title=self.assignment.title, course_version=self.summary.course_version,
            content_hash=submission.content_hash, path=readable(str(submission.source.absolute())),
            submitted_at=submission.submitted_at, late_days=self._late_days(submission),
            status=status, started_at=started,
            finished_at=ended, seed=self.settings.seed, device=device or self.settings.device,
            isolation=self.settings.isolation,
            fingerprint=fingerprint or self._here(),
            checks=checks, error=error, regrade=self.regrade,
        ))
        graded = Graded(submission.student, status,
                        result.score if result else 0.0, result.max_score if result else 0.0,
                        error, duplicate=not recorded.stored)
        if graded.duplicate:  # another batch stored it first, since this one's plan
            self.summary.skipped += 1
        else:
            self.summary.outcomes.append(graded)
        self.on_graded(graded)

    def _late_days(self, submission: Submission) -> float:
        if submission.submitted_at is None:  # nothing could be read of it
            return 0.0
        return days_late(self.deadline, submission.submitted_at)

    def _here(self) -> dict:
        """This machine's fingerprint, for error runs (the assignment's version hashes sources
        and the fingerprint asks torch about GPUs: neither belongs in a per-submission loop)."""
        if self._environment is None:
            from grader.batch import fingerprint

            self._environment = fingerprint.environment(self.settings.device)
        return self._environment


def run_outcome(finished: Finished) -> tuple[RunStatus, str, SubmissionResult | None]:
    """What a run stores of one grading: its status, its error, and the result whose checks it
    keeps (None: no score, as for a submission the grader failed on)."""
    result = finished.result
    if result is not None:  # graded, or why not: nothing ran, its time ran out
        status, error = result.status, result.reason
    else:
        status = NEEDS_REGRADE if finished.grader_fault else RunStatus.NOT_RUN
        error = finished.error
    if status is NEEDS_REGRADE:  # no score from a broken grader, not even a partial one
        result = None
    return status, error, result


def _grader_trouble(finished: Finished) -> bool:
    """The grader failed on it, not the submission: a slot that died, a worker that could not
    fork or was lost, a check that crashed. Never a reason to store a lower score."""
    return finished.grader_fault or (finished.result is not None
                                     and finished.result.status is NEEDS_REGRADE)


def _chosen(found: list[Submission], students: tuple[str, ...], root: Path,
            roster: Roster | None) -> list[Submission]:
    """The submissions of ``students`` (all when none are named): folder or zip names, or with
    a class list its ids, logins or emails; a name that matches no submission under ``root`` is
    an error before anything is graded."""
    if not students:
        return found
    by_name = {s.student: s for s in found}
    if roster is not None:
        return [by_name[resolve(roster, by_name, name)] for name in dict.fromkeys(students)]
    names = {s.student.casefold(): s for s in found}
    unknown = [name for name in students if name.casefold() not in names]
    if unknown:
        raise SubmissionsError(f"--student {unknown[0]}: no folder or zip of that name under "
                               f"{root} ({len(found)} submissions there)")
    return [names[name.casefold()] for name in dict.fromkeys(students)]


def _taken_in(submission: Submission, student_file: str) -> Submission:
    """A submission whose file cannot be taken in (both a .py and a notebook, a notebook that
    is not one) is an error run: nothing of it is graded, so no score is recorded."""
    if submission.problem or submission.folder is None:
        return submission
    from grader.grading.intake import unreadable

    problem = unreadable(submission.folder, student_file)
    return dataclasses.replace(submission, problem=problem) if problem else submission
