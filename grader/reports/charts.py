"""Charts for the html report, drawn with matplotlib and returned as base64 PNG data URIs."""

from __future__ import annotations

import base64
import io

import matplotlib
import numpy as np
import pandas as pd

# Reports are drawn on servers and in CI without a display; pyplot must not pick a GUI backend.
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

_DPI = 100


def score_histogram(scores: pd.DataFrame, assignment: str) -> str:
    """A histogram of one assignment's scores, from 0 to its maximum, as a PNG data URI."""
    values = scores["score"].astype(float).dropna().to_numpy()
    top = float(scores["max_score"].max()) if len(scores) else 0.0
    top = max(top, float(values.max()) if len(values) else 0.0, 1.0)
    fig, ax = plt.subplots(figsize=(5.5, 3.0))
    try:
        ax.hist(values, bins=np.linspace(0.0, top, 11), color="#3b6fb6", edgecolor="white")
        ax.set_xlim(0.0, top)
        ax.set_xlabel(f"score (out of {top:g})")
        ax.set_ylabel("students")
        ax.yaxis.get_major_locator().set_params(integer=True)
        ax.set_title(_label(f"{assignment}: scores"))
        return _png(fig)
    finally:
        plt.close(fig)


def pass_rate_bars(items: pd.DataFrame, assignment: str) -> str:
    """Horizontal bars of each check's pass rate (item analysis rows), as a PNG data URI.

    Checks nobody attempted (skipped everywhere, such as GPU checks on a CPU) have no rate and
    no bar: a 0% would read as a check the whole class failed.
    """
    items = items[items["pass_rate"].notna()]
    rates = items["pass_rate"].astype(float).to_numpy() * 100.0  # (checks,)
    labels = [_label(check) for check in items["check_id"]]
    fig, ax = plt.subplots(figsize=(7.0, 0.9 + 0.32 * len(labels)))
    try:
        ax.barh(labels, rates, color=plt.get_cmap("RdYlGn")(rates / 100.0))
        for y, rate in enumerate(rates):
            inside = rate > 88.0  # no room right of the bar: write on it, in white
            x, colour = (rate - 1.0, "white") if inside else (rate + 1.0, "black")
            ha = "right" if inside else "left"
            ax.text(x, y, f"{rate:.0f}%", va="center", ha=ha, fontsize=8, color=colour)
        ax.set_xlim(0.0, 100.0)
        ax.invert_yaxis()  # same order as the item table: hardest first
        ax.set_xlabel("pass rate (%)")
        ax.set_title(_label(f"{assignment}: pass rate per check"))
        return _png(fig)
    finally:
        plt.close(fig)


def _label(text: str) -> str:
    # '$' starts mathtext in matplotlib; a stray one in a name would fail to parse
    return str(text).replace("$", r"\$")


def _png(fig: plt.Figure) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=_DPI, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
