"""Checks for gradients.py. Each docstring's first line is what students see.

Every derivative is judged against two truths computed here on the reference: autograd, and
central differences in float64, with the relative error reported in the usual bands.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from grader.authoring import (
    Mistake,
    add_device_check,
    add_from_scratch_check,
    as_tensor,
    assert_close,
    assert_derivative,
    assert_gradients_match,
    autograd_derivative,
    central_difference,
    describe,
    fail,
    numeric_jacobian,
)

from . import assignment, probes

check = assignment.check
SHAPES = [(), (7,), (3, 4), (2, 3, 5)]
DTYPES = (torch.float32, torch.float64)
DERIVE_HINT = (
    "derive {function} by hand and write the formula with tensor operations: the grader checks "
    "it against autograd, so autograd cannot be the answer"
)
OVERFLOW_HINT = (
    "exp overflows to inf above 88.7 in float32 (709.8 in float64); exp(-|x|) never does"
)
WHERE_HINT = (
    "torch.where differentiates both branches: an inf in the branch it does not take still makes "
    "the gradient NaN (inf * 0). Keep both branches finite: exp(-|x|) never overflows"
)
SHIFT_HINT = (
    "shift the logits before exp so it cannot overflow: softmax(o) = softmax(o - c) for c the "
    "max (or the logsumexp) of each row"
)
IN_PLACE_HINT = (
    "`{name} += ...` or `{name}.sub_(...)` changes the caller's tensor; write "
    "`new = {name} + ...` and return the new tensors"
)


def _points(n: int = 64, low: float = -4.0, high: float = 4.0) -> torch.Tensor:
    """float64 points spread over [low, high], none within 0.05 of 0 (ReLU's kink)."""
    x = torch.empty(n, dtype=torch.float64).uniform_(low, high)
    return torch.where(x.abs() >= 0.05, x, torch.where(x < 0, x - 0.05, x + 0.05))


def _inputs(shape: tuple[int, ...], dtype: torch.dtype) -> torch.Tensor:
    return 3 * torch.randn(shape, dtype=dtype)


def _name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def _same_dtype(actual, x: torch.Tensor, function: str) -> None:
    """Results keep the input's dtype: float64 in, float64 out."""
    actual = as_tensor(actual, f"{function}'s result")
    if actual.dtype != x.dtype:
        fail(f"{function} returned {describe(actual)} for a {_name(x.dtype)} input; results keep "
             "the input's dtype",
             "build constants from the input (torch.ones_like(x), x.new_tensor(...)) and turn a "
             "boolean mask into numbers with .to(x.dtype)")


def _elementwise(student_fn, ref_fn, x: torch.Tensor, what: str, **kwargs) -> None:
    actual = student_fn(x)
    _same_dtype(actual, x, ref_fn.__name__)
    assert_close(actual, ref_fn(x), what=what, **kwargs)


def _extremes(dtype: torch.dtype) -> torch.Tensor:
    """Inputs past exp's overflow in either direction, and 0."""
    big = [88.8, 100.0, 1000.0] if dtype == torch.float32 else [709.9, 710.0, 1000.0]
    return torch.tensor([-b for b in big] + [-20.0, 0.0, 20.0] + big, dtype=dtype)


def _survives_extremes(student_fn, ref_fn, hint: str, mistakes=lambda x: ()) -> None:
    """``student_fn`` matches ``ref_fn`` on ``_extremes`` in float32 and float64;
    ``mistakes(x)`` gives the known wrong answers at float64 ``x``."""
    for dtype in DTYPES:
        x = _extremes(dtype)
        _elementwise(student_fn, ref_fn, x, f"{ref_fn.__name__} of {_name(dtype)} inputs up to "
                     "1000", mistakes=mistakes(x.double()), hint=hint)


def _derivative_is_right(
    student_fn, f, name: str, mistakes, hint: str, dtypes=(torch.float32,)
) -> None:
    """``student_fn`` keeps each of ``dtypes``, and in float64 is f's derivative by autograd and
    by central differences; ``mistakes(x)`` gives the known wrong derivatives at ``x``."""
    x = _points()
    for dtype in dtypes:
        _same_dtype(student_fn(x.to(dtype)), x.to(dtype), name)
    assert_derivative(
        student_fn(x), autograd=autograd_derivative(f, x), numeric=central_difference(f, x),
        what=f"{name}(x)", at=("x", x), mistakes=mistakes(x), hint=hint,
    )


# --- sigmoid -------------------------------------------------------------------------------


@check(function="sigmoid", category="correctness", points=2)
def sigmoid_matches_the_reference(student, ref):
    """sigmoid matches 1 / (1 + exp(-x)) on tensors of several shapes, in float32 and float64."""
    for shape in SHAPES:
        for dtype in DTYPES:
            x = _inputs(shape, dtype)
            _elementwise(student.sigmoid, ref.sigmoid, x,
                         f"sigmoid of a {_name(dtype)} tensor of shape {shape}",
                         mistakes=[Mistake("that is sigmoid(-x): the exponent is -x, "
                                           "1 / (1 + exp(-x))", lambda x=x: ref.sigmoid(-x))])


@check(function="sigmoid", category="stability", points=2)
def sigmoid_survives_large_inputs(student, ref):
    """sigmoid stays finite and exact for |x| far beyond exp's overflow, in float32 and float64."""
    _survives_extremes(student.sigmoid, ref.sigmoid,
                       hint=f"{OVERFLOW_HINT}: exp(x) / (1 + exp(x)) is inf / inf = NaN for large "
                       "x; use exp(-|x|) in both signs' formulas")


@check(function="sigmoid", category="gradient", points=1)
def sigmoid_gradient_is_finite_and_right(student, ref):
    """autograd through sigmoid gives the reference's gradient, at x = 0 and up to |x| = 1000."""
    x = torch.cat([_points(16), _extremes(torch.float64)])
    x = x[x != 0]  # 0 has a trap of its own, below
    assert_gradients_match(
        student, ref, "sigmoid", (x,), names=("x",),
        hint="for x below -709 exp(-x) is inf, and autograd's gradient of 1 / (1 + exp(-x)) is "
        "inf * 0 = NaN though its value is right. With z = exp(-|x|), which never overflows: "
        "1 / (1 + z) for x >= 0, z / (1 + z) below; torch.where differentiates both branches, "
        "so both must stay finite",
    )
    assert_gradients_match(
        student, ref, "sigmoid", (torch.zeros(3, dtype=torch.float64),), names=("x = 0",),
        hint="autograd takes the derivative of |x| at 0 to be 0, which loses sigmoid's slope of "
        "1/4 at x = 0: write exp(-|x|) as torch.exp(torch.where(x >= 0, -x, x))",
    )


add_from_scratch_check(assignment, "sigmoid", points=1, sample=lambda: (torch.randn(5),))


# --- sigmoid_grad --------------------------------------------------------------------------


def _sigmoid_grad_mistakes(x: torch.Tensor, ref) -> list[Mistake]:
    s = ref.sigmoid(x)
    return [
        Mistake("that is x(1 - x): the formula s(1 - s) takes the sigmoid's output; compute "
                "s = sigmoid(x) first", lambda: x * (1 - x)),
        Mistake("that is s(1 + s); d sigmoid / dx = s(1 - s)", lambda: s * (1 + s)),
        Mistake("that is the sigmoid itself, not its derivative", lambda: s),
        Mistake("the denominator is not squared: exp(-x) / (1 + exp(-x))^2",
                lambda: torch.exp(-x) / (1 + torch.exp(-x))),
        Mistake("that is 1 - s^2, tanh's pattern; the sigmoid's is s(1 - s)", lambda: 1 - s**2),
    ]


@check(function="sigmoid_grad", category="gradient", points=3)
def sigmoid_grad_matches_autograd_and_differences(student, ref):
    """sigmoid_grad agrees with autograd and central differences of sigmoid (float64)."""
    _derivative_is_right(student.sigmoid_grad, ref.sigmoid, "sigmoid_grad",
                         lambda x: _sigmoid_grad_mistakes(x, ref),
                         hint="d sigmoid / dx = sigmoid(x) (1 - sigmoid(x))")


@check(function="sigmoid_grad", category="stability", points=1)
def sigmoid_grad_survives_large_inputs(student, ref):
    """sigmoid_grad stays finite (and near 0) for |x| up to 1000, and is 1/4 at 0."""
    _survives_extremes(student.sigmoid_grad, ref.sigmoid_grad,
                       hint=f"{OVERFLOW_HINT}; write it with sigmoid(x), which stays in [0, 1]",
                       mistakes=lambda x: _sigmoid_grad_mistakes(x, ref))


add_from_scratch_check(assignment, "sigmoid_grad", points=1, hint=DERIVE_HINT,
                       sample=lambda: (torch.randn(5),))


# --- tanh_grad -----------------------------------------------------------------------------


def _tanh_grad_mistakes(x: torch.Tensor) -> list[Mistake]:
    t = torch.tanh(x)
    return [
        Mistake("that is 1 - x^2: the formula 1 - t^2 takes tanh's output; compute "
                "t = tanh(x) first", lambda: 1 - x**2),
        Mistake("the square is missing: d tanh / dx = 1 - tanh(x)^2", lambda: 1 - t),
        Mistake("that is tanh(x)^2; the derivative is 1 - tanh(x)^2", lambda: t**2),
        Mistake("that is 1 + tanh(x)^2; the derivative is 1 - tanh(x)^2", lambda: 1 + t**2),
        Mistake("that is the second derivative, -2 tanh(x) (1 - tanh(x)^2)",
                lambda: -2 * t * (1 - t**2)),
    ]


@check(function="tanh_grad", category="gradient", points=3)
def tanh_grad_matches_autograd_and_differences(student, ref):
    """tanh_grad agrees with autograd and central differences of tanh (float64)."""
    _derivative_is_right(student.tanh_grad, torch.tanh, "tanh_grad", _tanh_grad_mistakes,
                         hint="d tanh / dx = 1 - tanh(x)^2")


@check(function="tanh_grad", category="stability", points=1)
def tanh_grad_survives_large_inputs(student, ref):
    """tanh_grad stays finite (and near 0) for |x| up to 1000, and is 1 at 0."""
    _survives_extremes(student.tanh_grad, ref.tanh_grad, mistakes=_tanh_grad_mistakes,
                       hint=f"{OVERFLOW_HINT}: (exp(x) - exp(-x)) / (exp(x) + exp(-x)) is inf / "
                       "inf; torch.tanh is allowed")


add_from_scratch_check(assignment, "tanh_grad", points=1, hint=DERIVE_HINT,
                       sample=lambda: (torch.randn(5),))


# --- relu_grad -----------------------------------------------------------------------------


@check(function="relu_grad", category="gradient", points=2)
def relu_grad_matches_autograd_and_differences(student, ref):
    """relu_grad is 1 for x > 0 and 0 for x < 0, as a float tensor of x's dtype (float64)."""
    _derivative_is_right(
        student.relu_grad, torch.relu, "relu_grad",
        lambda x: [Mistake("that is ReLU itself, max(x, 0), not its derivative",
                           lambda: x.clamp(min=0)),
                   Mistake("the cases are swapped: 1 where x > 0, 0 elsewhere",
                           lambda: (x <= 0).double())],
        hint="ReLU's slope is 1 where x > 0 and 0 where x < 0",
        dtypes=DTYPES,  # float64 too: 0 and 1 are exact in float32, the bands would not tell
    )


@check(function="relu_grad", category="semantics", points=1)
def relu_grad_is_zero_at_the_kink(student, ref):
    """At x = 0 relu_grad is 0, the left derivative the book uses; just above 0 it is 1."""
    x = torch.tensor([0.0, -0.0, 1e-300, -1e-300, 5e-324, 1.0], dtype=torch.float64)
    assert_close(
        student.relu_grad(x), ref.relu_grad(x), what="relu_grad at 0, -0 and tiny inputs",
        mistakes=[Mistake("at exactly 0 the book takes the left derivative, 0: use x > 0, "
                          "not x >= 0", lambda: (x >= 0).double())],
        hint="1 where x > 0, 0 where x <= 0",
    )


add_from_scratch_check(assignment, "relu_grad", points=1, hint=DERIVE_HINT,
                       sample=lambda: (torch.randn(5),))
add_device_check(assignment, "relu_grad", points=1, sample=lambda: (torch.randn(5),))


# --- softmax_jacobian ----------------------------------------------------------------------


def _jacobian_mistakes(o: torch.Tensor, ref) -> list[Mistake]:
    p = ref.softmax(o)
    return [
        Mistake("the diagonal is missing: for i = j the derivative is p_i (1 - p_i), so "
                "J = diag(p) - outer(p, p)", lambda: -torch.outer(p, p)),
        Mistake("only the diagonal is there: for i != j the derivative is -p_i p_j",
                lambda: torch.diag(p * (1 - p))),
        Mistake("the sign is flipped: J = diag(p) - outer(p, p)",
                lambda: torch.outer(p, p) - torch.diag(p)),
        Mistake("diag(p) - p broadcasts p along the rows; the off-diagonal part is the outer "
                "product, torch.outer(p, p)", lambda: torch.diag(p) - p),
        Mistake("the exponentials are not normalized: p = softmax(o) sums to 1",
                lambda: torch.diag(torch.exp(o)) - torch.outer(torch.exp(o), torch.exp(o))),
    ]


@check(function="softmax_jacobian", category="gradient", points=3)
def softmax_jacobian_matches_autograd_and_differences(student, ref):
    """softmax_jacobian(o) matches torch.autograd.functional.jacobian of softmax, q = 1 to 10."""
    for q in (1, 2, 5, 10):
        o = _inputs((q,), torch.float64)
        assert_derivative(
            student.softmax_jacobian(o),
            autograd=torch.autograd.functional.jacobian(ref.softmax, o),
            numeric=numeric_jacobian(ref.softmax, o), what=f"softmax_jacobian of {q} logits",
            mistakes=_jacobian_mistakes(o, ref),
            hint="d p_i / d o_j = p_i (delta_ij - p_j): diag(p) - outer(p, p), whose rows sum to 0",
        )


@check(function="softmax_jacobian", category="stability", points=2)
def softmax_jacobian_survives_large_logits(student, ref):
    """softmax_jacobian stays finite and right for logits of 1000, in float32 and float64."""
    cases = [torch.tensor([1000.0, 999.0, 0.0]), torch.tensor([1000.0, 1000.0, 1000.0]),
             torch.tensor([-1000.0, 0.0, 1000.0]), torch.tensor([-120.0, -110.0, -130.0]),
             torch.tensor([710.0, 0.0, 709.0], dtype=torch.float64)]
    for o in cases:
        actual = student.softmax_jacobian(o)
        _same_dtype(actual, o, "softmax_jacobian")
        assert_close(actual, ref.softmax_jacobian(o), what=f"softmax_jacobian of {o.tolist()}",
                     cond=o, mistakes=_jacobian_mistakes(o.double(), ref),
                     hint=SHIFT_HINT)


add_from_scratch_check(assignment, "softmax_jacobian", points=1, hint=DERIVE_HINT,
                       sample=lambda: (torch.randn(4),))
add_device_check(assignment, "softmax_jacobian", points=1, sample=lambda: (torch.randn(4),))


# --- softmax_cross_entropy_grad ------------------------------------------------------------


def _loss(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The summed cross-entropy: its gradient holds every example's own gradient."""
    return F.cross_entropy(logits, y, reduction="sum")


def softmax_covariance(p: torch.Tensor) -> torch.Tensor:
    """diag(p_i) - p_i p_iᵀ for each row p_i of p, laid out as the Hessian of the summed loss in
    the logits: (n, q, n, q), zero between different examples."""
    n, q = p.shape
    covariance = torch.zeros(n, q, n, q, dtype=p.dtype)
    for i in range(n):
        covariance[i, :, i, :] = torch.diag(p[i]) - torch.outer(p[i], p[i])
    return covariance


def _ce_mistakes(logits: torch.Tensor, y: torch.Tensor, ref) -> list[Mistake]:
    p, onehot = ref.softmax(logits), F.one_hot(y, logits.shape[1]).double()
    return [
        Mistake("each row was divided by n: return every example's own gradient, without "
                "averaging over the batch", lambda: (p - onehot) / len(y)),
        Mistake("the sign is flipped: the gradient is softmax(o) - onehot(y)",
                lambda: onehot - p),
        Mistake("onehot(y) is missing: the gradient is softmax(o) - onehot(y)", lambda: p),
        Mistake("the exponentials are not normalized: softmax(o) - onehot(y)",
                lambda: torch.exp(logits) - onehot),
        Mistake("that is log_softmax(o) - onehot(y); the gradient has softmax(o)",
                lambda: torch.log(p) - onehot),
    ]


@check(function="softmax_cross_entropy_grad", category="gradient", points=3)
def softmax_cross_entropy_grad_matches_autograd_and_differences(student, ref):
    """softmax_cross_entropy_grad gives softmax(o) - onehot(y) per example, as autograd does."""
    logits, y = _inputs((6, 5), torch.float64), torch.randint(0, 5, (6,))
    assert_derivative(
        student.softmax_cross_entropy_grad(logits, y),
        autograd=autograd_derivative(lambda o: _loss(o, y), logits),
        numeric=numeric_jacobian(lambda o: _loss(o, y), logits),
        what="softmax_cross_entropy_grad of 6 examples, 5 classes", at=("logits", logits),
        mistakes=_ce_mistakes(logits, y, ref),
        hint="d/do of -log softmax(o)_y is softmax(o) - onehot(y)",
    )


@check(function="softmax_cross_entropy_grad", category="gradient", points=2)
def softmax_cross_entropy_hessian_is_the_softmax_covariance(student, ref):
    """Its Jacobian, the loss's Hessian, is diag(p) - p pᵀ per example: softmax(o)'s covariance."""
    n, q = 3, 4
    logits, y = _inputs((n, q), torch.float64), torch.randint(0, q, (n,))
    jacobian = student.probe(probes.jacobian_by_differences, logits=logits, y=y)
    covariance = softmax_covariance(ref.softmax(logits))  # (n, q, n, q)
    assert_close(
        jacobian, covariance, rtol=1e-5, atol=1e-8,
        what="the Jacobian of softmax_cross_entropy_grad (central differences) vs "
        "diag(p) - p pᵀ",
        mistakes=[Mistake("the Hessian came out divided by n: return every example's own "
                          "gradient, without averaging", lambda: covariance / n),
                  Mistake("the Hessian came out negated: the gradient is softmax(o) - onehot(y), "
                          "and the loss is convex", lambda: -covariance)],
        hint="the gradient is softmax(o) - onehot(y); its Jacobian is diag(p) - p pᵀ per "
        "example, and zero between examples",
    )


@check(function="softmax_cross_entropy_grad", category="stability", points=2)
def softmax_cross_entropy_grad_survives_large_logits(student, ref):
    """softmax_cross_entropy_grad stays finite and right for logits of 1000 and -1000."""
    logits = torch.tensor([[1000.0, 0.0, -1000.0], [1000.0, 1000.0, 0.0],
                           [-1000.0, -999.0, -1001.0], [89.0, 90.0, 100.0]])
    y = torch.tensor([0, 1, 2, 0])
    for dtype in DTYPES:
        actual = student.softmax_cross_entropy_grad(logits.to(dtype), y)
        _same_dtype(actual, logits.to(dtype), "softmax_cross_entropy_grad")
        assert_close(actual, ref.softmax_cross_entropy_grad(logits.to(dtype), y),
                     what=f"softmax_cross_entropy_grad of {_name(dtype)} logits up to 1000",
                     cond=logits.to(dtype),
                     mistakes=_ce_mistakes(logits.double(), y, ref),
                     hint=SHIFT_HINT)


add_from_scratch_check(
    assignment, "softmax_cross_entropy_grad", points=1, hint=DERIVE_HINT,
    sample=lambda: (torch.randn(3, 4), torch.tensor([0, 3, 1])),
)
add_device_check(assignment, "softmax_cross_entropy_grad", points=1,
                 sample=lambda: (torch.randn(3, 4), torch.tensor([0, 3, 1])))


# --- squared_loss_grad ---------------------------------------------------------------------


@check(function="squared_loss_grad", category="gradient", points=3)
def squared_loss_grad_matches_autograd_and_differences(student, ref):
    """squared_loss_grad is y_hat - y in y_hat's shape, for y of shape (n,) and (n, 1)."""
    y_hat = _inputs((8, 1), torch.float64)
    for y in (_inputs((8,), torch.float64), _inputs((8, 1), torch.float64)):

        def loss(p, y=y):
            return ((p - y.reshape(p.shape)) ** 2 / 2).sum()

        delta = y_hat - y.reshape(y_hat.shape)
        assert_derivative(
            student.squared_loss_grad(y_hat, y), autograd=autograd_derivative(loss, y_hat),
            numeric=numeric_jacobian(loss, y_hat),
            what=f"squared_loss_grad for y of shape {tuple(y.shape)}", at=("y_hat", y_hat),
            mistakes=[
                Mistake("y of shape (n,) broadcast against y_hat's (n, 1) into (n, n): reshape "
                        "y to y_hat's shape first", lambda y=y: y_hat - y),
                Mistake("the factor 2 should cancel: the book's loss is (y_hat - y)^2 / 2, so "
                        "its derivative is y_hat - y", lambda d=delta: 2 * d),
                Mistake("the sign is flipped: the derivative is y_hat - y", lambda d=delta: -d),
                Mistake("divided by n: return each example's own gradient",
                        lambda d=delta: d / len(d)),
            ],
            hint="d/dy_hat of (y_hat - y)^2 / 2 is y_hat - y",
        )


add_from_scratch_check(assignment, "squared_loss_grad", points=1, hint=DERIVE_HINT,
                       sample=lambda: (torch.randn(4, 1), torch.randn(4)))


# --- real_softmax --------------------------------------------------------------------------

LSE_HINT = ("with m = max(a, b): log(exp(a) + exp(b)) = m + log(exp(a - m) + exp(b - m)); "
            "both exponentials are at most 1")


@check(function="real_softmax", category="correctness", points=2)
def real_softmax_matches_the_reference(student, ref):
    """real_softmax(a, b) = log(exp(a) + exp(b)) on moderate inputs, in float32 and float64."""
    for dtype in DTYPES:
        a, b = _inputs((16,), dtype), _inputs((16,), dtype)
        actual = student.real_softmax(a, b)
        _same_dtype(actual, a, "real_softmax")
        assert_close(actual, ref.real_softmax(a, b), what=f"real_softmax of {_name(dtype)} inputs",
                     mistakes=[Mistake("that is log(exp(a) * exp(b)) = a + b: add the "
                                       "exponentials", lambda a=a, b=b: a + b),
                               Mistake("that is max(a, b) alone: the log(1 + exp(-|a - b|)) "
                                       "term is missing", lambda a=a, b=b: torch.maximum(a, b))])


@check(function="real_softmax", category="stability", points=2)
def real_softmax_survives_large_inputs(student, ref):
    """real_softmax(1000, 1000) = 1000 + log 2, and stays finite for inputs of ±1000."""
    pairs = [(1000.0, 1000.0), (-1000.0, -1000.0), (1000.0, -1000.0), (-1000.0, 1000.0),
             (88.8, 88.7), (-200.0, -201.0)]
    a = torch.tensor([p[0] for p in pairs])
    b = torch.tensor([p[1] for p in pairs])
    for dtype in DTYPES:
        assert_close(student.real_softmax(a.to(dtype), b.to(dtype)),
                     ref.real_softmax(a.to(dtype), b.to(dtype)),
                     what=f"real_softmax of {_name(dtype)} inputs up to 1000", hint=LSE_HINT)
    big = torch.tensor([710.0, -745.5]), torch.tensor([709.0, -746.0])
    a64, b64 = (t.double() for t in big)
    assert_close(student.real_softmax(a64, b64), ref.real_softmax(a64, b64),
                 what="real_softmax of float64 inputs past 709.8", hint=LSE_HINT)


@check(function="real_softmax", category="semantics", points=1)
def real_softmax_is_a_soft_maximum(student, ref):
    """max(a, b) <= real_softmax(a, b) <= max(a, b) + log 2, for inputs scaled up to 1e4."""
    a, b = torch.randn(8, dtype=torch.float64), torch.randn(8, dtype=torch.float64)
    scales = torch.tensor([1.0, 10.0, 100.0, 1e3, 1e4], dtype=torch.float64)[:, None]  # (5, 1)
    A, B = scales * a, scales * b  # (5, 8)
    top = torch.maximum(A, B)
    r = as_tensor(student.real_softmax(A, B), "real_softmax").double()
    if r.shape != A.shape:
        fail(f"real_softmax of two (5, 8) tensors has shape {tuple(r.shape)}")
    slack = 1e-12 * top.abs().clamp_min(1)
    below, above = r < top - slack, r > top + math.log(2) + slack
    bad = below | above | ~torch.isfinite(r)
    if bad.any():
        i, j = bad.nonzero()[0].tolist()
        # Within log 2 of the max: real_softmax(λa, λb) / λ tends to max(a, b), a soft maximum.
        fail(f"real_softmax({A[i, j]:.6g}, {B[i, j]:.6g}) = {r[i, j]:.6g}, but it should lie "
             f"between max(a, b) = {top[i, j]:.6g} and max(a, b) + log 2",
             "exp(a) + exp(b) lies between exp(max) and 2 exp(max); " + LSE_HINT)


@check(function="real_softmax", category="gradient", points=1)
def real_softmax_gradients_are_right(student, ref):
    """autograd through real_softmax gives (σ(a - b), σ(b - a)), also for inputs of ±1000."""
    a = torch.cat([_inputs((8,), torch.float64), torch.tensor([1000.0, -1000.0, 500.0]).double()])
    b = torch.cat([_inputs((8,), torch.float64), torch.tensor([-1000.0, 1000.0, 499.0]).double()])
    assert_gradients_match(student, ref, "real_softmax", (a, b), wrt=(0, 1), names=("a", "b"),
                           hint=WHERE_HINT.replace("exp(-|x|)", "exp(-|a - b|)"))


add_from_scratch_check(
    assignment, "real_softmax", points=1, hint="write {function} from torch.exp, torch.log or "
    "torch.log1p and torch.maximum", sample=lambda: (torch.randn(4), torch.randn(4)),
)


# --- update rules --------------------------------------------------------------------------


def _pair(out, function: str, state: str) -> tuple[torch.Tensor, torch.Tensor]:
    if not (isinstance(out, (tuple, list)) and len(out) == 2):
        fail(f"{function} returned {describe(out)}; it should return a pair of tensors",
             f"return new_param, new_{state}")
    return (as_tensor(out[0], f"{function}'s new parameter"),
            as_tensor(out[1], f"{function}'s new {state}"))


def _assert_steps(
    student, ref, function: str, names: tuple[str, str, str], rule: str, **hyper: float
) -> None:
    """Five steps on a parameter of 6 entries: the same trajectory, inputs never changed."""
    param, state = torch.randn(6, dtype=torch.float64), torch.zeros(6, dtype=torch.float64)
    grads = [torch.randn(6, dtype=torch.float64) for _ in range(5)]
    kwargs = {"param": param, "grads": grads, "state": state, "names": names, **hyper}
    got = student.probe(probes.update_steps, **kwargs)
    expected = ref.probe(probes.update_steps, **kwargs)
    for step, changed in enumerate(got["changed"], start=1):
        if changed:
            fail(f"{function} changed its input `{changed[0]}` in place (step {step}); the "
                 "caller's tensors must stay as they were", IN_PLACE_HINT.format(name=changed[0]))
    if got["bad"] is not None:
        _pair(got["bad"], function, names[2])
    for step, (p, s, ep, es) in enumerate(zip(got["params"], got["states"], expected["params"],
                                              expected["states"], strict=True), start=1):
        assert_close(p, ep, what=f"the parameter after step {step} of 5", hint=rule)
        assert_close(s, es, what=f"the {names[2]} after step {step} of 5", hint=rule)


def _adagrad_mistakes(param, grad, state, lr, eps) -> list[Mistake]:
    s = state + grad**2
    return [
        Mistake("eps belongs inside the square root: lr * g / sqrt(s + eps), as in the book",
                lambda: param - lr * grad / (torch.sqrt(s) + eps)),
        Mistake("the step used the state before adding this gradient's square: update the "
                "state first", lambda: param - lr * grad / torch.sqrt(state + eps)),
        Mistake("the square root is missing: lr * g / sqrt(s + eps)",
                lambda: param - lr * grad / (s + eps)),
        Mistake("the state holds only this step's g^2: Adagrad sums the squares of all past "
                "gradients", lambda: param - lr * grad / torch.sqrt(grad**2 + eps)),
    ]


@check(function="adagrad_update", category="correctness", points=2)
def adagrad_update_matches_the_reference(student, ref):
    """One Adagrad step: s + g² and param - lr g / sqrt(s + g² + eps), eps by default 1e-6."""
    param, state = torch.randn(6, dtype=torch.float64), torch.rand(6, dtype=torch.float64)
    grad = torch.tensor([0.5, -2.0, 1e-4, -1e-3, 0.0, 3.0], dtype=torch.float64)
    for eps in (None, 0.1):
        kwargs = {} if eps is None else {"eps": eps}
        new_param, new_state = _pair(student.adagrad_update(param, grad, state, 0.1, **kwargs),
                                     "adagrad_update", "state")
        e_param, e_state = ref.adagrad_update(param, grad, state, 0.1, **kwargs)
        assert_close(new_state, e_state, what="the new state",
                     hint="the state adds this gradient's square: s + g^2",
                     mistakes=[Mistake("the state holds only g^2: add it to the old state",
                                       lambda: grad**2)])
        assert_close(new_param, e_param, what=f"the new parameter (eps={eps or 'default'})",
                     mistakes=_adagrad_mistakes(param, grad, state, 0.1, eps or 1e-6))


@check(function="adagrad_update", category="semantics", points=2)
def adagrad_update_steps_and_leaves_its_inputs_alone(student, ref):
    """Five Adagrad steps follow the reference, and no call changes param, grad or state."""
    _assert_steps(student, ref, "adagrad_update", ("param", "grad", "state"),
                  "each step: s = s + g^2, then param - lr * g / sqrt(s + eps)", lr=0.1)


add_from_scratch_check(
    assignment, "adagrad_update", points=1, hint="write the update with tensor arithmetic",
    sample=lambda: (torch.randn(3), torch.randn(3), torch.rand(3), 0.1),
)


@check(function="momentum_update", category="correctness", points=2)
def momentum_update_matches_the_reference(student, ref):
    """One momentum step: v = beta v + g, then param - lr v."""
    param, grad, velocity = (torch.randn(6, dtype=torch.float64) for _ in range(3))
    lr, beta = 0.1, 0.9
    new_param, new_velocity = _pair(student.momentum_update(param, grad, velocity, lr, beta),
                                    "momentum_update", "velocity")
    e_param, e_velocity = ref.momentum_update(param, grad, velocity, lr, beta)
    assert_close(new_velocity, e_velocity, what="the new velocity", mistakes=[
        Mistake("that is a leaky average, beta v + (1 - beta) g; the book's momentum adds the "
                "whole gradient: v = beta v + g", lambda: beta * velocity + (1 - beta) * grad),
        Mistake("that is -lr times the book's velocity (v = beta v - lr g, param + v): the same "
                "steps, but keep the book's v = beta v + g and param - lr v",
                lambda: beta * velocity - lr * grad),
    ], hint="v = beta * v + g")
    assert_close(new_param, e_param, what="the new parameter", mistakes=[
        Mistake("the step used the old velocity: compute the new one first, then param - lr v",
                lambda: param - lr * velocity),
        Mistake("the step went uphill: param - lr v", lambda: param + lr * e_velocity),
        Mistake("the step used the gradient alone: param - lr v with the new velocity",
                lambda: param - lr * grad),
    ], hint="param - lr * v, with the new v")


@check(function="momentum_update", category="semantics", points=2)
def momentum_update_steps_and_leaves_its_inputs_alone(student, ref):
    """Five momentum steps follow the reference, and no call changes param, grad or velocity."""
    _assert_steps(student, ref, "momentum_update", ("param", "grad", "velocity"),
                  "each step: v = beta * v + g, then param - lr * v", lr=0.1, beta=0.9)


add_from_scratch_check(
    assignment, "momentum_update", points=1, hint="write the update with tensor arithmetic",
    sample=lambda: (torch.randn(3), torch.randn(3), torch.zeros(3), 0.1, 0.9),
)
