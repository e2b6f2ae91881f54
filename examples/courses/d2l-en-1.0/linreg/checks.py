"""The checks of linear_regression.py that d2l-en 1.0's conventions change; __init__.py reuses
the built-in course's others. Each docstring's first line is what students see."""

from __future__ import annotations

import torch

from grader.authoring import (
    Mistake,
    as_number,
    as_tensor,
    assert_autograd_matches_finite_differences,
    assert_close,
    assert_gradients_match,
    describe,
    fail,
)

from . import assignment, builtin, probes

check = assignment.check
MEAN_LOSS = ("this course's squared_loss is averaged over the batch (d2l-en 1.0): return the "
             "mean, not per-example losses")
UNDIVIDED_STEP = ("this course's sgd does not divide by batch_size: the loss is already averaged "
                  "over the batch (d2l-en 1.0), so the step is p -= lr * p.grad")
IN_PLACE = "update in place under torch.no_grad(): param -= lr * param.grad"


# --- squared_loss --------------------------------------------------------------------------


def _squared_loss_mistakes(y_hat: torch.Tensor, y: torch.Tensor) -> list[Mistake]:
    per_example = (y_hat - y.reshape(y_hat.shape)) ** 2 / 2  # (n, 1)
    return [
        Mistake(MEAN_LOSS, lambda: per_example),
        Mistake("the losses were summed: average them over the batch with .mean()",
                lambda: per_example.sum()),
        Mistake("the mean keeps a dimension: average over every entry, .mean() with no dim, "
                "for a 0-d tensor", lambda: per_example.mean(0)),
        Mistake("y was not reshaped: (n, 1) - (n,) broadcasts to (n, n) before the mean; use "
                "y.reshape(y_hat.shape)", lambda: ((y_hat - y) ** 2 / 2).mean()),
        Mistake("the factor 1/2 is missing", lambda: 2 * per_example.mean()),
    ]


@check(function="squared_loss", category="correctness", points=2)
def squared_loss_matches_the_reference(student, ref):
    """squared_loss is the batch mean of (y_hat - y)²/2, with y given as (n,) or (n, 1)."""
    for n in (7, 300, 1):
        y_hat, y = torch.randn(n, 1), torch.randn(n)
        assert_close(student.squared_loss(y_hat, y), ref.squared_loss(y_hat, y),
                     what=f"squared_loss with y_hat {n}x1 and y of shape ({n},)",
                     mistakes=_squared_loss_mistakes(y_hat, y))


@check(function="squared_loss", category="gradient", points=1)
def squared_loss_gradients_are_right(student, ref):
    """squared_loss's gradient matches the reference's and central differences (float64)."""
    y_hat, y = torch.randn(5, 1, dtype=torch.float64), torch.randn(5, 1, dtype=torch.float64)
    # The value first: a per-example loss has no scalar gradient to compare, and the reason is
    # the convention, which this names.
    assert_close(student.squared_loss(y_hat, y), ref.squared_loss(y_hat, y),
                 what="squared_loss in float64", mistakes=_squared_loss_mistakes(y_hat, y))
    assert_gradients_match(student, ref, "squared_loss", (y_hat, y), names=("y_hat",))
    assert_autograd_matches_finite_differences(student, "squared_loss", (y_hat, y), name="y_hat")


# --- sgd -----------------------------------------------------------------------------------


@check(function="sgd", category="correctness", points=2)
def sgd_steps_by_lr_times_grad(student, ref):
    """sgd moves each parameter by -lr * grad, without dividing by the batch size."""
    case = builtin._sgd_case()
    got = student.probe(probes.sgd_step, **case)
    want = ref.probe(probes.sgd_step, **case)
    lr, batch_size = case["lr"], case["batch_size"]
    for name in ("w", "b"):
        g, p = case[f"grad_{name}"], case[name]
        assert_close(got[name], want[name], what=f"{name} after one step", mistakes=[
            Mistake(UNDIVIDED_STEP, lambda g=g, p=p: p - lr * g / batch_size),
            Mistake("the step goes uphill: subtract lr * grad", lambda g=g, p=p: p + lr * g),
            Mistake("the parameters did not change: update them in place, param -= ...",
                    lambda p=p: p),
        ])


@check(function="sgd", category="semantics", points=1)
def sgd_updates_in_place(student, ref):
    """sgd changes the parameter tensors in place and they stay leaves that require grad."""
    case = builtin._sgd_case()
    got = student.probe(probes.sgd_step, **case)
    if not (got["same_objects"] and got["same_storage"]):
        fail("the parameters were replaced by new tensors instead of updated in place", IN_PLACE)
    if torch.equal(as_tensor(got["w"]), case["w"]) and torch.equal(as_tensor(got["b"]), case["b"]):
        fail("the parameter tensors passed in did not change",
             IN_PLACE + "; `param = param - ...` only rebinds a local name")
    if got["leaves"] != [True, True]:
        fail("after sgd the parameters are no longer leaves that require grad",
             "wrap the update in torch.no_grad() so autograd does not record it")


# --- train_linreg --------------------------------------------------------------------------


@check(function="train_linreg", category="training", points=3, timeout=60)
def train_linreg_recovers_the_true_parameters(student, ref):
    """train_linreg recovers w = [2, -3.4, 1.5] and b = 4.2 within 0.01 from 1005 examples."""
    true_w, true_b = builtin.WIDE_W, builtin.TRUE_B
    # 1005 is no multiple of the batch size 10: every pass ends with a minibatch of 5.
    features, labels = ref.synthetic_data(true_w, true_b, 1005)
    out = student.probe(probes.train, features=features, labels=labels)
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        fail(f"train_linreg should return (w, b), got {describe(out)}")
    w, b = as_tensor(out[0], "w").reshape(-1), as_number(out[1], "b")
    if w.shape != true_w.shape:
        fail(f"w has {w.numel()} entries for features with {len(true_w)} columns",
             "give w the shape (d, 1) with d = features.shape[1]")
    learned = [*w.tolist(), b]
    errors = [abs(got - want) for got, want in zip(learned, [*true_w.tolist(), true_b],
                                                   strict=True)]
    if max(errors) > 0.01:
        fail(f"learned w = [{', '.join(f'{v:.4f}' for v in learned[:-1])}], b = {b:.4f}; the "
             f"largest error is {max(errors):.3g} (tolerance 0.01)",
             "check the training loop: call backward on the minibatch's mean loss and let sgd "
             "step by lr * grad (d2l-en 1.0); dividing by the batch size as well makes every "
             "step batch_size times too small")
