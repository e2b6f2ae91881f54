"""The softmax checks: full marks for right answers in any style, and each mistake blamed alone.

Every mistake below is the reference with ONE function rewritten the way a learner might get it
wrong. While a check on F runs, the other functions are the reference's, so only F's checks
fail; train_ch3's training check is the exception, as it trains with the student's own parts
(softmax, cross_entropy, train_epoch_ch3 and train_ch3), so a mistake there may fail it too.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
from helpers import REPO, TEMPLATE_DIR, counted, not_passed, replace_function, report

from grader.api import Grader
from grader.outcomes.results import Category, Outcome, SubmissionResult

SOFTMAX_FILE = "softmax_regression.py"
REFERENCE_SOURCE = (REPO / "reference" / SOFTMAX_FILE).read_text()
TRAINING = ("train_ch3", "training")

Grade = Callable[..., SubmissionResult]


@pytest.fixture(scope="module")
def softmax_grader(data_root) -> Iterator[Grader]:
    """One CPU grader for the module: starting its worker costs ~4 s."""
    with Grader("softmax", device="cpu", data_root=data_root) as grader:
        yield grader


@pytest.fixture(scope="module")
def grade(softmax_grader, tmp_path_factory) -> Grade:
    """``grade(functions, name=source, ...)``: the reference with functions replaced, graded.

    Results are cached by source and functions, so a submission that two tests need (the
    wrong-sign cross_entropy) trains once.
    """
    cache: dict[tuple, SubmissionResult] = {}

    def run(functions: list[str] | None, source: str | None = None, **replacements: str):
        source = REFERENCE_SOURCE if source is None else source
        for name, text in replacements.items():
            source = replace_function(source, name, text)
        key = (source, None if functions is None else tuple(functions))
        if key not in cache:
            folder = tmp_path_factory.mktemp("submission")
            (folder / SOFTMAX_FILE).write_text(source)
            cache[key] = softmax_grader.grade(folder, functions=functions)
        return cache[key]

    return run


# --- the reference and the template ----------------------------------------------------------


@pytest.mark.slow
def test_the_reference_earns_full_marks(grade, softmax_grader):
    result = grade(None)
    assert not_passed(result) == []
    cpu_points = sum(c.points for c in softmax_grader.assignment.checks
                     if c.category is not Category.DEVICE)
    assert result.score == result.max_score == cpu_points >= 40
    assert {c.function for c in result.checks} == set(softmax_grader.assignment.functions)


def test_the_template_earns_nothing_and_every_check_says_not_implemented(grade):
    result = grade(None, source=(TEMPLATE_DIR / SOFTMAX_FILE).read_text())
    checks = counted(result)
    assert result.score == 0 and result.max_score > 0
    assert {c.status for c in checks} == {Outcome.MISSING}, report(checks)
    assert all("not implemented" in c.message for c in checks), report(checks)


# --- one mistake at a time -------------------------------------------------------------------


@dataclass(frozen=True)
class Mistake:
    function: str  # the function rewritten
    source: str  # its new source, with any imports it needs
    also: str  # a second function graded: train_ch3 if training could break, else an unrelated one
    # (function, category) -> a phrase its hint must contain ("" for no particular hint). Each
    # pair fails exactly once; every other counted check passes.
    fails: dict[tuple[str, str], str] = field(default_factory=dict)

    @property
    def functions(self) -> list[str]:
        return [self.function, self.also]


def _softmax_body(normalize: str, shift: bool = True) -> str:
    exp = "torch.exp(X - X.max(dim=1, keepdim=True).values)" if shift else "torch.exp(X)"
    return f"""
        def softmax(X):
            X_exp = {exp}
            partition = {normalize}
            return X_exp / partition
        """


def _train_epoch(backward: str = "l.sum().backward()", update: str = "updater(X.shape[0])",
                 zero_grad: str = "updater.zero_grad()") -> str:
    return f"""
        def train_epoch_ch3(net, train_iter, loss, updater):
            if isinstance(net, torch.nn.Module):
                net.train()
            metric = Accumulator(3)
            for X, y in train_iter:
                y_hat = net(X)
                l = loss(y_hat, y)
                if isinstance(updater, torch.optim.Optimizer):
                    {zero_grad}
                    l.mean().backward()
                    updater.step()
                else:
                    {backward}
                    {update}
                metric.add(float(l.sum()), accuracy(y_hat, y), y.numel())
            return metric[0] / metric[2], metric[1] / metric[2]
        """


def _train(last: str) -> str:
    return f"""
        def train_ch3(net, train_iter, test_iter, loss, num_epochs, updater):
            figures = []
            for epoch in range(num_epochs):
                train_loss, train_acc = train_epoch_ch3(net, train_iter, loss, updater)
                test_acc = evaluate_accuracy(net, test_iter)
                figures.append((train_loss, train_acc, test_acc))
            {last}
        """


WRONG_SIGN = """
    def cross_entropy(y_hat, y):
        return torch.log(y_hat[range(len(y_hat)), y])
    """
FROM_SCRATCH = "from elementary operations"  # the rules checks' hint

MISTAKES = {
    "softmax without the max shift overflows": Mistake(
        "softmax", _softmax_body("X_exp.sum(1, keepdim=True)", shift=False), "accuracy",
        {("softmax", "stability"): "subtract each row's max"},
    ),
    "softmax over dim 0, book style": Mistake(
        "softmax", _softmax_body("X_exp.sum(0, keepdim=True)", shift=False), "train_ch3",
        {("softmax", "correctness"): "wrong axis", ("softmax", "gradient"): "",
         ("softmax", "stability"): "", TRAINING: ""},  # 0.715 on Fashion-MNIST
    ),
    "softmax over dim 0 after the max shift": Mistake(
        "softmax", _softmax_body("X_exp.sum(0, keepdim=True)"), "train_ch3",
        {("softmax", "correctness"): "wrong axis", ("softmax", "gradient"): "",
         ("softmax", "stability"): ""},  # training still passes
    ),
    "softmax sum(1) without keepdim": Mistake(
        "softmax", _softmax_body("X_exp.sum(1)"), "train_ch3",
        {("softmax", "correctness"): "keepdim", ("softmax", "gradient"): "keepdim",
         ("softmax", "stability"): "keepdim", TRAINING: "keepdim"},
    ),
    "softmax via torch.softmax": Mistake(
        "softmax", "def softmax(X):\n    return torch.softmax(X, dim=1)", "accuracy",
        {("softmax", "rules"): FROM_SCRATCH},
    ),
    "cross_entropy with y_hat[:, y]": Mistake(
        "cross_entropy", """
        def cross_entropy(y_hat, y):
            return -torch.log(y_hat[:, y])
        """, "train_ch3",
        {("cross_entropy", "correctness"): "range(n)", ("cross_entropy", "gradient"): "",
         ("cross_entropy", "stability"): "", TRAINING: ""},
    ),
    "cross_entropy returns the mean": Mistake(
        "cross_entropy", """
        def cross_entropy(y_hat, y):
            return -torch.log(y_hat[range(len(y_hat)), y]).mean()
        """, "train_ch3",
        {("cross_entropy", "correctness"): "averaged", ("cross_entropy", "gradient"): "",
         ("cross_entropy", "stability"): "", TRAINING: ""},  # 0.654: steps 256 times too small
    ),
    "cross_entropy without the minus sign": Mistake(
        "cross_entropy", WRONG_SIGN, "train_ch3",
        {("cross_entropy", "correctness"): "minus sign", ("cross_entropy", "gradient"): "",
         ("cross_entropy", "stability"): "-log", TRAINING: ""},
    ),
    "cross_entropy with an epsilon in the log is right": Mistake(
        "cross_entropy", """
        def cross_entropy(y_hat, y):
            return -torch.log(y_hat[range(len(y_hat)), y] + 1e-9)
        """, "accuracy",
    ),
    "cross_entropy via F.nll_loss": Mistake(
        "cross_entropy", """
        import torch.nn.functional as F


        def cross_entropy(y_hat, y):
            return F.nll_loss(torch.log(y_hat), y, reduction="none")
        """, "accuracy",
        {("cross_entropy", "rules"): FROM_SCRATCH},
    ),
    "log_softmax as log(softmax)": Mistake(
        "log_softmax", """
        def log_softmax(X):
            return torch.log(softmax(X))
        """, "softmax",
        {("log_softmax", "stability"): "LogSumExp"},
    ),
    "log_softmax via torch.logsumexp is right": Mistake(
        "log_softmax", """
        def log_softmax(X):
            return X - torch.logsumexp(X, dim=1, keepdim=True)
        """, "accuracy",
    ),
    "softmax_cross_entropy as -log(softmax)": Mistake(
        "softmax_cross_entropy", """
        def softmax_cross_entropy(logits, y):
            return -torch.log(softmax(logits))[range(len(logits)), y]
        """, "log_softmax",
        {("softmax_cross_entropy", "stability"): "never take the log of a softmax"},
    ),
    "softmax_cross_entropy via F.cross_entropy": Mistake(
        "softmax_cross_entropy", """
        import torch.nn.functional as F


        def softmax_cross_entropy(logits, y):
            return F.cross_entropy(logits, y, reduction="none")
        """, "accuracy",
        {("softmax_cross_entropy", "rules"): FROM_SCRATCH},
    ),
    "softmax_cross_entropy built on the stand-ins of cross_entropy and softmax": Mistake(
        # The stand-ins call F.nll_loss and torch.softmax: a traced run must not blame them on
        # the student, so only the instability of a log of a softmax costs points here.
        "softmax_cross_entropy", """
        def softmax_cross_entropy(logits, y):
            return cross_entropy(softmax(logits), y)
        """, "accuracy",
        {("softmax_cross_entropy", "stability"): "never take the log of a softmax"},
    ),
    "softmax_cross_entropy with torch.gather is right": Mistake(
        "softmax_cross_entropy", """
        def softmax_cross_entropy(logits, y):
            return -torch.gather(log_softmax(logits), 1, y.unsqueeze(1)).squeeze(1)
        """, "softmax",
    ),
    "accuracy takes an argmax whatever y_hat's shape": Mistake(
        "accuracy", """
        def accuracy(y_hat, y):
            y_hat = y_hat.argmax(axis=-1)
            cmp = y_hat.type(y.dtype) == y
            return float(cmp.type(y.dtype).sum())
        """, "softmax",
        {("accuracy", "semantics"): "take argmax only when y_hat is 2-D with more than one"},
    ),
    "accuracy returns a fraction": Mistake(
        "accuracy", """
        def accuracy(y_hat, y):
            if len(y_hat.shape) > 1 and y_hat.shape[1] > 1:
                y_hat = y_hat.argmax(axis=1)
            cmp = y_hat.type(y.dtype) == y
            return float(cmp.type(y.dtype).sum()) / len(y)
        """, "softmax",
        {("accuracy", "correctness"): "count", ("accuracy", "semantics"): ""},
    ),
    "evaluate_accuracy averages per-batch accuracies": Mistake(
        "evaluate_accuracy", """
        def evaluate_accuracy(net, data_iter):
            if isinstance(net, torch.nn.Module):
                net.eval()
            accs = []
            with torch.no_grad():
                for X, y in data_iter:
                    accs.append(accuracy(net(X), y) / y.numel())
            return sum(accs) / len(accs)
        """, "accuracy",
        {("evaluate_accuracy", "semantics"): "per-batch"},
    ),
    "evaluate_accuracy without no_grad": Mistake(
        "evaluate_accuracy", """
        def evaluate_accuracy(net, data_iter):
            if isinstance(net, torch.nn.Module):
                net.eval()
            metric = Accumulator(2)
            for X, y in data_iter:
                metric.add(accuracy(net(X), y), y.numel())
            return metric[0] / metric[1]
        """, "accuracy",
        {("evaluate_accuracy", "semantics"): "torch.no_grad()"},
    ),
    "evaluate_accuracy without net.eval()": Mistake(
        "evaluate_accuracy", """
        def evaluate_accuracy(net, data_iter):
            metric = Accumulator(2)
            with torch.no_grad():
                for X, y in data_iter:
                    metric.add(accuracy(net(X), y), y.numel())
            return metric[0] / metric[1]
        """, "accuracy",
        {("evaluate_accuracy", "semantics"): "net.eval()"},
    ),
    # Fashion-MNIST's batches are all 256 but the last, so a fixed 256 barely changes training.
    "train_epoch_ch3 calls updater(256)": Mistake(
        "train_epoch_ch3", _train_epoch(update="updater(256)"), "accuracy",
        {("train_epoch_ch3", "semantics"): "X.shape[0]", ("train_epoch_ch3", "correctness"): ""},
    ),
    # len(train_iter) is the number of batches, 196: steps 1.3 times too large, still learns.
    "train_epoch_ch3 calls updater(len(train_iter))": Mistake(
        "train_epoch_ch3", _train_epoch(update="updater(len(train_iter))"), "train_ch3",
        {("train_epoch_ch3", "semantics"): "X.shape[0]", ("train_epoch_ch3", "correctness"): ""},
    ),
    "train_epoch_ch3 backward on the mean for a custom updater": Mistake(
        "train_epoch_ch3", _train_epoch(backward="l.mean().backward()"), "train_ch3",
        {("train_epoch_ch3", "correctness"): "l.sum().backward()", TRAINING: ""},
    ),
    "train_epoch_ch3 returns the mean of batch means": Mistake(
        "train_epoch_ch3", """
        def train_epoch_ch3(net, train_iter, loss, updater):
            if isinstance(net, torch.nn.Module):
                net.train()
            losses, metric = [], Accumulator(2)
            for X, y in train_iter:
                y_hat = net(X)
                l = loss(y_hat, y)
                if isinstance(updater, torch.optim.Optimizer):
                    updater.zero_grad()
                    l.mean().backward()
                    updater.step()
                else:
                    l.sum().backward()
                    updater(X.shape[0])
                losses.append(float(l.mean()))
                metric.add(accuracy(y_hat, y), y.numel())
            return sum(losses) / len(losses), metric[0] / metric[1]
        """, "evaluate_accuracy",
        {("train_epoch_ch3", "correctness"): "divide by the number of examples"},
    ),
    "train_epoch_ch3 never zeroes an optimizer's gradients": Mistake(
        "train_epoch_ch3", _train_epoch(zero_grad="pass"), "accuracy",
        {("train_epoch_ch3", "semantics"): "zero_grad()"},
    ),
    "train_ch3 returns the first epoch's figures": Mistake(
        "train_ch3", _train("return figures[0]"), "accuracy",
        {("train_ch3", "semantics"): "last epoch"},
    ),
    "train_ch3 returns nothing, like the book's": Mistake(
        "train_ch3", _train("assert figures"), "accuracy",
        {("train_ch3", "semantics"): ""},
    ),
    "train_ch3 runs one epoch": Mistake(
        "train_ch3", """
        def train_ch3(net, train_iter, test_iter, loss, num_epochs, updater):
            train_loss, train_acc = train_epoch_ch3(net, train_iter, loss, updater)
            test_acc = evaluate_accuracy(net, test_iter)
            return train_loss, train_acc, test_acc
        """, "accuracy",
        {("train_ch3", "semantics"): "num_epochs", TRAINING: ""},  # 0.785 on Fashion-MNIST
    ),
}


def _params(cases: dict[str, Mistake]) -> list:
    params = []
    for name, case in cases.items():
        marks = [pytest.mark.slow] if "train_ch3" in case.functions else []
        params.append(pytest.param(case, id=name, marks=marks))
    return params


@pytest.mark.parametrize("case", _params(MISTAKES))
def test_each_mistake_fails_only_its_own_checks_and_names_the_mistake(grade, case: Mistake):
    result = grade(case.functions, **{case.function: case.source})
    failed = not_passed(result)
    for c in failed:
        phrase = case.fails.get((c.function, str(c.category)))
        assert phrase is None or phrase in c.hint, f"expected {phrase!r} in the hint\n{report([c])}"
    got = Counter((c.function, str(c.category)) for c in failed)
    assert got == Counter(case.fails.keys()), report(failed)
    assert {c.function for c in result.checks} == set(case.functions)
    assert result.score == result.max_score - sum(c.max_points for c in failed)


@pytest.mark.slow
def test_broken_training_fails_with_the_measured_test_accuracy(grade):
    result = grade(["cross_entropy", "train_ch3"], cross_entropy=WRONG_SIGN)
    [check] = [c for c in result.checks if (c.function, str(c.category)) == TRAINING]
    assert check.status is Outcome.FAILED, report([check])
    match = re.search(r"test accuracy after \d+ epochs is (\d\.\d+); the reference's parts "
                      r"reach (\d\.\d+)", check.message)
    assert match, check.message
    assert 0.0 <= float(match[1]) < float(match[2]) - 0.02 and float(match[2]) > 0.75
    assert "cross_entropy" in check.hint


# --- right answers in other styles -----------------------------------------------------------


ALTERNATIVES = {
    "accuracy, the book's d2l 0.17 code": ("accuracy", """
        def accuracy(y_hat, y):
            \"\"\"Compute the number of correct predictions.\"\"\"
            if len(y_hat.shape) > 1 and y_hat.shape[1] > 1:
                y_hat = y_hat.argmax(axis=1)
            cmp = y_hat.type(y.dtype) == y
            return float(cmp.type(y.dtype).sum())
        """),
    "softmax shifted by a max that keeps its gradient": ("softmax", """
        def softmax(X):
            X_exp = torch.exp(X - X.max(dim=1, keepdim=True).values)
            return X_exp / X_exp.sum(dim=1, keepdim=True)
        """),
    "cross_entropy via torch.gather": ("cross_entropy", """
        def cross_entropy(y_hat, y):
            return -torch.log(torch.gather(y_hat, 1, y.reshape(-1, 1))).squeeze(1)
        """),
    "cross_entropy clamped inside the log": ("cross_entropy", """
        def cross_entropy(y_hat, y):
            return -torch.log(y_hat[range(len(y_hat)), y].clamp(min=1e-12))
        """),
    "log_softmax via a hand-written LogSumExp": ("log_softmax", """
        def log_softmax(X):
            m = X.max(dim=1, keepdim=True).values
            return X - m - torch.log(torch.exp(X - m).sum(dim=1, keepdim=True))
        """),
    "softmax_cross_entropy via one_hot": ("softmax_cross_entropy", """
        import torch.nn.functional as F


        def softmax_cross_entropy(logits, y):
            return -(log_softmax(logits) * F.one_hot(y, logits.shape[1])).sum(dim=1)
        """),
    "evaluate_accuracy with the book's Accumulator": ("evaluate_accuracy", """
        class Accumulator:
            \"\"\"For accumulating sums over `n` variables.\"\"\"

            def __init__(self, n):
                self.data = [0.0] * n

            def add(self, *args):
                self.data = [a + float(b) for a, b in zip(self.data, args)]

            def __getitem__(self, idx):
                return self.data[idx]


        def evaluate_accuracy(net, data_iter):
            if isinstance(net, torch.nn.Module):
                net.eval()
            metric = Accumulator(2)
            with torch.no_grad():
                for X, y in data_iter:
                    metric.add(accuracy(net(X), y), y.numel())
            return metric[0] / metric[1]
        """),
}


@pytest.mark.parametrize(("function", "source"), ALTERNATIVES.values(), ids=ALTERNATIVES.keys())
def test_a_right_answer_in_another_style_earns_full_marks(grade, function, source):
    result = grade([function], **{function: source})
    assert not_passed(result) == [], report(not_passed(result))
    assert result.score == result.max_score > 0


BOOK_STYLE = '''
"""My softmax regression, in the book's style, with helpers and imports of my own."""

import math

import torch
from torch import Tensor


def _row_max(X: Tensor) -> Tensor:
    return X.max(dim=1, keepdim=True).values


def softmax(X):
    X_exp = torch.exp(X - _row_max(X))
    return X_exp / X_exp.sum(1, keepdim=True)


def cross_entropy(y_hat, y):
    return -torch.log(torch.gather(y_hat, 1, y.reshape(-1, 1))).squeeze(1)


def log_softmax(X):
    return X - torch.logsumexp(X, dim=1, keepdim=True)


def softmax_cross_entropy(logits, y):
    return -log_softmax(logits).gather(1, y.unsqueeze(1)).squeeze(1)


def accuracy(y_hat, y):
    if len(y_hat.shape) > 1 and y_hat.shape[1] > 1:
        y_hat = y_hat.argmax(axis=1)
    cmp = y_hat.type(y.dtype) == y
    return float(cmp.type(y.dtype).sum())


class Accumulator:
    """For accumulating sums over `n` variables."""

    def __init__(self, n):
        self.data = [0.0] * n

    def add(self, *args):
        self.data = [a + float(b) for a, b in zip(self.data, args)]

    def reset(self):
        self.data = [0.0] * len(self.data)

    def __getitem__(self, idx):
        return self.data[idx]


def evaluate_accuracy(net, data_iter):
    if isinstance(net, torch.nn.Module):
        net.eval()
    metric = Accumulator(2)
    with torch.no_grad():
        for X, y in data_iter:
            metric.add(accuracy(net(X), y), y.numel())
    return metric[0] / metric[1]


def train_epoch_ch3(net, train_iter, loss, updater):
    if isinstance(net, torch.nn.Module):
        net.train()
    metric = Accumulator(3)
    for X, y in train_iter:
        y_hat = net(X)
        l = loss(y_hat, y)
        if isinstance(updater, torch.optim.Optimizer):
            updater.zero_grad()
            l.mean().backward()
            updater.step()
        else:
            l.sum().backward()
            updater(X.shape[0])
        metric.add(float(l.sum()), accuracy(y_hat, y), y.numel())
    return metric[0] / metric[2], metric[1] / metric[2]


def train_ch3(net, train_iter, test_iter, loss, num_epochs, updater):
    assert num_epochs >= 1 and not math.isnan(num_epochs)
    for epoch in range(num_epochs):
        train_metrics = train_epoch_ch3(net, train_iter, loss, updater)
        test_acc = evaluate_accuracy(net, test_iter)
    train_loss, train_acc = train_metrics
    return train_loss, train_acc, test_acc
'''


@pytest.mark.slow
def test_a_whole_file_in_the_books_style_earns_full_marks(grade):
    result = grade(None, source=BOOK_STYLE)
    assert not_passed(result) == [], report(not_passed(result))
    assert result.score == result.max_score > 0
