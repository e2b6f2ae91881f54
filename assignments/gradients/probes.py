"""Recipes that run next to the student's gradients.py. No secrets here: every input comes from
the parent, and the same recipe runs on the reference there."""

from __future__ import annotations

import torch

from grader.authoring import ProbeEnv, numeric_jacobian


def update_steps(
    env: ProbeEnv, param: torch.Tensor, grads: list[torch.Tensor], state: torch.Tensor,
    names: tuple[str, str, str], **hyper: float,
) -> dict:
    """Several steps of an update rule, each fed the previous step's outputs.

    Returns the parameters and states after each step, and for each step the names of the
    inputs the call changed in place (it must change none).
    """
    params, states, changed = [], [], []
    for grad in grads:
        inputs = dict(zip(names, (param, grad, state), strict=True))
        before = {name: value.clone() for name, value in inputs.items()}
        out = env.fn(param, grad, state, **hyper)
        changed.append([name for name, value in inputs.items()
                        if not torch.equal(value, before[name])])
        if not (isinstance(out, (tuple, list)) and len(out) == 2
                and all(isinstance(t, torch.Tensor) for t in out)):
            return {"params": params, "states": states, "changed": changed, "bad": out}
        param, state = out
        params.append(param.detach().clone())
        states.append(state.detach().clone())
    return {"params": params, "states": states, "changed": changed, "bad": None}


def jacobian_by_differences(env: ProbeEnv, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The Jacobian of the function under test in its logits, by central differences (float64):
    for a loss gradient, the loss's Hessian."""
    return numeric_jacobian(lambda o: env.fn(o, y), logits)
