"""The command line, through click's CliRunner: exit codes, exact error lines, JSON output."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import click
import pytest
import torch
from click.testing import CliRunner
from helpers import LINREG_FILE, REFERENCE_FILE, TEMPLATE_DIR

from grader.api import list_assignments
from grader.cli import main
from grader.data import FILES, raw_folder
from grader.grading.catalog import get_assignment
from grader.outcomes import ExitCode
from grader.outcomes.results import Category, Outcome
from grader.runner.worker import WorkerError

CHECK_KEYS = {"id", "function", "category", "status", "points", "max_points", "message", "hint"}


@pytest.fixture
def run():
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(main, list(args), catch_exceptions=False)

    return invoke


@pytest.fixture
def reference_folder(tmp_path):
    folder = tmp_path / "alice"
    folder.mkdir()
    shutil.copyfile(REFERENCE_FILE, folder / LINREG_FILE)
    return folder


def assert_usage_error(result, message: str) -> None:
    """Exit status 2 and exactly one line on stderr: ``error: MESSAGE``."""
    __tracebackhide__ = True
    assert result.exit_code == 2, result.output
    assert result.stderr == f"error: {message}\n"
    assert result.stdout == ""


# --- check -----------------------------------------------------------------------------------


def test_check_prints_every_function_and_the_score(run, reference_folder):
    result = run("check", str(reference_folder), "--assignment", "linreg", "--device", "cpu")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "linreg · alice"
    functions = get_assignment("linreg").functions
    headings = [m[1] for m in re.finditer(r"^(\w+)  (\d+)/\2$", result.stdout, re.MULTILINE)]
    assert headings == list(functions)  # every function, in order, with full marks
    points = sum(c.points for c in get_assignment("linreg").checks
                 if c.category is not Category.DEVICE)  # device checks skip on the CPU
    assert points >= 30
    assert lines[-1] == f"score: {points:g} / {points:g} (100%)"
    assert "FAIL" not in result.stdout and "ERROR" not in result.stdout


def test_check_json_is_exactly_one_object(run, tmp_path):
    folder = tmp_path / "bob"
    folder.mkdir()
    source = REFERENCE_FILE.read_text()
    assert "return torch.matmul(X, w) + b" in source
    (folder / LINREG_FILE).write_text(source.replace("return torch.matmul(X, w) + b",
                                                     "return torch.matmul(X, w)"))
    result = run("check", str(folder), "-a", "linreg", "--device", "cpu", "--json",
                 "--function", "linreg", "--function", "sgd")
    assert result.exit_code == 0, result.output
    report, end = json.JSONDecoder().raw_decode(result.stdout)
    assert result.stdout[end:].strip() == ""
    assert set(report) == {"assignment", "student", "score", "max_score", "status", "reason",
                           "checks"}
    assert (report["status"], report["reason"]) == ("graded", "")
    assert (report["assignment"], report["student"]) == ("linreg", "bob")
    statuses = {o.value for o in Outcome}
    for check in report["checks"]:
        assert CHECK_KEYS <= set(check), check
        assert check["status"] in statuses
    assert {c["function"] for c in report["checks"]} == {"linreg", "sgd"}
    counted = [c for c in report["checks"] if c["status"] != "skipped"]
    assert report["score"] == sum(c["points"] for c in counted)
    assert report["max_score"] == sum(c["max_points"] for c in counted)
    failed = {c["id"]: c for c in counted if c["status"] != "passed"}
    assert set(failed) == {"linreg_matches_the_reference", "linreg_gradients_match"}
    wrong = failed["linreg_matches_the_reference"]
    assert (wrong["status"], wrong["points"]) == ("failed", 0)
    assert wrong["hint"] == "the bias b is missing: return X @ w + b"
    assert "entries differ" in wrong["message"]
    assert report["score"] == report["max_score"] - sum(c["max_points"] for c in failed.values())


def test_check_on_a_missing_folder_is_a_usage_error(run, tmp_path):
    missing = tmp_path / "nobody"
    assert_usage_error(run("check", str(missing), "-a", "linreg"),
                       f"{missing}: not found")


def test_check_on_the_students_file_grades_it_as_its_folder(run, reference_folder):
    # Passing the student's file instead of its folder is the likeliest slip of all: it works.
    result = run("check", str(reference_folder / LINREG_FILE), "-a", "linreg", "--json")
    assert result.exit_code == 0, result.stderr
    graded = json.loads(result.stdout)
    assert graded["student"] == LINREG_FILE
    assert graded["score"] == graded["max_score"]


def test_check_on_any_other_file_is_a_usage_error_like_a_missing_folder(run, tmp_path):
    path = tmp_path / "answers.txt"
    path.write_text("w = 2")
    result = run("check", str(path), "-a", "linreg")
    assert result.exit_code == 2
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr == (f"error: {path}: is a file, not a submission folder (or a .py or "
                             ".ipynb file)\n")


def test_check_on_an_unknown_assignment_names_the_known_ones(run, reference_folder):
    known = ", ".join(sorted(a.name for a in list_assignments()))
    assert "linreg" in known
    assert_usage_error(run("check", str(reference_folder), "-a", "linreg2"),
                       f"course d2l-ch3 has no assignment 'linreg2'; known: {known}")


def test_check_on_an_unknown_function_is_a_usage_error(run, reference_folder):
    assert_usage_error(
        run("check", str(reference_folder), "-a", "linreg", "--device", "cpu",
            "--function", "softmax"),
        "linreg has no function softmax")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_check_on_cuda_without_a_gpu_is_a_usage_error(run, reference_folder):
    assert_usage_error(run("check", str(reference_folder), "-a", "linreg", "--device", "cuda"),
                       "--device cuda was asked for, but torch sees no GPU here")


# --- assignments and init --------------------------------------------------------------------


def test_assignments_lists_linreg_with_its_functions_and_points(run):
    result = run("assignments")
    assert result.exit_code == 0
    linreg = get_assignment("linreg")
    block = result.stdout.split("\n\n")[[a.name for a in list_assignments()].index("linreg")]
    lines = block.splitlines()
    assert lines[0].startswith(f"linreg: {linreg.title} ({LINREG_FILE}, ")
    assert f"{linreg.max_score:g} points" in lines[0]
    # and, on a machine without a GPU, the maximum a grading there uses
    devices = sum(c.points for c in linreg.checks if c.category.value == "device")
    without = f"; {linreg.max_score - devices:g} graded without a GPU, as on this machine"
    assert devices > 0 and (without in lines[0]) == (not torch.cuda.is_available())
    listed = [line.split()[0] for line in lines if line.startswith("  ") and line[2] != " "]
    assert listed == list(linreg.functions)
    for c in linreg.checks:
        assert f"{c.id}: {c.title}" in block


def test_init_copies_the_template(run, tmp_path):
    folder = tmp_path / "new" / "carol"
    result = run("init", str(folder))
    assert result.exit_code == 0, result.output
    templates = sorted(t for t in TEMPLATE_DIR.glob("*.py") if not t.name.startswith("_"))
    assert templates
    assert result.stdout.splitlines() == [f"created {folder / t.name}" for t in templates]
    for t in templates:
        assert (folder / t.name).read_bytes() == t.read_bytes()


def test_init_refuses_to_overwrite(run, tmp_path):
    folder = tmp_path / "carol"
    folder.mkdir()
    (folder / LINREG_FILE).write_text("# my work\n")
    assert_usage_error(run("init", str(folder)),
                       f"{folder / LINREG_FILE} already exists; choose an empty folder")
    assert (folder / LINREG_FILE).read_text() == "# my work\n"
    assert sorted(p.name for p in folder.iterdir()) == [LINREG_FILE]


# --- data ------------------------------------------------------------------------------------


def test_data_download_into_a_file_is_a_usage_error(run, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    result = run("data", "download", "--data-root", str(blocker))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: cannot create {raw_folder(blocker)}: ")
    assert result.stderr.endswith("pass --data-root to a folder you can write to\n")


def test_data_download_with_every_file_present_fetches_nothing(run, data_root):
    if not all((raw_folder(data_root) / name).is_file() for name in FILES):
        pytest.skip("only the fake data set is here; its md5 sums differ from the real ones")
    result = run("data", "download", "--data-root", str(data_root))
    assert result.exit_code == 0, result.output
    assert result.stdout == f"all files already present in {data_root}\n"


# --- help ------------------------------------------------------------------------------------


def all_commands(group: click.Group, prefix=()):
    for name, command in sorted(group.commands.items()):
        yield (*prefix, name), command
        if isinstance(command, click.Group):
            yield from all_commands(command, (*prefix, name))


COMMANDS = list(all_commands(main))


def test_the_meta_test_sees_every_command():
    assert {" ".join(path) for path, _ in COMMANDS} >= {
        "check", "assignments", "init", "data", "data fetch", "data download"}


@pytest.mark.parametrize("path,command", COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_every_command_and_option_has_help(run, path, command):
    assert (command.help or "").strip(), f"{' '.join(path)} has no help text"
    for param in command.params:
        if isinstance(param, click.Option):
            assert (param.help or "").strip(), f"{' '.join(path)} {param.opts[0]} has no help"
    result = run(*path, "--help")
    assert result.exit_code == 0
    assert command.help.strip().splitlines()[0] in " ".join(result.stdout.split())


def test_the_group_has_help_and_a_version(run):
    assert (main.help or "").strip()
    result = run("--version")
    assert result.exit_code == 0
    assert "0.1.0" in result.stdout


@pytest.mark.parametrize("failure", [RuntimeError("a bug"), WorkerError("the zygote died")])
def test_a_failure_of_the_grader_itself_is_a_crash_report(run, monkeypatch, failure):
    """Not a usage error: one line naming a report that holds the traceback, exit 70."""
    from grader import api

    def broken(course=None):
        raise failure

    monkeypatch.setattr(api, "open_course", broken)
    result = run("assignments")
    assert result.exit_code == ExitCode.CRASH == 70
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"error: the grader failed ({type(failure).__name__}: {failure})")
    report = Path(line.rsplit("Details: ", 1)[1])
    text = report.read_text()
    assert "Traceback (most recent call last)" in text and "in broken" in text
    assert "command: " in text
    report.unlink()


def test_usage_errors_from_any_layer_are_one_line_and_exit_2(run, tmp_path):
    """A UsageError raised deep down (here the catalog's) is mapped where every other one is."""
    result = run("check", str(tmp_path), "-a", "nonesuch")
    assert_usage_error(result, "course d2l-ch3 has no assignment 'nonesuch'; known: gradients, "
                               "linreg, softmax")
