"""The checks of softmax_regression.py that d2l-en 1.0's conventions change; __init__.py reuses
the built-in course's others. Each docstring's first line is what students see."""

from __future__ import annotations

import torch
import torch.nn.functional as F

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
SHAPES = builtin.SHAPES
FRACTION = ("this course's accuracy is a fraction (d2l-en 1.0): divide the number of correct "
            "predictions by the number of examples")
WEIGHTED = ("weight it by the minibatch's size, accuracy(y_hat, y) * y.numel(), then divide by "
            "the number of examples once")


def _mean_loss_mistakes(function: str, per_example: torch.Tensor) -> list[Mistake]:
    """The known wrong reductions of ``per_example``, the first edition's among them."""
    return [
        Mistake(f"this course's {function} is averaged over the batch (d2l-en 1.0): return the "
                "mean, not per-example losses", lambda: per_example),
        Mistake("the losses were summed: average them over the batch with .mean()",
                lambda: per_example.sum()),
        Mistake("the mean keeps a dimension: average over every entry, .mean() with no dim, "
                "for a 0-d tensor", lambda: per_example.mean(0, keepdim=True)),
    ]


# --- cross_entropy -------------------------------------------------------------------------


def _picked(y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Each example's -log y_hat[i, y_i], shape (n,)."""
    return -torch.log(y_hat[range(len(y_hat)), y].double())


@check(function="cross_entropy", category="correctness", points=2)
def cross_entropy_matches_the_reference(student, ref):
    """cross_entropy is the batch mean of -log y_hat[i, y_i]: a 0-d tensor."""
    for n, q in SHAPES:
        y_hat, y = builtin._probabilities(n, q), builtin._labels(n, q)
        assert_close(
            student.cross_entropy(y_hat, y), ref.cross_entropy(y_hat, y),
            # an epsilon up to 1e-6 inside the log (the book's fix) moves a loss by at most 2e-5
            what=f"cross_entropy on {n} examples of {q} classes", rtol=1e-4, atol=1e-4,
            mistakes=[
                *_mean_loss_mistakes("cross_entropy", _picked(y_hat, y)),
                Mistake("y_hat[:, y] picks whole columns: (n, n); use y_hat[range(n), y]",
                        lambda y_hat=y_hat, y=y: -torch.log(y_hat[:, y]).mean()),
                Mistake("the minus sign is missing: the loss is -log y_hat[i, y_i]",
                        lambda y_hat=y_hat, y=y: -ref.cross_entropy(y_hat, y)),
            ],
        )


@check(function="cross_entropy", category="gradient", points=1)
def cross_entropy_gradients_are_right(student, ref):
    """cross_entropy's gradient matches the reference's and central differences (float64)."""
    y_hat, y = builtin._probabilities(4, 3, torch.float64), builtin._labels(4, 3)
    # The value first: a per-example loss has no scalar gradient to compare, and the reason is
    # the convention, which this names.
    assert_close(student.cross_entropy(y_hat, y), ref.cross_entropy(y_hat, y),
                 what="cross_entropy in float64", rtol=1e-4, atol=1e-4,
                 mistakes=_mean_loss_mistakes("cross_entropy", _picked(y_hat, y)))
    assert_gradients_match(student, ref, "cross_entropy", (y_hat, y), names=("y_hat",),
                           rtol=1e-4, atol=1e-6)  # an epsilon in the log is allowed
    assert_autograd_matches_finite_differences(student, "cross_entropy", (y_hat, y), name="y_hat")


@check(function="cross_entropy", category="stability", points=1)
def cross_entropy_of_a_zero_probability_is_large(student, ref):
    """On a zero probability for the true class, the loss is +inf or large, never NaN or < 0."""
    y_hat = torch.tensor([[0.0, 1.0, 0.0], [0.25, 0.25, 0.5], [1.0, 0.0, 0.0]])
    y = torch.tensor([0, 2, 0])
    rest = student.cross_entropy(y_hat[1:], y[1:])
    assert_close(rest, ref.cross_entropy(y_hat[1:], y[1:]), rtol=1e-4, atol=1e-5,
                 what="the loss of two examples whose true classes have probability 0.5 and 1",
                 mistakes=_mean_loss_mistakes("cross_entropy", _picked(y_hat[1:], y[1:])))
    for what, n in (("one example", 1), ("a batch of three", 3)):
        loss = as_number(student.cross_entropy(y_hat[:n], y[:n]), f"the loss of {what}")
        # -log(0.01) / n: any epsilon up to 1e-2 counts as a fix
        if loss != loss or loss < 4.6 / n:
            fail(f"for {what} in which a true class has probability 0 the loss is {loss:.4g}; "
                 "expected +inf or a large positive value", "use -log(y_hat[range(n), y]); a "
                 "tiny epsilon or a clamp inside the log is fine, a NaN is not")


# --- softmax_cross_entropy -----------------------------------------------------------------


@check(function="softmax_cross_entropy", category="correctness", points=1)
def softmax_cross_entropy_matches_pytorch(student, ref):
    """softmax_cross_entropy matches F.cross_entropy's batch mean: a 0-d tensor."""
    for n, q in SHAPES:
        logits, y = builtin._logits(n, q), builtin._labels(n, q)
        per_example = F.cross_entropy(logits.double(), y, reduction="none")  # (n,)
        assert_close(
            student.softmax_cross_entropy(logits, y), ref.softmax_cross_entropy(logits, y),
            what=f"softmax_cross_entropy on {n} examples of {q} classes",
            mistakes=_mean_loss_mistakes("softmax_cross_entropy", per_example),
        )


@check(function="softmax_cross_entropy", category="stability", points=2)
def softmax_cross_entropy_survives_extreme_logits(student, ref):
    """softmax_cross_entropy stays finite and accurate for logits up to 1e4."""
    logits = torch.tensor([[1e4, 0.0, -1e4], [-1e4, 1e4, 0.0], [100.0, 89.0, -120.0],
                           [-120.0, -110.0, -130.0]])
    y = torch.tensor([0, 0, 2, 1])
    per_example = F.cross_entropy(logits.double(), y, reduction="none")  # (4,)
    assert_close(student.softmax_cross_entropy(logits, y), ref.softmax_cross_entropy(logits, y),
                 what="softmax_cross_entropy on logits of 1e4", cond=logits,
                 mistakes=_mean_loss_mistakes("softmax_cross_entropy", per_example),
                 hint=builtin.LSE_HINT + "; never take the log of a softmax that may be 0")


@check(function="softmax_cross_entropy", category="gradient", points=2)
def softmax_cross_entropy_gradient_is_softmax_minus_onehot(student, ref):
    """The gradient with respect to the logits is (softmax(o) - onehot(y)) / n, the mean's."""
    n, q = 6, 4
    logits, y = builtin._logits(n, q, torch.float64), builtin._labels(n, q)
    per_example = F.cross_entropy(logits, y, reduction="none")  # (n,)
    assert_close(student.softmax_cross_entropy(logits, y), ref.softmax_cross_entropy(logits, y),
                 what="softmax_cross_entropy in float64",
                 mistakes=_mean_loss_mistakes("softmax_cross_entropy", per_example))
    cotangent = torch.rand((), dtype=torch.float64) + 0.5
    got = student.vjp("softmax_cross_entropy", (logits, y), cotangent)
    grads = got["grads"]
    if grads is None or grads[0] is None:
        fail("the loss carries no gradient back to the logits", "keep the computation in torch")
    per_example_grad = cotangent * (torch.softmax(logits, 1) - F.one_hot(y, q))  # (n, q)
    assert_close(grads[0], per_example_grad / n, what="d loss / d logits", rtol=1e-6, atol=1e-9,
                 mistakes=[Mistake("the gradient is every example's own, not the mean's: "
                                   "average the loss over the batch (d2l-en 1.0)",
                                   lambda: per_example_grad)])
    assert_autograd_matches_finite_differences(
        student, "softmax_cross_entropy", (logits[:3], y[:3]), name="the logits"
    )


# --- accuracy ------------------------------------------------------------------------------


@check(function="accuracy", category="correctness", points=2)
def accuracy_is_the_fraction_correct(student, ref):
    """accuracy returns the fraction of correct predictions (not their count)."""
    for n, q in [(10, 3), (257, 10), (1, 4)]:
        y_hat, y = builtin._probabilities(n, q), builtin._labels(n, q)
        got, want = as_number(student.accuracy(y_hat, y), "accuracy"), ref.accuracy(y_hat, y)
        if abs(got - want) > 1e-6:
            hint = FRACTION if abs(got - want * n) < 1e-6 else ""
            fail(f"accuracy on {n} examples returned {got:g}, expected {want:g}", hint)


@check(function="accuracy", category="semantics", points=1)
def accuracy_accepts_predicted_labels(student, ref):
    """accuracy also accepts y_hat as predicted class indices of shape (n,), as in the book."""
    # The argmax of these predictions (index 0) is right for 2 labels only: code that takes an
    # argmax whatever y_hat's shape cannot pass for finding the 3 right predictions.
    y_hat, y = torch.tensor([2, 0, 1, 1]), torch.tensor([2, 0, 1, 0])
    got = as_number(student.accuracy(y_hat, y), "accuracy")
    if abs(got - 0.75) > 1e-6:
        hint = ("take argmax only when y_hat is 2-D with more than one column "
                "(len(y_hat.shape) > 1 and y_hat.shape[1] > 1): predicted classes are compared "
                "as they are")
        if got == 3.0:
            hint = FRACTION
        fail(f"accuracy(y_hat=[2, 0, 1, 1], y=[2, 0, 1, 0]) returned {got:g}, expected 0.75",
             hint)


# --- evaluate_accuracy ---------------------------------------------------------------------


@check(function="evaluate_accuracy", category="semantics", points=2)
def evaluate_accuracy_counts_examples_not_batches(student, ref):
    """evaluate_accuracy is the fraction of examples right, over batches of unequal size."""
    W, b, batches = torch.randn(4, 3), torch.randn(3), builtin._uneven_batches()  # sizes 7, 7, 1
    kwargs = {"W": W, "b": b, "batches": batches, "module": False}
    got, want = student.probe(probes.evaluate, **kwargs), ref.probe(probes.evaluate, **kwargs)
    fractions = [float(((X @ W + b).argmax(1) == y).float().mean()) for X, y in batches]
    value, expected = as_number(got["value"], "evaluate_accuracy"), want["value"]
    if abs(value - expected) > 1e-6:
        hint = ""
        if abs(value - sum(fractions) / sum(len(y) for _, y in batches)) < 1e-6:
            hint = "accuracy returns a fraction in this course (d2l-en 1.0), not a count: "
            hint += WEIGHTED
        elif abs(value - sum(fractions) / len(fractions)) < 1e-6:
            hint = "this is the mean of per-batch accuracies: " + WEIGHTED
        elif value > 1.0:
            hint = "divide the number of correct predictions by the number of examples"
        fail(f"evaluate_accuracy returned {value:.4f} over batches of 7, 7 and 1 examples; "
             f"expected {expected:.4f}", hint)


# --- train_epoch_ch3 -----------------------------------------------------------------------


@check(function="train_epoch_ch3", category="correctness", points=2)
def train_epoch_ch3_trains_and_reports_like_the_reference(student, ref):
    """One epoch updates the weights and returns (mean loss per example, accuracy) as the book."""
    case = builtin._epoch_case()
    got, want = student.probe(probes.one_epoch, **case), ref.probe(probes.one_epoch, **case)
    hint = ("call backward on the minibatch's mean loss, l.backward(), then updater(X.shape[0]); "
            "the updater steps by lr * grad")
    if got["sizes"] != want["sizes"]:
        hint = f"the updater got batch sizes {got['sizes']}; pass each batch's X.shape[0]"
    assert_close(got["W"], want["W"], what="W after one epoch", rtol=1e-5, atol=1e-6, hint=hint)
    result = got["result"]
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        fail(f"train_epoch_ch3 should return (loss, accuracy), got {describe(result)}")
    loss, acc = (as_number(v, n) for v, n in zip(result, ("the loss", "the accuracy"), strict=True))
    want_loss, want_acc = want["result"]
    # What the first edition's bookkeeping makes of means: each minibatch counted as a sum.
    seen, total = got["seen"], sum(n for _, _, n in got["seen"]) or 1
    if abs(loss - want_loss) > 1e-4 * max(1.0, abs(want_loss)):
        summed_means = sum(mean for mean, _, _ in seen) / total
        hint = "add float(l) * len(y) for each minibatch and divide by the number of examples"
        if abs(loss - summed_means) <= 1e-4 * max(1.0, abs(summed_means)):
            hint = ("this course's loss is the minibatch's mean (d2l-en 1.0), not per-example "
                    "losses to sum: " + hint)
        fail(f"the returned mean loss is {loss:.5f}, expected {want_loss:.5f}", hint)
    if abs(acc - want_acc) > 1e-6:
        hint = "the accuracy of the epoch is the fraction of its examples classified correctly"
        if abs(acc - sum(right for _, right, _ in seen) / total) < 1e-6:
            hint = "accuracy returns a fraction in this course (d2l-en 1.0): " + WEIGHTED
        fail(f"the returned accuracy is {acc:.5f}, expected {want_acc:.5f}", hint)


# --- train_ch3 -----------------------------------------------------------------------------


@check(function="train_ch3", category="training", points=5, timeout=180)
def train_ch3_learns_fashion_mnist(student, ref):
    """With all your parts, the book's setup reaches 0.80 test accuracy on Fashion-MNIST."""
    out = student.probe(probes.fashion_mnist)
    W, b = as_tensor(out["W"], "W"), as_tensor(out["b"], "b")
    if W.shape != (784, 10) or b.shape != (10,):
        fail(f"W and b changed shape during training: {tuple(W.shape)}, {tuple(b.shape)}")
    images, labels = ref.test_set()
    logits = images.reshape(-1, 784) @ W.float() + b.float()  # (10000, 10)
    acc = float((logits.argmax(1) == labels).float().mean())
    if not acc >= 0.80:
        fail(f"test accuracy after 10 epochs is {acc:.3f}, below 0.80 (the book reaches about "
             "0.83)", "check that the loss decreases each epoch. The updater steps by "
             "lr * grad (d2l-en 1.0), so backward must run on the minibatch's mean loss: "
             "cross_entropy returns the mean, and a summed loss takes steps batch_size times "
             "too large")
