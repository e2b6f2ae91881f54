"""A known mistake: squared_loss sums over the batch instead of averaging.
"""

import torch


def synthetic_data(
    w: torch.Tensor, b: float | torch.Tensor, num_examples: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw X ~ N(0, 1) and y = Xw + b + noise, noise ~ N(0, 0.01²); y has shape (n, 1)."""
    X = torch.normal(0, 1, (num_examples, len(w)), dtype=w.dtype, device=w.device)  # (n, d)
    y = torch.matmul(X, w) + b  # (n,)
    y += torch.normal(0, 0.01, y.shape, dtype=y.dtype, device=y.device)
    return X, y.reshape(-1, 1)  # (n, d), (n, 1)


def data_iter(batch_size: int, features: torch.Tensor, labels: torch.Tensor):
    """Yield shuffled (X, y) minibatches, each example once per pass; the last may be short."""
    num_examples = len(features)
    # A fresh permutation on every pass, drawn on the CPU so torch.manual_seed alone fixes it.
    indices = torch.randperm(num_examples)  # (n,)
    for i in range(0, num_examples, batch_size):
        batch_indices = indices[i : i + batch_size]  # (batch,)
        yield features[batch_indices], labels[batch_indices]


def linreg(X: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """The linear model Xw + b."""
    return torch.matmul(X, w) + b  # (n, 1)


def squared_loss(y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The batch's summed squared loss, where this course wants the mean."""
    return ((y_hat - y.reshape(y_hat.shape)) ** 2 / 2).sum()


def sgd(params: list[torch.Tensor], lr: float, batch_size: int) -> None:
    """Minibatch SGD in place: p -= lr * p.grad, then zero p.grad.

    ``batch_size`` is not used: the loss is already a mean over the batch. It stays in the
    signature so that code calling the first edition's sgd calls this one unchanged.
    """
    # no_grad: the update itself must not be recorded, and an in-place op on a leaf that
    # requires grad is only allowed outside autograd.
    with torch.no_grad():
        for param in params:
            param -= lr * param.grad
            param.grad.zero_()


def train_linreg(
    features: torch.Tensor,
    labels: torch.Tensor,
    lr: float = 0.03,
    num_epochs: int = 3,
    batch_size: int = 10,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Fit w and b by minibatch SGD on the mean squared loss; return (w (d, 1), b (1,))."""
    d = features.shape[1]
    w = torch.normal(0, 0.01, size=(d, 1), dtype=features.dtype, device=features.device)  # (d, 1)
    w.requires_grad_(True)
    b = torch.zeros(1, dtype=w.dtype, device=w.device, requires_grad=True)  # (1,)
    for _ in range(num_epochs):
        for X, y in data_iter(batch_size, features, labels):
            loss = squared_loss(linreg(X, w, b), y)  # (): the minibatch's mean
            loss.backward()
            sgd([w, b], lr, X.shape[0])
    return w, b


def normal_equation(X: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Closed-form least squares with a bias: argmin over (w, b) of ||Xw + b - y||²."""
    X1 = torch.cat([X, torch.ones_like(X[:, :1])], dim=1)  # (n, d + 1); the ones column fits b
    # lstsq factorises X1 directly instead of forming X1ᵀX1, which would square its condition
    # number; it also copes with rank-deficient X on the CPU.
    theta = torch.linalg.lstsq(X1, y.reshape(-1, 1).to(X1.dtype)).solution  # (d + 1, 1)
    return theta[:-1], theta[-1]  # (d, 1), (1,)


def huber_loss(y_hat: torch.Tensor, y: torch.Tensor, sigma: float = 1.0) -> torch.Tensor:
    """Elementwise Huber loss of d = y_hat - y: |d| - sigma/2 if |d| > sigma, else d²/(2 sigma)."""
    d = y_hat - y.reshape(y_hat.shape)
    abs_d = d.abs()
    # Both branches are finite everywhere, so torch.where's gradient has no NaN to pick up.
    return torch.where(abs_d > sigma, abs_d - sigma / 2, d**2 / (2 * sigma))
