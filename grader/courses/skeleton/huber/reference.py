"""The answers: never shown to students, never run next to their code."""

import torch


def huber_loss(y_hat: torch.Tensor, y: torch.Tensor, sigma: float = 1.0) -> torch.Tensor:
    """Elementwise Huber loss of d = y_hat - y: |d| - sigma/2 if |d| > sigma, else d²/(2 sigma)."""
    d = y_hat - y.reshape(y_hat.shape)
    abs_d = d.abs()
    # Both branches are finite everywhere, so torch.where's gradient has no NaN to pick up.
    return torch.where(abs_d > sigma, abs_d - sigma / 2, d**2 / (2 * sigma))
