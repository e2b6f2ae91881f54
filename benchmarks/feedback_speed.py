"""Feedback in seconds: what a learner waits for `grader check`, and what one more submission
costs a batch or the service, as ratios to a fresh Python importing torch in the same run.

- a cold `grader check` of a correct submission (softmax, linreg): to its first line on a
  terminal (stderr is a pseudo-terminal here, as for a person) and to its exit;
- one more submission in a batch (`--jobs 1`, steady state: from the first result on);
- every graded copy at full marks (the speed is not bought with verdicts).

Run: .venv/bin/python benchmarks/feedback_speed.py [--repeat N] [--data-root DIR]
Prints a markdown table; each figure is the minimum of N runs (the machine's noise only adds).
"""

from __future__ import annotations

import argparse
import os
import pty
import select
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from floor import fresh_torch_import

REPO = Path(__file__).resolve().parent.parent
FILES = {"softmax": "softmax_regression.py", "linreg": "linear_regression.py"}
# goal -> the most it may cost, as a multiple of the floor (the goals)
GOALS = {
    ("cold", "softmax"): 3.0, ("cold", "linreg"): 1.5, ("first line", "softmax"): 1.0,
    ("first line", "linreg"): 1.0, ("one more", "softmax"): 0.5, ("one more", "linreg"): 0.10,
}


def cold_check(folder: Path, assignment: str, data_root: str) -> tuple[float, float, str]:
    """(seconds to the first byte on the terminal, seconds to exit, stdout) of `grader check`."""
    master, slave = pty.openpty()
    start = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "grader", "check", str(folder), "--assignment", assignment,
         "--data-root", data_root], stdout=subprocess.PIPE, stderr=slave, stdin=subprocess.DEVNULL,
    )
    os.close(slave)
    first = None
    while process.poll() is None:
        if select.select([master], [], [], 0.01)[0]:
            try:
                if os.read(master, 4096) and first is None:
                    first = time.perf_counter() - start
            except OSError:  # the terminal's last writer is gone
                break
    out = process.communicate()[0].decode()
    end = time.perf_counter() - start
    os.close(master)
    if process.returncode != 0:
        raise SystemExit(f"grader check {assignment} exited {process.returncode}:\n{out}")
    return (first if first is not None else end), end, out


def one_more_in_a_batch(root: Path, assignment: str, data_root: str) -> tuple[float, bool]:
    """Seconds per submission after the first result of `grader batch --jobs 1`, and whether
    every submission got full marks."""
    from grader.batch.run import Options, run_batch
    from grader.gradebook import Gradebook

    stamps: list[float] = []
    with tempfile.TemporaryDirectory() as tmp, Gradebook(f"sqlite:///{tmp}/g.db") as gradebook:
        summary = run_batch(root, gradebook, Options(assignment, jobs=1, device="cpu",
                                                     data_root=data_root),
                            on_graded=lambda graded: stamps.append(time.perf_counter()))
    steady = (stamps[-1] - stamps[0]) / (len(stamps) - 1)
    return steady, all(g.full_marks for g in summary.outcomes)


def write_class(root: Path, assignment: str, students: int) -> Path:
    """Copies of the reference, each with its own content, so none is skipped as graded."""
    for i in range(students):
        folder = root / assignment / f"student{i:02d}"
        folder.mkdir(parents=True)
        text = (REPO / "reference" / FILES[assignment]).read_text()
        (folder / FILES[assignment]).write_text(f"{text}\n# student {i}\n")
    return root / assignment


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--data-root", default=str(REPO.parent / "shared" / "data"))
    args = parser.parse_args()

    floor = min(fresh_torch_import() for _ in range(args.repeat + 1))
    rows: list[tuple[str, float, tuple[str, str] | None]] = []
    full_marks = True
    with tempfile.TemporaryDirectory() as tmp:
        for assignment in FILES:
            folder = Path(tmp) / f"one-{assignment}"
            folder.mkdir()
            shutil.copyfile(REPO / "reference" / FILES[assignment], folder / FILES[assignment])
            runs = [cold_check(folder, assignment, args.data_root) for _ in range(args.repeat)]
            full_marks &= all("(100%)" in out for _, _, out in runs)
            rows.append((f"`grader check`, {assignment}, cold: first line on the terminal",
                         min(r[0] for r in runs), ("first line", assignment)))
            rows.append((f"`grader check`, {assignment}, cold: the whole result",
                         min(r[1] for r in runs), ("cold", assignment)))
        for assignment, students in (("softmax", 4), ("linreg", 12)):
            root = write_class(Path(tmp), assignment, students)
            steady, all_full = min(one_more_in_a_batch(root, assignment, args.data_root)
                                   for _ in range(args.repeat))
            full_marks &= all_full
            rows.append((f"one more {assignment} submission in a batch (`--jobs 1`)", steady,
                         ("one more", assignment)))
    print(f"Machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}; the minimum of "
          f"{args.repeat} runs each; every graded copy at full marks: {full_marks}\n")
    print("| what | seconds | ratio to the floor | goal | met |")
    print("|---|---|---|---|---|")
    print(f"| a fresh `python -c 'import torch'` (the floor) | {floor:.2f} | 1x | | |")
    for what, seconds, goal in rows:
        limit = GOALS[goal]
        print(f"| {what} | {seconds:.2f} | {seconds / floor:.2f}x | ≤ {limit:g}x | "
              f"{'yes' if seconds / floor <= limit else 'no'} |")


if __name__ == "__main__":
    main()
