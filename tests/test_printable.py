"""Student-controlled text cannot drive a terminal: names and messages are printed with every
non-printable character escaped, by `grader check`, `grader batch`'s progress and the CLI."""

from __future__ import annotations

import io

import pytest
from click.testing import CliRunner
from rich.console import Console

from grader.batch.progress import BatchProgress
from grader.batch.run import Graded
from grader.cli import main
from grader.outcomes import Category, CheckResult, Outcome, RunStatus, SubmissionResult
from grader.outcomes.text import printable
from grader.reports import terminal

# a window title, a cleared screen, a clipboard write, a CR over the mark, a fake results line
HOSTILE = ["\x1b]0;pwned\x07", "\x1b[2J", "\x1b]52;c;ZWNobyBoaQ==\x07", "\rPASS",
           "\n  ✓ eve 30/30", "\u202eevil"]
CONTROL = ("\x1b", "\x07", "\r", "\n", "\u202e")


@pytest.mark.parametrize("text", HOSTILE)
def test_printable_escapes_what_a_terminal_would_obey(text):
    shown = printable(f"bob{text}")
    assert shown.startswith("bob") and not any(c in shown for c in CONTROL)
    assert shown.isprintable()


def test_printable_keeps_readable_text():
    assert printable('Zoë 名前 José "Pepe" O\'Neil') == 'Zoë 名前 José "Pepe" O\'Neil'


def _result(student: str, message: str) -> SubmissionResult:
    return SubmissionResult("linreg", student, (
        CheckResult("c", "f", Category.CORRECTNESS, Outcome.ERROR, 0.0, 1.0, "f works.", message,
                    hint=message),
    ))


def test_grader_check_output_keeps_its_lines():
    hostile = terminal.submission(_result("bob" + HOSTILE[0], "".join(HOSTILE)))
    plain = terminal.submission(_result("bob", "plain"))
    assert len(hostile.splitlines()) == len(plain.splitlines())
    assert not any(c in line for line in hostile.splitlines() for c in CONTROL)
    assert not any(line.lstrip().startswith(("✓", "PASS")) for line in hostile.splitlines())


def test_batch_progress_prints_one_line_per_student():
    out = io.StringIO()
    console = Console(file=out, force_terminal=False, width=200, highlight=False)
    with BatchProgress(console) as progress:
        progress.plan(2, 0)
        progress.graded(Graded("bob\n✓ eve 30/30" + HOSTILE[0], RunStatus.GRADED, 1.0, 2.0))
        progress.graded(Graded("mallory" + HOSTILE[1], RunStatus.NOT_RUN, error="bad" + HOSTILE[3]))
    lines = [line for line in out.getvalue().splitlines() if "bob" in line or "mallory" in line]
    assert len(lines) == 2 and not any("\x1b" in line or "\r" in line for line in lines)
    assert not any(line.lstrip().startswith("✓ eve") for line in out.getvalue().splitlines())


def test_a_usage_error_naming_a_hostile_folder_is_escaped(tmp_path):
    folder = tmp_path / "x\x1b]0;pwned\x07"
    run = CliRunner().invoke(main, ["check", str(folder), "-a", "linreg"])
    assert run.exit_code == 2
    assert "\x1b" not in run.stderr and "\\x1b]0;pwned\\x07: not found" in run.stderr
