"""Recipes that run next to the student's linear regression code. No secrets here."""

from __future__ import annotations

import random

import torch

from grader.authoring import ProbeEnv


def data_iter_passes(
    env: ProbeEnv, batch_size: int, features: torch.Tensor, labels: torch.Tensor, passes: int = 2
) -> list[list[tuple]]:
    """The minibatches of ``passes`` calls, as the book calls data_iter once per epoch."""
    return [[(X, y) for X, y in env.fn(batch_size, features, labels)] for _ in range(passes)]


def data_iter_pass(env: ProbeEnv, batch_size: int, examples: int, features: int) -> int:
    """One full pass touching every batch; returns the number of batches (for timing).

    The data is drawn here rather than sent: the timing is of the pass, not of the transfer.
    """
    X, y = torch.randn(examples, features), torch.randn(examples, 1)
    count = 0
    for batch_X, batch_y in env.fn(batch_size, X, y):
        count += batch_X.shape[0] + batch_y.shape[0] > 0
    return count


def book_data_iter_pass(env: ProbeEnv, batch_size: int, examples: int, features: int) -> int:
    """The book's own data_iter (d2l 3.2), as a timing baseline run in the same process."""
    X, y = torch.randn(examples, features), torch.randn(examples, 1)
    indices = list(range(examples))
    random.shuffle(indices)
    count = 0
    for i in range(0, examples, batch_size):
        batch_indices = torch.tensor(indices[i : min(i + batch_size, examples)])
        batch_X, batch_y = X[batch_indices], y[batch_indices]
        count += batch_X.shape[0] + batch_y.shape[0] > 0
    return count


def sgd_step(
    env: ProbeEnv, w: torch.Tensor, b: torch.Tensor, grad_w: torch.Tensor, grad_b: torch.Tensor,
    lr: float, batch_size: int,
) -> dict:
    """One sgd call on leaf parameters with known gradients, and what it did to them."""
    w = w.clone().requires_grad_(True)
    b = b.clone().requires_grad_(True)
    w.grad, b.grad = grad_w.clone(), grad_b.clone()
    before = [w.data_ptr(), b.data_ptr()]
    params = [w, b]
    env.fn(params, lr, batch_size)
    return {
        "w": params[0],
        "b": params[1],
        "same_objects": params[0] is w and params[1] is b,
        "same_storage": [w.data_ptr(), b.data_ptr()] == before,
        "grads": [p.grad for p in (w, b)],
        "leaves": [p.is_leaf and p.requires_grad for p in (w, b)],
    }


def train(env: ProbeEnv, features: torch.Tensor, labels: torch.Tensor, **kwargs) -> tuple:
    """The student's train_linreg with its defaults (the book's lr 0.03, 3 epochs, batch 10)."""
    return env.fn(features, labels, **kwargs)


def train_steps(env: ProbeEnv, features: torch.Tensor, labels: torch.Tensor, batch_size: int):
    """One epoch of train_linreg: each minibatch's size as data_iter yields it, and the
    batch_size each sgd step divides by. data_iter and sgd are wrapped, for this call only."""
    module = env.module
    data_iter, sgd = module.data_iter, module.sgd
    sizes: list[int] = []
    divisors: list[float] = []

    def counting_data_iter(batch_size, features, labels):
        for X, y in data_iter(batch_size, features, labels):
            sizes.append(int(X.shape[0]))
            yield X, y

    def counting_sgd(params, lr, batch_size):
        divisors.append(float(batch_size))
        return sgd(params, lr, batch_size)

    module.data_iter, module.sgd = counting_data_iter, counting_sgd
    try:
        env.fn(features, labels, num_epochs=1, batch_size=batch_size)
    finally:
        module.data_iter, module.sgd = data_iter, sgd
    return {"sizes": sizes, "divisors": divisors}
