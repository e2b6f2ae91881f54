"""Every zero explained (issue 19, item 1): a submission that never ran is `not_run`, one whose
time ran out is `timed_out`, each with its reason, in the batch's summary, the gradebook, every
report and the feedback; item analysis counts graded submissions only.

The class is the shipped examples plus three: one that does not import, one with its file
misnamed, one that sleeps through its time budget. The course is the built-in one, copied with a
time budget of a few seconds so that the sleeper runs out quickly.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from helpers import LINREG_FILE, REFERENCE_FILE, REPO

from grader.cli import main

# seconds for a whole linreg submission in this course: 20 times what the reference takes
# here, so a busy machine never cuts a correct one, while the sleeper needs over a minute
BUDGET = 20
SLEEPER = REFERENCE_FILE.read_text() + '''

import time as _time

_linreg = linreg


def linreg(X, w, b):
    _time.sleep(3)
    return _linreg(X, w, b)
'''


def short_budget_course(folder: Path) -> Path:
    """The built-in course, with linreg's time budget cut to BUDGET."""
    shutil.copytree(REPO / "assignments", folder)
    toml = "\n".join([
        'name = "ta-term"',
        "[linreg]",
        f'reference = "{REPO / "reference" / LINREG_FILE}"',
        f'template = ["{REPO / "student_template" / LINREG_FILE}"]',
        f"time_budget = {BUDGET}",
    ])
    (folder / "course.toml").write_text(toml + "\n")
    for other in ("softmax", "gradients"):
        shutil.rmtree(folder / other)
    return folder


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory, data_root):
    top = tmp_path_factory.mktemp("term")
    course = short_budget_course(top / "course")
    root = top / "class"
    shutil.copytree(REPO / "examples" / "class", root)
    (root / "ivy").mkdir()
    (root / "ivy" / LINREG_FILE).write_text("import torchvision\n" + REFERENCE_FILE.read_text())
    (root / "jon").mkdir()
    (root / "jon" / "linear_regresion.py").write_text(REFERENCE_FILE.read_text())
    (root / "kim").mkdir()
    (root / "kim" / LINREG_FILE).write_text(SLEEPER)
    (root / "lev").mkdir()  # a segmentation fault on import: the submission killed its process
    (root / "lev" / LINREG_FILE).write_text("import ctypes\nctypes.string_at(0)\n"
                                             + REFERENCE_FILE.read_text())
    url = f"sqlite:///{top / 'grades.db'}"
    result = CliRunner().invoke(main, ["batch", str(root), "-a", "linreg", "--course",
                                       str(course), "--db", url, "--device", "cpu",
                                       "--data-root", str(data_root), "--jobs", "2"])
    return top, course, url, result


EXPECTED = {
    "ivy": ("not_run", "importing linear_regression.py failed: `linear_regression.py` raised "
                       "ModuleNotFoundError: No module named 'torchvision'"),
    "jon": ("not_run", "linear_regression.py not found in the submission"),
    "broken": ("not_run", "linear_regression.py has a syntax error (line 6)"),
    "kim": ("timed_out", f"it used up its time budget of {BUDGET} s"),
    "lev": ("crashed", "importing linear_regression.py crashed: the process was killed by "
                       "SIGSEGV"),
}


def test_the_batch_counts_each_status(graded_class):
    *_, result = graded_class
    assert result.exit_code == 0, result.output
    # bob handed in softmax only: for linreg he too is not run
    assert "4 not run, 1 timed out, 1 crashed, 0 need a regrade" in result.output
    assert "! ivy  not_run: importing linear_regression.py failed" in result.output
    assert "kim  " in result.output and "timed_out: it used up its time budget" in result.output


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "html"])
def test_every_report_shows_status_and_reason(graded_class, fmt):
    top, course, url, _ = graded_class
    out = top / f"report.{fmt}"
    result = CliRunner().invoke(main, ["report", "--db", url, "--course", "ta-term", "-o",
                                       str(out)])
    assert result.exit_code == 0, result.output
    if fmt == "html":
        page = out.read_text()
        for status, reason in EXPECTED.values():
            assert status in page and reason.replace("'", "&#x27;") in page
        assert "Graded submissions only; left out: 1 crashed, 4 not run, 1 timed out." in page
        return
    scores = (pd.read_csv(out) if fmt == "csv" else pd.read_excel(out, sheet_name="scores"))
    rows = scores.set_index("student")
    for student, (status, reason) in EXPECTED.items():
        assert rows.loc[student, "status"] == status
        assert reason in rows.loc[student, "reason"]
    assert (rows.loc[["ada", "alice"], "status"] == "graded").all()
    if fmt == "xlsx":  # none of the four in item analysis: attempts are the graded ones only
        items = pd.read_excel(out, sheet_name="items")
        graded = int((rows["status"] == "graded").sum())
        assert items["attempts"].max() == graded


def test_feedback_says_why_once(graded_class):
    top, course, url, _ = graded_class
    out = top / "feedback"
    result = CliRunner().invoke(main, ["feedback", "--db", url, "--course", "ta-term", "-o",
                                       str(out)])
    assert result.exit_code == 0, result.output
    for student, (_, reason) in EXPECTED.items():
        text = (out / student / "linreg.md").read_text()
        assert text.count(reason) == 1, (student, text)
    assert "Nothing of this submission ran" in (out / "jon" / "linreg.md").read_text()
    kim = (out / "kim" / "linreg.md").read_text()
    assert "ran out of time" in kim and "## `synthetic_data`" in kim  # what ran is listed


def test_the_gradescope_comment_says_why_nothing_ran(graded_class):
    top, course, url, _ = graded_class
    out = top / "gradescope"
    result = CliRunner().invoke(main, ["export", "--format", "gradescope", "--db", url,
                                       "--course", "ta-term", "-o", str(out)])
    assert result.exit_code == 0, result.output
    for student, (_, reason) in EXPECTED.items():
        comment = json.loads((out / student / "linreg.json").read_text())["output"]
        assert reason in comment, (student, comment)
    assert "Nothing of this submission ran" in json.loads(
        (out / "jon" / "linreg.json").read_text())["output"]


# The class list (issue 19, item 4) ----------------------------------------------------------

# Folders are matched by id (ada), login (alice, ivy) or email (jon, whose email is his folder's
# name, as a class that hands in by email would have it); zoe handed in nothing;
# kim, bob, broken, mallory, dana, chen wei and José are on no one's line here.
ROSTER = """\
id,name,email,sis_id,login,section
ada,Ada Lovelace,ada@uni.edu,SIS-1,alovelace,A
s2,Alice Liddell,alice.l@uni.edu,SIS-2,alice,A
s3,Ivy Chen,ivy@uni.edu,SIS-3,ivy,B
s4,Jon Snow,jon,SIS-4,,B
z9,Zoe Park,zoe@uni.edu,SIS-9,zpark,B
"""
ON_ROSTER = {"ada": "ada", "alice": "s2", "ivy": "s3", "jon": "s4"}


@pytest.fixture
def roster_file(graded_class):
    top, *_ = graded_class
    path = top / "roster.csv"
    path.write_text(ROSTER)
    return path


def export(url, fmt, out, *extra):
    return CliRunner().invoke(main, ["export", "--format", fmt, "--db", url, "--course",
                                     "ta-term", "-o", str(out), *extra])


def test_canvas_export_carries_the_rosters_identities_and_lists_who_is_missing(graded_class,
                                                                              roster_file):
    top, course, url, _ = graded_class
    out = top / "canvas.csv"
    result = export(url, "canvas", out, "--roster", str(roster_file))
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(out.open(encoding="utf-8")))
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "linreg"]
    assert rows[1][:5] == ["Points Possible", "", "", "", ""] and float(rows[1][5]) > 0
    by_sis = {row[2]: row for row in rows[2:]}
    assert list(by_sis) == ["SIS-1", "SIS-2", "SIS-3", "SIS-4", "SIS-9"]  # roster order
    assert by_sis["SIS-2"][:5] == ["Alice Liddell", "s2", "SIS-2", "alice", "A"]
    assert float(by_sis["SIS-1"][5]) == float(rows[1][5])  # ada: full marks
    assert by_sis["SIS-3"][5] == "0" and by_sis["SIS-9"][5] == "0"  # not run; no submission
    assert not any("kim" in cell for row in rows for cell in row)  # unmatched: never exported
    unmatched = next(line for line in result.output.splitlines()
                     if line.startswith("unmatched"))
    assert "kim" in unmatched and "bob" in unmatched and "ada" not in unmatched
    assert "no submission (1, scored 0): Zoe Park (z9)" in result.output


def test_moodle_and_gradescope_grade_files_take_their_own_columns(graded_class, roster_file):
    top, course, url, _ = graded_class
    for fmt, header in (("moodle", ["Full name", "ID number", "Username", "Email address"]),
                        ("gradescope-scores", ["Name", "SID", "Email"])):
        out = top / f"{fmt}.csv"
        result = export(url, fmt, out, "--roster", str(roster_file))
        assert result.exit_code == 0, result.output
        rows = list(csv.reader(out.open(encoding="utf-8")))
        assert rows[0] == [*header, "linreg"] and len(rows) == 6  # no Points Possible row
        assert rows[1][0] == "Ada Lovelace" and "ada@uni.edu" in rows[1]
    without = export(url, "moodle", top / "no-roster.csv")
    assert without.exit_code == 2 and not (top / "no-roster.csv").exists()
    assert without.output.startswith("error: a moodle grade file names students")


def test_no_submission_gets_neither_feedback_nor_gradescope_results(graded_class, roster_file):
    top, course, url, _ = graded_class
    for command, out in ((["export", "--format", "gradescope"], top / "gs-roster"),
                         (["feedback"], top / "fb-roster")):
        result = CliRunner().invoke(main, [*command, "--db", url, "--course", "ta-term",
                                           "--roster", str(roster_file), "-o", str(out)])
        assert result.exit_code == 0, result.output
        assert (out / "ada").is_dir() and not (out / "z9").exists()


def test_canvas_without_a_roster_warns_that_folders_are_the_identities(graded_class, tmp_path):
    *_, url, _ = graded_class
    result = export(url, "canvas", tmp_path / "canvas.csv")
    assert result.exit_code == 0, result.output
    assert "warning: no class list: the Student and SIS Login ID columns hold submission " \
           "folder names" in result.output


def test_an_imported_roster_serves_every_report(graded_class, roster_file, tmp_path):
    top, course, url, _ = graded_class
    copy = tmp_path / "grades.db"
    shutil.copyfile(url.removeprefix("sqlite:///"), copy)
    db = f"sqlite:///{copy}"
    imported = CliRunner().invoke(main, ["roster", "import", str(roster_file), "--db", db,
                                         "--course", "ta-term"])
    assert imported.exit_code == 0, imported.output
    assert imported.output.startswith("imported 5 students from ")
    out = tmp_path / "report.csv"
    result = CliRunner().invoke(main, ["report", "--db", db, "--course", "ta-term", "-o",
                                       str(out)])
    assert result.exit_code == 0, result.output
    rows = pd.read_csv(out, keep_default_na=False).set_index("student")
    for folder, roster_id in ON_ROSTER.items():
        assert rows.loc[folder, "roster_id"] == roster_id
    assert rows.loc["z9", ["name", "status", "score", "reason"]].tolist() == [
        "Zoe Park", "no_submission", 0, "no submission"]
    assert rows.loc["kim", "roster_id"] == ""  # on no one's line: kept, listed, not exported
    assert "Zoe Park (z9)" in result.output
    html = tmp_path / "report.html"
    result = CliRunner().invoke(main, ["report", "--db", db, "--course", "ta-term", "-o",
                                       str(html)])
    page = html.read_text()
    assert "Alice Liddell (alice)</a>" in page and "Zoe Park (z9)</a>" in page
    assert '<span class="flag">no submission</span>' in page


# what follows the file's name in the one line
BAD_ROSTERS = {
    "duplicate ids": ("id,name,email\na1,Ann,a@u\nA1,Bo,b@u\n",
                      ", row 3: id 'A1' is also row 2's id 'a1', ignoring case; give each "
                      "student their own"),
    "missing columns": ("id,full name\na1,Ann\n",
                        ": missing required columns name, email (columns found: 'id', "
                        "'full name'); name them in the header row"),
    "not UTF-8": ("id,name,email\na1,Jos\xe9,j@u\n".encode("latin-1"),
                  ": not UTF-8 (byte 0xe9 at offset 20); save it as UTF-8 CSV"),
}


@pytest.mark.parametrize("case", sorted(BAD_ROSTERS))
def test_a_bad_roster_is_one_line_exit_2_and_nothing_written(graded_class, tmp_path, case):
    *_, url, _ = graded_class
    content, said = BAD_ROSTERS[case]
    bad = tmp_path / "roster.csv"
    bad.write_bytes(content if isinstance(content, bytes) else content.encode())
    out = tmp_path / "canvas.csv"
    result = export(url, "canvas", out, "--roster", str(bad))
    assert result.exit_code == 2 and not out.exists()
    assert result.output == f"error: {bad}{said}\n"


def test_a_roster_id_names_the_student_to_regrade(graded_class, roster_file, tmp_path):
    top, course, url, _ = graded_class
    copy = tmp_path / "grades.db"
    shutil.copyfile(url.removeprefix("sqlite:///"), copy)
    args = ["batch", str(top / "class"), "-a", "linreg", "--course", str(course), "--db",
            f"sqlite:///{copy}", "--device", "cpu", "--roster", str(roster_file), "--force"]
    result = CliRunner().invoke(main, [*args, "--student", "ADA@uni.edu"])
    assert result.exit_code == 0, result.output
    assert "1 submissions, 1 graded" in result.output
    assert "no submission (1, scored 0): Zoe Park (z9)" in result.output
    unknown = CliRunner().invoke(main, [*args, "--student", "zed@uni.edu"])
    assert unknown.exit_code == 2
    assert unknown.output.strip() == (f"error: {roster_file}: 'zed@uni.edu' is no submission's "
                                      "name and no student's id, login or email; check the "
                                      "spelling")
