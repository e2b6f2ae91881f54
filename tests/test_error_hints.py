"""Raw errors learners hit in chapter 3 come with the fix: each hint fires on a minimal
submission that raises it, graded for real, and on the exception's text alone."""

from __future__ import annotations

import pytest
from helpers import REPO, replace_function

from grader.api import Grader
from grader.grading.error_hints import error_hint
from grader.outcomes import Outcome

LINREG = ("linreg", "linear_regression.py")
SOFTMAX = ("softmax", "softmax_regression.py")
TRAIN_LOOP = """
def train_linreg(features, labels, lr=0.03, num_epochs=3, batch_size=10):
    w = {w}
    b = {b}
    for epoch in range(num_epochs):
        for X, y in data_iter(batch_size, features, labels):
            {before}
            l = squared_loss(linreg(X, w, b), y)
            {backward}
            sgd([w, b], lr, X.shape[0])
    return w, b
"""
GOOD_W = "torch.normal(0, 0.01, size=(features.shape[1], 1), requires_grad=True)"
GOOD_B = "torch.zeros(1, requires_grad=True)"


def train_loop(w=GOOD_W, b=GOOD_B, before="pass", backward="l.sum().backward()") -> str:
    return TRAIN_LOOP.format(w=w, b=b, before=before, backward=backward)


# name -> (assignment, function replaced, its source, the check's function, a phrase of the hint)
CASES = {
    "an in-place step outside no_grad": (LINREG, "sgd", """
def sgd(params, lr, batch_size):
    for param in params:
        param -= lr * param.grad / batch_size
        param.grad.zero_()
""", "sgd", "inside `with torch.no_grad():`"),
    "backward on a vector of losses": (LINREG, "train_linreg", train_loop(backward="l.backward()"),
                                       "train_linreg", "l.sum().backward()"),
    "parameters without requires_grad": (
        LINREG, "train_linreg", train_loop(w="torch.normal(0, 0.01, size=(features.shape[1], 1))",
                                           b="torch.zeros(1)"),
        "train_linreg", "requires_grad=True"),
    "one parameter without requires_grad": (
        LINREG, "train_linreg", train_loop(w="torch.normal(0, 0.01, size=(features.shape[1], 1))"),
        "train_linreg", "without requires_grad=True"),
    "zeroing a gradient that does not exist yet": (
        LINREG, "train_linreg", train_loop(before="w.grad.zero_()"), "train_linreg",
        "None until the first backward()"),
    "a weight of the wrong shape": (
        LINREG, "train_linreg", train_loop(w="torch.normal(0, 0.01, size=(2, 1), "
                                             "requires_grad=True)"),
        "train_linreg", "the first's 3 columns must match the second's 2 rows"),
    "cross-entropy indexing a fixed number of rows": (SOFTMAX, "cross_entropy", """
def cross_entropy(y_hat, y):
    return -torch.log(y_hat[range(2), y])
""", "cross_entropy", "y_hat[range(len(y_hat)), y]"),
    "labels as floats": (SOFTMAX, "cross_entropy", """
def cross_entropy(y_hat, y):
    return -torch.log(torch.gather(y_hat, 1, y.float().reshape(-1, 1))).reshape(-1)
""", "cross_entropy", "must be int64"),
}


@pytest.fixture(scope="module")
def graders(data_root):
    with Grader("linreg", device="cpu", data_root=data_root) as linreg, \
            Grader("softmax", device="cpu", data_root=data_root) as softmax:
        yield {"linreg": linreg, "softmax": softmax}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_a_raw_error_comes_with_its_fix(graders, tmp_path, case):
    (assignment, student_file), function, source, checked, phrase = case
    code = replace_function((REPO / "reference" / student_file).read_text(), function, source)
    (tmp_path / student_file).write_text(code)
    result = graders[assignment].grade(tmp_path, functions=[checked])
    errors = [c for c in result.checks if c.status is Outcome.ERROR]
    assert errors, [(c.id, c.status, c.message) for c in result.checks]
    assert any(phrase in c.hint for c in errors), [(c.id, c.message, c.hint) for c in errors]


@pytest.mark.parametrize("kind, text, traceback, phrase", [
    ("RuntimeError", "expected scalar type Long but found Float", "", "int64"),
    ("IndexError", "index 5 is out of bounds for dimension 0 with size 4",
     "softmax_regression.py, line 3, in cross_entropy: return y_hat[y]", "range(len(y_hat))"),
    ("IndexError", "index 5 is out of bounds for dimension 0 with size 4",
     "linear_regression.py, line 9, in data_iter: yield features[j]", ""),
    ("RuntimeError", "mat1 and mat2 shapes cannot be multiplied (10x3 and 2x1)", "",
     "give the second 3 rows"),
])
def test_the_hint_follows_the_error_and_where_it_happened(kind, text, traceback, phrase):
    hint = error_hint(kind, text, traceback)
    assert (phrase in hint) if phrase else hint == ""
