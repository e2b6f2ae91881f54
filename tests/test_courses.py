"""Course packs: a course folder outside the grader, found, loaded, graded and reported on.

Courses here are written into temporary folders the way a course team writes them: course.toml
and one folder per assignment. Two courses share file and assignment names on purpose.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from sqlalchemy import select

from grader import api
from grader.authoring.assignment import Assignment, AssignmentError
from grader.cli import main
from grader.courses.course import open_course
from grader.courses.settings import CourseError
from grader.gradebook import Gradebook
from grader.gradebook.models import AssignmentRow, RunRow
from grader.grading.validation import validate_course
from grader.outcomes import Outcome

INIT = '''
"""{title}"""

from grader.authoring import Assignment

assignment = Assignment(
    name="{name}", title="{title}", student_file="hw.py", functions=("double",),{extra}
)

from . import checks  # noqa: E402,F401
'''
CHECKS = '''
"""Checks of hw.py."""

import torch

from grader.authoring import Mistake, assert_close

from . import assignment


@assignment.check(function="double", category="correctness", points=2)
def double_matches_the_reference(student, ref):
    """double returns what the reference returns."""
    x = torch.arange(5.0)
    assert_close(student.double(x), ref.double(x), what="double(x)",
                 mistakes=[Mistake("the input came back unchanged", lambda x=x: x)])
'''
REFERENCE = "def double(x):\n    return {factor} * x\n"
TEMPLATE = "def double(x):\n    raise NotImplementedError\n"


def write_course(folder: Path, name: str, assignments: dict[str, dict[str, str]],
                 toml: str = "") -> Path:
    """A course: ``assignments`` maps each folder to {relative path: text}."""
    folder.mkdir(parents=True)
    (folder / "course.toml").write_text(f'name = "{name}"\n{textwrap.dedent(toml)}')
    for assignment, files in assignments.items():
        for path, text in files.items():
            target = folder / assignment / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(textwrap.dedent(text))
    return folder


def hw(name: str = "hw1", *, factor: int = 2, extra: str = "", **more: str) -> dict[str, str]:
    """One small assignment: ``double`` times ``factor``, one check, a starter file."""
    return {"__init__.py": INIT.format(name=name, title=f"{name} doubles", extra=extra),
            "checks.py": CHECKS, "reference.py": REFERENCE.format(factor=factor),
            "template/hw.py": TEMPLATE, **more}


def submission(folder: Path, factor: int) -> Path:
    folder.mkdir(parents=True)
    (folder / "hw.py").write_text(REFERENCE.format(factor=factor))
    return folder


def cli(*args: str, env: dict | None = None):
    return CliRunner().invoke(main, list(args), catch_exceptions=False, env=env)


@pytest.fixture
def two_courses(tmp_path) -> tuple[Path, Path]:
    """Courses "alpha" and "beta", each with hw1/checks.py and hw1/reference.py; in beta,
    double means three times."""
    return (write_course(tmp_path / "alpha", "alpha", {"hw1": hw()}),
            write_course(tmp_path / "beta", "beta", {"hw1": hw(factor=3)}))


# --- loading ---------------------------------------------------------------------------------


def test_two_courses_with_the_same_names_load_side_by_side(two_courses):
    alpha, beta = (open_course(c).get("hw1") for c in two_courses)
    assert alpha is not beta and alpha.course == "alpha" and beta.course == "beta"
    assert alpha.reference != beta.reference
    assert alpha.reference_module().double(1) == 2 and beta.reference_module().double(1) == 3
    assert [c.run.__module__ for c in alpha.checks] != [c.run.__module__ for c in beta.checks]
    assert alpha.version != beta.version


def test_names_relative_to_a_folder_need_a_course():
    with pytest.raises(AssignmentError, match="only a course has"):
        Assignment(name="x", title="x", student_file="x.py", functions=("f",))


def test_the_version_covers_every_file_and_the_course_toml_entry(tmp_path):
    def version(folder: Path) -> str:
        return open_course(folder).get("hw1").version

    same = [write_course(tmp_path / n, "c", {"hw1": hw()}) for n in ("one", "two")]
    assert version(same[0]) == version(same[1])  # where a course lies is not its content
    extra = write_course(tmp_path / "extra", "c", {"hw1": hw(**{"mistakes/m/hw.py": "x = 1"})})
    toml = write_course(tmp_path / "toml", "c", {"hw1": hw()}, "[hw1]\nlate_penalty = 0.1\n")
    renamed = write_course(tmp_path / "renamed", "d", {"hw1": hw()})
    assert len({version(f) for f in (same[0], extra, toml, renamed)}) == 4


def test_course_toml_changes_titles_points_and_hidden_checks(tmp_path):
    folder = write_course(tmp_path / "c", "c", {"hw1": hw()}, """
        [hw1]
        title = "Doubling, this term"
        points_scale = 0.5
        hidden_checks = ["double_matches_the_reference"]
        deadline = 2026-10-01T23:59:00+02:00
        time_budget = 12.5
        """)
    course = open_course(folder)
    (check,) = course.get("hw1").checks
    assert course.get("hw1").title == "Doubling, this term"
    assert course.get("hw1").time_budget == 12.5
    assert (check.points, check.hidden) == (1.0, True)
    assert course.settings.of("hw1").deadline.utcoffset().total_seconds() == 7200


def test_course_toml_may_put_the_reference_and_template_elsewhere(tmp_path):
    files = hw()
    del files["reference.py"], files["template/hw.py"]
    folder = write_course(tmp_path / "c", "c", {"hw1": files}, """
        [hw1]
        reference = "../answers/hw1.py"
        template = ["../starters/hw.py"]
        """)
    (folder / "answers").mkdir()
    (folder / "answers" / "hw1.py").write_text(REFERENCE.format(factor=2))
    (folder / "starters").mkdir()
    (folder / "starters" / "hw.py").write_text(TEMPLATE)
    assignment = open_course(folder).get("hw1")
    assert Path(assignment.reference_module().__file__) == folder / "answers" / "hw1.py"
    made = api.init_submission(tmp_path / "student", assignment="hw1", course=str(folder))
    assert [p.read_text() for p in made] == [TEMPLATE]


@pytest.mark.parametrize("toml, message", [
    ('tilte = "x"\n', "course.toml: unknown key 'tilte'"),
    ("[hw1]\ndeadlin = 2026-10-01T23:59:00Z\n", "course.toml: [hw1]: unknown key 'deadlin'"),
    ("[hw1]\ndeadline = 2026-10-01T23:59:00\n", "deadline = 2026-10-01T23:59:00 needs a time zone"),
    ("[hw9]\ntitle = 'x'\n", "[hw9]: there is no assignment folder hw9/"),
    ("[hw1]\nlate_penalty = 2\n", "late_penalty is a fraction per day"),
    ("[hw1]\ntime_budget = 0\n", "time_budget is in seconds and must be positive"),
    ("[hw1]\ntime_budget = '1 min'\n", "time_budget = '1 min' is not a number"),
])
def test_a_mistyped_course_toml_is_an_error_naming_the_file_and_key(tmp_path, toml, message):
    folder = write_course(tmp_path / "c", "c", {"hw1": hw()}, toml)
    result = cli("assignments", "--course", str(folder))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {folder / 'course.toml'}")
    assert message in result.stderr and len(result.stderr.splitlines()) == 1


@pytest.mark.parametrize("make, message", [
    (lambda tmp: tmp / "nowhere", "no such folder, and no installed course of that name"),
    (lambda tmp: write_course(tmp / "empty", "empty", {}), "has no assignments"),
    (lambda tmp: tmp, "is not a course: it has no course.toml"),
])
def test_a_folder_that_is_no_course_is_one_line_and_exit_2(tmp_path, make, message):
    result = cli("check", str(tmp_path), "-a", "hw1", "--course", str(make(tmp_path)))
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: ") and message in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_a_broken_assignment_is_listed_and_the_healthy_ones_still_work(tmp_path):
    raises = hw("raises", **{"__init__.py": "raise RuntimeError('half-written')\n"})
    unknown = hw("unknown", **{"checks.py": CHECKS.replace('function="double"',
                                                           'function="triple"')})
    folder = write_course(tmp_path / "c", "c", {"hw1": hw(), "raises": raises,
                                                "unknown": unknown})
    result = cli("assignments", "--course", str(folder))
    assert result.exit_code == 1
    assert "hw1 doubles" in result.stdout
    lines = [line for line in result.stdout.splitlines() if "BROKEN" in line]
    assert lines[0].startswith("raises: BROKEN") and "raises/__init__.py:1" in lines[0]
    assert "RuntimeError: half-written" in lines[0]
    assert lines[1].startswith("unknown: BROKEN") and "unknown/checks.py:" in lines[1]
    assert "'triple' is not in unknown" in lines[1]
    checked = cli("check", str(submission(tmp_path / "s", 2)), "-a", "raises", "--course",
                  str(folder))
    assert checked.exit_code == 2 and "RuntimeError: half-written" in checked.stderr
    db = f"sqlite:///{tmp_path / 'grades.db'}"
    submission(tmp_path / "class" / "ann", 2)
    batch = cli("batch", str(tmp_path / "class"), "-a", "hw1", "--course", str(folder),
                "--db", db, "--device", "cpu")
    assert batch.exit_code == 0, batch.output
    assert "1 graded" in batch.stdout


# --- where a course is found -----------------------------------------------------------------


def _installed(site: Path, dist: str, entries: dict[str, str]) -> None:
    info = site / f"{dist}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
    lines = "".join(f"{name} = {target}\n" for name, target in entries.items())
    (info / "entry_points.txt").write_text(f"[grader.courses]\n{lines}")


def _grader(site: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(site)}
    env.pop("GRADER_COURSE", None)
    return subprocess.run([sys.executable, "-m", "grader", *args], env=env, capture_output=True,
                          text=True, timeout=120)


def test_an_installed_course_is_named_by_its_entry_point(tmp_path):
    site = tmp_path / "site"
    write_course(site / "alpha_course", "alpha", {"hw1": hw()})
    _installed(site, "alpha_course", {"alpha": "alpha_course"})
    listed = _grader(site, "assignments", "--course", "alpha")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.startswith("hw1")
    builtin = _grader(site, "assignments", "--course", "d2l-ch3")  # the grader's own
    assert builtin.returncode == 0 and "linreg" in builtin.stdout


def test_two_installed_courses_of_one_name_are_an_error(tmp_path):
    site = tmp_path / "site"
    for dist in ("first", "second"):
        write_course(site / f"{dist}_course", dist, {"hw1": hw()})
        _installed(site, dist, {"hw": f"{dist}_course"})
    clash = _grader(site, "assignments", "--course", "hw")
    assert clash.returncode == 2
    assert clash.stderr == ("error: course hw: two installed courses have this name "
                            "(first_course and second_course); uninstall one or name the "
                            "folder\n")


def test_grader_course_picks_the_course_when_no_option_does(two_courses, tmp_path):
    folder = submission(tmp_path / "s", 3)
    for course, score in zip(two_courses, ("0 / 2", "2 / 2"), strict=True):
        result = cli("check", str(folder), "-a", "hw1", "--device", "cpu",
                     env={"GRADER_COURSE": str(course)})
        assert result.exit_code == 0, result.output
        assert f"score: {score}" in result.stdout


# --- one gradebook, two courses --------------------------------------------------------------


def test_two_courses_share_a_gradebook_without_mixing(two_courses, tmp_path):
    root = tmp_path / "class"
    submission(root / "ann", 2)
    submission(root / "bob", 3)
    db = f"sqlite:///{tmp_path / 'grades.db'}"
    for course in two_courses:
        done = cli("batch", str(root), "-a", "hw1", "--course", str(course), "--db", db,
                   "--device", "cpu")
        assert done.exit_code == 0, done.output
        assert "2 graded" in done.stdout
    with Gradebook(db) as book, book.session() as session:
        recorded = session.execute(select(AssignmentRow.course, RunRow.course_version)
                                   .join(RunRow.assignment)).all()
    assert {(c, v) for c, v in recorded} == {
        (course.name, course.version) for course in map(open_course, two_courses)}
    mixed = cli("report", "--db", db, "-o", str(tmp_path / "all.csv"))
    assert mixed.exit_code == 2
    assert "holds several courses (alpha, beta): choose one with --course" in mixed.stderr
    scores = {}
    for course, name in zip(two_courses, ("alpha", "beta"), strict=True):
        out = tmp_path / f"{name}.csv"
        assert cli("report", "--db", db, "--course", str(course), "-o", str(out)).exit_code == 0
        table = pd.read_csv(out)
        scores[name] = dict(zip(table["student"], table["score"], strict=True))
    assert scores == {"alpha": {"ann": 2.0, "bob": 0.0}, "beta": {"ann": 0.0, "bob": 2.0}}
    fed = cli("feedback", "--db", db, "--course", "beta", "--student", "ann", "-o",
              str(tmp_path / "feedback"))
    assert fed.exit_code == 0, fed.output
    (page,) = (tmp_path / "feedback").rglob("*.md")
    assert "**Score: 0 / 2 (0.0%)**" in page.read_text()  # ann's double is beta's failure
    # a course may also be named as the gradebook knows it; an override stays in its course
    moved = cli("override", "bob", "-a", "hw1", "--points", "1.5", "--by", "ta", "--reason",
                "partial", "--db", db, "--course", "alpha")
    assert moved.exit_code == 0, moved.output
    cli("report", "--db", db, "--course", "beta", "-o", str(tmp_path / "b.csv"))
    assert pd.read_csv(tmp_path / "b.csv").set_index("student")["score"]["bob"] == 2.0
    cli("report", "--db", db, "--course", "alpha", "-o", str(tmp_path / "a.csv"))
    assert pd.read_csv(tmp_path / "a.csv").set_index("student")["score"]["bob"] == 1.5


# --- student code never sees the course ------------------------------------------------------


PEEK = '''
import os


def double(x):
    seen = [str(p) for p in {paths!r} if os.path.exists(p)]
    raise RuntimeError(f"seen: {{seen}}")
'''


@pytest.mark.parametrize("where", ["beside the class", "in the home folder"])
def test_student_code_never_sees_the_course(where, tmp_path):
    base = Path.home() if where == "in the home folder" else Path("/var/tmp")
    top = Path(tempfile.mkdtemp(prefix="grader-course-test-", dir=base))
    try:
        top.chmod(0o755)  # readable by anyone: only the sandbox may keep it from the student
        course = write_course(top / "course", "peek", {"hw1": hw()})
        secrets = [course / "course.toml", course / "hw1" / "reference.py",
                   course / "hw1" / "checks.py"]
        assert all(os.access(p, os.R_OK) for p in secrets)
        student = top / "class" / "eve"
        student.mkdir(parents=True)
        (student / "hw.py").write_text(PEEK.format(paths=[str(p) for p in secrets]))
        with api.Grader("hw1", course=str(course), device="cpu", isolation="strict") as grader:
            (check,) = grader.grade(student).checks
        assert check.status is Outcome.ERROR
        assert "seen: []" in check.message
    finally:
        import shutil

        shutil.rmtree(top)


# --- validate and new ------------------------------------------------------------------------


def test_a_new_course_validates_at_once(tmp_path):
    made = cli("course", "new", str(tmp_path / "my course"))
    assert made.exit_code == 0, made.output
    assert 'name = "my-course"' in (tmp_path / "my course" / "course.toml").read_text()
    checked = cli("course", "validate", str(tmp_path / "my course"))
    assert checked.exit_code == 0, checked.output
    assert checked.stdout.endswith("all is well\n")
    again = cli("course", "new", str(tmp_path / "my course"))
    assert again.exit_code == 2 and "is not an empty folder" in again.stderr


STANDINS = "def double(x):\n    return 2 * x + 1\n"
SAMPLED = CHECKS + '''

from grader.authoring import add_from_scratch_check

add_from_scratch_check(assignment, "double", points=1, sample=lambda: (torch.ones(3),))
'''


def test_validate_names_every_problem_with_its_file(tmp_path):
    banned = '\n    banned={"double": ("torch.mul",)},'
    folder = write_course(tmp_path / "c", "c", {
        "fine": hw("fine", **{"mistakes/same/hw.py": "def double(x):\n    return x\n",
                              "mistakes/same/expect.toml":
                                  'fail = ["double_matches_the_reference"]\n'
                                  'hint_contains = "unchanged"\n'}),
        "nocheck": hw("nocheck", **{"__init__.py": INIT.format(
            name="nocheck", title="t", extra="").replace('("double",)', '("double", "half")')}),
        "norule": hw("norule", extra=banned),
        "standin": hw("standin", extra=banned + '\n    standins=".standins",',
                      **{"standins.py": STANDINS, "checks.py": SAMPLED}),
        "badref": hw("badref", **{"checks.py": CHECKS.replace("ref.double(x)", "3 * x")}),
        "badtemplate": hw("badtemplate", **{"template/hw.py": REFERENCE.format(factor=2)}),
        "badmistake": hw("badmistake", **{
            "mistakes/off/hw.py": "def double(x):\n    return x + x\n",
            "mistakes/off/expect.toml": 'fail = ["double_matches_the_reference", "nope"]\n'
                                        'hint_contains = "unchanged"\n'}),
        "broken": hw("broken", **{"checks.py": CHECKS.replace(
            '"""double returns what the reference returns."""', '""" """')}),
    })
    problems = [str(p) for p in validate_course(folder)]
    expected = [
        (f"{folder / 'broken' / 'checks.py'}:11", "[broken]", "needs a docstring"),
        (folder / "nocheck" / "__init__.py", "[nocheck]", "half has no check"),
        (folder / "norule" / "__init__.py", "[norule]", "bans calls but has no rules check"),
        (folder / "standin" / "standins.py", "[standin]", "the stand-in double on sample 1"),
        (folder / "badref" / "reference.py", "[badref]",
         "the reference does not pass double_matches_the_reference"),
        (folder / "badtemplate" / "template" / "hw.py", "[badtemplate]",
         "the starter file earns 2 points"),
        (folder / "badmistake" / "mistakes" / "off" / "expect.toml", "[badmistake]",
         "nope is not a check of badmistake"),
        (folder / "badmistake" / "mistakes" / "off" / "expect.toml", "[badmistake]",
         "the mistake off passes double_matches_the_reference, which it should fail"),
        (folder / "badmistake" / "mistakes" / "off" / "expect.toml", "[badmistake]",
         "no failed check of the mistake off says 'unchanged'"),
    ]
    for file, assignment, text in expected:
        assert any(p.startswith(f"{file}: {assignment}") and text in p for p in problems), (
            text, problems)
    assert not [p for p in problems if "[fine]" in p]
    assert len(problems) == len(expected) + 1, problems  # badtemplate's check is not missing
    assert cli("course", "validate", str(folder)).exit_code == 1


def test_validating_no_course_is_a_usage_error(tmp_path):
    result = cli("course", "validate", str(tmp_path / "nowhere"))
    assert result.exit_code == 2 and "no such folder" in result.stderr


def test_the_course_loader_refuses_a_course_without_a_name(tmp_path):
    (tmp_path / "course.toml").write_text("title = 'x'\n")
    with pytest.raises(CourseError, match="needs a name"):
        open_course(tmp_path)


def test_a_course_extends_what_a_notebook_leaves_ungraded(tmp_path):
    """course.toml's notebook_drop_calls: the course's own slow helper, called at top level in a
    learner's notebook, is left out like train_ch3 is; other courses keep it."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    toml = '[hw1]\nnotebook_drop_calls = ["fit_slowly"]\n'
    ours = write_course(tmp_path / "ours", "ours", {"hw1": hw()}, toml)
    theirs = write_course(tmp_path / "theirs", "theirs", {"hw1": hw()})
    work = tmp_path / "ann"
    work.mkdir()
    nbformat.write(new_notebook(cells=[
        new_code_cell("def double(x):\n    return 2 * x"),
        new_code_cell("weights = fit_slowly(double, epochs=100)"),
    ]), work / "hw.ipynb")
    assert open_course(ours).get("hw1").notebook_drop_calls == ("fit_slowly",)
    kept = api.describe_intake(work, open_course(theirs).get("hw1"))
    dropped = api.describe_intake(work, open_course(ours).get("hw1"))
    assert "  line 1: kept: weights = fit_slowly(double, epochs=100)" in kept
    assert "  line 1: dropped, it calls fit_slowly: weights = fit_slowly(double, epochs=100)" \
        in dropped
    graded = api.check_submission(work, "hw1", course=str(ours))
    assert graded.score == graded.max_score == 2
