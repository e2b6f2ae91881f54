"""Building blocks for checks that recur across assignments: gradients and timing."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import torch

from grader.numeric.compare import as_tensor, assert_close, fail
from grader.runner import probes as builtin

DETACHED_HINT = (
    "the result left autograd: avoid .detach(), .numpy(), .item(), .data or torch.tensor(...) "
    "on values computed from the inputs"
)


def assert_gradients_match(
    student, ref, function: str, args: tuple, wrt: tuple[int, ...] = (0,), *,
    names: tuple[str, ...] | None = None, hint: str = "", rtol: float | None = None,
    atol: float | None = None,
) -> None:
    """Autograd through the student's function, with a random cotangent, matches the reference.

    The output is compared first (a non-finite or wrong output fails with ``hint``), then the
    gradient with respect to each argument in ``wrt``, named by ``names``.
    """
    __tracebackhide__ = True
    expected_out = getattr(ref, function)(*args)
    cotangent = torch.randn_like(expected_out)
    got = student.vjp(function, args, cotangent, wrt)
    expected = ref.probe(builtin.vjp, function=function, args=args, wrt=wrt, cotangent=cotangent)
    assert_close(got["output"], expected["output"], what=f"{function}'s output", rtol=rtol,
                 atol=atol, hint=hint)
    if got["grads"] is None:
        fail(f"{function}'s output carries no gradient back to its inputs", DETACHED_HINT)
    names = names or tuple(f"argument {i}" for i in wrt)
    for name, g, e in zip(names, got["grads"], expected["grads"], strict=True):
        if g is None:
            fail(f"{function}'s output does not depend on {name} as far as autograd can tell",
                 DETACHED_HINT)
        assert_close(g, e, what=f"the gradient with respect to {name}", rtol=rtol, atol=atol,
                     hint=hint)


def assert_autograd_matches_finite_differences(
    student, function: str, args: tuple, wrt: int = 0, *, name: str = "the input"
) -> None:
    """The student's autograd Jacobian agrees with central differences in float64."""
    __tracebackhide__ = True
    result = student.probe(builtin.jacobians, function=function, args=args, wrt=wrt)
    analytic = as_tensor(result.get("analytic"), "the autograd Jacobian")
    numeric = as_tensor(result.get("numeric"), "the finite-difference Jacobian")
    assert_close(
        analytic, numeric, rtol=1e-5, atol=1e-6,
        what=f"autograd's Jacobian of {function} with respect to {name} (vs central differences)",
        hint="a custom backward or an in-place edit that autograd does not see",
    )


def assert_not_much_slower(
    run_student: Callable[[], Any], run_baseline: Callable[[], Any], *, limit: float, what: str,
    hint: str, repeat: int = 3,
) -> None:
    """The student's run takes at most ``limit`` times the baseline's.

    The two are interleaved and each keeps its best time, so load from elsewhere on the machine
    slows both rather than one.
    """
    __tracebackhide__ = True
    student_times, baseline_times = [], []
    for _ in range(repeat):
        baseline_times.append(_seconds(run_baseline))
        student_times.append(_seconds(run_student))
    student_time, baseline_time = min(student_times), max(min(baseline_times), 1e-4)
    ratio = student_time / baseline_time
    if ratio > limit:
        fail(
            f"{what} took {student_time * 1e3:.0f} ms, {ratio:.0f}x the baseline's "
            f"{baseline_time * 1e3:.1f} ms (the limit is {limit:g}x)",
            hint,
        )


def _seconds(run: Callable[[], Any]) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def add_device_check(assignment, function: str, *, points: float, sample) -> None:
    """Register a ``device`` check: with --device cuda, ``function`` keeps its outputs there.

    ``sample`` is a zero-argument callable giving CPU arguments; the child moves them to the
    grading device. Device checks are skipped when grading on the CPU.
    """

    def run(student, ref) -> None:
        devices = student.probe(builtin.output_devices, function=function, args=sample())
        wrong = [d for d in devices if torch.device(d).type != student.device.type]
        if not devices or wrong:
            fail(
                f"with inputs on {student.device}, `{function}` returned tensors on "
                f"{', '.join(devices) or 'no device (no tensor)'}",
                "create new tensors on the inputs' device: torch.zeros(..., device=X.device) "
                "or torch.zeros_like(X)",
            )

    assignment.samples.setdefault(function, []).append(sample)
    run.__name__ = f"{function}_stays_on_the_device"
    run.__doc__ = f"With inputs on the GPU, {function} computes there and returns GPU tensors."
    assignment.check(function=function, category="device", points=points)(run)
