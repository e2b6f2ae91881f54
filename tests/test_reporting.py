"""`grader report`, `feedback`, `export` and `override` on a real SQLite gradebook, by the CLI."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from grader.cli import main
from grader.gradebook import Gradebook, NewRun
from grader.outcomes import RunStatus
from grader.outcomes.results import Category, CheckResult, Outcome

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=timezone.utc)
SECRET = "hidden-input-7f3a"


def result(id: str, passed: bool, points: float = 2.0, **extra) -> CheckResult:
    status = Outcome.PASSED if passed else Outcome.FAILED
    return CheckResult(id, "softmax", Category.STABILITY, status, points if passed else 0.0,
                       points, f"{id}: what it proves", **extra)


def store(book: Gradebook, student: str, *checks: CheckResult, **extra) -> None:
    fields = dict(
        student=student, assignment="softmax", version="v1", content_hash=student,
        path=f"/class/{student}", submitted_at=NOW, status=RunStatus.GRADED, started_at=NOW,
        finished_at=NOW, seed=0, device="cpu", isolation="strict", fingerprint={}, checks=checks,
    )
    book.record(NewRun(**{**fields, **extra}))


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'grades.db'}"
    with Gradebook(url) as book:
        store(book, "ada", result("large_logits", True), result("hidden_case", True, hidden=True))
        store(book, "bob", result("large_logits", False, message="max abs error 3.2e-02",
                                  hint="subtract each row's max before exp"),
              result("hidden_case", False, hidden=True, message=SECRET, hint=SECRET))
        store(book, "eve", status=RunStatus.NOT_RUN, error="eve.zip is not a valid zip file")
    return url


def invoke(*args: str):
    return CliRunner().invoke(main, list(args))


def test_report_infers_the_format_from_the_suffix(db, tmp_path):
    out = tmp_path / "r" / "scores.parquet"
    assert invoke("report", "--db", db, "-o", str(out)).exit_code == 0
    scores = pd.read_parquet(out).set_index("student")
    assert scores["score"].to_dict() == {"ada": 4.0, "bob": 0.0, "eve": 0.0}
    assert scores.loc["eve", "status"] == "not_run"


def test_report_without_a_known_suffix_asks_for_a_format(db, tmp_path):
    result = invoke("report", "--db", db, "-o", str(tmp_path / "scores.txt"))
    assert result.exit_code == 2
    assert result.output.startswith("error: cannot tell the format of 'scores.txt'")


def test_report_on_a_missing_gradebook_is_one_line_and_creates_nothing(tmp_path):
    missing = tmp_path / "typo.db"
    result = invoke("report", "--db", f"sqlite:///{missing}", "-o", str(tmp_path / "r.csv"))
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1
    assert "no gradebook at" in result.output and not missing.exists()


def test_feedback_explains_failures_and_never_shows_hidden_inputs(db, tmp_path):
    result = invoke("feedback", "--db", db, "-o", str(tmp_path / "fb"))
    assert result.exit_code == 0, result.output
    out = tmp_path / "fb"
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.*"))
    assert files == [f"{s}/softmax.{x}" for s in ("ada", "bob", "eve") for x in ("html", "md")]
    bob = (tmp_path / "fb" / "bob" / "softmax.md").read_text()
    assert "max abs error 3.2e-02" in bob and "subtract each row's max before exp" in bob
    every = "".join(p.read_text() for p in (tmp_path / "fb").rglob("*.*"))
    assert SECRET not in every
    assert "not a valid zip file" in (tmp_path / "fb" / "eve" / "softmax.md").read_text()


def test_an_override_changes_every_output_and_keeps_who_and_why(db, tmp_path):
    result = invoke("override", "bob", "-a", "softmax", "--check", "large_logits",
                    "--points", "1", "--by", "ta@uni", "--reason", "right idea", "--db", db)
    assert result.exit_code == 0, result.output
    invoke("report", "--db", db, "-o", str(tmp_path / "r.csv"))
    assert pd.read_csv(tmp_path / "r.csv").set_index("student").loc["bob", "score"] == 1.0
    invoke("export", "--format", "gradescope", "--student", "bob", "--db", db,
           "-o", str(tmp_path / "results.json"))
    assert json.loads((tmp_path / "results.json").read_text())["score"] == 1.0
    with Gradebook(db) as book, book.session() as session:
        from sqlalchemy import text

        row = session.execute(text("SELECT by, reason FROM overrides")).one()
    assert tuple(row) == ("ta@uni", "right idea")


def test_an_override_of_an_unknown_check_is_refused(db):
    result = invoke("override", "bob", "-a", "softmax", "--check", "nope", "--points", "1",
                    "--by", "ta", "--reason", "why", "--db", db)
    assert result.exit_code == 2 and "no graded check 'nope'" in result.output


def test_canvas_export_has_points_possible_and_every_student(db, tmp_path):
    out = tmp_path / "canvas.csv"
    assert invoke("export", "--format", "canvas", "--db", db, "-o", str(out)).exit_code == 0
    table = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert table.loc[0, "Student"] == "Points Possible" and table.loc[0, "softmax"] == "4"
    assert table["SIS Login ID"].tolist()[1:] == ["ada", "bob", "eve"]


def test_gradescope_export_writes_one_results_file_per_student(db, tmp_path):
    result = invoke("export", "--format", "gradescope", "--db", db, "-o", str(tmp_path / "gs"))
    assert result.exit_code == 0, result.output
    files = sorted((tmp_path / "gs").rglob("*.json"))
    assert len(files) == 3
    ada = json.loads((tmp_path / "gs" / "ada" / "softmax.json").read_text())
    assert ada["score"] == 4.0 and len(ada["tests"]) == 2


def test_feedback_on_an_empty_gradebook_says_so(tmp_path):
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    Gradebook(url).close()
    result = invoke("feedback", "--db", url, "-o", str(tmp_path / "fb"))
    assert result.exit_code == 2 and "holds no graded submissions" in result.output


@pytest.mark.parametrize("command", [
    ["report", "-o", "{out}/r.csv"], ["feedback", "-o", "{out}/fb"],
    ["export", "--format", "canvas", "-o", "{out}/c.csv"],
    ["override", "bob", "--points", "1", "--by", "ta", "--reason", "typo test"],
])
def test_a_misspelt_assignment_is_one_error_with_a_guess_everywhere(db, tmp_path, command):
    args = [part.format(out=tmp_path) for part in command]
    result = invoke(*args, "--db", db, "-a", "softmx")
    assert result.exit_code == 2, result.output
    (line,) = result.output.strip().splitlines()
    assert "no assignment 'softmx'" in line and "did you mean softmax?" in line
    assert not any(tmp_path.glob("r.csv")) and not any(tmp_path.glob("c.csv"))
    with Gradebook(db, create=False) as book:
        assert book.assignment_names() == ["softmax"]
