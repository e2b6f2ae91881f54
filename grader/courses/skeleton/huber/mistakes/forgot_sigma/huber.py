"""A known mistake: the quadratic part is d²/2 whatever sigma is."""

import torch


def huber_loss(y_hat: torch.Tensor, y: torch.Tensor, sigma: float = 1.0) -> torch.Tensor:
    d = y_hat - y.reshape(y_hat.shape)
    return torch.where(d.abs() > sigma, d.abs() - sigma / 2, d**2 / 2)
