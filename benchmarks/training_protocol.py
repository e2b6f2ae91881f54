"""Which training protocol keeps the softmax training check's verdicts at a fraction of its cost.

For the reference, every mistake in tests/test_softmax.py that reaches train_ch3, and every
right answer in another style, trains with the book's setup (W ~ N(0, 0.01), lr 0.1, batch 256,
the same seed and batch order) under several protocols (epochs x examples per epoch), and prints
each one's test accuracy on Fashion-MNIST's real test set with the reference's beside it, so the
margin between what must pass and what must fail can be read off.

Run: .venv/bin/python benchmarks/training_protocol.py --data-root ../shared/data
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
import types
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

PROTOCOLS = [(10, 50_000), (3, 50_000), (2, 50_000), (10, 10_000), (10, 5_000), (5, 10_000),
             (3, 25_000), (2, 25_000)]


def variants() -> dict[str, tuple[str, bool]]:
    """name -> (source, whether the training check must pass it today)."""
    from helpers import replace_function
    from test_softmax import ALTERNATIVES, MISTAKES, REFERENCE_SOURCE, TRAINING

    found = {"the reference": (REFERENCE_SOURCE, True)}
    for name, case in MISTAKES.items():
        if case.also == "train_ch3" or case.function == "train_ch3":
            found[name] = (replace_function(REFERENCE_SOURCE, case.function, case.source),
                           TRAINING not in case.fails)
    for name, (function, source) in ALTERNATIVES.items():
        found[name] = (replace_function(REFERENCE_SOURCE, function, source), True)
    return found


def module_of(name: str, source: str) -> types.ModuleType:
    module = types.ModuleType(name.replace(" ", "_"))
    exec(compile(source, f"<{name}>", "exec"), module.__dict__)  # noqa: S102 - our own test code
    return module


def _probes() -> types.ModuleType:
    """The softmax probes, from their file alone (as the zygote loads them)."""
    spec = importlib.util.spec_from_file_location(
        "softmax_probes", REPO / "assignments" / "softmax" / "probes.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def train(module, images, labels, epochs: int, examples: int, seed: int) -> torch.Tensor:
    """The check's run: the student's train_ch3 over the first ``examples`` of the public split."""
    from grader.authoring import ProbeEnv
    from grader.runner import datasets
    from grader.runner.probes import seed_everything

    datasets._PRELOADED["fashion_mnist_train"] = (images, labels)
    seed_everything(seed)
    env = ProbeEnv(module, "train_ch3", torch.device("cpu"))
    out = _probes().fashion_mnist(env, num_epochs=epochs, examples=examples)
    return out["W"].detach(), out["b"].detach()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", default="../shared/data")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    from grader.data import fashion_mnist

    train_split = fashion_mnist.load(args.data_root, "train")
    test = fashion_mnist.load(args.data_root, "test")
    X_test = test.images.reshape(-1, 784)
    rows = []
    for name, (source, must_pass) in variants().items():
        module = module_of(name, source)
        accs = []
        for epochs, examples in PROTOCOLS:
            start = time.perf_counter()
            try:
                W, b = train(module, train_split.images, train_split.labels, epochs, examples, 0)
                acc = float(((X_test @ W + b).argmax(1) == test.labels).float().mean())
            except Exception:  # noqa: BLE001 - a mistake that crashes learns nothing
                acc = 0.0
            accs.append((acc, time.perf_counter() - start))
        rows.append((name, must_pass, accs))
        print(f"{'pass' if must_pass else 'FAIL'} {name}: "
              + ", ".join(f"{a:.4f} ({s:.1f}s)" for a, s in accs), flush=True)
    print("\n| variant | today | " + " | ".join(f"{e}x{n}" for e, n in PROTOCOLS) + " |")
    print("|---|---|" + "---|" * len(PROTOCOLS))
    for name, must_pass, accs in rows:
        print(f"| {name} | {'pass' if must_pass else 'fail'} | "
              + " | ".join(f"{a:.4f}" for a, _ in accs) + " |")


if __name__ == "__main__":
    main()
