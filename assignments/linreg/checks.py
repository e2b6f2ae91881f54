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
# Three features: code that hard-codes the book's two (w[0], w[1], a (2, 1) w) fails on these.
WIDE_W = torch.tensor([2.0, -3.4, 1.5])


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
    """y = Xw + b + noise with X ~ N(0, 1) and noise ~ N(0, 0.01²), for any number of features."""
    X, y = (as_tensor(v) for v in student.synthetic_data(WIDE_W, TRUE_B, 4000))
    X, y = X.double(), y.double().reshape(-1, 1)
    if X.shape != (4000, len(WIDE_W)):
        fail(f"X has shape {shape(X)} for a w of {len(WIDE_W)} entries, expected (4000, 3)",
             "draw X with torch.normal(0, 1, (num_examples, len(w)))")
    noise = y - (X @ WIDE_W.double().reshape(-1, 1) + TRUE_B)  # (n, 1)
    if abs(float(X.mean())) > 0.1 or abs(float(X.std()) - 1) > 0.1:
        fail(f"X has mean {float(X.mean()):.3f} and std {float(X.std()):.3f}; expected about 0 "
             "and 1", "draw X with torch.normal(0, 1, (num_examples, len(w)))")
    _uses_every_weight(X, noise)
    mean, std = float(noise.mean()), float(noise.std())
    if abs(mean) > 0.003 or not 0.007 < std < 0.013:
        fail(f"y - (Xw + b) has mean {mean:.4f} and std {std:.4f}; expected noise with mean 0 "
             "and std 0.01", _noise_hint(mean, std))


def _uses_every_weight(X: torch.Tensor, noise: torch.Tensor) -> None:
    """Fail when y - (Xw + b) still follows a feature: y used that weight wrongly, or not at all."""
    X1 = torch.cat([X, torch.ones_like(X[:, :1])], dim=1)  # (n, d + 1)
    left = torch.linalg.lstsq(X1, noise).solution[:-1, 0]  # (d,), what y owes each feature
    j = int(left.abs().argmax())
    if abs(float(left[j])) > 0.05:
        used = float(WIDE_W[j]) + float(left[j])
        weights = ", ".join(f"{v:g}" for v in WIDE_W.tolist())
        fail(f"with w = [{weights}], y follows X[:, {j}] with weight {round(used, 2) + 0.0:g} "
             f"instead of {float(WIDE_W[j]):g}",
             "compute y from every entry of w: y = torch.matmul(X, w) + b, whatever len(w) is")


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


def _passes(student, batch_size: int = 10, passes: int = 2, n: int = 1003) -> list[list[tuple]]:
    features, labels = _indexed_data(n)
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
    # 1000 first: no partial batch there, so a loop that stops early cannot pass for one that
    # drops the partial batch, whose fix would not be the right one.
    for n in (1000, 1003):
        sizes = [X.shape[0] for X, _ in _passes(student, passes=1, n=n)[0]]
        _batches_are_complete(sizes, n, batch_size=10)


def _batches_are_complete(sizes: list[int], n: int, batch_size: int) -> None:
    full, rest = divmod(n, batch_size)
    expected = [batch_size] * full + ([rest] if rest else [])
    if sizes == expected:
        return
    got, loop = sum(sizes), "i in range(0, num_examples, batch_size)"
    if sizes == expected[: len(sizes)]:  # every batch right until the loop stopped
        missing = (f"batch {len(sizes)}" if len(sizes) == len(expected) - 1
                   else f"batches {len(sizes)} to {len(expected) - 1}")
        hint = (f"keep the last partial batch: slice indices[i: min(i + batch_size, n)] for {loop}"
                if sizes == expected[:-1] and rest else
                f"the loop stops {n - got} examples early: let {loop} run to "
                f"{batch_size * (len(expected) - 1)}; a stop of num_examples - batch_size leaves "
                "out the last batch")
        fail(f"over {n} examples in batches of {batch_size}, data_iter yielded {len(sizes)} "
             f"batches and stopped: {missing} (examples {got} to {n - 1} of the shuffled "
             f"order) never came", hint)
    fail(f"over {n} examples in batches of {batch_size}, data_iter yielded {len(sizes)} batches "
         f"holding {got} examples, of sizes {sorted(set(sizes))}; expected {full} of "
         f"{batch_size}" + (f" then one of {rest}" if rest else ""),
         f"slice indices[i: min(i + batch_size, num_examples)] for {loop}")


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
            hint = ("examples were left out: does the loop cover range(0, num_examples, "
                    "batch_size), the last partial batch included?")
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
                Mistake("the loss was averaged over the batch, as d2l-en 1.0 does; this course's "
                        "squared_loss returns one loss per example, as in d2l 3.2",
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


def _sgd_sample() -> tuple[list[torch.Tensor], float, int]:
    """Parameters with gradients, as in training. The wire carries neither: the traced run in
    the child gives a list of tensors both (probes.trace)."""
    params = [torch.randn(3, 1, requires_grad=True), torch.zeros(1, requires_grad=True)]
    for param in params:
        param.grad = torch.randn_like(param)
    return params, 0.1, 4


add_from_scratch_check(assignment, "sgd", points=1, sample=_sgd_sample)


# --- train_linreg --------------------------------------------------------------------------


@check(function="train_linreg", category="training", points=3, timeout=60)
def train_linreg_recovers_the_true_parameters(student, ref):
    """train_linreg recovers w = [2, -3.4, 1.5] and b = 4.2 within 0.01 from 1005 examples."""
    # 1005 is no multiple of the batch size 10: every pass ends with a minibatch of 5.
    features, labels = ref.synthetic_data(WIDE_W, TRUE_B, 1005)
    out = student.probe(probes.train, features=features, labels=labels)
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        fail(f"train_linreg should return (w, b), got {describe(out)}")
    w, b = as_tensor(out[0], "w").reshape(-1), as_number(out[1], "b")
    if w.shape != WIDE_W.shape:
        fail(f"w has {w.numel()} entries for features with {len(WIDE_W)} columns",
             "give w the shape (d, 1) with d = features.shape[1]")
    learned = [*w.tolist(), b]
    errors = [abs(got - want) for got, want in zip(learned, [*WIDE_W.tolist(), TRUE_B],
                                                   strict=True)]
    if max(errors) > 0.01:
        fail(f"learned w = [{', '.join(f'{v:.4f}' for v in learned[:-1])}], b = {b:.4f}; the "
             f"largest error is {max(errors):.3g} (tolerance 0.01)",
             "check the training loop: sum the loss before backward, and call sgd with the "
             "minibatch's size after each minibatch")


@check(function="train_linreg", category="semantics", points=1)
def train_linreg_steps_by_each_minibatch_size(student, ref):
    """Each sgd step divides by its own minibatch's size: the last one of a pass may be short."""
    features, labels = ref.synthetic_data(TRUE_W, TRUE_B, 23)
    steps = student.probe(probes.train_steps, features=features, labels=labels, batch_size=10)
    sizes = steps["sizes"] or [10, 10, 3]  # without data_iter: the batches it should have made
    divisors = steps["divisors"]
    if sorted(divisors) != sorted(float(s) for s in sizes):
        fail(f"with 23 examples and batch_size 10 the minibatches hold {sizes} examples, but "
             f"train_linreg's sgd steps divided by {[f'{d:g}' for d in divisors]}",
             "pass the minibatch's own size to sgd, X.shape[0]: with batch_size the short last "
             "minibatch of a pass takes too small a step")


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
