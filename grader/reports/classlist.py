"""The class list applied to the scores table: who each submission belongs to, and who is missing.

Every report and export takes its identities from here, so they agree: a submission's folder
(or zip) name is matched to a roster student (``grader.roster.match``), the student's roster id
and name join its rows, each roster student without a grading of an assignment gets a row with
0 and "no submission", and a submission that matches no one keeps its rows with an empty roster
id, to be listed apart and never exported under a made-up identity.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from grader.reports.schema import NO_SUBMISSION, SCORE_COLUMNS
from grader.roster import Roster, Student, match

NO_SUBMISSION_REASON = "no submission"


@dataclass(frozen=True)
class OnRoster:
    """The scores with the class list applied."""

    scores: pd.DataFrame  # SCORE_COLUMNS, the missing students' rows added
    unmatched: tuple[str, ...]  # submission names that match no roster student, sorted
    missing: tuple[Student, ...]  # students with no grading of some assignment, roster order


def on_roster(scores: pd.DataFrame, roster: Roster) -> OnRoster:
    """``scores`` with each row's roster id and name, and a 0 "no submission" row for each
    roster student lacking a grading of an assignment the table holds.

    Raises:
        RosterError: two submissions belong to one student.
    """
    matching = match(roster, scores["student"].astype(str).unique())
    scores = scores.copy()
    owner = scores["student"].map(matching.matched)
    scores["roster_id"] = owner.map(lambda s: s.id if isinstance(s, Student) else "")
    scores["name"] = owner.map(lambda s: s.name if isinstance(s, Student) else "")
    added, missing = [], []
    graded = set(zip(scores["roster_id"], scores["assignment"], strict=True))
    for assignment, rows in scores.groupby("assignment", sort=True):
        maximum = rows["max_score"].max()
        for student in roster.students:
            if (student.id, assignment) not in graded:
                added.append(_missing_row(student, str(assignment), maximum))
                missing.append(student)
    if added:
        scores = pd.concat([scores, pd.DataFrame(added)], ignore_index=True)
    scores = scores[list(SCORE_COLUMNS)].sort_values(["student", "assignment"])
    return OnRoster(scores.reset_index(drop=True), matching.unmatched,
                    tuple(dict.fromkeys(missing)))


def _missing_row(student: Student, assignment: str, maximum: float) -> dict[str, object]:
    return {
        "student": student.id, "roster_id": student.id, "name": student.name,
        "assignment": assignment, "score": 0.0, "max_score": maximum,
        "percent": 0.0 if maximum and maximum > 0 else float("nan"),
        "raw_score": 0.0, "late_days": 0.0, "late_penalty": 0.0,
        "status": NO_SUBMISSION, "graded_at": pd.NaT, "version": "", "run_id": pd.NA,
        "content_hash": "", "reason": NO_SUBMISSION_REASON, "overridden": False,
    }
