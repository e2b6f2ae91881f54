"""`grader batch` over a class on a real SQLite file: every student in the gradebook, scores that
agree with grading one by one, resume, regrade, a kill -9 mid-batch, and hostile neighbours."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from helpers import LINREG_FILE, REFERENCE_FILE, replace_function

from grader.batch.run import Options, run_batch
from grader.cli import main
from grader.gradebook import Gradebook
from grader.grading.catalog import get_assignment
from grader.outcomes import RunStatus
from grader.reports.frames import tables
from grader.runner import sandbox

REFERENCE = REFERENCE_FILE.read_text()
NO_BIAS = "def linreg(X, w, b):\n    return X @ w\n"
STRICT = sandbox.support().strict
MARK = b"written-by-student-code"


def thief(db: Path) -> str:
    """linreg is right only if the gradebook could not be read or written from student code."""
    return f'''
def linreg(X, w, b):
    import torch
    stolen = 0
    for mode in ("rb", "ab"):
        try:
            with open({str(db)!r}, mode) as f:
                stolen += len(f.read()) if mode == "rb" else f.write({MARK!r})
        except OSError:
            pass
    return torch.matmul(X, w) + b + stolen
'''


def write_class(root: Path, db: Path) -> dict[str, str]:
    """A class folder; returns student -> what the batch should make of it."""
    root.mkdir()
    folders = {
        "ada": REFERENCE,
        "bo no-bias": replace_function(REFERENCE, "linreg", NO_BIAS),
        "mallory": replace_function(REFERENCE, "linreg", thief(db)),
        "broken": "def linreg(X, w, b)\n    return X @ w + b\n",
    }
    for student, source in folders.items():
        (root / student).mkdir()
        (root / student / LINREG_FILE).write_text(source)
    with zipfile.ZipFile(root / 'José "Pepe" O\'Neil.zip', "w") as z:
        z.writestr(f"pepe/{LINREG_FILE}", REFERENCE)
    with zipfile.ZipFile(root / "eve.zip", "w") as z:
        z.writestr("../../escaped.py", "print('out')\n")
    (root / "corrupt.zip").write_bytes(b"PK\x03\x04 not really a zip")
    return {"ada": "full", "bo no-bias": "partial", "broken": "not_run",
            "mallory": "full" if STRICT else "partial",  # basic isolation hides nothing
            'José "Pepe" O\'Neil': "full", "eve": "not_run", "corrupt": "not_run"}


@pytest.fixture
def classroom(tmp_path):
    db = tmp_path / "book" / "grades.db"
    db.parent.mkdir()
    expected = write_class(tmp_path / "class", db)
    return tmp_path / "class", db, expected


def batch(root: Path, db: Path, data_root, **options):
    with Gradebook(f"sqlite:///{db}") as gradebook:
        return run_batch(root, gradebook, Options("linreg", data_root=data_root, seed=0,
                                                  device="cpu", **options))


def scores_of(db: Path) -> pd.DataFrame:
    with Gradebook(f"sqlite:///{db}", create=False) as gradebook:
        return tables(gradebook)[0].set_index("student")


def test_a_class_grades_in_one_batch_and_agrees_with_grading_one_by_one(
    classroom, data_root, linreg_grader
):
    root, db, expected = classroom
    summary = batch(root, db, data_root, jobs=2)
    scores = scores_of(db)
    assert set(scores.index) == set(expected)
    full = linreg_grader.assignment.max_score - 2  # two device checks are skipped on the CPU
    for student, kind in expected.items():
        row = scores.loc[student]
        if kind == "not_run":  # nothing of it ran: the reason says why, the score is 0
            assert row["status"] == "not_run" and row["reason"] and row["score"] == 0, student
            continue
        assert row["status"] == "graded" and row["max_score"] == full, student
        folder = root / student if (root / student).is_dir() else None
        if folder is not None:  # the same score as `grader check` gives it
            assert row["score"] == linreg_grader.grade(folder).score, student
        assert {"full": row["score"] == full, "partial": 0 < row["score"] < full}[kind], \
            (student, row["score"])
    assert "escaped" in scores.loc["eve", "reason"] or ".." in scores.loc["eve", "reason"]
    assert "syntax error (line 1)" in scores.loc["broken", "reason"]
    assert not (root.parent / "escaped.py").exists()
    assert summary.count(RunStatus.GRADED) == 4 and summary.count(RunStatus.NOT_RUN) == 3
    assert MARK not in db.read_bytes()


@pytest.mark.skipif(not STRICT, reason="strict isolation is not possible here")
@pytest.mark.parametrize(("isolation", "status"), [("strict", "passed"), ("basic", "failed")])
def test_student_code_can_neither_read_nor_write_the_gradebook(
    classroom, data_root, isolation, status
):
    """Under basic isolation (the control) the thief reads the gradebook and its check fails."""
    root, db, _ = classroom
    for name in ("ada", "bo no-bias", "broken"):
        shutil.rmtree(root / name)
    for name in ("eve.zip", "corrupt.zip", 'José "Pepe" O\'Neil.zip'):
        (root / name).unlink()
    batch(root, db, data_root, jobs=1, isolation=isolation)
    with Gradebook(f"sqlite:///{db}") as gradebook:
        checks = tables(gradebook)[1].set_index("check_id")
    assert checks.loc["linreg_matches_the_reference", "status"] == status
    if isolation == "strict":  # under basic, SQLite may overwrite what the thief appended
        assert MARK not in db.read_bytes()


def test_a_second_batch_skips_what_is_graded_and_grades_what_changed(classroom, data_root):
    root, db, expected = classroom
    first = batch(root, db, data_root, jobs=2)
    assert first.skipped == 0
    again = batch(root, db, data_root, jobs=2)
    assert (again.found, again.skipped, again.outcomes) == (len(expected), len(expected), [])
    (root / "ada" / LINREG_FILE).write_text(replace_function(REFERENCE, "linreg", NO_BIAS))
    changed = batch(root, db, data_root, jobs=2)
    assert [g.student for g in changed.outcomes] == ["ada"]
    assert scores_of(db).loc["ada", "score"] < scores_of(db).loc["José \"Pepe\" O'Neil", "score"]
    regraded = batch(root, db, data_root, jobs=2, regrade=True)
    assert regraded.skipped == 0 and len(regraded.outcomes) == len(expected)


def marked_processes(mark: str) -> list[int]:
    """Processes whose environment carries ``mark``: the batch, its slots, their zygotes."""
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if mark.encode() in (proc / "environ").read_bytes():
                    found.append(int(proc.name))
            except OSError:
                continue
    return found


def run_counts(db: Path) -> tuple[int, list[int]]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as connection:
        tables = {n for (n,) in connection.execute("SELECT name FROM sqlite_master")}
        if "runs" not in tables:  # the file exists a moment before its tables
            return 0, []
        runs = connection.execute("SELECT count(*) FROM runs").fetchone()[0]
        per_run = [n for (n,) in connection.execute(
            "SELECT count(c.id) FROM runs r LEFT JOIN check_results c ON c.run_id = r.id "
            "GROUP BY r.id")]
    return runs, per_run


LAST_HOLDS_S = 12  # under IMPORT_TIMEOUT: the last student is still graded in full


def reference_class(root: Path, size: int) -> None:
    """``size`` copies of the reference, graded in name order; the last one sleeps at import,
    so a test that stops the batch after the first runs are stored always does so before the
    batch ends, however long a busy machine keeps the test from looking (seen: a whole batch of
    six graded between two looks)."""
    for i in range(size):
        (root / f"student{i}").mkdir()
        hold = f"\nimport time\ntime.sleep({LAST_HOLDS_S})\n" if i == size - 1 else ""
        (root / f"student{i}" / LINREG_FILE).write_text(REFERENCE + f"\n# {i}\n" + hold)


def test_a_batch_killed_mid_way_loses_nothing_and_the_next_grades_the_rest(tmp_path, data_root):
    root, db = tmp_path / "class", tmp_path / "grades.db"
    root.mkdir()
    reference_class(root, 8)
    mark = f"GRADER_TEST_MARK_{secrets.token_hex(6)}"
    batch_process = subprocess.Popen(
        [sys.executable, "-c", "from grader.cli import main; main()", "batch", str(root),
         "-a", "linreg", "--jobs", "1", "--device", "cpu", "--db", f"sqlite:///{db}",
         "--data-root", str(data_root)],
        env={**os.environ, mark: "1"}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (not db.exists() or run_counts(db)[0] < 2):
        assert batch_process.poll() is None, "the batch ended before it could be killed"
        time.sleep(0.05)
    os.kill(batch_process.pid, signal.SIGKILL)
    batch_process.wait()
    for _ in range(100):  # its slots and their zygotes die with it
        if not marked_processes(mark):
            break
        time.sleep(0.1)
    assert marked_processes(mark) == []
    with sqlite3.connect(db) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    done, per_run = run_counts(db)
    checks = len(get_assignment("linreg").checks)
    assert 2 <= done < 8 and set(per_run) == {checks}  # whole runs only
    rest = batch(root, db, data_root, jobs=2)
    assert rest.skipped == done and len(rest.outcomes) == 8 - done
    assert sorted(scores_of(db).index) == [f"student{i}" for i in range(8)]


def test_ctrl_c_mid_batch_is_one_line_saying_what_was_kept(tmp_path, data_root):
    """Ctrl-C reaches the whole process group, as from a terminal: no traceback from the batch or
    its slots, one line saying how many were stored (exactly the runs in the gradebook)."""
    root, db = tmp_path / "class", tmp_path / "grades.db"
    root.mkdir()
    reference_class(root, 6)
    batch_process = subprocess.Popen(
        [sys.executable, "-c", "from grader.cli import main; main()", "batch", str(root),
         "-a", "linreg", "--jobs", "1", "--device", "cpu", "--db", f"sqlite:///{db}",
         "--data-root", str(data_root)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (not db.exists() or run_counts(db)[0] < 1):
        assert batch_process.poll() is None, "the batch ended before it could be interrupted"
        time.sleep(0.05)
    os.killpg(batch_process.pid, signal.SIGINT)
    _, stderr = batch_process.communicate(timeout=120)
    assert batch_process.returncode == 130, stderr
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr
    last = stderr.strip().splitlines()[-1]
    stored = run_counts(db)[0]
    assert last == (f"interrupted: {stored} of 6 submissions graded and stored by this batch; "
                    f"the same command again grades the other {6 - stored}")
    assert 1 <= stored < 6


def test_the_cli_grades_a_class_and_every_report_reads_back(classroom, data_root, tmp_path):
    root, db, expected = classroom
    runner = CliRunner()
    url = f"sqlite:///{db}"
    result = runner.invoke(main, ["batch", str(root), "-a", "linreg", "--db", url, "--device",
                                  "cpu", "--data-root", str(data_root), "--jobs", "2"])
    assert result.exit_code == 0, result.output
    assert f"{len(expected)} submissions, 4 graded, 0 skipped, 3 not run, 0 timed out" \
        in result.output
    truth = scores_of(db)["score"]
    for fmt in ("csv", "json", "parquet", "xlsx", "html"):
        out = tmp_path / f"report.{fmt}"
        result = runner.invoke(main, ["report", "--db", url, "--output", str(out)])
        assert result.exit_code == 0, result.output
        if fmt == "html":
            page = out.read_text()
            assert all(name.replace('"', "&quot;").replace("'", "&#x27;") in page
                       for name in expected)
            continue
        read = {"csv": pd.read_csv, "json": pd.read_json, "parquet": pd.read_parquet,
                "xlsx": lambda p: pd.read_excel(p, sheet_name="scores")}[fmt]
        back = read(out).set_index("student")["score"]
        assert back.sort_index().tolist() == truth.sort_index().tolist(), fmt


def test_batch_on_a_missing_folder_is_a_one_line_error(tmp_path):
    result = CliRunner().invoke(main, ["batch", str(tmp_path / "nope"), "-a", "linreg",
                                       "--db", f"sqlite:///{tmp_path / 'g.db'}"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines()[-1].startswith("error: ")
    assert "nope: not found" in result.output


def classmates_reader(root: Path) -> str:
    """linreg that reads every classmate's file it can find under the class's root."""
    return f'''
def linreg(X, w, b):
    import glob

    found = sorted(glob.glob({str(root)!r} + "/*/*.py") + glob.glob({str(root)!r} + "/*.zip"))
    raise RuntimeError(f"seen: {{found}}")
'''


@pytest.mark.skipif(not STRICT, reason="strict isolation is not possible here")
def test_a_zip_submission_cannot_read_the_class(tmp_path, data_root):
    """Unpacked elsewhere, a zip's code still finds the class's root empty (issue 20, item 2)."""
    import tempfile

    top = Path(tempfile.mkdtemp(prefix="grader-class-", dir="/var/tmp"))  # not hidden otherwise
    try:
        top.chmod(0o755)
        root = top / "class"
        (root / "ada").mkdir(parents=True)
        (root / "ada" / LINREG_FILE).write_text(REFERENCE)
        with zipfile.ZipFile(root / "zed.zip", "w") as z:
            z.writestr(LINREG_FILE, replace_function(REFERENCE, "linreg", classmates_reader(root)))
        with Gradebook(f"sqlite:///{tmp_path / 'grades.db'}") as book:
            run_batch(root, book, Options("linreg", jobs=1, device="cpu", data_root=data_root,
                                          isolation="strict"))
            _, checks = tables(book)
        seen = checks[(checks["student"] == "zed") & (checks["function"] == "linreg")
                      & (checks["status"] == "error")]
        assert not seen.empty and all("seen: []" in m for m in seen["message"]), seen["message"]
    finally:
        shutil.rmtree(top)


def test_a_folder_name_that_is_not_utf8_is_an_error_run_and_the_rest_are_graded(tmp_path,
                                                                                data_root):
    """Issue 20, item 5: one such name used to stop the batch and store nothing, every time."""
    root = tmp_path / "class"
    for name in (b"ada", b"bad\xff\xfename"):
        folder = os.path.join(os.fsencode(root), name)
        os.makedirs(folder)
        with open(os.path.join(folder, os.fsencode(LINREG_FILE)), "w") as f:
            f.write(REFERENCE)
    db = tmp_path / "grades.db"
    with Gradebook(f"sqlite:///{db}") as book:
        summary = run_batch(root, book, Options("linreg", jobs=1, device="cpu",
                                                data_root=data_root))
        again = run_batch(root, book, Options("linreg", jobs=1, device="cpu",
                                              data_root=data_root))
    assert (summary.count(RunStatus.GRADED), summary.count(RunStatus.NOT_RUN)) == (1, 1)
    assert again.skipped == 2  # the error run is kept: the next batch does not redo it
    scores = scores_of(db)
    assert scores.loc["ada", "score"] == scores.loc["ada", "max_score"] > 0
    assert scores.loc["bad\\xff\\xfename", "status"] == "not_run"
    assert "bad\\xff\\xfename is not a valid UTF-8 name" in \
        scores.loc["bad\\xff\\xfename", "reason"]


def test_one_ctrl_c_waits_for_the_run_to_be_stored_and_a_second_gives_up_at_once():
    """The store waits out a locked gradebook; a second Ctrl-C must still get the TA out."""
    from grader.batch.run import _uninterrupted

    stored = []
    with pytest.raises(KeyboardInterrupt):
        with _uninterrupted():
            os.kill(os.getpid(), signal.SIGINT)
            stored.append("run")  # the first Ctrl-C is held until the block ends
    assert stored == ["run"]
    with pytest.raises(KeyboardInterrupt):
        with _uninterrupted():
            os.kill(os.getpid(), signal.SIGINT)
            os.kill(os.getpid(), signal.SIGINT)
            stored.append("never")  # the second is raised where it lands
    assert stored == ["run"]


def test_student_regrades_the_named_and_force_the_unchanged(tmp_path, data_root):
    """Issue 19, item 6: one student again after an extension, without the class."""
    root = tmp_path / "class"
    for name in ("ann", "Bo", "cy"):
        (root / name).mkdir(parents=True)
        (root / name / LINREG_FILE).write_text(REFERENCE)
    url = f"sqlite:///{tmp_path / 'grades.db'}"

    def cli_batch(*extra: str):
        return CliRunner().invoke(main, ["batch", str(root), "-a", "linreg", "--db", url,
                                         "--device", "cpu", "--data-root", str(data_root),
                                         "--jobs", "1", *extra])

    first = cli_batch("--student", "ann", "--student", "bo")  # names match case-insensitively
    assert first.exit_code == 0, first.output
    assert "2 submissions, 2 graded" in first.output
    assert run_counts(tmp_path / "grades.db")[0] == 2
    (root / "cy" / LINREG_FILE).write_text(REFERENCE + "\n# the extension's fix\n")
    forced = cli_batch("--student", "ann", "--force")  # unchanged, graded again all the same
    assert "1 submissions, 1 graded, 0 skipped" in forced.output
    rest = cli_batch()
    assert "3 submissions, 1 graded, 2 skipped" in rest.output  # cy only
    unknown = cli_batch("--student", "dee")
    assert unknown.exit_code == 2
    assert unknown.output.strip() == (f"error: --student dee: no folder or zip of that name "
                                      f"under {root} (3 submissions there)")
    assert run_counts(tmp_path / "grades.db")[0] == 4  # nothing written by the failed one


def test_a_killed_slot_costs_no_student_a_point(tmp_path, data_root):
    """Issue 19, item 2: the grader's own failure (here its slot killed while it grades a
    submission) is retried once after a pause, and the student's score is the full one."""
    from grader.batch.executor import LocalExecutor

    class KillsOnce(LocalExecutor):
        killed = False

        def run(self, jobs):
            for finished in super().run(jobs):
                if not KillsOnce.killed:  # the slot already holds the next job: kill it
                    KillsOnce.killed = True
                    os.kill(self._slots[0].process.pid, signal.SIGKILL)
                yield finished

    root = tmp_path / "class"
    for name in ("ann", "bo", "cy"):
        (root / name).mkdir(parents=True)
        (root / name / LINREG_FILE).write_text(REFERENCE)
    db = tmp_path / "grades.db"
    with Gradebook(f"sqlite:///{db}") as book:
        summary = run_batch(root, book, Options("linreg", jobs=1, device="cpu",
                                                data_root=data_root), executor=KillsOnce)
    assert KillsOnce.killed
    assert not summary.needing_regrade and summary.count(RunStatus.GRADED) == 3
    scores = scores_of(db)
    assert (scores["score"] == scores["max_score"]).all() and len(scores) == 3
    assert run_counts(db)[0] == 3  # the killed attempt left no run behind
