"""Stand-ins: public collaborators that behave like the reference and cannot be kept for later."""

from __future__ import annotations

import importlib

import pytest
import torch
from helpers import course_module

from grader.api import list_assignments
from grader.grading.catalog import get_assignment
from grader.runner.worker import Worker

ASSIGNMENTS = [a for a in list_assignments() if a.standins]


@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=lambda a: a.name)
def test_every_function_has_a_stand_in(assignment):
    standins = importlib.import_module(assignment.standins)
    assert [f for f in assignment.functions if not callable(getattr(standins, f, None))] == []


def _linreg_samples():
    X, w, b = torch.randn(7, 3), torch.randn(3, 1), torch.randn(1)
    y_hat, y = torch.randn(7, 1), torch.randn(7)
    yield "linreg", (X, w, b)
    yield "squared_loss", (y_hat, y)
    yield "huber_loss", (3 * y_hat, y)
    yield "normal_equation", (X, X @ w + b)


def _softmax_samples():
    logits, y = 5 * torch.randn(6, 4), torch.randint(0, 4, (6,))
    probabilities = torch.softmax(logits, dim=1)
    yield "softmax", (logits,)
    yield "log_softmax", (logits,)
    yield "cross_entropy", (probabilities, y)
    yield "softmax_cross_entropy", (logits, y)
    yield "accuracy", (logits, y)
    yield "accuracy", (logits.argmax(1).reshape(-1, 1), y)
    batches = [(torch.randn(5, 4), torch.randint(0, 3, (5,))) for _ in range(3)]
    yield "evaluate_accuracy", (lambda X: X[:, :3], batches)


def _gradients_samples():
    x = torch.cat([3 * torch.randn(9, dtype=torch.float64), torch.tensor([0.0, -1e3, 1e3])])
    for function in ("sigmoid", "sigmoid_grad", "tanh_grad", "relu_grad"):
        yield function, (x,)
    yield "softmax_jacobian", (torch.randn(5, dtype=torch.float64),)
    yield "softmax_cross_entropy_grad", (5 * torch.randn(6, 4), torch.randint(0, 4, (6,)))
    yield "squared_loss_grad", (torch.randn(7, 1), torch.randn(7))
    yield "real_softmax", (x, x.flip(0))
    param, grad, state = torch.randn(4), torch.randn(4), torch.rand(4)
    yield "adagrad_update", (param, grad, state, 0.1)
    yield "momentum_update", (param, grad, state, 0.1, 0.9)


SAMPLES = {"linreg": _linreg_samples, "softmax": _softmax_samples,
           "gradients": _gradients_samples}


@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=lambda a: a.name)
def test_stand_ins_give_the_references_answers(assignment):
    standins = importlib.import_module(assignment.standins)
    reference = assignment.reference_module()
    if assignment.name not in SAMPLES:
        pytest.fail(f"add sample arguments for {assignment.name}'s functions to SAMPLES in "
                    "tests/test_standins.py")
    torch.manual_seed(0)
    for function, args in SAMPLES[assignment.name]():
        got, expected = getattr(standins, function)(*args), getattr(reference, function)(*args)
        for g, e in zip(*(x if isinstance(x, tuple) else (x,) for x in (got, expected)),
                        strict=True):
            torch.testing.assert_close(torch.as_tensor(g), torch.as_tensor(e),
                                       msg=lambda m, f=function: f"{f}: {m}")


def test_sgd_stand_in_updates_in_place_and_zeroes_the_gradients():
    standins = course_module("linreg", "standins")
    w = torch.ones(3, requires_grad=True)
    w.grad = torch.full((3,), 2.0)
    before = w.data_ptr()
    standins.sgd([w], lr=0.5, batch_size=2)
    assert w.data_ptr() == before
    assert torch.equal(w.detach(), torch.full((3,), 0.5))
    assert torch.equal(w.grad, torch.zeros(3))


KEEPER = '''
kept = {}


def evaluate_accuracy(net, data_iter):
    kept["accuracy"] = accuracy  # the stand-in, while this check binds it
    return 0.0


def accuracy(y_hat, y):
    return kept["accuracy"](y_hat, y) if "accuracy" in kept else 0.0
'''


def test_a_stand_in_kept_for_later_raises_instead_of_answering(make_submission):
    folder = make_submission({"softmax_regression.py": KEEPER})
    functions = ["accuracy", "evaluate_accuracy"]
    standins = get_assignment("softmax").standins
    with Worker(probe_modules=["grader.runner.probes", standins]) as worker:
        child = worker.spawn(folder)
        try:
            child.request({"op": "import", "file": "softmax_regression.py",
                           "functions": functions, "standins": standins},
                          timeout=20)

            def call(function, args, bind):
                return child.request({
                    "op": "probe", "probe": "grader.runner.probes:call", "function": function,
                    "kwargs": {"args": args}, "bind": bind, "seed": 0, "device": "cpu",
                }, timeout=10)

            assert call("evaluate_accuracy", (None, []), ["accuracy"]) == {"ok": 0.0}
            reply = call("accuracy", (torch.eye(3), torch.arange(3)), ["evaluate_accuracy"])
        finally:
            child.close()
    assert "error" in reply
    assert "not yours to keep" in reply["error"]["message"]
