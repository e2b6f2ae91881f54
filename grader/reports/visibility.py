"""What students may see of a check: hidden checks show their title, status and points only."""

from __future__ import annotations

import pandas as pd

from grader.outcomes.results import HIDDEN_MESSAGE


def for_students(checks: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``checks`` whose hidden rows carry no message and no hint of their own.

    The grader already replaces a hidden check's message, but feedback must not depend on that:
    a re-imported or hand-edited gradebook could still hold the original inputs.
    """
    visible = checks.copy()
    hidden = visible["hidden"].fillna(False).astype(bool)
    # a skipped hidden check did not fail, so the sentence saying it failed would be wrong
    failed = ~visible["status"].isin(["passed", "skipped"])
    visible["message"] = visible["message"].astype(object)
    visible["hint"] = visible["hint"].astype(object)
    visible.loc[hidden, "message"] = ""
    visible.loc[hidden & failed, "message"] = HIDDEN_MESSAGE
    visible.loc[hidden, "hint"] = ""
    return visible
