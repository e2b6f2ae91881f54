"""What grading a class costs, measured in one run on this machine; prints a markdown table.

- one more submission in a batch (linreg, gradients), as a ratio to a fresh Python importing
  torch (the floor of any grader that starts a process or a container per submission);
- the speed-up of --jobs 2 over --jobs 1, whole batches and in the steady state;
- the softmax training check against the same training run bare, in this process;
- the peak memory (PSS) of one worker slot: its process, its zygote and the child.

Run: .venv/bin/python benchmarks/batch.py [--students N] [--data-root DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import SimpleNamespace

from floor import fresh_torch_import

REPO = Path(__file__).resolve().parent.parent
TARGETS = {"one more": 0.25, "speed-up": 1.6, "training": 1.3}


def write_class(root: Path, students: int) -> Path:
    """``students`` copies of the reference, each with its own content (so none is skipped)."""
    root.mkdir()
    for i in range(students):
        folder = root / f"student{i:03d}"
        folder.mkdir()
        for name in ("linear_regression.py", "softmax_regression.py", "gradients.py"):
            text = (REPO / "reference" / name).read_text()
            (folder / name).write_text(f"{text}\n# student {i}\n")
    return root


class SlotMemory:
    """Samples the PSS of each slot's process tree (slot, zygote, children) while a batch runs."""

    def __init__(self, interval: float = 0.2) -> None:
        self.interval, self.peak = interval, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> SlotMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            children = _children()
            for slot in children.get(os.getpid(), []):
                if b"resource_tracker" in _read(f"/proc/{slot}/cmdline"):
                    continue
                tree = _tree(slot, children)
                self.peak = max(self.peak, sum(_pss(pid) for pid in tree))


def _children() -> dict[int, list[int]]:
    found: dict[int, list[int]] = {}
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            stat = _read(f"/proc/{proc.name}/stat")
            if stat:
                ppid = int(stat.rsplit(b")", 1)[1].split()[1])
                found.setdefault(ppid, []).append(int(proc.name))
    return found


def _tree(pid: int, children: dict[int, list[int]]) -> list[int]:
    out, queue = [], [pid]
    while queue:
        current = queue.pop()
        out.append(current)
        queue.extend(children.get(current, []))
    return out


def _pss(pid: int) -> int:
    for line in _read(f"/proc/{pid}/smaps_rollup").splitlines():
        if line.startswith(b"Pss:"):
            return int(line.split()[1]) * 1024
    return 0


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return b""


def timed_batch(
    root: Path, assignment: str, jobs: int, data_root: str | None, *, sample: bool = False
) -> dict:
    """Grade ``root`` into a fresh gradebook; wall time, the gaps between results, and with
    ``sample`` the peak memory of a slot (sampling costs CPU: not while timing)."""
    from grader.batch.run import Options, run_batch
    from grader.gradebook import Gradebook

    stamps: list[float] = []
    memory = SlotMemory() if sample else contextlib.nullcontext(SimpleNamespace(peak=0))
    with tempfile.TemporaryDirectory() as tmp, memory as memory:
        start = time.perf_counter()
        with Gradebook(f"sqlite:///{tmp}/grades.db") as gradebook:
            summary = run_batch(
                root, gradebook, Options(assignment, jobs=jobs, device="cpu", data_root=data_root),
                on_graded=lambda graded: stamps.append(time.perf_counter()),
            )
        wall = time.perf_counter() - start
    assert summary.count(summary.outcomes[0].status) == len(stamps), "a submission failed"
    # Steady state: from each slot's first result on, so start-up is left out.
    steady = (stamps[-1] - stamps[jobs - 1]) / (len(stamps) - jobs)
    return {"wall": wall, "per_submission": steady, "peak": memory.peak,
            "full_marks": all(g.full_marks for g in summary.outcomes)}


def training_check(data_root: str | None) -> tuple[float, float]:
    """(seconds of the training check in a graded submission, seconds of the same run bare).

    The second of two submissions, as in a batch: the first pays for loading the test set.
    """
    import torch

    from grader import options
    from grader.api import Grader
    from grader.runner import datasets
    from grader.runner.probes import ProbeEnv, seed_everything

    with tempfile.TemporaryDirectory() as tmp:
        folder = write_class(Path(tmp) / "one", 1) / "student000"
        with Grader("softmax", device="cpu", data_root=data_root) as grader:
            grader.grade(folder, functions=["train_ch3"])
            result = grader.grade(folder, functions=["train_ch3"])
    (check,) = [c for c in result.checks if c.category == "training"]
    assert check.status == "passed", check.message

    import grader.builtin.reference.softmax_regression as reference
    from grader.builtin.assignments.softmax import checks, probes

    datasets.preload("fashion_mnist_train", options.data_root(data_root))
    torch.set_num_threads(1)  # as in the zygote's children
    seed_everything(0)
    start = time.perf_counter()
    env = ProbeEnv(reference, "train_ch3", torch.device("cpu"))
    probes.fashion_mnist(env, **checks.TRAINING_RUN)
    return check.duration, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=48)
    parser.add_argument("--data-root", default=None)
    args = parser.parse_args()

    floor = statistics.median(fresh_torch_import() for _ in range(3))
    with tempfile.TemporaryDirectory() as tmp:
        root = write_class(Path(tmp) / "class", args.students)
        one = timed_batch(root, "linreg", 1, args.data_root)
        two = timed_batch(root, "linreg", 2, args.data_root)
        derivatives = timed_batch(root, "gradients", 1, args.data_root)
        small = write_class(Path(tmp) / "small", 2)
        memory = {name: timed_batch(small, name, 1, args.data_root, sample=True)["peak"]
                  for name in ("linreg", "softmax")}
    check, bare = training_check(args.data_root)
    rows = [
        ("a fresh `python -c 'import torch'`", f"{floor:.2f} s", "1.00x of the floor", ""),
        ("one more linreg submission in a batch (--jobs 1, steady state)",
         f"{one['per_submission']:.3f} s", f"{one['per_submission'] / floor:.2f}x of the floor",
         f"≤ {TARGETS['one more']}x"),
        ("one more gradients submission in a batch (--jobs 1, steady state)",
         f"{derivatives['per_submission']:.3f} s",
         f"{derivatives['per_submission'] / floor:.2f}x of the floor", f"≤ {TARGETS['one more']}x"),
        (f"{args.students} linreg submissions, --jobs 1, start-up included", f"{one['wall']:.1f} s",
         "", ""),
        (f"{args.students} linreg submissions, --jobs 2, start-up included", f"{two['wall']:.1f} s",
         f"{one['wall'] / two['wall']:.2f}x faster", f"≥ {TARGETS['speed-up']}x"),
        ("one more linreg submission, --jobs 2 (steady state)", f"{two['per_submission']:.3f} s",
         f"{one['per_submission'] / two['per_submission']:.2f}x faster",
         f"≥ {TARGETS['speed-up']}x"),
        ("softmax training check in a graded submission", f"{check:.1f} s",
         f"{check / bare:.2f}x of bare", f"≤ {TARGETS['training']}x"),
        ("the same training run bare, in-process, 1 thread", f"{bare:.1f} s", "", ""),
        *((f"peak memory of one slot (PSS of slot, zygote, child), {name}",
           f"{peak / 2**20:.0f} MiB", "", "") for name, peak in memory.items()),
    ]
    print(f"Machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}; "
          "every submission full marks: "
          f"{one['full_marks'] and two['full_marks'] and derivatives['full_marks']}\n")
    print("| what | measured | ratio | target |")
    print("|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
