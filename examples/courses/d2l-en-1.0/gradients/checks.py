"""The checks of gradients.py that d2l-en 1.0's conventions change: the two loss gradients are
those of the batch-mean losses. __init__.py reuses the built-in course's others. Each
docstring's first line is what students see."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from grader.authoring import (
    Mistake,
    assert_close,
    assert_derivative,
    autograd_derivative,
    numeric_jacobian,
)

from . import assignment, builtin, probes

check = assignment.check
MEAN_GRADIENT = ("this course's losses are averaged over the batch (d2l-en 1.0): {function} is "
                 "the mean loss's gradient, {formula} divided by n, not each example's own")
CE_FORMULA = "softmax(o) - onehot(y)"


# --- softmax_cross_entropy_grad ------------------------------------------------------------


def _loss(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The batch-mean cross-entropy: its gradient is each example's own over n."""
    return F.cross_entropy(logits, y)


def _ce_mistakes(logits: torch.Tensor, y: torch.Tensor, ref) -> list[Mistake]:
    n = len(y)
    p, onehot = ref.softmax(logits), F.one_hot(y, logits.shape[1]).double()
    return [
        Mistake(MEAN_GRADIENT.format(function="softmax_cross_entropy_grad", formula=CE_FORMULA),
                lambda: p - onehot),
        Mistake("the sign is flipped: the gradient is (softmax(o) - onehot(y)) / n",
                lambda: (onehot - p) / n),
        Mistake("onehot(y) is missing: the gradient is (softmax(o) - onehot(y)) / n",
                lambda: p / n),
        Mistake("the exponentials are not normalized: (softmax(o) - onehot(y)) / n",
                lambda: (torch.exp(logits) - onehot) / n),
        Mistake("that is log_softmax(o) - onehot(y); the gradient has softmax(o)",
                lambda: (torch.log(p) - onehot) / n),
    ]


@check(function="softmax_cross_entropy_grad", category="gradient", points=3)
def softmax_cross_entropy_grad_matches_autograd_and_differences(student, ref):
    """softmax_cross_entropy_grad gives (softmax(o) - onehot(y)) / n, as autograd of the mean."""
    logits, y = builtin._inputs((6, 5), torch.float64), torch.randint(0, 5, (6,))
    assert_derivative(
        student.softmax_cross_entropy_grad(logits, y),
        autograd=autograd_derivative(lambda o: _loss(o, y), logits),
        numeric=numeric_jacobian(lambda o: _loss(o, y), logits),
        what="softmax_cross_entropy_grad of 6 examples, 5 classes", at=("logits", logits),
        mistakes=_ce_mistakes(logits, y, ref),
        hint="d/do of the batch mean of -log softmax(o)_y is (softmax(o) - onehot(y)) / n",
    )


@check(function="softmax_cross_entropy_grad", category="gradient", points=2)
def softmax_cross_entropy_hessian_is_the_softmax_covariance(student, ref):
    """Its Jacobian, the mean loss's Hessian, is (diag(p) - p pᵀ) / n per example."""
    n, q = 3, 4
    logits, y = builtin._inputs((n, q), torch.float64), torch.randint(0, q, (n,))
    jacobian = student.probe(probes.jacobian_by_differences, logits=logits, y=y)
    covariance = builtin.softmax_covariance(ref.softmax(logits))  # (n, q, n, q)
    assert_close(
        jacobian, covariance / n, rtol=1e-5, atol=1e-8,
        what="the Jacobian of softmax_cross_entropy_grad (central differences) vs "
        "(diag(p) - p pᵀ) / n",
        mistakes=[Mistake(MEAN_GRADIENT.format(function="softmax_cross_entropy_grad",
                                               formula=CE_FORMULA), lambda: covariance),
                  Mistake("the Hessian came out negated: the gradient is (softmax(o) - "
                          "onehot(y)) / n, and the loss is convex", lambda: -covariance / n)],
        hint="the gradient is (softmax(o) - onehot(y)) / n; its Jacobian is (diag(p) - p pᵀ) / n "
        "per example, and zero between examples",
    )


@check(function="softmax_cross_entropy_grad", category="stability", points=2)
def softmax_cross_entropy_grad_survives_large_logits(student, ref):
    """softmax_cross_entropy_grad stays finite and right for logits of 1000 and -1000."""
    logits = torch.tensor([[1000.0, 0.0, -1000.0], [1000.0, 1000.0, 0.0],
                           [-1000.0, -999.0, -1001.0], [89.0, 90.0, 100.0]])
    y = torch.tensor([0, 1, 2, 0])
    for dtype in builtin.DTYPES:
        actual = student.softmax_cross_entropy_grad(logits.to(dtype), y)
        builtin._same_dtype(actual, logits.to(dtype), "softmax_cross_entropy_grad")
        assert_close(actual, ref.softmax_cross_entropy_grad(logits.to(dtype), y),
                     what=f"softmax_cross_entropy_grad of {builtin._name(dtype)} logits up to "
                     "1000", cond=logits.to(dtype),
                     mistakes=_ce_mistakes(logits.double(), y, ref), hint=builtin.SHIFT_HINT)


# --- squared_loss_grad ---------------------------------------------------------------------


@check(function="squared_loss_grad", category="gradient", points=3)
def squared_loss_grad_matches_autograd_and_differences(student, ref):
    """squared_loss_grad is (y_hat - y) / n in y_hat's shape, for y of shape (n,) and (n, 1)."""
    y_hat = builtin._inputs((8, 1), torch.float64)
    n = len(y_hat)
    for y in (builtin._inputs((8,), torch.float64), builtin._inputs((8, 1), torch.float64)):

        def loss(p, y=y):
            return ((p - y.reshape(p.shape)) ** 2 / 2).mean()

        delta = y_hat - y.reshape(y_hat.shape)  # (8, 1), each example's own gradient
        assert_derivative(
            student.squared_loss_grad(y_hat, y), autograd=autograd_derivative(loss, y_hat),
            numeric=numeric_jacobian(loss, y_hat),
            what=f"squared_loss_grad for y of shape {tuple(y.shape)}", at=("y_hat", y_hat),
            mistakes=[
                Mistake(MEAN_GRADIENT.format(function="squared_loss_grad", formula="y_hat - y"),
                        lambda d=delta: d),
                Mistake("y of shape (n,) broadcast against y_hat's (n, 1) into (n, n): reshape "
                        "y to y_hat's shape first", lambda y=y: (y_hat - y) / n),
                Mistake("the factor 2 should cancel: the book's loss is the mean of "
                        "(y_hat - y)^2 / 2, so its derivative is (y_hat - y) / n",
                        lambda d=delta: 2 * d / n),
                Mistake("the sign is flipped: the derivative is (y_hat - y) / n",
                        lambda d=delta: -d / n),
            ],
            hint="d/dy_hat of the mean of (y_hat - y)^2 / 2 is (y_hat - y) / n",
        )
