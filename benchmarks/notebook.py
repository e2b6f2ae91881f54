"""What grading a notebook costs against the same functions as a .py, measured in one run.

The notebook is the reference's functions, a cell each (``grader init --notebook``'s layout),
followed by what the book's chapter-3 notebooks run at top level: Fashion-MNIST loaded twice, a
10-epoch ``train_ch3`` and a prediction plot for softmax; a 3-epoch loop for linreg. None of it
may run when graded: the target is a notebook within 1.2x of its .py.

Run: .venv/bin/python benchmarks/notebook.py [--repeat N] [--data-root DIR]
Prints a markdown table; timings are medians of N warm gradings, on whatever machine runs it.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TARGET = 1.2  # a notebook's grading time over its .py's

TOP_LEVEL = {
    "softmax": [
        "from d2l import torch as d2l\n%matplotlib inline",
        "batch_size = 256\ntrain_iter, test_iter = d2l.load_data_fashion_mnist(batch_size)",
        "W = torch.normal(0, 0.01, size=(784, 10), requires_grad=True)\n"
        "b = torch.zeros(10, requires_grad=True)\n\n"
        "def net(X):\n    return softmax(torch.matmul(X.reshape((-1, W.shape[0])), W) + b)",
        "def updater(batch_size):\n    return d2l.sgd([W, b], 0.1, batch_size)",
        "train_ch3(net, train_iter, test_iter, cross_entropy, 10, updater)",
        "train_iter, test_iter = d2l.load_data_fashion_mnist(batch_size)\n"
        "d2l.predict_ch3(net, test_iter)",
    ],
    "linreg": [
        "from d2l import torch as d2l",
        "features, labels = synthetic_data(torch.tensor([2, -3.4]), 4.2, 1000)\n"
        "w = torch.normal(0, 0.01, size=(2, 1), requires_grad=True)\n"
        "b = torch.zeros(1, requires_grad=True)",
        "for epoch in range(3):\n"
        "    for X, y in data_iter(10, features, labels):\n"
        "        squared_loss(linreg(X, w, b), y).sum().backward()\n"
        "        sgd([w, b], 0.03, 10)",
    ],
}
FILES = {"softmax": "softmax_regression.py", "linreg": "linear_regression.py"}


def write_both(root: Path, name: str) -> tuple[Path, Path]:
    """The reference as a .py in one folder and as a notebook in another."""
    import nbformat

    from grader.notebooks import starter_notebook

    source = (REPO / "reference" / FILES[name]).read_text()
    script, notebook = root / f"{name}-py", root / f"{name}-ipynb"
    script.mkdir()
    notebook.mkdir()
    (script / FILES[name]).write_text(source)
    nb = starter_notebook(source, title=name)
    nb.cells += [nbformat.v4.new_code_cell(text) for text in TOP_LEVEL[name]]
    nbformat.write(nb, notebook / FILES[name].replace(".py", ".ipynb"))
    return script, notebook


def timed(grader, folder: Path, repeat: int) -> float:
    grader.grade(folder)  # warm: the first grading of a kind pays for lazy imports
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = grader.grade(folder)
        times.append(time.perf_counter() - start)
        assert result.score == result.max_score, f"{folder.name} lost points"
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--data-root", default=None)
    args = parser.parse_args()

    from grader.api import Grader

    print("| assignment | .py | notebook | ratio | target |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for name in TOP_LEVEL:
            script, notebook = write_both(Path(tmp), name)
            with Grader(name, device="cpu", data_root=args.data_root) as grader:
                py, nb = timed(grader, script, args.repeat), timed(grader, notebook, args.repeat)
            print(f"| {name} | {py:.2f} s | {nb:.2f} s | {nb / py:.2f}x | ≤ {TARGET}x |")


if __name__ == "__main__":
    main()
