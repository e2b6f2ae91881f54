"""The linreg checks: full marks for right answers in any style, and each mistake blamed alone.

Every mistake below is the reference with ONE function rewritten the way a learner might get it
wrong. While a check on F runs, the other functions are the reference's, so only F's checks
fail; train_linreg's check is the exception, as it trains with the student's own parts.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import pytest
import torch
from helpers import LINREG_FILE, TEMPLATE_DIR

from grader import options
from grader.api import Grader
from grader.grading.catalog import get_assignment
from grader.outcomes.results import Category, Outcome, SubmissionResult

TRAIN = "train_linreg_recovers_the_true_parameters"


def counted(result: SubmissionResult) -> list:
    """Device checks are skipped on a CPU-only grader; everything else counts."""
    checks = [c for c in result.checks if c.status is not Outcome.SKIPPED]
    assert {c.category for c in result.checks if c.status is Outcome.SKIPPED} <= {Category.DEVICE}
    return checks


def not_passed(result: SubmissionResult) -> dict[str, str]:
    """Check id -> what went wrong, for every counted check that did not pass."""
    return {c.id: f"{c.status}: {c.message} | hint: {c.hint}"
            for c in counted(result) if c.status is not Outcome.PASSED}


# --- the reference and the template ----------------------------------------------------------


def test_the_reference_earns_full_marks(linreg_grader, linreg_submission):
    result = linreg_grader.grade(linreg_submission())
    assert not_passed(result) == {}
    cpu_points = sum(c.points for c in linreg_grader.assignment.checks
                     if c.category is not Category.DEVICE)
    assert result.score == result.max_score == cpu_points >= 30


def test_the_template_earns_nothing_and_every_check_says_not_implemented(
    linreg_grader, make_submission
):
    source = (TEMPLATE_DIR / LINREG_FILE).read_text()
    result = linreg_grader.grade(make_submission({LINREG_FILE: source}))
    checks = counted(result)
    assert result.score == 0
    assert {c.status for c in checks} == {Outcome.MISSING}
    assert all("not implemented" in c.message for c in checks), [c.message for c in checks]
    assert {c.function for c in checks} == set(linreg_grader.assignment.functions)


# --- one mistake at a time -------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    function: str  # the function rewritten
    source: str  # its new source (imports it needs included)
    fails: frozenset[str]  # the checks that fail or error; every other counted check passes
    says: dict[str, str] = field(default_factory=dict)  # check id -> phrase in message or hint


def case(function, source, fails, says=None) -> Case:
    return Case(function, source, frozenset(fails), says or {})


MISTAKES = {
    "data_iter drops the last partial batch": case("data_iter", """
        import random


        def data_iter(batch_size, features, labels):
            num_examples = len(features)
            indices = list(range(num_examples))
            random.shuffle(indices)
            for i in range(0, num_examples - batch_size + 1, batch_size):
                batch_indices = torch.tensor(indices[i : i + batch_size])
                yield features[batch_indices], labels[batch_indices]
        """,
        {"data_iter_keeps_the_last_partial_batch", "data_iter_covers_every_example_once"},
        {"data_iter_keeps_the_last_partial_batch": "keep the last partial batch",
         "data_iter_covers_every_example_once": "3 of 1003 never"}),
    "data_iter stops a whole batch early": case("data_iter", """
        import random


        def data_iter(batch_size, features, labels):
            num_examples = len(features)
            indices = list(range(num_examples))
            random.shuffle(indices)
            for i in range(0, num_examples - batch_size, batch_size):
                batch_indices = torch.tensor(indices[i : min(i + batch_size, num_examples)])
                yield features[batch_indices], labels[batch_indices]
        """,
        {"data_iter_keeps_the_last_partial_batch", "data_iter_covers_every_example_once"},
        {"data_iter_keeps_the_last_partial_batch":
            "batch 99 (examples 990 to 999 of the shuffled order) never came | hint: the loop "
            "stops 10 examples early: let i in range(0, num_examples, batch_size) run to 990"}),
    "data_iter never shuffles": case("data_iter", """
        def data_iter(batch_size, features, labels):
            num_examples = len(features)
            for i in range(0, num_examples, batch_size):
                yield features[i : i + batch_size], labels[i : i + batch_size]
        """,
        {"data_iter_shuffles_on_every_pass"},
        {"data_iter_shuffles_on_every_pass": "original order"}),
    "data_iter shuffles labels with another permutation": case("data_iter", """
        def data_iter(batch_size, features, labels):
            num_examples = len(features)
            features = features[torch.randperm(num_examples)]
            labels = labels[torch.randperm(num_examples)]
            for i in range(0, num_examples, batch_size):
                yield features[i : i + batch_size], labels[i : i + batch_size]
        """,
        {"data_iter_keeps_features_and_labels_aligned", TRAIN},
        {"data_iter_keeps_features_and_labels_aligned": "same batch indices"}),
    "data_iter copies every number in a Python loop": case("data_iter", """
        import random


        def data_iter(batch_size, features, labels):
            indices = list(range(len(features)))
            random.shuffle(indices)
            for i in range(0, len(indices), batch_size):
                X, y = [], []
                for j in indices[i : i + batch_size]:
                    X.append([float(v) for v in features[j]])
                    y.append([float(v) for v in labels[j].reshape(-1)])
                yield torch.tensor(X), torch.tensor(y).reshape(-1, *labels.shape[1:])
        """,
        {"data_iter_is_not_a_per_example_loop"},
        {"data_iter_is_not_a_per_example_loop": "index a whole batch at once"}),
    "squared_loss does not reshape y": case("squared_loss", """
        def squared_loss(y_hat, y):
            return (y_hat - y) ** 2 / 2
        """,
        {"squared_loss_matches_the_reference"},
        {"squared_loss_matches_the_reference": "y was not reshaped"}),
    "squared_loss returns the mean": case("squared_loss", """
        def squared_loss(y_hat, y):
            return ((y_hat - y.reshape(y_hat.shape)) ** 2 / 2).mean()
        """,
        # train_linreg sums the losses, so the mean shrinks every step by the batch size.
        {"squared_loss_matches_the_reference", "squared_loss_gradients_are_right", TRAIN},
        {"squared_loss_matches_the_reference": "the loss was averaged"}),
    "sgd does not divide by batch_size": case("sgd", """
        def sgd(params, lr, batch_size):
            with torch.no_grad():
                for param in params:
                    param -= lr * param.grad
                    param.grad.zero_()
        """,
        # lr 0.03 * 10 still converges on this easy problem, so training passes.
        {"sgd_steps_by_lr_times_grad_over_batch_size"},
        {"sgd_steps_by_lr_times_grad_over_batch_size": "not divided by batch_size"}),
    "sgd rebinds the loop variable, then zeroes its missing grad": case("sgd", """
        def sgd(params, lr, batch_size):
            with torch.no_grad():
                for param in params:
                    param = param - lr * param.grad / batch_size
                    param.grad.zero_()
        """,
        # the new tensor has no .grad: every call raises AttributeError
        {"sgd_steps_by_lr_times_grad_over_batch_size", "sgd_updates_in_place",
         "sgd_zeroes_the_gradients", TRAIN},
        {"sgd_updates_in_place": "AttributeError"}),
    "sgd rebinds the loop variable instead of updating in place": case("sgd", """
        def sgd(params, lr, batch_size):
            with torch.no_grad():
                for param in params:
                    param = param - lr * param.grad / batch_size
            for param in params:
                param.grad.zero_()
        """,
        # Nothing is updated, so the step is wrong and training learns nothing; the in-place
        # check's hint is exactly this mistake's fix.
        {"sgd_steps_by_lr_times_grad_over_batch_size", "sgd_updates_in_place", TRAIN},
        {"sgd_updates_in_place": "update in place"}),
    "sgd replaces the tensors in the list": case("sgd", """
        def sgd(params, lr, batch_size):
            for i, param in enumerate(params):
                with torch.no_grad():
                    params[i] = param - lr * param.grad / batch_size
                param.grad.zero_()
        """,
        # the list holds the right values, but the caller's w and b never change
        {"sgd_updates_in_place", TRAIN},
        {"sgd_updates_in_place": "replaced by new tensors"}),
    "sgd forgets to zero the gradients": case("sgd", """
        def sgd(params, lr, batch_size):
            with torch.no_grad():
                for param in params:
                    param -= lr * param.grad / batch_size
        """,
        {"sgd_zeroes_the_gradients", TRAIN},
        {"sgd_zeroes_the_gradients": "zero_()"}),
    "sgd uses torch.optim.SGD": case("sgd", """
        def sgd(params, lr, batch_size):
            optimizer = torch.optim.SGD(params, lr=lr / batch_size)
            optimizer.step()
            optimizer.zero_grad()
        """,
        {"sgd_is_from_scratch"},
        {"sgd_is_from_scratch": "torch.optim"}),
    "huber_loss forgets to divide by sigma": case("huber_loss", """
        def huber_loss(y_hat, y, sigma=1.0):
            d = y_hat - y.reshape(y_hat.shape)
            return torch.where(d.abs() > sigma, d.abs() - sigma / 2, d**2 / 2)
        """,
        # the gradient check uses sigma = 1, where the mistake makes no difference
        {"huber_loss_matches_the_reference"},
        {"huber_loss_matches_the_reference": "divide by sigma"}),
    "huber_loss calls F.smooth_l1_loss": case("huber_loss", """
        import torch.nn.functional as F


        def huber_loss(y_hat, y, sigma=1.0):
            return F.smooth_l1_loss(y_hat, y.reshape(y_hat.shape), reduction="none", beta=sigma)
        """,
        {"huber_loss_is_from_scratch"},
        {"huber_loss_is_from_scratch": "smooth_l1_loss"}),
    "normal_equation without the bias column": case("normal_equation", """
        def normal_equation(X, y):
            w = torch.linalg.solve(X.T @ X, X.T @ y.reshape(-1, 1))
            return w, torch.zeros(1, dtype=X.dtype)
        """,
        {"normal_equation_solves_least_squares"},
        {"normal_equation_solves_least_squares": "the bias is missing"}),
    "linreg without + b": case("linreg", """
        def linreg(X, w, b):
            return torch.matmul(X, w)
        """,
        # b gets no gradient, so the student's own sgd meets b.grad is None in training
        {"linreg_matches_the_reference", "linreg_gradients_match", TRAIN},
        {"linreg_matches_the_reference": "the bias b is missing"}),
    "synthetic_data returns y of shape (n,)": case("synthetic_data", """
        def synthetic_data(w, b, num_examples):
            X = torch.normal(0, 1, (num_examples, len(w)))
            y = torch.matmul(X, w) + b
            y += torch.normal(0, 0.01, y.shape)
            return X, y
        """,
        {"synthetic_data_shapes"},
        {"synthetic_data_shapes": "y.reshape((-1, 1))"}),
    "train_linreg with lr 0.0001": case("train_linreg", """
        def train_linreg(features, labels, lr=0.0001, num_epochs=3, batch_size=10):
            w = torch.normal(0, 0.01, size=(features.shape[1], 1), requires_grad=True)
            b = torch.zeros(1, requires_grad=True)
            for epoch in range(num_epochs):
                for X, y in data_iter(batch_size, features, labels):
                    l = squared_loss(linreg(X, w, b), y)
                    l.sum().backward()
                    sgd([w, b], lr, X.shape[0])
            return w, b
        """,
        {TRAIN},
        {TRAIN: "tolerance 0.01"}),
    "synthetic_data uses only w[0] and w[1]": case("synthetic_data", """
        def synthetic_data(w, b, num_examples):
            X = torch.normal(0, 1, (num_examples, len(w)))
            y = X[:, 0] * w[0] + X[:, 1] * w[1] + b
            y += torch.normal(0, 0.01, y.shape)
            return X, y.reshape((-1, 1))
        """,
        {"synthetic_data_follows_the_model"},
        {"synthetic_data_follows_the_model": "y follows X[:, 2] with weight 0 instead of 1.5"}),
    "train_linreg hard-codes w of shape (2, 1)": case("train_linreg", """
        def train_linreg(features, labels, lr=0.03, num_epochs=3, batch_size=10):
            w = torch.normal(0, 0.01, size=(2, 1), requires_grad=True)
            b = torch.zeros(1, requires_grad=True)
            for epoch in range(num_epochs):
                for X, y in data_iter(batch_size, features, labels):
                    l = squared_loss(linreg(X, w, b), y)
                    l.sum().backward()
                    sgd([w, b], lr, X.shape[0])
            return w, b
        """,
        {TRAIN},
        {TRAIN: "the first's 3 columns must match the second's 2 rows"}),
    "train_linreg divides every step by batch_size": case("train_linreg", """
        def train_linreg(features, labels, lr=0.03, num_epochs=3, batch_size=10):
            w = torch.normal(0, 0.01, size=(features.shape[1], 1), requires_grad=True)
            b = torch.zeros(1, requires_grad=True)
            for epoch in range(num_epochs):
                for X, y in data_iter(batch_size, features, labels):
                    l = squared_loss(linreg(X, w, b), y)
                    l.sum().backward()
                    sgd([w, b], lr, batch_size)
            return w, b
        """,
        {"train_linreg_steps_by_each_minibatch_size"},
        {"train_linreg_steps_by_each_minibatch_size": "divided by ['10', '10', '10']"}),
}


def test_every_mistake_names_real_checks(linreg_grader):
    ids = {c.id for c in linreg_grader.assignment.checks}
    for mistake in MISTAKES.values():
        assert mistake.fails <= ids
        assert set(mistake.says) <= mistake.fails


@pytest.mark.parametrize("mistake", MISTAKES.values(), ids=MISTAKES.keys())
def test_one_mistake_fails_exactly_its_checks(linreg_grader, linreg_submission, mistake):
    result = linreg_grader.grade(linreg_submission(**{mistake.function: mistake.source}))
    wrong = not_passed(result)
    assert sorted(wrong) == sorted(mistake.fails), "\n".join(f"{k}: {v}" for k, v in wrong.items())
    for check_id, phrase in mistake.says.items():
        assert phrase in wrong[check_id], wrong[check_id]
    assert {c.function for c in counted(result) if c.id in wrong} <= {
        mistake.function, "train_linreg"
    }
    lost = sum(c.max_points for c in counted(result) if c.id in wrong)
    assert result.score == result.max_score - lost


# --- right answers in other styles -----------------------------------------------------------


BOOK_DATA_ITER = """
    import random


    def data_iter(batch_size, features, labels):
        num_examples = len(features)
        indices = list(range(num_examples))
        # The examples are read at random, in no particular order
        random.shuffle(indices)
        for i in range(0, num_examples, batch_size):
            batch_indices = torch.tensor(indices[i: min(i + batch_size, num_examples)])
            yield features[batch_indices], labels[batch_indices]
"""
BOOK_SGD = """
    def sgd(params, lr, batch_size):
        \"\"\"Minibatch stochastic gradient descent.\"\"\"
        with torch.no_grad():
            for param in params:
                param -= lr * param.grad / batch_size
                param.grad.zero_()
"""
STYLES = {
    "the book's data_iter and sgd (d2l 0.17)": {"data_iter": BOOK_DATA_ITER, "sgd": BOOK_SGD},
    "data_iter returns a DataLoader": {"data_iter": """
        from torch.utils.data import DataLoader, TensorDataset


        def data_iter(batch_size, features, labels):
            return DataLoader(TensorDataset(features, labels), batch_size, shuffle=True)
        """},
    "data_iter with randperm and index_select": {"data_iter": """
        def data_iter(batch_size, features, labels):
            perm = torch.randperm(features.shape[0])
            for start in range(0, len(perm), batch_size):
                idx = perm[start : start + batch_size]
                yield features.index_select(0, idx), labels.index_select(0, idx)
        """},
    "normal_equation with linalg.solve": {"normal_equation": """
        def normal_equation(X, y):
            X1 = torch.cat([X, torch.ones(X.shape[0], 1, dtype=X.dtype)], dim=1)
            theta = torch.linalg.solve(X1.T @ X1, X1.T @ y.reshape(-1, 1))
            return theta[:-1], theta[-1]
        """},
    "squared_loss and huber_loss with view_as and abs branches": {
        "squared_loss": """
        def squared_loss(y_hat, y):
            diff = y_hat - y.view_as(y_hat)
            return 0.5 * diff * diff
        """,
        "huber_loss": """
        def huber_loss(y_hat, y, sigma=1.0):
            d = (y_hat - y.reshape(y_hat.shape)).abs()
            inside = (d <= sigma).to(d.dtype)
            return inside * d**2 / (2 * sigma) + (1 - inside) * (d - sigma / 2)
        """},
}


@pytest.mark.parametrize("functions", STYLES.values(), ids=STYLES.keys())
def test_right_answers_in_other_styles_earn_full_marks(
    linreg_grader, linreg_submission, functions
):
    result = linreg_grader.grade(linreg_submission(**functions))
    assert not_passed(result) == {}
    assert result.score == result.max_score


def test_the_reference_earns_full_marks_on_another_seed(linreg_submission, data_root):
    with Grader("linreg", device="cpu", data_root=data_root, seed=12345) as grader:
        result = grader.grade(linreg_submission())
    assert not_passed(result) == {}


@pytest.mark.skipif(not torch.cuda.is_available(), reason="device checks need a GPU")
def test_a_function_that_returns_to_the_cpu_fails_its_device_check(linreg_submission, data_root):
    folder = linreg_submission(linreg="""
        def linreg(X, w, b):
            return (torch.matmul(X, w) + b).cpu()
        """)
    with Grader("linreg", device="cuda", data_root=data_root) as grader:
        reference = grader.grade(linreg_submission(), functions=["linreg"])
        result = grader.grade(folder, functions=["linreg"])
    assert {c.id: c.status for c in reference.checks if c.category is Category.DEVICE} == {
        "linreg_stays_on_the_device": Outcome.PASSED}
    assert set(not_passed(result)) == {"linreg_stays_on_the_device"}


def test_a_function_that_hung_gets_a_short_leash_and_training_does_not_call_it(
    linreg_submission, data_root, monkeypatch
):
    """Every data_iter check, and training, could cost a full timeout: after the first, the
    function's other checks get RETRY_TIMEOUT and training, which calls it, is not run."""
    monkeypatch.setattr(options, "RETRY_TIMEOUT", 0.5)
    linreg = get_assignment("linreg")
    assignment = dataclasses.replace(linreg, checks=[
        dataclasses.replace(c, timeout=3.0) if c.function == "data_iter" else c
        for c in linreg.checks
    ])
    hangs = "def data_iter(batch_size, features, labels):\n    while True:\n        pass\n"
    with Grader(assignment, device="cpu", data_root=data_root) as grader:
        result = grader.grade(linreg_submission(data_iter=hangs))
    first, *rest = [c for c in result.checks if c.function == "data_iter"]
    assert first.status is Outcome.TIMEOUT and first.duration >= 3.0
    assert len(rest) >= 3
    assert all(c.status is Outcome.TIMEOUT and c.duration < 0.5 + 1.0 for c in rest)
    assert all("did not finish in time" in c.message for c in rest)
    train = next(c for c in result.checks if c.id == TRAIN)
    assert train.status is Outcome.TIMEOUT and train.duration < 0.5
    assert f"train_linreg calls your data_iter, which timed out in {first.id}" in train.message
    others = {c.id: c.status for c in counted(result)
              if c.function not in ("data_iter", "train_linreg")}
    assert set(others.values()) == {Outcome.PASSED}, others
