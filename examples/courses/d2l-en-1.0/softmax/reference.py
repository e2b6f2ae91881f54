"""Reference solutions: softmax regression from scratch, in d2l-en 1.0's conventions.

As d2l-en 1.0 (sections 4.1-4.4) has it: the cross-entropy is averaged over the minibatch and
accuracy is a fraction of the examples. The training loop calls backward on the mean loss and a
custom updater steps by ``lr * grad``; epoch figures weight each minibatch's mean by its size.
Functions call their collaborators by module-level name (``evaluate_accuracy`` calls
``accuracy``, ``train_ch3`` calls ``train_epoch_ch3``...), so the grader can rebind any one of
them to a student's version and blame each function on its own.
"""

import torch


def softmax(X: torch.Tensor) -> torch.Tensor:
    """Row-wise softmax of a 2-D tensor, finite and accurate for any finite logits."""
    # softmax is unchanged by subtracting a per-row constant; subtracting the row's max makes
    # every exponent <= 0, so exp cannot overflow. The shift is a constant as far as the maths
    # goes, hence detach: its gradient would cancel exactly, up to rounding.
    X_max = X.max(dim=1, keepdim=True).values.detach()  # (n, 1)
    X_exp = torch.exp(X - X_max)  # (n, q), each in (0, 1]
    partition = X_exp.sum(dim=1, keepdim=True)  # (n, 1), >= 1: the max contributes exp(0)
    return X_exp / partition  # (n, q)


def cross_entropy(y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The batch mean of -log y_hat[i, y_i], a 0-d tensor; +inf if one probability is 0."""
    return -torch.log(y_hat[range(len(y_hat)), y]).mean()  # ()


def log_softmax(X: torch.Tensor) -> torch.Tensor:
    """Row-wise log softmax, X minus each row's logsumexp, finite for any finite logits."""
    # Shift by the row max before anything else: exp(shifted) <= 1 cannot overflow, its row sum
    # is >= 1 so the log is finite, and the max entry's result is exactly -log(sum).
    shifted = X - X.max(dim=1, keepdim=True).values.detach()  # (n, q), each <= 0
    return shifted - torch.log(torch.exp(shifted).sum(dim=1, keepdim=True))  # (n, q) - (n, 1)


def softmax_cross_entropy(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The batch mean of the cross-entropy straight from logits, a 0-d tensor; finite where
    softmax would underflow."""
    log_probs = log_softmax(logits)  # (n, q)
    # gather wants int64 indices of the same rank as log_probs.
    return -log_probs.gather(1, y.reshape(-1, 1).long()).mean()  # ()


def accuracy(y_hat: torch.Tensor, y: torch.Tensor) -> float:
    """The fraction of predictions that are correct, in [0, 1]."""
    if y_hat.dim() > 1 and y_hat.shape[1] > 1:
        y_hat = y_hat.argmax(dim=1)  # (n,), the predicted class
    # Reshape to y's shape so an (n, 1) prediction cannot broadcast against (n,) labels.
    cmp = y_hat.type(y.dtype).reshape(y.shape) == y  # (n,)
    return float(cmp.sum()) / cmp.numel()


class Accumulator:
    """Running sums of n quantities."""

    def __init__(self, n: int) -> None:
        self.data = [0.0] * n

    def add(self, *args: float) -> None:
        self.data = [a + float(b) for a, b in zip(self.data, args, strict=True)]

    def __getitem__(self, idx: int) -> float:
        return self.data[idx]


def evaluate_accuracy(net, data_iter) -> float:
    """The fraction of examples ``net`` classifies correctly over ``data_iter``."""
    if isinstance(net, torch.nn.Module):
        net.eval()  # dropout and batch norm in inference mode
    metric = Accumulator(2)  # correct predictions, examples
    with torch.no_grad():
        for X, y in data_iter:
            # accuracy is a fraction: weight it by the batch's size, batches may differ
            metric.add(accuracy(net(X), y) * y.numel(), y.numel())
    return metric[0] / metric[1]


def train_epoch_ch3(net, train_iter, loss, updater) -> tuple[float, float]:
    """One pass over ``train_iter``; return (mean loss per example, training accuracy).

    ``loss(y_hat, y)`` returns the minibatch's mean loss. ``updater`` is a
    ``torch.optim.Optimizer`` or a callable taking the batch size; either way backward runs on
    the mean loss.
    """
    if isinstance(net, torch.nn.Module):
        net.train()
    metric = Accumulator(3)  # summed loss, correct predictions, examples
    for X, y in train_iter:
        y_hat = net(X)  # (batch, q)
        batch_loss = loss(y_hat, y)  # (): the minibatch's mean
        if isinstance(updater, torch.optim.Optimizer):
            updater.zero_grad()
            batch_loss.backward()
            updater.step()
        else:
            batch_loss.backward()
            updater(X.shape[0])
        # both figures are means over the minibatch: weight them by its size
        n = y.numel()
        metric.add(batch_loss.item() * n, accuracy(y_hat, y) * n, n)
    return metric[0] / metric[2], metric[1] / metric[2]


def train_ch3(
    net, train_iter, test_iter, loss, num_epochs: int, updater
) -> tuple[float, float, float]:
    """Train for ``num_epochs``; return the last epoch's (train loss, train acc, test acc)."""
    if num_epochs < 1:
        raise ValueError(f"num_epochs must be at least 1, got {num_epochs}")
    for _ in range(num_epochs):
        train_loss, train_acc = train_epoch_ch3(net, train_iter, loss, updater)
        test_acc = evaluate_accuracy(net, test_iter)
    return train_loss, train_acc, test_acc
