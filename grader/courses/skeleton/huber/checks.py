"""Checks for huber.py. Each docstring's first line is the title students see."""

from __future__ import annotations

import torch

from grader.authoring import (
    Mistake,
    add_from_scratch_check,
    assert_autograd_matches_finite_differences,
    assert_close,
    assert_gradients_match,
)

from . import assignment

check = assignment.check


@check(function="huber_loss", category="correctness", points=2)
def huber_loss_matches_the_reference(student, ref):
    """huber_loss is |d| - sigma/2 beyond sigma and d²/(2 sigma) within, elementwise."""
    for sigma in (1.0, 0.5, 2.0):
        y_hat, y = 3 * torch.randn(40, 1), torch.randn(40, 1)  # (40, 1): both regimes present
        d = y_hat - y
        assert_close(
            student.huber_loss(y_hat, y, sigma), ref.huber_loss(y_hat, y, sigma),
            what=f"huber_loss with sigma={sigma}",
            mistakes=[  # wrong answers worth naming: the one that matches becomes the hint
                Mistake("inside |d| <= sigma the loss is d²/(2 sigma): divide by sigma",
                        lambda d=d, s=sigma: torch.where(d.abs() > s, d.abs() - s / 2, d**2 / 2)),
                Mistake("beyond sigma the loss is |d| - sigma/2",
                        lambda d=d, s=sigma: torch.where(d.abs() > s, d.abs(), d**2 / (2 * s))),
            ],
        )


@check(function="huber_loss", category="gradient", points=1)
def huber_loss_gradients_are_right(student, ref):
    """huber_loss's gradient matches the reference's and central differences (float64)."""
    y_hat = torch.tensor([[-3.0], [-0.4], [0.2], [2.5]], dtype=torch.float64)  # (4, 1)
    y = torch.zeros(4, 1, dtype=torch.float64)
    assert_gradients_match(student, ref, "huber_loss", (y_hat, y), names=("y_hat",))
    assert_autograd_matches_finite_differences(student, "huber_loss", (y_hat, y), name="y_hat")


# A rules check for every function with banned calls; the sample lets it trace a real call.
add_from_scratch_check(
    assignment, "huber_loss", points=1, sample=lambda: (torch.randn(6, 1), torch.randn(6, 1))
)
