"""Gradient checks: a hand-derived derivative against autograd and central differences.

The truth comes from two independent sources computed here in the parent, on the reference:
autograd, exact to float64 rounding, and central differences, which need no autograd at all.
The error is reported the way gradient checks usually are, as a relative error in bands: below
1e-7 the derivative is right, between 1e-7 and 1e-4 only a kink or float32 would explain it,
above 1e-2 it is wrong.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from grader.numeric.compare import Mistake, conform, fail, format_index, named_mistake

GOOD = 1e-7  # against autograd in float64, a right derivative stays below this
ACCEPTABLE = 1e-4  # central differences (h = 1e-5, float64) are accurate to about 1e-8 to 1e-6
WRONG = 1e-2
STEP = 1e-5  # central differences: truncation h^2 ~ 1e-10, rounding 1e-16 / h ~ 1e-11


def relative_error(actual: torch.Tensor, expected: torch.Tensor) -> torch.Tensor:
    """|a - e| / max(|a|, |e|) entry by entry, in float64.

    The denominator is floored at 1e-6 of the largest |e| (and at 1e-12), so an entry that should
    be zero, or nearly, is judged at the scale of the whole tensor rather than against zero.
    """
    a, e = actual.double(), expected.double()
    floor = 1e-6 * float(e.abs().max()) if e.numel() else 0.0
    scale = torch.maximum(a.abs(), e.abs()).clamp_min(max(floor, 1e-12))
    return ((a - e).abs() / scale).nan_to_num(nan=float("inf"))


def band(error: float) -> str:
    """The usual reading of a gradient check's relative error."""
    if error < GOOD:
        return "good: below 1e-7"
    if error < ACCEPTABLE:
        return "acceptable only at a kink or in float32: 1e-7 to 1e-4"
    if error < WRONG:
        return "suspicious: 1e-4 to 1e-2"
    return "wrong: above 1e-2"


def autograd_derivative(f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor):
    """d f(x)_i / d x_i for an elementwise f, by autograd (also inside ``torch.no_grad``)."""
    with torch.enable_grad():
        x = x.detach().clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(f(x).sum(), x)
    return grad


def central_difference(
    f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, h: float = STEP
) -> torch.Tensor:
    """(f(x + h) - f(x - h)) / 2h for an elementwise f, in float64; no autograd involved."""
    x = x.detach().double()
    with torch.no_grad():
        return (f(x + h) - f(x - h)) / (2 * h)


def numeric_jacobian(
    f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, h: float = STEP
) -> torch.Tensor:
    """The Jacobian of f at x by central differences, shape f(x).shape + x.shape, float64."""
    x = x.detach().double()
    columns = []
    with torch.no_grad():
        for i in range(x.numel()):
            step = torch.zeros(x.numel(), dtype=x.dtype).index_fill_(0, torch.tensor(i), h)
            step = step.reshape(x.shape)
            columns.append((f(x + step) - f(x - step)) / (2 * h))
    return torch.stack(columns, dim=-1).reshape(*columns[0].shape, *x.shape)


def assert_derivative(
    actual: Any, *, autograd: torch.Tensor, numeric: torch.Tensor, what: str,
    at: tuple[str, torch.Tensor] | None = None, mistakes: Sequence[Mistake] = (), hint: str = "",
) -> None:
    """Fail unless ``actual`` agrees with autograd (below 1e-7) and central differences.

    Args:
        actual: the student's derivative.
        autograd: the true derivative by autograd, float64.
        numeric: the same by central differences, float64.
        what: names the value ("sigmoid_grad(x)").
        at: the input's name and value, to say where the worst entry is ("x", x).
        mistakes: known wrong derivatives; the first one ``actual`` matches names the hint.
        hint: said when the failure matches none of ``mistakes``.
    """
    __tracebackhide__ = True
    a, e = conform(actual, autograd, what=what, hint=hint, mistakes=mistakes)
    by_autograd, by_differences = relative_error(a, e), relative_error(a, numeric)
    worst_autograd, worst_differences = float(by_autograd.max()), float(by_differences.max())
    if worst_autograd <= GOOD and worst_differences <= ACCEPTABLE:
        return
    flat = int(torch.argmax(by_autograd.reshape(-1)))
    where = ""
    if e.dim():
        where = format_index(torch.stack(torch.unravel_index(torch.tensor(flat), e.shape)))
    if at is not None and at[1].shape == e.shape:
        place = f" at {at[0]}{where} = {at[1].reshape(-1)[flat].item():.6g}"
    else:
        place = f" at {where}" if e.dim() else ""
    fail(
        f"{what}: max relative error {worst_autograd:.1e} against autograd and "
        f"{worst_differences:.1e} against central differences ({band(worst_autograd)}){place}: "
        f"got {a.reshape(-1)[flat].item():.6g}, expected {e.reshape(-1)[flat].item():.6g}",
        named_mistake(a, 1e-6, 1e-9, mistakes) or hint,
    )
