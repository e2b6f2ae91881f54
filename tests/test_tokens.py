"""Access tokens for `grader serve`: issued for a roster or staff, verified, revoked; only their
hashes in the gradebook, the tokens in one private CSV."""

from __future__ import annotations

import csv
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader import options
from grader.cli import main
from grader.gradebook import Gradebook
from grader.gradebook.tokens import Principal, issue, revoke, verify
from grader.outcomes import UsageError
from grader.service.tokens import issue_tokens, revoke_tokens

COURSE = options.BUILTIN_COURSE
ROSTER = ("id,name,email,login\n"
          "a1,Ann Lee,ann@uni.edu,ann\n"
          "b2,=HYPERLINK(\"http://x\"),bo@uni.edu,bchen\n"
          "c3,Cy Diaz,cy@uni.edu,\n")
IDS = ["a1", "b2", "c3"]


@pytest.fixture(autouse=True)
def _no_course_from_the_environment(monkeypatch):
    monkeypatch.delenv(options.COURSE_ENV, raising=False)


@pytest.fixture
def run():
    runner = CliRunner()
    return lambda *args: runner.invoke(main, list(args), catch_exceptions=False)


@pytest.fixture
def db(tmp_path) -> str:
    """A gradebook file with the class list imported through the command line."""
    (tmp_path / "roster.csv").write_text(ROSTER)
    url = f"sqlite:///{tmp_path / 'grades.db'}"
    done = CliRunner().invoke(main, ["roster", "import", str(tmp_path / "roster.csv"),
                                     "--db", url], catch_exceptions=False)
    assert done.exit_code == 0, done.output
    return url


@pytest.fixture
def gradebook(db):
    with Gradebook(db, create=False) as opened:
        yield opened


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))


def assert_usage_error(result, start: str) -> None:
    """Exit status 2, nothing on stdout, one line on stderr starting ``error: START``."""
    __tracebackhide__ = True
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert result.stderr.startswith(f"error: {start}") and result.stderr.count("\n") == 1, (
        result.stderr)


def test_issuing_for_the_roster_writes_each_student_once_privately(run, db, tmp_path,
                                                                   gradebook):
    out = tmp_path / "tokens.csv"
    result = run("tokens", "issue", "--db", db, "--all-students", "--output", str(out))
    assert result.exit_code == 0, result.output
    assert result.stdout == (f"issued 3 tokens to {out} (shown once; the gradebook keeps only "
                             "their hashes)\n")
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert out.read_text().splitlines()[0] == "id,name,email,token"
    rows = read_csv(out)
    assert [r["id"] for r in rows] == IDS
    assert rows[1]["name"] == "'=HYPERLINK(\"http://x\")"  # a spreadsheet shows it as text
    assert len({r["token"] for r in rows}) == 3
    for row in rows:
        assert row["token"] not in result.output
        assert verify(gradebook, row["token"]) == Principal(COURSE, "student", row["id"], "")
    assert list(tmp_path.glob(".tokens*")) == []  # no partial file left


def test_the_gradebook_holds_no_token_text(db, tmp_path):
    issued = issue_tokens(db, None, all_students=True, output=tmp_path / "t.csv")
    staff = issue_tokens(db, None, staff="Prof. Ng", output=tmp_path / "staff.csv")
    tokens = [r["token"] for r in read_csv(issued.output) + read_csv(staff.output)]
    assert len(tokens) == 4
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("grades.db*"))  # with the WAL
    assert b"Prof. Ng" in stored  # the search would find text that is there
    for token in tokens:
        assert token.encode() not in stored
        assert token.removeprefix("grd_").encode() not in stored


@pytest.mark.parametrize("wrong", ["", "grd_", "grd_" + "A" * 32, "x" * 10_000, "\ud800"])
def test_a_token_never_issued_speaks_for_no_one(gradebook, wrong):
    issue(gradebook, COURSE, students=["a1"])
    assert verify(gradebook, wrong) is None


def test_a_token_one_character_off_speaks_for_no_one(gradebook):
    ((_, token),) = issue(gradebook, COURSE, students=["a1"])
    assert verify(gradebook, token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    assert verify(gradebook, token + "A") is None
    assert verify(gradebook, token) is not None


def test_revoking_a_token_or_a_student_ends_only_those(run, db, gradebook):
    (_, first), = issue(gradebook, COURSE, students=["a1"])
    (_, second), (_, bo) = issue(gradebook, COURSE, students=["a1", "b2"])
    result = run("tokens", "revoke", "--db", db, "--token", first)
    assert (result.exit_code, result.stdout) == (0, f"revoked 1 token in {COURSE}\n")
    assert first not in result.output
    assert verify(gradebook, first) is None and verify(gradebook, second) is not None
    assert revoke(gradebook, COURSE, token=first) == 0  # already revoked
    result = run("tokens", "revoke", "--db", db, "--student", "ANN")  # a login names them too
    assert (result.exit_code, result.stdout) == (0, f"revoked 1 token in {COURSE}\n")
    assert verify(gradebook, second) is None
    assert verify(gradebook, bo) == Principal(COURSE, "student", "b2")


def test_issuing_twice_gives_new_tokens_and_never_overwrites_the_file(run, db, tmp_path,
                                                                      gradebook):
    out = tmp_path / "tokens.csv"
    assert run("tokens", "issue", "--db", db, "--student", "a1", "-o", str(out)).exit_code == 0
    before = out.read_bytes()
    result = run("tokens", "issue", "--db", db, "--student", "a1", "-o", str(out))
    assert_usage_error(result, f"{out} exists: the tokens in it may already be in people's")
    assert out.read_bytes() == before
    again = issue_tokens(db, None, students=["a1"], output=tmp_path / "again.csv")
    old, new = read_csv(out)[0]["token"], read_csv(again.output)[0]["token"]
    assert old != new
    assert verify(gradebook, old) == verify(gradebook, new)  # the first stays valid


@pytest.mark.parametrize("args, start", [
    (["--student", "a1", "--student", "zz9", "--student", "q"],
     "not on d2l-ch3's class list: 'zz9', 'q'; give roster ids, logins or emails"),
    ([], "choose whom to issue tokens to"),
    (["--student", "a1", "--staff", "Ng"], "choose whom to issue tokens to"),
])
def test_a_refused_issue_writes_nothing_and_issues_nothing(run, db, tmp_path, args, start):
    out = tmp_path / "tokens.csv"
    assert_usage_error(run("tokens", "issue", "--db", db, *args, "-o", str(out)),
                       start.replace("d2l-ch3", COURSE))
    assert not out.exists()
    with Gradebook(db, create=False) as gradebook, pytest.raises(UsageError, match="no tokens"):
        revoke(gradebook, COURSE, student="a1")


def test_students_need_an_imported_roster(run, tmp_path):
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    Gradebook(url).close()
    out = tmp_path / "tokens.csv"
    result = run("tokens", "issue", "--db", url, "--student", "a1", "-o", str(out))
    assert_usage_error(result, f"no class list for {COURSE} in the gradebook {url}: run "
                               "`grader roster import FILE` first")
    assert not out.exists()


def test_a_staff_token_speaks_for_staff(run, db, tmp_path, gradebook):
    out = tmp_path / "staff.csv"
    result = run("tokens", "issue", "--db", db, "--staff", "Prof. Ng", "-o", str(out))
    assert result.stdout.startswith(f"issued 1 token to {out} ")
    (row,) = read_csv(out)
    assert list(row) == ["staff", "token"] and row["staff"] == "Prof. Ng"
    principal = verify(gradebook, row["token"])
    assert principal == Principal(COURSE, "staff", "", "Prof. Ng") and principal.is_staff
    assert revoke_tokens(db, None, staff="Prof. Ng").tokens == 1
    assert verify(gradebook, row["token"]) is None


def test_revoking_someone_with_no_tokens_is_an_error(run, db):
    assert_usage_error(run("tokens", "revoke", "--db", db, "--staff", "Nobody"),
                       f"no tokens for staff member 'Nobody' in {COURSE}")
    assert_usage_error(run("tokens", "revoke", "--db", db, "--token", "grd_secret"),
                       f"no tokens for that token (copy it whole) in {COURSE}")


def test_a_file_that_cannot_be_written_leaves_no_token_live(db, tmp_path, gradebook):
    (tmp_path / "a-file").write_text("")
    with pytest.raises(UsageError, match="cannot write .*tokens.csv"):
        issue_tokens(db, None, students=["a1"], output=tmp_path / "a-file" / "tokens.csv")
    assert revoke(gradebook, COURSE, student="a1") == 0  # issued, and revoked at once
