"""Reference solutions: derivatives by hand (D2L 3.4.9, 4.1, 5.3, 12.6-12.7 and their exercises).

The model answers the grader compares submissions with. Every derivative is written out from
its formula; the grader checks them, and submissions, against autograd and central differences.
Inputs keep their dtype and device.
"""

import torch


def sigmoid(x: torch.Tensor) -> torch.Tensor:
    """1 / (1 + exp(-x)), elementwise, finite with a finite gradient for any finite x."""
    # z = exp(-|x|) lies in (0, 1]: it cannot overflow. Both branches below are finite
    # everywhere, which matters because torch.where differentiates both: an inf in the unused one
    # gives a NaN gradient (inf * 0). -|x| is written as a where, not -x.abs(): autograd takes
    # |x|'s derivative at 0 to be 0, which would lose sigmoid's slope of 1/4 at x = 0.
    z = torch.exp(torch.where(x >= 0, -x, x))
    return torch.where(x >= 0, 1 / (1 + z), z / (1 + z))


def sigmoid_grad(x: torch.Tensor) -> torch.Tensor:
    """d sigmoid / dx = sigmoid(x) (1 - sigmoid(x)), elementwise."""
    s = sigmoid(x)
    return s * (1 - s)


def tanh_grad(x: torch.Tensor) -> torch.Tensor:
    """d tanh / dx = 1 - tanh(x)^2, elementwise."""
    return 1 - torch.tanh(x) ** 2


def relu_grad(x: torch.Tensor) -> torch.Tensor:
    """1 where x > 0, else 0 (the book takes the left derivative, 0, at x = 0)."""
    return (x > 0).to(x.dtype)


def softmax(o: torch.Tensor) -> torch.Tensor:
    """Softmax along the last axis, shifted by the max so exp cannot overflow."""
    e = torch.exp(o - o.max(dim=-1, keepdim=True).values)
    return e / e.sum(dim=-1, keepdim=True)


def softmax_jacobian(o: torch.Tensor) -> torch.Tensor:
    """The (q, q) Jacobian of softmax at a 1-D o: d p_i / d o_j = p_i (delta_ij - p_j)."""
    p = softmax(o)  # (q,)
    return torch.diag(p) - torch.outer(p, p)  # (q, q), symmetric, rows summing to 0


def softmax_cross_entropy_grad(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-example gradient of -log softmax(o)_y with respect to o: softmax(o) - onehot(y)."""
    p = softmax(logits)  # (n, q)
    onehot = torch.zeros_like(p)
    onehot[torch.arange(len(y), device=y.device), y] = 1
    return p - onehot  # (n, q)


def squared_loss_grad(y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """d/dy_hat of (y_hat - y)^2 / 2, with y reshaped to y_hat's shape as the book does."""
    return y_hat - y.reshape(y_hat.shape)


def real_softmax(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """log(exp(a) + exp(b)), elementwise, finite for any finite a and b."""
    # log(exp(a) + exp(b)) = max + log(1 + exp(-|a - b|)); the exp is at most 1.
    return torch.maximum(a, b) + torch.log1p(torch.exp(-(a - b).abs()))


def adagrad_update(
    param: torch.Tensor, grad: torch.Tensor, state: torch.Tensor, lr: float, eps: float = 1e-6
) -> tuple[torch.Tensor, torch.Tensor]:
    """One Adagrad step (D2L 12.7): s += g^2, then param -= lr g / sqrt(s + eps). Pure."""
    state = state + grad**2
    return param - lr * grad / torch.sqrt(state + eps), state


def momentum_update(
    param: torch.Tensor, grad: torch.Tensor, velocity: torch.Tensor, lr: float, beta: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """One step of momentum (D2L 12.6): v = beta v + g, then param -= lr v. Pure."""
    velocity = beta * velocity + grad
    return param - lr * velocity, velocity
