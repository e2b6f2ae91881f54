"""Probes: trusted recipes that exercise one function, run next to the code they exercise.

A probe takes a ``ProbeEnv`` and keyword arguments and returns plain data (tensors, numbers,
tuples, dicts). The same probe runs in the child against the student's module and in the parent
against the reference, so a check compares like with like. Probes hold no secrets: every input
comes from the parent's request. Assignments add their own in ``assignments/<name>/probes.py``.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import torch

from grader.numeric.gradcheck import numeric_jacobian
from grader.runner import tracing


@dataclass(frozen=True)
class ProbeEnv:
    module: ModuleType  # the student's module (or the reference, in the parent)
    function: str  # the function under test
    device: torch.device

    @property
    def fn(self) -> Callable[..., Any]:
        return getattr(self.module, self.function)


def seed_everything(seed: int) -> None:
    """The same seed for every generator a student might use, on both sides of a comparison."""
    torch.manual_seed(seed)
    random.seed(seed)
    try:
        import numpy

        numpy.random.seed(seed % 2**32)
    except ImportError:
        pass


def warm_up() -> None:
    """Run once in the zygote: a child's first autograd call with ``grad_outputs`` otherwise
    imports sympy (0.35 s measured here), in every child."""
    X = torch.randn(4, 3, requires_grad=True)
    torch.autograd.grad(X * 2, X, grad_outputs=torch.ones(4, 3))
    env = ProbeEnv(module=torch, function="exp", device=torch.device("cpu"))
    jacobians(env, (torch.randn(3),), wrt=0)
    trace(env, (X.detach(),))


def call(env: ProbeEnv, args: tuple = (), kwargs: dict | None = None) -> Any:
    """Call the function under test and return what it returned."""
    return env.fn(*args, **(kwargs or {}))


def vjp(
    env: ProbeEnv, args: tuple, wrt: tuple[int, ...], cotangent: torch.Tensor, kwargs=None
) -> dict:
    """Output and vector-Jacobian product with respect to the positional arguments ``wrt``."""
    args = list(args)
    for i in wrt:
        args[i] = args[i].detach().clone().requires_grad_(True)
    out = env.fn(*args, **(kwargs or {}))
    if not isinstance(out, torch.Tensor) or not out.requires_grad or out.shape != cotangent.shape:
        return {"output": out, "grads": None}  # the parent reports the output's problem first
    inputs = [args[i] for i in wrt]
    grads = torch.autograd.grad(out, inputs, grad_outputs=cotangent, allow_unused=True)
    return {"output": out, "grads": list(grads)}


def trace(env: ProbeEnv, args: tuple = (), kwargs: dict | None = None) -> dict:
    """What the function under test runs, stand-ins aside, and whether it hid anything:
    ``{"names": [...], "entered": [...], "tampering": [...]}`` (``grader.runner.tracing``)."""
    found = tracing.traced(env.fn, _with_gradients(args), kwargs)
    return {"names": sorted(found.names), "entered": sorted(found.entered),
            "tampering": sorted(found.tampering)}


def _with_gradients(args: tuple) -> tuple:
    """A list of float tensors handed to a traced function is a list of parameters, as ``sgd``
    takes: each requires grad and carries a gradient, as in training (the wire carries
    neither)."""
    for arg in args:
        if isinstance(arg, (list, tuple)):
            for t in arg:
                if isinstance(t, torch.Tensor) and t.is_floating_point() and t.is_leaf:
                    t.requires_grad_(True)
                    t.grad = torch.randn_like(t)
    return args


def jacobians(env: ProbeEnv, args: tuple, wrt: int, eps: float = 1e-6) -> dict:
    """Autograd's Jacobian of the function in ``args[wrt]`` and central differences, float64."""
    args = [a.double() if isinstance(a, torch.Tensor) and a.is_floating_point() else a
            for a in args]

    def f(x: torch.Tensor) -> torch.Tensor:
        return env.fn(*args[:wrt], x, *args[wrt + 1 :])

    x = args[wrt]
    analytic = torch.autograd.functional.jacobian(f, x)
    return {"analytic": analytic, "numeric": numeric_jacobian(f, x, h=eps)}


def output_devices(env: ProbeEnv, args: tuple) -> list[str]:
    """The devices of the tensors the function under test returns."""
    out = env.fn(*args)
    outs = out if isinstance(out, (tuple, list)) else (out,)
    return [str(t.device) for t in outs if isinstance(t, torch.Tensor)]
