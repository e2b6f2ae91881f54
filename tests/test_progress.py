"""What grading says while it runs: the cheap verdicts first, each check heard, the report's order
kept; and `grader check` on a terminal, whose first line comes before any of the slow work."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import shutil
import struct
import subprocess
import sys
import termios

from helpers import LINREG_FILE, REFERENCE_FILE

from grader.api import Grader
from grader.outcomes import Category, CheckResult


class Recorded:
    def __init__(self) -> None:
        self.heard: list[tuple] = []

    def phase(self, text: str) -> None:
        self.heard.append(("phase", text))

    def running(self, title: str, done: int, total: int) -> None:
        self.heard.append(("running", title, done, total))

    def checked(self, result: CheckResult) -> None:
        self.heard.append(("checked", result))


def test_training_runs_last_and_every_check_is_heard_in_the_order_it_ran(tmp_path):
    shutil.copyfile(REFERENCE_FILE, tmp_path / LINREG_FILE)
    progress = Recorded()
    with Grader("linreg", device="cpu") as grader:
        result = grader.grade(tmp_path, progress=progress)
        checks = grader.assignment.checks
    assert progress.heard[0] == ("phase", "starting the sandbox")  # linreg loads no data set
    started = [h for h in progress.heard if h[0] == "running"]
    ended = [h[1] for h in progress.heard if h[0] == "checked"]
    assert [h[2:] for h in started] == [(i, len(checks)) for i in range(len(checks))]
    assert [h[1] for h in started] == [r.title for r in ended]  # each ends before the next
    categories = [r.category for r in ended]
    training = categories.index(Category.TRAINING)
    assert training == len(categories) - 1, categories  # after every cheaper check
    assert [c.id for c in checks].index(ended[-1].id) < len(checks) - 1  # not last by nature
    assert [r.id for r in result.checks] == [c.id for c in checks]  # reported in their order
    assert sorted(r.id for r in ended) == sorted(r.id for r in result.checks)


def test_check_on_a_terminal_shows_progress_first_and_clears_it_before_the_report(tmp_path):
    folder = tmp_path / "al\x1bice"  # a student's name reaches the terminal escaped
    folder.mkdir()
    shutil.copyfile(REFERENCE_FILE, folder / LINREG_FILE)
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 400, 0, 0))  # no cut lines
    process = subprocess.Popen(
        [sys.executable, "-m", "grader", "check", str(folder), "--assignment", "linreg",
         "--device", "cpu"], stdout=subprocess.PIPE, stderr=slave, stdin=subprocess.DEVNULL)
    os.close(slave)
    shown = b""
    while True:
        if select.select([master], [], [], 1.0)[0]:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: every writer of the terminal is gone
                break
            if not chunk:
                break
            shown += chunk
        elif process.poll() is not None:
            break
    os.close(master)
    report = process.communicate(timeout=60)[0].decode()
    assert process.returncode == 0, report
    text = shown.decode()
    frames = text.split("\r\x1b[K")  # each rewrite of the one line
    assert frames[0] == "" and frames[-1] == ""  # it starts clean and ends cleared
    shown_lines = [f for f in frames if f]
    assert shown_lines[0].endswith("(linreg): starting the grader…"), shown_lines[:2]
    assert "\x1b" not in "".join(shown_lines)  # the folder's escape was made printable
    assert any("starting the sandbox" in line for line in shown_lines)
    assert any(" points" in line and "now: " in line for line in shown_lines)
    assert report.splitlines()[-1].endswith("(100%)")
