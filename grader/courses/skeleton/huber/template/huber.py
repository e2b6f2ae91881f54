"""Huber loss from scratch. Fill in the function, then run:

    grader check . --assignment huber --course COURSE
"""

import torch


def huber_loss(y_hat: torch.Tensor, y: torch.Tensor, sigma: float = 1.0) -> torch.Tensor:
    """Elementwise: |d| - sigma/2 where |d| > sigma, else d²/(2 sigma), for d = y_hat - y."""
    raise NotImplementedError
