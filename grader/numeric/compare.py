"""Comparisons for checks: tolerances by dtype, failures in numbers, known mistakes by name.

Everything compared here came back from the student's process as plain data; nothing here calls
student code.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

import torch

from grader.outcomes import GraderError

# (rtol, atol) by dtype: torch.testing's defaults, documented there.
TOLERANCES: dict[torch.dtype, tuple[float, float]] = {
    torch.float64: (1e-7, 1e-7),
    torch.float32: (1.3e-6, 1e-5),
    torch.float16: (1e-3, 1e-5),
    torch.bfloat16: (1.6e-2, 1e-5),
}
# A result computed from inputs of magnitude m can only be known to about m * eps of their dtype:
# float32 holds 1000 to 6e-5 and 1e4 to 1e-3, so every sound formulation (max-shift,
# logsumexp-shift, exp(log_softmax)) rounds differently there. ``cond=`` forgives this much.
ROUNDING_ULPS = 8


class CheckFailed(GraderError):
    """The student's code ran, and what it did is wrong. ``hint`` names the likely mistake;
    ``answer`` identifies the wrong answer without holding it (``answer_digest``), by default
    a digest of the message, which says what came out."""

    def __init__(self, message: str, hint: str = "", answer: str = "") -> None:
        super().__init__(message)
        self.message, self.hint = message, hint
        self.answer = answer or _digest(message.encode())


@dataclass(frozen=True)
class Opaque:
    """A returned object the wire cannot carry, named by its type (e.g. a generator)."""

    type_name: str

    def __repr__(self) -> str:
        return f"<{self.type_name} object>"


@dataclass(frozen=True)
class Mistake:
    """A known wrong answer: ``compute`` gives what code with that mistake would return."""

    hint: str
    compute: Callable[[], Any]

    def matches(self, actual: torch.Tensor, rtol: float, atol: float) -> bool:
        try:
            wrong = torch.as_tensor(self.compute()).to(torch.float64)
        except Exception:  # a mistake that cannot even be computed here does not match
            return False
        if wrong.shape != actual.shape:
            return False
        return bool(torch.isclose(actual.double(), wrong, rtol=rtol, atol=atol).all())


def fail(message: str, hint: str = "", answer: str = "") -> NoReturn:
    __tracebackhide__ = True
    raise CheckFailed(message, hint, answer)


def answer_digest(actual: torch.Tensor, wrong: torch.Tensor) -> str:
    """What tells one wrong answer from another without holding it: its shape, which entries
    are wrong (``wrong``, a mask of its shape) and their mean and mean magnitude to three
    significant digits. Two ways of making one mistake agree here though they round
    differently (their wrong entries are the same, their means agree far beyond three digits);
    the values themselves cannot be recovered from it."""
    picked = actual.double()[wrong].nan_to_num(nan=1e300, posinf=1e301, neginf=-1e301)
    means = (picked.mean().item(), picked.abs().mean().item()) if picked.numel() else (0.0, 0.0)
    summary = f"{tuple(actual.shape)}:{means[0]:.3g}:{means[1]:.3g}:".encode()
    return _digest(summary + wrong.to(torch.uint8).cpu().numpy().tobytes())


def _digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=8).hexdigest()


def as_number(value: Any, what: str = "the result") -> float:
    """A Python number or one-element tensor as a float; anything else fails the check."""
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        return float(value.double().item())
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    fail(f"{what} should be a number, got {describe(value)}")


def as_tensor(value: Any, what: str = "the result") -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        return value
    fail(f"{what} should be a tensor, got {describe(value)}")


def describe(value: Any) -> str:
    """A short, human description of a returned value."""
    if isinstance(value, torch.Tensor):
        return f"a {str(value.dtype).removeprefix('torch.')} tensor of shape {shape(value)}"
    if isinstance(value, Opaque):
        return f"a {value.type_name} object"
    if isinstance(value, (tuple, list)):
        kind = type(value).__name__
        return f"a {kind} of {len(value)}: ({', '.join(describe(v) for v in value[:4])})"
    if value is None:
        return "None"
    return f"{type(value).__name__} {value!r}"[:200]


def shape(t: torch.Tensor) -> str:
    return "(" + ", ".join(str(s) for s in t.shape) + ("," if t.dim() == 1 else "") + ")"


def assert_close(
    actual: Any,
    expected: torch.Tensor,
    *,
    what: str = "the output",
    rtol: float | None = None,
    atol: float | None = None,
    hint: str = "",
    mistakes: Sequence[Mistake] = (),
    exact_shape: bool = True,
    cond: torch.Tensor | None = None,
) -> None:
    """Fail unless ``actual`` matches ``expected`` entry by entry.

    Args:
        actual: what the student's code returned.
        expected: the reference's answer.
        what: names the value in the message ("softmax(X)").
        rtol, atol: tolerances; by default from ``TOLERANCES`` for the coarser dtype of the two.
        hint: said when the failure matches none of ``mistakes``.
        mistakes: known wrong answers; the first one ``actual`` matches names the hint.
        exact_shape: if false, an actual of the same number of entries is reshaped to compare.
        cond: the input the result was computed from; atol grows to ``conditioned_atol(cond)``,
            the rounding that input's magnitude makes unavoidable in its dtype.
    """
    __tracebackhide__ = True
    if isinstance(actual, (int, float)) and not isinstance(actual, bool) and expected.numel() == 1:
        actual = torch.tensor(float(actual), dtype=torch.float64)
    actual = as_tensor(actual, what).detach()
    d_rtol, d_atol = _default_tolerance(actual, expected)
    rtol, atol = (d_rtol if rtol is None else rtol), (d_atol if atol is None else atol)
    if cond is not None:
        atol = max(atol, conditioned_atol(cond))
    a, e = conform(actual, expected, what=what, hint=hint, mistakes=mistakes, rtol=rtol,
                   atol=atol, exact_shape=exact_shape)
    close = torch.isclose(a, e, rtol=rtol, atol=atol, equal_nan=True)
    if not close.all():
        message = _mismatch(what, a, e, close, rtol, atol)
        fail(message, named_mistake(a, rtol, atol, mistakes) or hint, answer_digest(a, ~close))


def conditioned_atol(cond: torch.Tensor) -> float:
    """The absolute error rounding alone allows in a result computed from ``cond``:
    ROUNDING_ULPS eps of ``cond``'s dtype, times its largest magnitude (at least 1)."""
    dtype = cond.dtype if cond.is_floating_point() else torch.float32
    return ROUNDING_ULPS * torch.finfo(dtype).eps * float(cond.detach().abs().max().clamp_min(1.0))


def conform(
    actual: Any, expected: torch.Tensor, *, what: str, hint: str = "",
    mistakes: Sequence[Mistake] = (), rtol: float = 1e-4, atol: float = 1e-5,
    exact_shape: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``actual`` and ``expected`` as float64 tensors of one shape, or a failure that says why.

    Fails on a non-tensor, a wrong shape, or a non-finite entry where the answer is finite; the
    first of ``mistakes`` that ``actual`` matches within ``rtol``/``atol`` names the hint.
    """
    __tracebackhide__ = True
    actual = as_tensor(actual, what).detach()
    expected = expected.detach()
    if actual.shape != expected.shape:
        if exact_shape or actual.numel() != expected.numel():
            fail(
                f"{what} has shape {shape(actual)}, expected {shape(expected)}",
                named_mistake(actual, rtol, atol, mistakes) or hint,
            )
        actual = actual.reshape(expected.shape)
    if actual.dtype.is_floating_point is False and expected.dtype.is_floating_point:
        actual = actual.to(expected.dtype)
    a, e = actual.double(), expected.double()
    bad_nonfinite = ~torch.isfinite(a) & torch.isfinite(e)
    if bad_nonfinite.any():
        first = format_index(bad_nonfinite.nonzero()[0])
        fail(
            f"{what} has {int(bad_nonfinite.sum())} non-finite entries of {a.numel()} where the "
            f"answer is finite: first at {first}, {a[tuple(bad_nonfinite.nonzero()[0])].item()} "
            f"instead of {e[tuple(bad_nonfinite.nonzero()[0])].item():.6g}",
            named_mistake(actual, rtol, atol, mistakes) or hint,
        )
    return a, e


def _default_tolerance(a: torch.Tensor, e: torch.Tensor) -> tuple[float, float]:
    pairs = [TOLERANCES.get(t.dtype, TOLERANCES[torch.float32]) for t in (a, e)]
    return max(p[0] for p in pairs), max(p[1] for p in pairs)


def format_index(idx: torch.Tensor) -> str:
    return "[" + ", ".join(str(int(i)) for i in idx) + "]"


def _mismatch(
    what: str, a: torch.Tensor, e: torch.Tensor, close: torch.Tensor, rtol: float, atol: float
) -> str:
    err = (a - e).abs().nan_to_num(nan=float("inf"))
    flat = int(torch.argmax(err.reshape(-1)))
    where = torch.unravel_index(torch.tensor(flat), e.shape) if e.dim() else ()
    at = format_index(torch.stack(where)) if e.dim() else "the only entry"
    rel = (err / e.abs().clamp_min(1e-30)).reshape(-1)[flat]
    wrong = int((~close).sum())
    return (
        f"{what}: {wrong} of {e.numel()} entries differ; max abs error {float(err.max()):.2g} "
        f"(relative {float(rel):.2g}) at {at}: got {a.reshape(-1)[flat].item():.6g}, expected "
        f"{e.reshape(-1)[flat].item():.6g} (tolerance {atol:.0e} + {rtol:.1e}·|expected|)"
    )


def named_mistake(
    actual: torch.Tensor, rtol: float, atol: float, mistakes: Sequence[Mistake]
) -> str:
    """The hint of the first of ``mistakes`` that ``actual`` matches, or ""."""
    for mistake in mistakes:
        if mistake.matches(actual, max(rtol, 1e-4), max(atol, 1e-5)):
            return mistake.hint
    return ""
