"""Running an assignment's checks against one submission, each to a typed result."""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import time
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType
from typing import NamedTuple

import torch

from grader import options
from grader.authoring.assignment import Assignment, Check
from grader.authoring.rules import banned_uses, own_d2l_names, reachable
from grader.grading.progress import Progress, Silent
from grader.grading.session import Session, Unavailable
from grader.grading.views import Reference, Student
from grader.numeric.compare import CheckFailed
from grader.outcomes import (
    HIDDEN_MESSAGE,
    Category,
    CheckResult,
    GraderFault,
    Outcome,
    RunStatus,
    StudentProblem,
    SubmissionResult,
    cause_id,
)
from grader.runner.probes import seed_everything
from grader.runner.worker import Worker

log = logging.getLogger(__name__)


def grade(
    worker: Worker,
    assignment: Assignment,
    submission: Path,
    *,
    device: torch.device,
    seed: int = options.SEED,
    data_root: Path | None = None,
    student: str | None = None,
    functions: Iterable[str] | None = None,
    budget: float | None = None,
    progress: Progress | None = None,
) -> SubmissionResult:
    """Grade one submission folder on a running worker; never raises for bad student code.

    ``budget``: seconds the whole submission may take, its import included; the checks left when
    it runs out time out without running, and a check running then is cut short. None: no
    budget but each check's own timeout. ``progress`` hears of each check as it starts and ends.
    The training checks run last, so the cheap verdicts come first; the result lists the checks
    in the assignment's order.
    """
    progress = progress or Silent()
    wanted = set(functions) if functions is not None else None
    checks = [c for c in assignment.checks if wanted is None or c.function in wanted]
    order = {c.id: position for position, c in enumerate(checks)}
    checks.sort(key=lambda c: c.category is Category.TRAINING)
    reference = assignment.reference_module()
    results: list[CheckResult] = []
    hung: dict[str, CheckResult] = {}  # function -> the check it first timed out in
    end = time.monotonic() + budget if budget is not None else None
    over = cut = 0  # checks the budget left unrun, and checks it cut short
    with Session(worker, assignment, submission, device=device) as session:
        for done, check in enumerate(checks):
            progress.running(check.title, done, len(checks))
            left = end - time.monotonic() if end is not None else check.timeout
            if left <= 0:
                result = _over_budget(check, budget)
                over += 1
            elif (blocked := _reaches_hung(check, hung, session)) is not None:
                result = _not_run(check, blocked)
            else:
                result, stopped = _run_within(check, left, hung, session, reference, seed,
                                              data_root, budget)
                cut += stopped
            results.append(result)
            progress.checked(result)
        status, reason = _status(session.whole(), session.fault, over, cut, budget)
    results.sort(key=lambda r: order[r.id])
    return SubmissionResult(assignment.name, student or Path(submission).name, tuple(results),
                            status, reason)


def _run_within(check: Check, left: float, hung: dict[str, CheckResult], session: Session,
                reference: ModuleType, seed: int, data_root: Path | None,
                budget: float | None) -> tuple[CheckResult, bool]:
    """Run ``check`` in the ``left`` seconds of the budget: its result, and whether the budget
    stopped it. A timeout marks its function hung."""
    if check.function in hung:
        check = dataclasses.replace(check, timeout=min(check.timeout, options.RETRY_TIMEOUT))
    result = run_check(dataclasses.replace(check, timeout=min(check.timeout, left)),
                       session, reference, seed, data_root)
    stopped = result.status is Outcome.TIMEOUT and left < check.timeout
    if stopped:
        result = dataclasses.replace(result, message=f"{result.message} (the "
                                     f"submission's time budget of {budget:g} s ran out)")
    if result.status is Outcome.TIMEOUT and session.unavailable(check.function) is None:
        hung.setdefault(check.function, result)
    return result, stopped


def _status(whole: Unavailable | None, fault: str, over: int, cut: int,
            budget: float | None) -> tuple[RunStatus, str]:
    """graded, or why not: the grader failed (``fault``: no score from a broken grader, it is
    graded again), nothing of it ran (``whole``), or its time ran out (``over`` checks left
    unrun, ``cut`` stopped when it did)."""
    if fault:
        return RunStatus.INFRASTRUCTURE_ERROR, fault
    if whole is not None:
        return whole.status, whole.message
    if over or cut:
        said = [f"{n} check{'s' if n > 1 else ''} {what}"
                for n, what in ((cut, "cut short"), (over, "did not run")) if n]
        return RunStatus.TIMED_OUT, (f"it used up its time budget of {budget:g} s; "
                                     + " and ".join(said))
    return RunStatus.GRADED, ""


def _over_budget(check: Check, budget: float) -> CheckResult:
    return CheckResult(
        id=check.id, function=check.function, category=check.category, status=Outcome.TIMEOUT,
        points=0.0, max_points=check.points, title=check.title,
        message=f"not run: the submission used up its time budget of {budget:g} s before this "
                "check; the reference takes a fraction of it, so look for slow or sleeping code",
        hidden=check.hidden, cause=cause_id(check.function, "time budget used up"),
    )


def _reaches_hung(
    check: Check, hung: dict[str, CheckResult], session: Session
) -> CheckResult | None:
    """The earlier timeout that makes a training check pointless: it would call a function
    that hung. Every call could cost a full timeout, and a class's batch must finish in minutes
    whatever one submission does. Checks of the hung function itself still run, with
    options.RETRY_TIMEOUT: it may hang on one input only."""
    if not check.own_parts or not hung or session.tree is None:
        return None
    reached = reachable(session.tree, check.function) - {check.function}
    return next((hung[f] for f in sorted(hung) if f in reached), None)


def _not_run(check: Check, first: CheckResult) -> CheckResult:
    return CheckResult(
        id=check.id, function=check.function, category=check.category, status=Outcome.TIMEOUT,
        points=0.0, max_points=check.points, title=check.title,
        message=f"not run: {check.function} calls your {first.function}, which timed out in "
                f"{first.id} ({first.duration:.0f} s); fix that first",
        hidden=check.hidden, cause=cause_id(check.function, f"calls {first.function}, which hung"),
    )


def run_check(
    check: Check, session: Session, module: ModuleType, seed: int, data_root: Path | None = None
) -> CheckResult:
    start = time.monotonic()
    reference = Reference(module, check, _check_seed(seed, check.id), data_root,
                          session.assignment)
    outcome, message, hint, signature, answer = _outcome(check, session, reference)
    where = session.intake.where_defined(check.function) if session.intake else None
    if where and outcome in _REVEALING and message:  # a notebook: say which cell to look at
        message = f"{message} [{check.function} is in {where}]"
    if check.hidden and outcome in _REVEALING:
        # A matched mistake's hint is computed from the hidden inputs too; "not implemented"
        # and "skipped" reveal nothing. Nor may a cause shared with a visible check tell which.
        # The answer's digest stays: it cannot be turned back into the answer or the inputs.
        message, hint, signature = HIDDEN_MESSAGE, "", ""
    return CheckResult(
        id=check.id,
        function=check.function,
        category=check.category,
        status=outcome,
        points=check.points if outcome is Outcome.PASSED else 0.0,
        max_points=check.points,
        title=check.title,
        message=message,
        hint=hint,
        duration=time.monotonic() - start,
        hidden=check.hidden,
        cause=cause_id(check.function, signature) if signature else "",
        answer=answer,
    )


_REVEALING = (Outcome.FAILED, Outcome.ERROR, Outcome.TIMEOUT)  # their messages carry inputs


class _Ending(NamedTuple):
    outcome: Outcome
    message: str = ""
    hint: str = ""
    signature: str = ""  # the cause's: "" where there is none to share
    answer: str = ""  # a failure's wrong answer, as a digest (CheckFailed.answer)


def _outcome(check: Check, session: Session, reference: Reference) -> _Ending:
    if check.category is Category.DEVICE and session.device.type != "cuda":
        return _Ending(Outcome.SKIPPED, "device checks run only with --device cuda on a GPU")
    unavailable = session.unavailable(check.function)
    if unavailable is not None:
        return _Ending(unavailable.outcome, unavailable.message, "", unavailable.message)
    handed = handed_to_the_book(session, check.function)
    if handed:
        return _Ending(Outcome.FAILED, handed, BOOK_HINT, handed)
    deadline = time.monotonic() + check.timeout
    seed_everything(reference.seed)  # the check's own random inputs are the same on every run
    try:
        check.run(Student(session, check, reference.seed, deadline), reference)
    except CheckFailed as failed:
        # one named mistake is one cause; a failure without a name is its own
        return _Ending(Outcome.FAILED, failed.message, failed.hint,
                       failed.hint or f"check {check.id}", failed.answer)
    except StudentProblem as problem:
        return _Ending(problem.outcome, problem.message, problem.hint, problem.cause)
    except GraderFault as fault:  # already noted on the session: the run gets no score
        return _Ending(Outcome.ERROR, str(fault), "", str(fault))
    except Exception as err:  # a bug in the check itself, or the machine's (a disk full)
        log.exception("check %s crashed", check.id)
        message = f"the grader's check {check.id} crashed ({type(err).__name__}: {err})"
        session.failed(message)
        return _Ending(Outcome.ERROR, message, "", f"check {check.id}")
    return _Ending(Outcome.PASSED)


BOOK_HINT = ("write it yourself: the book's other d2l helpers may be called, as the book does, but "
             "not the one the exercise asks you to write")


def handed_to_the_book(session: Session, function: str) -> str:
    """"" unless ``function`` (or a helper it calls) calls the d2l helper of its own name
    (``def sgd(...): return d2l.sgd(...)``): then what to say on every check of it."""
    if session.tree is None:
        return ""
    if function not in session.handed:  # once per function: a walk of the whole module
        session.handed[function] = _handed(session, function)
    return session.handed[function]


def _handed(session: Session, function: str) -> str:
    uses = banned_uses(session.tree, function, own_d2l_names(function))
    if not uses:
        return ""
    first = uses[0]
    return (f"`{function}` hands its work to d2l's {function} ({session.line(first.line)}, in "
            f"{first.via}), the book's own")


def _check_seed(seed: int, check_id: str) -> int:
    digest = hashlib.sha256(f"{seed}:{check_id}".encode()).digest()
    return int.from_bytes(digest[:4], "little")
