"""How much grading one more submission costs, as a ratio to a fresh Python importing torch.

Run: .venv/bin/python benchmarks/one_more_submission.py [--repeat N] [--data-root DIR]
Prints a markdown table. Timings are medians of N runs, on whatever machine runs it.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def fresh_torch_import() -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import torch"], check=True)
    return time.perf_counter() - start


def reference_submission(folder: Path) -> Path:
    for name in ("linear_regression.py", "softmax_regression.py"):
        shutil.copyfile(REPO / "reference" / name, folder / name)
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--data-root", default=None)
    args = parser.parse_args()

    from grader.api import Grader

    floor = statistics.median(fresh_torch_import() for _ in range(args.repeat))
    rows = [("a fresh `python -c 'import torch'`", floor)]
    with tempfile.TemporaryDirectory() as tmp:
        submission = reference_submission(Path(tmp))
        for name, functions in (("linreg", None), ("softmax", None)):
            with Grader(name, device="cpu", data_root=args.data_root) as grader:
                start = time.perf_counter()
                grader.grade(submission, functions=functions)
                rows.append((f"first {name} submission, worker start included",
                             time.perf_counter() - start))
                times = []
                for _ in range(args.repeat):
                    start = time.perf_counter()
                    grader.grade(submission, functions=functions)
                    times.append(time.perf_counter() - start)
                rows.append((f"one more {name} submission", statistics.median(times)))
    print("| what | seconds | ratio to a fresh torch import |")
    print("|---|---|---|")
    for what, seconds in rows:
        print(f"| {what} | {seconds:.2f} | {seconds / floor:.2f}x |")


if __name__ == "__main__":
    main()
