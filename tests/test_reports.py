"""Reports: tables, file formats, the html page, feedback and the Canvas and Gradescope exports."""

from __future__ import annotations

import base64
import csv
import html
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import REPO
from matplotlib import image as mpimg

from grader.reports import (
    CHECK_COLUMNS,
    FORMATS,
    HIDDEN_MESSAGE,
    SCORE_COLUMNS,
    canvas_csv,
    gradebook,
    gradescope_results,
    html_report,
    item_analysis,
    slug,
    write_feedback,
    write_gradescope,
    write_report,
)

JOSE = 'José "Pepe" O\'Neil'
SCRIPT = "<script>alert(1)</script>"
SECRET = "SECRET-7f3a"  # only ever in a hidden check's message and hint

# check_id: (assignment, function, category, max_points, hidden, title)
CHECK_DEFS = {
    "synthetic_data_shapes": (
        "linreg", "synthetic_data", "correctness", 2.0, False,
        "synthetic_data returns X of shape (n, 2) and y of shape (n, 1).",
    ),
    "sgd_updates_in_place": (
        "linreg", "sgd", "semantics", 2.0, False, "sgd updates the parameters in place.",
    ),
    "sgd_matches_reference_hidden": (
        "linreg", "sgd", "correctness", 2.0, True, "sgd takes the same step as the reference.",
    ),
    "linreg_runs_on_gpu": (
        "linreg", "linreg", "device", 1.0, False, "linreg runs on a CUDA device.",
    ),
    "softmax_rows_sum_to_one": (
        "softmax", "softmax", "correctness", 3.0, False, "softmax rows are positive, sum to 1.",
    ),
    "softmax_survives_large_logits": (
        "softmax", "softmax", "stability", 2.0, False, "softmax stays finite for large logits.",
    ),
    "cross_entropy_picks_true_class": (
        "softmax", "cross_entropy", "correctness", 3.0, False,
        "cross_entropy is minus the log probability of the true class.",
    ),
}

IN_PLACE_HINT = "update the parameters in place"
SKIP = ("skipped", 0.0, "no CUDA device on this machine", "")
SECRET_FAIL = ("failed", 0.0, f"{SECRET}: w=[0.25, -1.5], lr=0.03", f"{SECRET} the hidden hint")

# (student, assignment): {check_id: (status, points, message, hint)}
RESULTS = {
    ("alice", "linreg"): {
        "synthetic_data_shapes": ("passed", 2.0, "", ""),
        "sgd_updates_in_place": ("passed", 2.0, "", ""),
        "sgd_matches_reference_hidden": ("passed", 2.0, "", ""),
        "linreg_runs_on_gpu": SKIP,
    },
    ("alice", "softmax"): {
        "softmax_rows_sum_to_one": ("passed", 3.0, "", ""),
        "softmax_survives_large_logits": ("passed", 2.0, "", ""),
        "cross_entropy_picks_true_class": ("passed", 3.0, "", ""),
    },
    (JOSE, "linreg"): {
        "synthetic_data_shapes": ("passed", 2.0, "", ""),
        "sgd_updates_in_place": (
            "failed", 0.5,
            "after one step w is unchanged: max abs change 0\nexpected -0.03 at [0, 0]",
            IN_PLACE_HINT,
        ),
        "sgd_matches_reference_hidden": SECRET_FAIL,
        "linreg_runs_on_gpu": SKIP,
    },
    (JOSE, "softmax"): {
        "softmax_rows_sum_to_one": ("passed", 3.0, "", ""),
        "softmax_survives_large_logits": (
            "failed", 0.0, "softmax on logits of 89 to 100 has 4 non-finite entries of 6",
            "subtract each row's max before exp",
        ),
        "cross_entropy_picks_true_class": (
            "error", 0.0, "TypeError: cross_entropy() missing 1 required positional argument: 'y'",
            "",
        ),
    },
    (SCRIPT, "linreg"): {
        "synthetic_data_shapes": (
            "failed", 0.0, "X has shape (10, 3), expected (10, 2)", "stack the features as columns",
        ),
        "sgd_updates_in_place": ("passed", 2.0, "", ""),
        "sgd_matches_reference_hidden": ("passed", 2.0, "", ""),
        "linreg_runs_on_gpu": SKIP,
    },
    (SCRIPT, "softmax"): {
        "softmax_rows_sum_to_one": ("passed", 3.0, "", ""),
        "softmax_survives_large_logits": ("passed", 2.0, "", ""),
        "cross_entropy_picks_true_class": (
            "failed", 0.0, "mean loss 2.71 instead of 0.92",
            "index the true class, not the predicted one",
        ),
    },
    ("bob", "linreg"): {
        "synthetic_data_shapes": ("passed", 2.0, "", ""),
        "sgd_updates_in_place": ("timeout", 0.0, "killed after 10.0 s", IN_PLACE_HINT),
        "sgd_matches_reference_hidden": SECRET_FAIL,
        "linreg_runs_on_gpu": SKIP,
    },
}

BOB_ERROR = "corrupt zip: bad CRC-32 for softmax_regression.py"

# (student, assignment, score, max_score, status, reason), added up by hand from RESULTS
SCORES = [
    ("alice", "linreg", 6.0, 6.0, "graded", ""),
    ("alice", "softmax", 8.0, 8.0, "graded", ""),
    (JOSE, "linreg", 2.5, 6.0, "graded", ""),
    (JOSE, "softmax", 3.0, 8.0, "graded", ""),
    (SCRIPT, "linreg", 4.0, 6.0, "graded", ""),
    (SCRIPT, "softmax", 5.0, 8.0, "graded", ""),
    ("bob", "linreg", 2.0, 6.0, "graded", ""),
    ("bob", "softmax", 0.0, 8.0, "not_run", BOB_ERROR),
]


def _run_id(student: str, assignment: str) -> int:
    return 100 + [(s, a) for s, a, *_ in SCORES].index((student, assignment))


@pytest.fixture
def scores() -> pd.DataFrame:
    rows = []
    for number, (student, assignment, score, max_score, status, reason) in enumerate(SCORES):
        rows.append({
            "student": student,
            "assignment": assignment,
            "score": score,
            "max_score": max_score,
            "percent": score / max_score * 100.0,
            "status": status,
            "graded_at": pd.Timestamp(f"2025-03-0{1 + number % 2} 10:{number:02d}:00", tz="UTC"),
            "version": "a3f9c2e" if assignment == "linreg" else "b81d04f",
            "run_id": _run_id(student, assignment),
            "content_hash": f"c0ffee{number}",
            "reason": reason,
            "overridden": False,
        })
    return pd.DataFrame(rows, columns=list(SCORE_COLUMNS))


@pytest.fixture
def checks() -> pd.DataFrame:
    rows = []
    for (student, assignment), results in RESULTS.items():
        for check_id, (status, points, message, hint) in results.items():
            _, function, category, max_points, hidden, title = CHECK_DEFS[check_id]
            rows.append({
                "student": student, "assignment": assignment,
                "run_id": _run_id(student, assignment), "check_id": check_id,
                "function": function, "category": category, "status": status,
                "points": points, "max_points": max_points, "title": title,
                "message": message, "hint": hint, "duration": 0.25, "hidden": hidden,
                "overridden": False,
            })
    return pd.DataFrame(rows, columns=list(CHECK_COLUMNS))


def _pair(frame: pd.DataFrame, student: str, assignment: str) -> pd.Series:
    return (frame["student"] == student) & (frame["assignment"] == assignment)


def _one(frame: pd.DataFrame, student: str, assignment: str) -> pd.DataFrame:
    return frame[_pair(frame, student, assignment)]


# --- the package ---------------------------------------------------------------------------


def test_reports_import_neither_torch_nor_sqlalchemy():
    code = (
        "import sys, grader.reports\n"
        "bad = [m for m in ('torch', 'sqlalchemy') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


# --- tables --------------------------------------------------------------------------------


def test_gradebook_matches_hand_totals(scores):
    book = gradebook(scores)
    assert list(book.index) == sorted(["alice", JOSE, SCRIPT, "bob"])
    assert list(book.columns) == ["linreg", "softmax", "total"]
    assert book.loc[JOSE].tolist() == [2.5, 3.0, 5.5]
    assert book.loc["bob"].tolist() == [2.0, 0.0, 2.0]
    assert book.loc[SCRIPT, "total"] == 9.0


def test_gradebook_leaves_missing_gradings_empty(scores):
    book = gradebook(scores[~_pair(scores, "alice", "softmax")])
    assert np.isnan(book.loc["alice", "softmax"])
    assert book.loc["alice", "total"] == 6.0


def test_gradebook_refuses_two_gradings_of_one_pair(scores):
    with pytest.raises(ValueError, match=r"\('alice', 'linreg'\)"):
        gradebook(pd.concat([scores, scores.iloc[[0]]]))


def test_item_analysis_pass_rates_match_hand_count(checks):
    items = item_analysis(checks).set_index(["assignment", "check_id"])
    expected = {  # passed / not skipped, counted from RESULTS by hand
        ("linreg", "synthetic_data_shapes"): (3, 4, 1.5),
        ("linreg", "sgd_updates_in_place"): (2, 4, 1.125),
        ("linreg", "sgd_matches_reference_hidden"): (2, 4, 1.0),
        ("softmax", "softmax_rows_sum_to_one"): (3, 3, 3.0),
        ("softmax", "softmax_survives_large_logits"): (2, 3, 4 / 3),
        ("softmax", "cross_entropy_picks_true_class"): (1, 3, 1.0),
    }
    for key, (passed, attempts, mean_points) in expected.items():
        assert items.loc[key, "attempts"] == attempts, key
        assert items.loc[key, "pass_rate"] == pytest.approx(passed / attempts), key
        assert items.loc[key, "mean_points"] == pytest.approx(mean_points), key
    # a device check graded without a GPU everywhere: no attempt, so no row to mislead with
    assert ("linreg", "linreg_runs_on_gpu") not in items.index


def test_item_analysis_puts_the_hardest_checks_first(checks):
    items = item_analysis(checks)
    assert items["check_id"].tolist() == [
        "sgd_matches_reference_hidden",  # 0.5, tie broken by check_id
        "sgd_updates_in_place",  # 0.5
        "synthetic_data_shapes",  # 0.75 (linreg_runs_on_gpu, never attempted, is left out)
        "cross_entropy_picks_true_class",  # 1/3
        "softmax_survives_large_logits",  # 2/3
        "softmax_rows_sum_to_one",  # 1
    ]


def test_item_analysis_counts_hints_of_failures_only(checks):
    items = item_analysis(checks).set_index("check_id")
    assert items.loc["sgd_updates_in_place", "common_hints"] == f"{IN_PLACE_HINT} (×2)"
    assert items.loc["softmax_rows_sum_to_one", "common_hints"] == ""
    assert items.loc["synthetic_data_shapes", "function"] == "synthetic_data"


def test_item_analysis_names_the_failure_message_that_failures_share(checks):
    items = item_analysis(checks).set_index("check_id")
    shared = items.loc["sgd_matches_reference_hidden"]  # jose and bob: the same message
    assert (shared["common_message"], shared["common_message_count"]) == (SECRET_FAIL[2], 2)
    # two failures with two messages: neither is common
    assert items.loc["sgd_updates_in_place", "common_message"] == ""
    assert items.loc["sgd_updates_in_place", "common_message_count"] == 0
    assert items.loc["synthetic_data_shapes", "title"] == CHECK_DEFS["synthetic_data_shapes"][5]


# --- file formats --------------------------------------------------------------------------

READERS = {
    "csv": pd.read_csv,
    "parquet": pd.read_parquet,
    "json": pd.read_json,
}


@pytest.mark.parametrize("fmt", sorted(READERS))
def test_long_formats_read_back_with_the_same_scores(scores, checks, tmp_path, fmt):
    path = write_report(scores, checks, fmt, tmp_path / f"report.{fmt}")
    back = READERS[fmt](path)
    assert list(back.columns) == list(SCORE_COLUMNS)
    merged = back.merge(scores, on=["student", "assignment"], suffixes=("_back", ""))
    assert len(merged) == len(scores) == len(back)
    assert np.allclose(merged["score_back"], merged["score"])
    assert np.allclose(merged["percent_back"], merged["percent"])
    graded_at = pd.to_datetime(merged["graded_at_back"], utc=True)
    assert (graded_at == merged["graded_at"]).all()


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_creates_its_folder(scores, checks, tmp_path, fmt):
    path = write_report(scores, checks, fmt, tmp_path / "a" / "b" / f"report.{fmt}")
    assert path.is_file() and path.stat().st_size > 0


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_writes_an_empty_gradebook(tmp_path, fmt):
    scores = pd.DataFrame({column: [] for column in SCORE_COLUMNS})
    checks = pd.DataFrame({column: [] for column in CHECK_COLUMNS})
    path = write_report(scores, checks, fmt, tmp_path / f"empty.{fmt}")
    assert path.is_file()


def test_xlsx_has_the_three_sheets_and_the_gradebook_pivot(scores, checks, tmp_path):
    sheets = pd.read_excel(write_report(scores, checks, "xlsx", tmp_path / "r.xlsx"), None)
    assert list(sheets) == ["gradebook", "scores", "items"]
    pivot = scores.pivot_table(index="student", columns="assignment", values="score")
    pivot["total"] = pivot["linreg"] + pivot["softmax"]
    book = sheets["gradebook"].set_index("student")
    assert sorted(book.index) == sorted(pivot.index)
    assert np.allclose(book.loc[pivot.index, pivot.columns], pivot)
    assert list(sheets["scores"].columns) == list(SCORE_COLUMNS)
    naive = scores["graded_at"].dt.tz_localize(None)
    assert sorted(sheets["scores"]["graded_at"]) == sorted(naive)
    assert len(sheets["items"]) == len(CHECK_DEFS) - 1  # the device check no one attempted


def test_xlsx_keeps_formula_like_names_as_text(scores, checks, tmp_path):
    import openpyxl

    scores = scores.replace({"student": {"bob": "=1+2"}})
    path = write_report(scores, checks, "xlsx", tmp_path / "r.xlsx")
    sheet = openpyxl.load_workbook(path)["gradebook"]
    cells = [cell for row in sheet.iter_rows() for cell in row if cell.value == "=1+2"]
    assert cells and all(cell.data_type == "s" for cell in cells)


def test_unknown_format_lists_the_formats(scores, checks, tmp_path):
    with pytest.raises(ValueError, match="csv, xlsx, parquet, json, html") as caught:
        write_report(scores, checks, "xls", tmp_path / "r.xls")
    assert "\n" not in str(caught.value)
    assert not (tmp_path / "r.xls").exists()


# --- html report ---------------------------------------------------------------------------

PNG = re.compile(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)" alt="([^"]+)">')


def test_html_report_escapes_student_text(scores, checks):
    page = html_report(scores, checks, title="<b>Week 3</b>")
    assert "<script>" not in page and "<b>Week 3" not in page
    assert html.escape(SCRIPT) in page
    assert html.escape(JOSE) in page
    assert html.escape(BOB_ERROR) in page


def test_html_report_embeds_one_png_per_chart(scores, checks):
    page = html_report(scores, checks)
    images = PNG.findall(page)
    assert len(images) == 4  # per assignment: a score histogram and the pass-rate bars
    assert all(base64.b64decode(data).startswith(b"\x89PNG\r\n") for data, _ in images)
    assert all(alt.strip() for _, alt in images)
    assert page.count("<img") == 4
    # nothing fetched from elsewhere; links within the page only (no feedback folder here)
    assert not re.search(r'(src|href)="(?!data:|#)', page)
    assert "4 students" in page and "2 assignments" in page
    assert f"{scores['percent'].mean():.1f}%" in page


def test_html_report_charts_only_assignments_with_checks(scores, checks):
    page = html_report(scores, checks[checks["assignment"] == "linreg"])
    assert len(PNG.findall(page)) == 3


@pytest.mark.parametrize("empty", ["no rows", "no columns"])
def test_html_report_of_nothing_says_so(scores, checks, empty):
    if empty == "no rows":
        scores, checks = scores.iloc[:0], checks.iloc[:0]
    else:
        scores, checks = pd.DataFrame(), pd.DataFrame()
    page = html_report(scores, checks)
    assert "Nothing graded yet" in page and "<img" not in page


def _browser() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _screenshot(browser: str, page: Path, png: Path) -> np.ndarray:
    command = [
        browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
        f"--user-data-dir={png.parent / 'profile'}", f"--screenshot={png}",
        "--window-size=1200,1600", page.resolve().as_uri(),
    ]
    subprocess.run(command, capture_output=True, timeout=60, check=True)
    return mpimg.imread(png)


def _assert_drawn(image: np.ndarray) -> None:
    rgb = np.round(image[..., :3] * 255).astype(np.uint8).reshape(-1, 3)  # (pixels, 3)
    colours = len(np.unique(rgb, axis=0))
    ink = float((rgb < 245).any(axis=1).mean())
    assert colours >= 100, f"only {colours} distinct colours: the page looks blank"
    assert ink >= 0.03, f"only {ink:.1%} of pixels are not white: the page looks blank"


def test_html_report_renders_in_a_browser(scores, checks, tmp_path):
    browser = _browser()
    if browser is None:
        pytest.skip("no chromium or chromium-browser on PATH to render the report")
    report = write_report(scores, checks, "html", tmp_path / "report.html")
    _assert_drawn(_screenshot(browser, report, tmp_path / "report.png"))
    blank = tmp_path / "blank.html"
    blank.write_text("<!DOCTYPE html><html><body></body></html>")
    with pytest.raises(AssertionError, match="looks blank"):
        _assert_drawn(_screenshot(browser, blank, tmp_path / "blank.png"))


# --- feedback ------------------------------------------------------------------------------


def test_feedback_writes_markdown_and_html_per_grading(scores, checks, tmp_path):
    written = write_feedback(scores, checks, tmp_path)
    assert len(written) == 2 * len(scores)
    assert {path.suffix for path in written} == {".md", ".html"}
    folders = {path.parent for path in written}
    assert len(folders) == 4 and all(folder.parent == tmp_path for folder in folders)
    assert (tmp_path / "alice" / "linreg.md").is_file()


def test_feedback_never_shows_hidden_inputs(scores, checks, tmp_path):
    for path in write_feedback(scores, checks, tmp_path):
        assert SECRET not in path.read_text(encoding="utf-8"), path
    jose = (tmp_path / slug(JOSE) / "linreg.md").read_text(encoding="utf-8")
    assert HIDDEN_MESSAGE in jose
    assert CHECK_DEFS["sgd_matches_reference_hidden"][5] in jose
    alice = (tmp_path / "alice" / "linreg.md").read_text(encoding="utf-8")
    assert HIDDEN_MESSAGE not in alice  # it passed


def test_feedback_shows_each_failed_check_message_and_hint(scores, checks, tmp_path):
    write_feedback(scores, checks, tmp_path)
    failed = checks[~checks["status"].isin(["passed", "skipped"]) & ~checks["hidden"]]
    assert len(failed) == 6
    for _, check in failed.iterrows():
        folder = tmp_path / slug(check["student"])
        markdown = (folder / f"{check['assignment']}.md").read_text(encoding="utf-8")
        page = (folder / f"{check['assignment']}.html").read_text(encoding="utf-8")
        for line in check["message"].splitlines():
            assert line in markdown and html.escape(line) in page, line
        if check["hint"]:
            assert f"Likely mistake: {check['hint']}" in markdown
            assert f"Likely mistake: {html.escape(check['hint'])}" in page
        assert f"**{check['status']}**" in markdown


def test_feedback_puts_multiline_messages_in_code_blocks(scores, checks, tmp_path):
    write_feedback(scores, checks, tmp_path, student=JOSE)
    markdown = (tmp_path / slug(JOSE) / "linreg.md").read_text(encoding="utf-8")
    assert "  ```text\n  after one step w is unchanged" in markdown
    page = (tmp_path / slug(JOSE) / "linreg.html").read_text(encoding="utf-8")
    assert "<pre>after one step w is unchanged: max abs change 0\nexpected" in page


def test_feedback_of_a_submission_that_did_not_run_says_why_once(scores, checks, tmp_path):
    written = write_feedback(scores, checks, tmp_path, student="bob")
    assert [path.name for path in written] == ["linreg.md", "linreg.html", "softmax.md",
                                               "softmax.html"]
    markdown = (tmp_path / "bob" / "softmax.md").read_text(encoding="utf-8")
    assert BOB_ERROR in markdown and "Score: 0 / 8" in markdown
    assert markdown.count(BOB_ERROR) == 1 and "Nothing of this submission ran" in markdown
    assert "## " not in markdown  # no check list: none of them ran
    page = (tmp_path / "bob" / "softmax.html").read_text(encoding="utf-8")
    assert page.count(html.escape(BOB_ERROR)) == 1 and "<h2>" not in page


def test_feedback_escapes_names_in_markdown_and_html(scores, checks, tmp_path):
    write_feedback(scores, checks, tmp_path, student=SCRIPT)
    folder = tmp_path / slug(SCRIPT)
    assert "<script>" not in (folder / "linreg.md").read_text(encoding="utf-8")
    page = (folder / "linreg.html").read_text(encoding="utf-8")
    assert "<script>" not in page and html.escape(SCRIPT) in page
    assert not re.search(r'(src|href)="', page)


def test_feedback_for_an_unknown_student_says_so(scores, checks, tmp_path):
    with pytest.raises(ValueError, match="no gradings for student 'carol'"):
        write_feedback(scores, checks, tmp_path, student="carol")


TRICKY = [
    "alice", JOSE, SCRIPT, ".", "..", "", "...", ".hidden", "a/b", "a\\b", "a b", "a_b",
    "Zoë", "Zoé", "名前", "x" * 300, "con", "tab\there", "new\nline",
]


@pytest.mark.parametrize("name", TRICKY)
def test_slug_is_safe(name):
    made = slug(name)
    assert re.fullmatch(r"[A-Za-z0-9_\-][A-Za-z0-9._\-]*", made), made
    assert made not in {".", ".."} and len(made) <= 80


def test_slugs_are_unique_and_keep_safe_names(scores):
    assert len({slug(name) for name in TRICKY}) == len(TRICKY)
    assert slug("alice") == "alice" and slug("bob.smith-2") == "bob.smith-2"
    assert slug("a b") != slug("a_b") == "a_b"


# --- Canvas and Gradescope -----------------------------------------------------------------


def test_canvas_csv_layout(scores, tmp_path):
    scores = scores[~_pair(scores, SCRIPT, "softmax")]
    path = canvas_csv(scores, tmp_path / "out" / "canvas.csv")
    with path.open(newline="", encoding="utf-8") as file:
        rows = list(csv.reader(file))
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "linreg",
                       "softmax"]
    assert rows[1] == ["Points Possible", "", "", "", "", "6", "8"]
    by_student = {row[0]: row for row in rows[2:]}
    assert sorted(by_student) == sorted(["alice", JOSE, SCRIPT, "bob"])
    assert by_student[JOSE] == [JOSE, "", "", JOSE, "", "2.5", "3"]
    assert by_student[SCRIPT][5:] == ["4", ""]


def test_gradescope_totals_equal_score_and_leave_out_skipped(scores, checks):
    skipped_title = CHECK_DEFS["linreg_runs_on_gpu"][5]
    for _, row in scores[scores["status"] == "graded"].iterrows():
        results = gradescope_results(_one(checks, row["student"], row["assignment"]), row)
        tests = results["tests"]
        assert results["score"] == sum(test["score"] for test in tests) == row["score"]
        assert sum(test["max_score"] for test in tests) == row["max_score"]
        assert all(skipped_title not in test["name"] for test in tests)
        assert {test["status"] for test in tests} <= {"passed", "failed"}
        assert all(test["visibility"] == "visible" for test in tests)
        json.dumps(results, allow_nan=False)


def test_gradescope_hides_hidden_checks(scores, checks):
    row = _one(scores, JOSE, "linreg").iloc[0]
    results = gradescope_results(_one(checks, JOSE, "linreg"), row)
    assert SECRET not in json.dumps(results, ensure_ascii=False)
    hidden_title = CHECK_DEFS["sgd_matches_reference_hidden"][5]
    (hidden,) = [test for test in results["tests"] if hidden_title in test["name"]]
    assert hidden["status"] == "failed" and hidden["max_score"] == 2.0
    assert HIDDEN_MESSAGE in hidden["output"]
    (in_place,) = [test for test in results["tests"] if "in place" in test["name"]]
    assert IN_PLACE_HINT in in_place["output"] and "expected -0.03" in in_place["output"]


def test_gradescope_run_that_did_not_run_scores_zero_with_its_reason(scores, checks):
    row = _one(scores, "bob", "softmax").iloc[0]
    results = gradescope_results(checks.iloc[:0], row)
    assert results["score"] == 0 and results["tests"] == []
    assert BOB_ERROR in results["output"]


def test_gradescope_override_wins_and_is_explained(scores, checks):
    scores.loc[_pair(scores, JOSE, "linreg"), ["score", "overridden"]] = [4.0, True]
    row = _one(scores, JOSE, "linreg").iloc[0]
    results = gradescope_results(_one(checks, JOSE, "linreg"), row)
    assert results["score"] == 4.0 and "set by hand" in results["output"]


def test_write_gradescope_for_one_student_needs_one_assignment(scores, checks, tmp_path):
    with pytest.raises(ValueError, match="2 assignments.*filter scores to one assignment"):
        write_gradescope(scores, checks, tmp_path / "results.json", student=JOSE)
    linreg = scores[scores["assignment"] == "linreg"]
    (path,) = write_gradescope(linreg, checks, tmp_path / "gs" / "results.json", student=JOSE)
    assert path == tmp_path / "gs" / "results.json"
    assert json.loads(path.read_text(encoding="utf-8"))["score"] == 2.5


def test_write_gradescope_writes_one_file_per_grading(scores, checks, tmp_path):
    written = write_gradescope(scores, checks, tmp_path)
    assert len(written) == len(scores)
    assert tmp_path / slug(SCRIPT) / "softmax.json" in written
    for path in written:
        text = path.read_text(encoding="utf-8")
        assert SECRET not in text
        json.loads(text, parse_constant=_refuse_nan)  # strict JSON: Gradescope rejects NaN


def _refuse_nan(name: str) -> None:
    pytest.fail(f"{name} in a results.json")


# --- what a student's name cannot do to staff's files ----------------------------------------


def test_a_name_that_looks_like_a_slug_cannot_take_another_students_files(scores, checks,
                                                                           tmp_path):
    lookalike = slug("Zoë")  # "Zo_-c6a12698": safe characters, so it used to keep itself
    assert slug(lookalike) != slug("Zoë")
    both = pd.concat([scores[scores["student"] == "bob"].assign(student=name)
                      for name in ("Zoë", lookalike)])
    their_checks = pd.concat([checks[checks["student"] == "bob"].assign(student=name)
                              for name in ("Zoë", lookalike)])
    paths = write_feedback(both, their_checks, tmp_path)
    assert len(set(paths)) == len(paths) == 2 * len(both)
    assert all(path.exists() for path in paths)


FORMULAS = ['=HYPERLINK("evil.example","click")', "+cmd|' -C calc'!A0", "@SUM(1+1)", "-2+3",
            "\tTAB", "\rCR"]


@pytest.mark.parametrize("name", FORMULAS)
def test_csv_cells_never_start_a_formula(scores, tmp_path, name):
    import csv

    named = scores.replace({"student": {"bob": name}})
    report = write_report(named, pd.DataFrame(), "csv", tmp_path / "report.csv")
    canvas = canvas_csv(named, tmp_path / "canvas.csv")
    for path in (report, canvas):
        cells = [cell for row in csv.reader(path.open(newline="")) for cell in row]
        assert "'" + name in cells, path.name
        assert not any(cell.startswith(("=", "+", "@", "\t", "\r")) for cell in cells), path.name
    assert pd.read_csv(report)["score"].dtype.kind == "f"  # numbers stay numbers


def test_a_failed_write_keeps_the_last_good_report(scores, checks, tmp_path, monkeypatch):
    path = write_report(scores, checks, "xlsx", tmp_path / "report.xlsx")
    good = path.read_bytes()
    import grader.reports.formats as formats

    def broken(*args):
        raise OSError("disk full")

    monkeypatch.setitem(formats._WRITERS, "xlsx", broken)
    with pytest.raises(OSError, match="disk full"):
        write_report(scores, checks, "xlsx", path)
    assert path.read_bytes() == good
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.xlsx"]  # no partial left


def test_control_characters_in_a_name_reach_the_workbook_escaped(scores, checks, tmp_path):
    import openpyxl

    named = scores.replace({"student": {"bob": "bob\x07\x1b[2J"}})
    path = write_report(named, checks, "xlsx", tmp_path / "r.xlsx")
    names = [cell.value for cell in openpyxl.load_workbook(path)["scores"]["A"]]
    assert "bob\\x07\\x1b[2J" in names


def test_item_analysis_counts_graded_submissions_only_and_says_what_it_left_out(scores, checks):
    from grader.reports.tables import graded_checks

    assert graded_checks(checks, scores)[1] == "left out: 1 not run"
    scores.loc[_pair(scores, "bob", "linreg"), "status"] = "timed_out"
    kept, left_out = graded_checks(checks, scores)
    assert left_out == "left out: 1 not run, 1 timed out"
    assert set(kept.loc[kept["assignment"] == "linreg", "student"]) == {"alice", JOSE, SCRIPT}
    items = item_analysis(kept).set_index("check_id")
    assert items.loc["synthetic_data_shapes", "attempts"] == 3
    page = html_report(scores, checks)
    assert "Graded submissions only; left out: 1 not run, 1 timed out." in page
    assert "<h3>Not graded as handed in</h3>" in page and html.escape(BOB_ERROR) in page


def test_feedback_says_which_maximum_its_percentage_uses(scores, checks, tmp_path):
    write_feedback(scores, checks, tmp_path, student="alice")
    markdown = (tmp_path / "alice" / "linreg.md").read_text(encoding="utf-8")
    assert "Score: 6 / 6 (100.0%)" in markdown  # correct is 100%, GPU or not
    assert ("1 device checks (1 points) ran without a GPU and count in neither score nor "
            "maximum") in markdown
    assert "without a GPU" not in (tmp_path / "alice" / "softmax.md").read_text(encoding="utf-8")


def test_html_report_of_a_class_that_passed_every_check(scores, checks):
    """No failure anywhere: no shared cause to list, and the page is still written."""
    passing = checks.assign(status="passed", points=checks["max_points"], message="", hint="")
    page = html_report(scores, passing)
    assert "One cause, several checks" not in page
    assert all(html.escape(student) in page for student in scores["student"])
