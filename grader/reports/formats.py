"""Writing the class report to a file: csv, xlsx, parquet, json or html."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from grader import options
from grader.files import written_whole
from grader.reports.cells import text_cells, without_controls
from grader.reports.html import feedback_links, html_report
from grader.reports.schema import long_scores
from grader.reports.tables import gradebook, graded_checks, item_analysis

FORMATS = options.REPORT_FORMATS  # each has a writer in _WRITERS below


def write_report(scores: pd.DataFrame, checks: pd.DataFrame, fmt: str, output: Path) -> Path:
    """Write the report in format ``fmt`` to ``output``, creating its folder.

    csv, parquet and json hold the long scores table (SCORE_COLUMNS; json as records with ISO
    dates); xlsx has the sheets "gradebook", "scores" and "items"; html is ``html_report``,
    linked to the feedback in a folder beside it (``feedback_links`` says which).

    Args:
        scores: one row per (student, assignment), the current grading.
        checks: one row per (student, assignment, check) of those gradings.
        fmt: one of FORMATS.
        output: the file to write.

    Returns:
        ``output``.
    """
    if fmt not in _WRITERS:
        raise ValueError(f"unknown report format {fmt!r}; use one of {', '.join(FORMATS)}")
    output = Path(output)
    with written_whole(output) as partial:
        _WRITERS[fmt](scores, checks, partial)
    return output


def _csv(scores: pd.DataFrame, checks: pd.DataFrame, output: Path) -> None:
    # every text cell quoted: pandas would leave a carriage return in a name unquoted, which
    # splits the row for a reader
    text_cells(long_scores(scores)).to_csv(output, index=False, quoting=csv.QUOTE_NONNUMERIC)


def _parquet(scores: pd.DataFrame, checks: pd.DataFrame, output: Path) -> None:
    long_scores(scores).to_parquet(output, index=False)


def _json(scores: pd.DataFrame, checks: pd.DataFrame, output: Path) -> None:
    records = long_scores(scores).to_json(
        orient="records",
        date_format="iso",
        date_unit="us",
        double_precision=15,
        force_ascii=False,
        indent=1,
    )
    output.write_text(records, encoding="utf-8")


def _html(scores: pd.DataFrame, checks: pd.DataFrame, output: Path) -> None:
    # ``output`` is a temporary file beside the report, so its folder is the report's
    links = feedback_links(scores, output.parent) if not scores.empty else {}
    output.write_text(html_report(scores, checks, feedback=links), encoding="utf-8")


def _xlsx(scores: pd.DataFrame, checks: pd.DataFrame, output: Path) -> None:
    sheets = {
        "gradebook": gradebook(scores).reset_index(),
        "scores": _naive_utc(long_scores(scores)),
        "items": item_analysis(graded_checks(checks, scores)[0]),
    }
    with pd.ExcelWriter(output, engine="openpyxl") as writer:
        for name, frame in sheets.items():
            # openpyxl refuses control characters, which a student's name may hold
            text_cells(frame, without_controls).to_excel(writer, sheet_name=name, index=False)
            _no_formulas(writer.sheets[name])


def _naive_utc(frame: pd.DataFrame) -> pd.DataFrame:
    # openpyxl refuses tz-aware datetimes; Excel has no time zones, so store UTC wall time
    frame = frame.copy()
    for column in frame.columns:
        dtype = frame[column].dtype
        if isinstance(dtype, pd.DatetimeTZDtype):
            frame[column] = frame[column].dt.tz_convert("UTC").dt.tz_localize(None)
    return frame


def _no_formulas(sheet) -> None:
    # openpyxl stores any string starting with "=" as a formula, so a student named
    # "=HYPERLINK(...)" would become live in Excel; keep such cells plain text
    for row in sheet.iter_rows():
        for cell in row:
            if cell.data_type == "f":
                cell.data_type = "s"


_WRITERS: dict[str, Callable[[pd.DataFrame, pd.DataFrame, Path], None]] = {
    "csv": _csv,
    "xlsx": _xlsx,
    "parquet": _parquet,
    "json": _json,
    "html": _html,
}
