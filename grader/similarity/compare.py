"""One assignment's class compared: the current submission of every student in the gradebook,
its code read again and fingerprinted, its failed checks' wrong answers, and the book's code
(starter, reference, the course's book file) as what never counts. Evidence for a person to
read: nothing here touches a score.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from sqlalchemy import select

from grader.authoring.assignment import Assignment
from grader.gradebook import Gradebook
from grader.gradebook.models import RunRow, SubmissionRow
from grader.outcomes import SCORED, Outcome, UsageError
from grader.reports.frames import tables
from grader.similarity.fingerprints import parts
from grader.similarity.ranking import Answer, Pair, Student, book_hashes, rank
from grader.similarity.sources import read_code


@dataclass(frozen=True)
class NotCompared:
    """A student left out of a comparison, and why; ``by_answers``: their wrong answers were
    still compared (only their code could not be read)."""

    student: str
    reason: str
    by_answers: bool = False


@dataclass(frozen=True)
class Similarity:
    """The pairs of ``assignment`` at or above ``threshold``, highest first."""

    assignment: str
    course: str
    threshold: float
    students: int  # compared, by code or by answers
    pairs: tuple[Pair, ...]
    not_compared: tuple[NotCompared, ...]
    book_files: tuple[str, ...]  # what counted as the book's code
    code: Mapping[str, str] = field(default_factory=dict)  # the code of each student listed


def compare_class(gradebook: Gradebook, assignment: Assignment, course: str | None, *,
                  threshold: float, book: Iterable[Path] = ()) -> Similarity:
    """Compare the current submissions of ``assignment`` of ``course`` (None: the gradebook's
    only course) in ``gradebook``; ``book``: more files of the book's own code."""
    scores, checks = tables(gradebook, assignment.name, course=course)
    scores = scores[scores["run_id"].notna()]
    paths = _paths(gradebook, [int(r) for r in scores["run_id"]])
    answers = _answers(checks)
    students, left_out, texts = [], [], {}
    for row in scores.itertuples():
        name = str(row.student)
        code = read_code(gradebook, assignment, paths[int(row.run_id)], str(row.content_hash))
        reason, fingerprinted = code.reason, {}
        if not reason:
            try:
                fingerprinted = parts(code.text, assignment.functions)
                texts[name] = code.text
            except (SyntaxError, ValueError, RecursionError) as err:
                reason = f"{assignment.student_file} does not parse ({err})"
        scored = str(row.status) in SCORED  # RunStatus is a str: its values match
        if reason and not (scored and answers.get(name)):
            left_out.append(NotCompared(name, reason))
            continue
        if reason:
            left_out.append(NotCompared(name, f"{reason}; its wrong answers are compared",
                                        by_answers=True))
        students.append(Student(name, fingerprinted, answers.get(name, frozenset())))
    if len(students) == 1:
        alone = f"the only submission of {assignment.name} that can be compared"
        left_out = [n for n in left_out if n.student != students[0].name]
        left_out.append(NotCompared(students[0].name, alone))
        students = []
    files = _book_files(assignment, book)
    boilerplate = book_hashes(p for f in files for p in _parts_of(f, assignment))
    pairs = rank(students, boilerplate, threshold)
    listed = {name for p in pairs for name in (p.first, p.second)}
    return Similarity(
        assignment.name, course or "", threshold, len(students), tuple(pairs),
        tuple(sorted(left_out, key=lambda n: n.student)), tuple(str(f) for f in files),
        {name: text for name, text in texts.items() if name in listed},
    )


def _paths(gradebook: Gradebook, run_ids: list[int]) -> dict[int, str]:
    with gradebook.session() as session:
        rows = session.execute(select(RunRow.id, SubmissionRow.path).join(RunRow.submission)
                               .where(RunRow.id.in_(run_ids)))
        return {run_id: path for run_id, path in rows}


def _answers(checks: pd.DataFrame) -> dict[str, frozenset[Answer]]:
    """Each student's failed checks' wrong answers (runs from before answers were kept have
    none)."""
    failed = checks[(checks["status"] == str(Outcome.FAILED)) & (checks["answer"] != "")]
    found: dict[str, set[Answer]] = {}
    for row in failed.itertuples():
        found.setdefault(str(row.student), set()).add(
            Answer(str(row.check_id), str(row.function), str(row.answer), bool(row.hint)))
    return {name: frozenset(kept) for name, kept in found.items()}


def _book_files(assignment: Assignment, book: Iterable[Path]) -> list[Path]:
    """The reference's file, the starter's Python files and the course's book files."""
    module = assignment.reference_module()
    files = [Path(module.__file__)] if module.__file__ else []
    files += [f for f in assignment.templates() if f.suffix == ".py"]
    return files + [Path(f) for f in book]


def _parts_of(file: Path, assignment: Assignment):
    try:
        return parts(file.read_text(encoding="utf-8"), assignment.functions).values()
    except (OSError, SyntaxError, ValueError) as err:  # UnicodeDecodeError is a ValueError
        raise UsageError(f"the book's code in {file} cannot be read: {err}") from None
