"""How much grading one more submission costs, as a ratio to a fresh Python importing torch,
and what strict isolation adds to each submission over basic.

Run: .venv/bin/python benchmarks/one_more_submission.py [--repeat N] [--data-root DIR]
Prints a markdown table. Timings are medians of N runs, on whatever machine runs it.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from floor import fresh_torch_import

REPO = Path(__file__).resolve().parent.parent


def reference_submission(folder: Path) -> Path:
    for name in ("linear_regression.py", "softmax_regression.py"):
        shutil.copyfile(REPO / "reference" / name, folder / name)
    return folder


def child_cost(submission: Path, isolation: str, repeat: int) -> float:
    """The per-submission cost of the runner alone: what isolation adds shows here."""
    from grader.runner.worker import Worker

    message = {"op": "import", "file": "linear_regression.py", "functions": []}
    with Worker(probe_modules=["grader.runner.probes"], isolation=isolation) as worker:
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            child = worker.spawn(submission)
            child.request(message, timeout=20)
            child.close()
            times.append(time.perf_counter() - start)
    return statistics.median(times)


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
        for name, isolation in (("linreg", "strict"), ("linreg", "basic"), ("softmax", "strict")):
            with Grader(name, device="cpu", data_root=args.data_root,
                        isolation=isolation) as grader:
                start = time.perf_counter()
                grader.grade(submission)
                rows.append((f"first {name} submission ({isolation}), worker start included",
                             time.perf_counter() - start))
                times = []
                for _ in range(args.repeat):
                    start = time.perf_counter()
                    grader.grade(submission)
                    times.append(time.perf_counter() - start)
                rows.append((f"one more {name} submission ({isolation})",
                             statistics.median(times)))
        for isolation in ("strict", "basic"):
            rows.append((f"fork, isolate, import and close one child ({isolation})",
                         child_cost(submission, isolation, args.repeat * 4)))
    print("| what | seconds | ratio to a fresh torch import |")
    print("|---|---|---|")
    for what, seconds in rows:
        print(f"| {what} | {seconds:.3f} | {seconds / floor:.3f}x |")


if __name__ == "__main__":
    main()
