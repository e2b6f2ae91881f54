"""Checks for linear_regression.py. Each docstring's first line is what students see."""

from __future__ import annotations

import torch

from grader.authoring import (
    Mistake,
    add_device_check,
    add_from_scratch_check,
    as_number,
    as_tensor,
    assert_autograd_matches_finite_differences,
    assert_close,
    assert_gradients_match,
    assert_not_much_slower,
    describe,
    fail,
    shape,
)

from . import assignment, probes

check = assignment.check
TRUE_W, TRUE_B = torch.tensor([2.0, -3.4]), 4.2


# --- synthetic_data ------------------------------------------------------------------------


@check(function="synthetic_data", category="correctness", points=1)
def synthetic_data_shapes(student, ref):
    """synthetic_data returns X of shape (n, len(w)) and y of shape (n, 1)."""
    w = torch.tensor([2.0, -3.4, 1.5])
    out = student.synthetic_data(w, 0.5, 200)
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        fail(f"synthetic_data should return (X, y), got {describe(out)}")
    X, y = (as_tensor(v, name) for v, name in zip(out, ("X", "y"), strict=True))
    if tuple(X.shape) != (200, 3):
        fail(f"X has shape {shape(X)}, expected (200, 3)")
    if tuple(y.shape) != (200, 1):
        fail(f"y has shape {shape(y)}, expected (200, 1)",
             "return y.reshape((-1, 1)): a column, as the book does")


@check(function="synthetic_data", category="correctness", points=2)
def synthetic_data_follows_the_model(student, ref):
    """y = Xw + b + noise with X ~ N(0, 1) and noise ~ N(0, 0.01²)."""
    X, y = (as_tensor(v) for v in student.synthetic_data(TRUE_W, TRUE_B, 4000))
    X, y = X.double(), y.double().reshape(-1, 1)
    noise = y - (X @ TRUE_W.double().reshape(-1, 1) + TRUE_B)  # (n, 1)
    if abs(float(X.mean())) > 0.1 or abs(float(X.std()) - 1) > 0.1:
        fail(f"X has mean {float(X.mean()):.3f} and std {float(X.std()):.3f}; expected about 0 "
             "and 1", "draw X with torch.normal(0, 1, (num_examples, len(w)))")
    mean, std = float(noise.mean()), float(noise.std())
    if abs(mean) > 0.003 or not 0.007 < std < 0.013:
        fail(f"y - (Xw + b) has mean {mean:.4f} and std {std:.4f}; expected noise with mean 0 "
             "and std 0.01", _noise_hint(mean, std))


def _noise_hint(mean: float, std: float) -> str:
    if abs(mean) > 0.5:
        return "is the bias b added to every y?"
    if std > 0.013:
        return "the noise's standard deviation is 0.01: torch.normal(0, 0.01, y.shape)"
    return "add noise: y += torch.normal(0, 0.01, y.shape)"


# --- data_iter -----------------------------------------------------------------------------


def _indexed_data(n: int = 1003) -> tuple[torch.Tensor, torch.Tensor]:
    """Features whose first column is the example's index; labels that repeat it, negated."""
    index = torch.arange(n, dtype=torch.float32)
    features = torch.stack([index, torch.randn(n)], dim=1)  # (n, 2)
    labels = -index.reshape(-1, 1)  # (n, 1)
    return features, labels


def _passes(student, batch_size: int = 10, passes: int = 2) -> list[list[tuple]]:
    features, labels = _indexed_data()
    result = student.probe(probes.data_iter_passes, batch_size=batch_size, features=features,
                           labels=labels, passes=passes)
    for batches in result:
        for X, y in batches:
            as_tensor(X, "a batch's X")
            as_tensor(y, "a batch's y")
    return result


@check(function="data_iter", category="semantics", points=2)
def data_iter_keeps_the_last_partial_batch(student, ref):
    """data_iter over 1003 examples in batches of 10 gives 101 batches, the last of 3."""
    sizes = [X.shape[0] for X, _ in _passes(student, passes=1)[0]]
    if len(sizes) == 100 and all(s == 10 for s in sizes):
        fail("got 100 batches of 10: the last 3 examples were dropped",
             "keep the last partial batch: slice indices[i: min(i + batch_size, n)]")
    if len(sizes) != 101 or sizes[:100] != [10] * 100 or sizes[100] != 3:
        fail(f"got {len(sizes)} batches of sizes {sorted(set(sizes))}, expected 100 of 10 "
             "then one of 3")


@check(function="data_iter", category="semantics", points=2)
def data_iter_covers_every_example_once(student, ref):
    """Each pass of data_iter yields every example exactly once."""
    ids = torch.cat([X[:, 0] for X, _ in _passes(student, passes=1)[0]]).long()
    counts = torch.bincount(ids.clamp(0, 1002), minlength=1003)
    if ids.numel() != 1003 or not bool((counts == 1).all()):
        missing, repeated = int((counts == 0).sum()), int((counts > 1).sum())
        hint = ("shuffle a permutation of the indices, then slice it (random.shuffle(indices) "
                "or torch.randperm(n)), rather than sampling with replacement")
        if repeated == 0:
            hint = "examples were left out: is the last partial batch dropped?"
        fail(f"one pass yielded {ids.numel()} examples: {missing} of 1003 never, "
             f"{repeated} more than once", hint)


@check(function="data_iter", category="semantics", points=1)
def data_iter_keeps_features_and_labels_aligned(student, ref):
    """Every minibatch pairs each example's features with its own label."""
    for X, y in _passes(student, passes=1)[0]:
        if X.shape[0] != y.shape[0] or not torch.equal(X[:, 0], -y.reshape(-1)):
            fail("a minibatch's labels do not belong to its features",
                 "index features and labels with the same batch indices")


@check(function="data_iter", category="semantics", points=2)
def data_iter_shuffles_on_every_pass(student, ref):
    """data_iter shuffles: the order is random, and differs between two passes."""
    first, second = (torch.cat([X[:, 0] for X, _ in p]).long().tolist()
                     for p in _passes(student))
    if first == list(range(len(first))):
        fail("the examples come in their original order",
             "shuffle the indices before slicing batches: random.shuffle(indices)")
    if first == second:
        fail("two passes gave the same order",
             "shuffle inside data_iter, on every call, not once outside it")


@check(function="data_iter", category="performance", points=1, timeout=60)
def data_iter_is_not_a_per_example_loop(student, ref):
    """A pass of data_iter takes at most about 20x the book's data_iter, timed side by side."""
    # The baseline is the book's code, run in the same process: a DataLoader, which indexes
    # example by example and then stacks, measured 3-4x of it here; per-element loops, ~40x.
    data = {"batch_size": 500, "examples": 20000, "features": 20}
    assert_not_much_slower(
        lambda: student.probe(probes.data_iter_pass, **data),
        lambda: student.probe(probes.book_data_iter_pass, **data),
        limit=20, what="one pass over 20000 examples in batches of 500",
        hint="index a whole batch at once (features[batch_indices]), not element by element",
    )


# --- linreg --------------------------------------------------------------------------------


@check(function="linreg", category="correctness", points=1)
def linreg_matches_the_reference(student, ref):
    """linreg computes Xw + b for several shapes."""
    for n, d in [(5, 2), (1, 3), (512, 7)]:
        X, w, b = torch.randn(n, d), torch.randn(d, 1), torch.randn(1)
        assert_close(student.linreg(X, w, b), ref.linreg(X, w, b), what=f"linreg on X {n}x{d}",
                     mistakes=[Mistake("the bias b is missing: return X @ w + b",
                                           lambda X=X, w=w: X @ w)])


@check(function="linreg", category="gradient", points=1)
def linreg_gradients_match(student, ref):
    """Gradients through linreg with respect to X, w and b match the reference's."""
    X, w, b = torch.randn(6, 3), torch.randn(3, 1), torch.randn(1)
    assert_gradients_match(student, ref, "linreg", (X, w, b), wrt=(0, 1, 2), names=("X", "w", "b"))


add_device_check(assignment, "linreg", points=1,
                 sample=lambda: (torch.randn(4, 2), torch.randn(2, 1), torch.zeros(1)))


# --- squared_loss --------------------------------------------------------------------------


@check(function="squared_loss", category="correctness", points=2)
def squared_loss_matches_the_reference(student, ref):
    """squared_loss is (y_hat - y)²/2 per example, with y given as (n,) or (n, 1)."""
    for n in (7, 1, 300):
        y_hat, y = torch.randn(n, 1), torch.randn(n)
        assert_close(
            student.squared_loss(y_hat, y), ref.squared_loss(y_hat, y),
            what=f"squared_loss with y_hat {n}x1 and y of shape ({n},)",
            mistakes=[
                Mistake("y was not reshaped: (n, 1) - (n,) broadcasts to (n, n); use "
                        "y.reshape(y_hat.shape)", lambda y_hat=y_hat, y=y: (y_hat - y) ** 2 / 2),
                Mistake("the loss was averaged: return the per-example losses, unreduced",
                        lambda y_hat=y_hat, y=y: ref.squared_loss(y_hat, y).mean()),
                Mistake("the loss was summed: return the per-example losses, unreduced",
                        lambda y_hat=y_hat, y=y: ref.squared_loss(y_hat, y).sum()),
                Mistake("the factor 1/2 is missing",
                        lambda y_hat=y_hat, y=y: 2 * ref.squared_loss(y_hat, y)),
            ],
        )


@check(function="squared_loss", category="gradient", points=1)
def squared_loss_gradients_are_right(student, ref):
    """squared_loss's gradient matches the reference's and central differences (float64)."""
    y_hat, y = torch.randn(5, 1, dtype=torch.float64), torch.randn(5, 1, dtype=torch.float64)
    assert_gradients_match(student, ref, "squared_loss", (y_hat, y), names=("y_hat",))
    assert_autograd_matches_finite_differences(student, "squared_loss", (y_hat, y), name="y_hat")


add_device_check(assignment, "squared_loss", points=1,
                 sample=lambda: (torch.randn(4, 1), torch.randn(4)))


# --- sgd -----------------------------------------------------------------------------------


def _sgd_case() -> dict:
    return {"w": torch.randn(3, 1), "b": torch.randn(1), "grad_w": torch.randn(3, 1),
            "grad_b": torch.randn(1), "lr": 0.1, "batch_size": 8}


@check(function="sgd", category="correctness", points=2)
def sgd_steps_by_lr_times_grad_over_batch_size(student, ref):
    """sgd moves each parameter by -lr * grad / batch_size."""
    case = _sgd_case()
    got = student.probe(probes.sgd_step, **case)
    want = ref.probe(probes.sgd_step, **case)
    for name in ("w", "b"):
        g, p = case[f"grad_{name}"], case[name]
        assert_close(got[name], want[name], what=f"{name} after one step", mistakes=[
            Mistake("the step is not divided by batch_size: p -= lr * p.grad / batch_size",
                    lambda g=g, p=p: p - case["lr"] * g),
            Mistake("the step goes uphill: subtract lr * grad / batch_size",
                    lambda g=g, p=p: p + case["lr"] * g / case["batch_size"]),
            Mistake("the parameters did not change: update them in place, param -= ...",
                    lambda p=p: p),
        ])


@check(function="sgd", category="semantics", points=1)
def sgd_updates_in_place(student, ref):
    """sgd changes the parameter tensors in place and they stay leaves that require grad."""
    case = _sgd_case()
    got = student.probe(probes.sgd_step, **case)
    in_place = "update in place under torch.no_grad(): param -= lr * param.grad / batch_size"
    if not (got["same_objects"] and got["same_storage"]):
        fail("the parameters were replaced by new tensors instead of updated in place", in_place)
    if torch.equal(as_tensor(got["w"]), case["w"]) and torch.equal(as_tensor(got["b"]), case["b"]):
        fail("the parameter tensors passed in did not change",
             in_place + "; `param = param - ...` only rebinds a local name")
    if got["leaves"] != [True, True]:
        fail("after sgd the parameters are no longer leaves that require grad",
             "wrap the update in torch.no_grad() so autograd does not record it")


@check(function="sgd", category="semantics", points=1)
def sgd_zeroes_the_gradients(student, ref):
    """sgd resets each gradient to zero after the step."""
    grads = student.probe(probes.sgd_step, **_sgd_case())["grads"]
    for name, g in zip(("w", "b"), grads, strict=True):
        if g is not None and float(as_tensor(g).abs().max()) != 0.0:
            fail(f"{name}.grad still holds {float(as_tensor(g).abs().max()):.3g} after the step",
                 "call param.grad.zero_() after updating: backward adds to .grad")


add_from_scratch_check(assignment, "sgd", points=1)


# --- train_linreg --------------------------------------------------------------------------


@check(function="train_linreg", category="training", points=3, timeout=60)
def train_linreg_recovers_the_true_parameters(student, ref):
    """train_linreg recovers w = [2, -3.4] and b = 4.2 within 0.01 from 1000 examples."""
    features, labels = ref.synthetic_data(TRUE_W, TRUE_B, 1000)
    out = student.probe(probes.train, features=features, labels=labels)
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        fail(f"train_linreg should return (w, b), got {describe(out)}")
    w, b = as_tensor(out[0], "w").reshape(-1), as_number(out[1], "b")
    if w.shape != (2,):
        fail(f"w has {w.numel()} entries, expected 2")
    errors = [abs(float(w[0]) - 2.0), abs(float(w[1]) + 3.4), abs(b - 4.2)]
    if max(errors) > 0.01:
        fail(f"learned w = [{float(w[0]):.4f}, {float(w[1]):.4f}], b = {b:.4f}; the largest "
             f"error is {max(errors):.3g} (tolerance 0.01)",
             "check the training loop: sum the loss before backward, and call sgd with the "
             "batch size after each minibatch")


# --- normal_equation -----------------------------------------------------------------------


@check(function="normal_equation", category="correctness", points=2)
def normal_equation_solves_least_squares(student, ref):
    """normal_equation gives the least-squares w (d, 1) and b (1,), bias included."""
    X = torch.randn(50, 3, dtype=torch.float64)
    y = X @ torch.tensor([[1.0], [-2.0], [0.5]], dtype=torch.float64) + 3.0
    y += 0.1 * torch.randn(50, 1, dtype=torch.float64)
    for labels in (y, y.reshape(-1)):
        out = student.normal_equation(X, labels)
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            fail(f"normal_equation should return (w, b), got {describe(out)}")
        w_ref, b_ref = ref.normal_equation(X, labels)
        no_bias = torch.linalg.lstsq(X, y).solution
        assert_close(out[0], w_ref, what=f"w (y of shape {shape(labels)})", rtol=1e-6, atol=1e-6,
                     mistakes=[Mistake("the bias is missing: append a column of ones to X",
                                       lambda no_bias=no_bias: no_bias)])
        assert_close(as_tensor(out[1], "b").reshape(-1), b_ref.reshape(-1), what="b",
                     rtol=1e-6, atol=1e-6)


# --- huber_loss ----------------------------------------------------------------------------


@check(function="huber_loss", category="correctness", points=2)
def huber_loss_matches_the_reference(student, ref):
    """huber_loss is |d| - sigma/2 beyond sigma and d²/(2 sigma) within, elementwise."""
    for sigma in (1.0, 0.5, 2.0):
        y_hat, y = 3 * torch.randn(40, 1), torch.randn(40)  # both regimes present
        d = y_hat - y.reshape(-1, 1)
        assert_close(
            student.huber_loss(y_hat, y, sigma), ref.huber_loss(y_hat, y, sigma),
            what=f"huber_loss with sigma={sigma}",
            mistakes=[
                Mistake("inside |d| <= sigma the loss is d²/(2 sigma): divide by sigma",
                        lambda d=d, s=sigma: torch.where(d.abs() > s, d.abs() - s / 2, d**2 / 2)),
                Mistake("beyond sigma the loss is |d| - sigma/2",
                        lambda d=d, s=sigma: torch.where(d.abs() > s, d.abs(), d**2 / (2 * s))),
                Mistake("the loss was reduced: return it elementwise",
                        lambda y_hat=y_hat, y=y, s=sigma: ref.huber_loss(y_hat, y, s).mean()),
                Mistake("y was not reshaped to y_hat's shape, so (n, 1) and (n,) broadcast",
                        lambda y_hat=y_hat, y=y, s=sigma: _huber(y_hat - y, s)),
            ],
        )


def _huber(d: torch.Tensor, sigma: float) -> torch.Tensor:
    return torch.where(d.abs() > sigma, d.abs() - sigma / 2, d**2 / (2 * sigma))


@check(function="huber_loss", category="gradient", points=1)
def huber_loss_gradients_are_right(student, ref):
    """huber_loss's gradient matches the reference's and central differences (float64)."""
    y_hat = torch.tensor([[-3.0], [-0.4], [0.2], [2.5]], dtype=torch.float64)
    y = torch.zeros(4, 1, dtype=torch.float64)
    assert_gradients_match(student, ref, "huber_loss", (y_hat, y), names=("y_hat",))
    assert_autograd_matches_finite_differences(student, "huber_loss", (y_hat, y), name="y_hat")


add_from_scratch_check(
    assignment, "huber_loss", points=1, sample=lambda: (torch.randn(6, 1), torch.randn(6, 1))
)
