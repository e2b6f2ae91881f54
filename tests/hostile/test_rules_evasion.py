"""From-scratch rules hold however a banned operation is reached (issue 20, item 1).

Each evasion is a correct answer computed with the banned operation, hidden from the source scan
(a name built at run time, an import by string, ``eval``), and some of them also from the traced
run's function layer (``DisableTorchFunction``, a popped mode stack, another thread). Every one
must cost exactly the rules check of its function and nothing else: the answer is right. The
correct styles at the end hide nothing and must keep their full marks; the corpora of correct
solutions in test_softmax, test_gradients, test_linreg and test_example_course guard the rest.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from helpers import REPO, not_passed, replace_function, report

from grader.api import Grader
from grader.outcomes.results import Category, Outcome

FILES = {"softmax": "softmax_regression.py", "gradients": "gradients.py",
         "linreg": "linear_regression.py"}


@dataclass(frozen=True)
class Case:
    assignment: str
    function: str
    source: str
    says: str  # in the rules check's message


HIDDEN_NAME = "seen at run time"
HIDING = "may not hide what it computes"
PRIVATE = "torch's private core"

EVASIONS = {
    # the issue's own: the function layer switched off, the name built at run time
    "softmax: DisableTorchFunction and getattr": Case("softmax", "softmax", """
        def softmax(X):
            with getattr(torch, "_" + "C").DisableTorchFunction():
                return getattr(torch, "soft" + "max")(X, 1)
        """, HIDING),
    "softmax: the functional module imported by a string": Case("softmax", "softmax", """
        import importlib


        def softmax(X):
            F = importlib.import_module("torch.nn." + "functional")
            return getattr(F, "soft" + "max")(X, dim=1)
        """, "calls torch.nn.functional.softmax (seen at run time)"),
    "softmax: the ATen operation called directly": Case("softmax", "softmax", """
        def softmax(X):
            return getattr(getattr(torch, "ops").aten, "_soft" + "max")(X, 1, False)
        """, "calls aten._softmax (seen at run time)"),
    "softmax: eval of a method call": Case("softmax", "softmax", """
        def softmax(X):
            return eval("X.soft" + "max(1)")
        """, "calls torch.Tensor.softmax (seen at run time)"),
    "softmax: computed in another thread": Case("softmax", "softmax", """
        import threading


        def softmax(X):
            out = []
            worker = threading.Thread(target=lambda: out.append(getattr(X, "soft" + "max")(1)))
            worker.start()
            worker.join()
            return out[0]
        """, "started a thread"),
    "softmax: the trace's mode popped off its stack": Case("softmax", "softmax", """
        import functools


        def softmax(X):
            core = getattr(torch, "_" + "C")
            quietly = functools.partial  # a call from C: no profile event
            if quietly(getattr(core, "_len_torch_dispatch_stack"))():
                list(map(getattr(core, "_pop_torch_dispatch_stack"), [None]))
            return getattr(torch, "soft" + "max")(X, 1)
        """, HIDING),
    "softmax: the profile function switched off": Case("softmax", "softmax", """
        import sys


        def softmax(X):
            sys.setprofile(None)
            return getattr(torch, "soft" + "max")(X, 1)
        """, HIDING),
    "softmax: crashes only while traced": Case("softmax", "softmax", """
        import functools


        def softmax(X):
            core = getattr(torch, "_" + "C")
            if functools.partial(getattr(core, "_len_torch_dispatch_stack"))():
                raise RuntimeError("not now")
            return getattr(torch, "soft" + "max")(X, 1)
        """, "only while the grader traces it"),
    "softmax: torch._C named in the source": Case("softmax", "softmax", """
        from torch import _C


        def softmax(X):
            with _C.DisableTorchFunction():
                return torch.softmax(X, 1)
        """, PRIVATE),
    "log_softmax: DisableTorchFunction through a helper": Case("softmax", "log_softmax", """
        def _quiet():
            return vars(torch)["_" + "C"].DisableTorchFunction()


        def log_softmax(X):
            with _quiet():
                return getattr(torch, "log_soft" + "max")(X, 1)
        """, HIDING),
    "cross_entropy: nll_loss by a built name": Case("softmax", "cross_entropy", """
        def cross_entropy(y_hat, y):
            F = getattr(torch.nn, "func" + "tional")
            return getattr(F, "nll" + "_loss")(torch.log(y_hat), y, reduction="none")
        """, "(seen at run time)"),
    # derivatives: autograd reached without naming it
    "sigmoid_grad: autograd.grad with tracing switched off": Case("gradients", "sigmoid_grad", """
        def sigmoid_grad(x):
            with getattr(torch, "_" + "C").DisableTorchFunction():
                x = x.detach().requires_grad_(True)
                autograd = getattr(torch, "auto" + "grad")
                return getattr(autograd, "gr" + "ad")(sigmoid(x).sum(), x)[0]
        """, HIDING),
    "sigmoid_grad: backward by a built method name": Case("gradients", "sigmoid_grad", """
        def sigmoid_grad(x):
            x = x.detach().requires_grad_(True)
            getattr(sigmoid(x).sum(), "back" + "ward")()
            return x.grad
        """, "(seen at run time)"),
    "tanh_grad: torch.func imported by a string": Case("gradients", "tanh_grad", """
        import importlib


        def tanh_grad(x):
            func = importlib.import_module("torch.f" + "unc")
            return getattr(func, "vm" + "ap")(getattr(func, "gr" + "ad")(torch.tanh))(x)
        """, "calls torch.autograd.grad (seen at run time)"),
    "sigmoid: the ATen sigmoid by way of a dict": Case("gradients", "sigmoid", """
        def sigmoid(x):
            return vars(torch)["sig" + "moid"](x)
        """, "calls torch.sigmoid (seen at run time)"),
    # an optimizer reached without naming torch.optim
    "sgd: torch.optim.SGD by a built name": Case("linreg", "sgd", """
        def sgd(params, lr, batch_size):
            step = getattr(torch, "op" + "tim").SGD(params, lr=lr / batch_size)
            step.step()
            step.zero_grad(set_to_none=False)
        """, "calls torch.optim.SGD"),
}

CORRECT = {
    # styles that hide nothing, even if they take paths below torch's Python layer
    "softmax with a constant from numpy": ("softmax", "softmax", """
        import numpy as np


        def softmax(X):
            shift = torch.from_numpy(np.zeros((1, 1), dtype=np.float32))
            E = torch.exp(X - X.max(dim=1, keepdim=True).values.detach() + shift)
            return E / E.sum(1, keepdim=True)
        """),
    "softmax with a legacy constructor and print": ("softmax", "softmax", """
        def softmax(X):
            shift = torch.Tensor([0.0])
            X_exp = torch.exp(X - X.max(1, keepdim=True).values + shift)
            print("partition", X_exp.sum(1).shape)
            return X_exp / X_exp.sum(1, keepdim=True)
        """),
    "sigmoid_grad under no_grad": ("gradients", "sigmoid_grad", """
        def sigmoid_grad(x):
            with torch.no_grad():
                s = sigmoid(x)
                return s * (1 - s)
        """),
    "sgd with torch.no_grad and a loop": ("linreg", "sgd", """
        def sgd(params, lr, batch_size):
            with torch.no_grad():
                for param in params:
                    param -= lr * param.grad / batch_size
                    param.grad.zero_()
        """),
}


@pytest.fixture(scope="module")
def graders(data_root) -> Iterator[dict[str, Grader]]:
    with Grader("softmax", device="cpu", data_root=data_root) as softmax, \
            Grader("gradients", device="cpu", data_root=data_root) as gradients, \
            Grader("linreg", device="cpu", data_root=data_root) as linreg:
        yield {"softmax": softmax, "gradients": gradients, "linreg": linreg}


def _grade(graders, tmp_path, assignment: str, function: str, replacement: str):
    name = FILES[assignment]
    source = replace_function((REPO / "reference" / name).read_text(), function, replacement)
    (tmp_path / name).write_text(source)
    return graders[assignment].grade(tmp_path, functions=[function])


@pytest.mark.parametrize("case", EVASIONS.values(), ids=EVASIONS.keys())
def test_a_banned_operation_costs_the_rule_however_it_is_reached(graders, tmp_path, case):
    result = _grade(graders, tmp_path, case.assignment, case.function, case.source)
    failed = not_passed(result)
    assert [(c.function, c.category) for c in failed] == [(case.function, Category.RULES)], \
        report(failed)
    assert failed[0].status is Outcome.FAILED
    assert case.says in failed[0].message, failed[0].message


@pytest.mark.parametrize("assignment, function, source", CORRECT.values(), ids=CORRECT.keys())
def test_correct_code_that_hides_nothing_keeps_its_rule(graders, tmp_path, assignment, function,
                                                         source):
    result = _grade(graders, tmp_path, assignment, function, source)
    assert not_passed(result) == [], report(not_passed(result))
