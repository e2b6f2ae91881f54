"""Public stand-ins for linreg's functions in d2l-en 1.0's conventions, bound in the child while
another function is checked.

When a check exercises ``train_linreg``'s parts one at a time, the student's other functions are
replaced by these, so a mistake in ``sgd`` never costs points on ``linreg``. They run next to
student code, so they are public by design: built on torch's own functions, never the reference
solutions. Unlike the built-in course's, ``squared_loss`` is the batch mean and ``sgd`` does not
divide by the batch size.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def synthetic_data(w, b, num_examples):
    X = torch.randn(num_examples, len(w), dtype=w.dtype, device=w.device)
    y = X @ w + b
    return X, (y + 0.01 * torch.randn_like(y)).unsqueeze(1)


def data_iter(batch_size, features, labels):
    for batch in torch.randperm(len(features)).split(batch_size):
        yield features.index_select(0, batch), labels.index_select(0, batch)


def linreg(X, w, b):
    return X @ w + b


def squared_loss(y_hat, y):
    return F.mse_loss(y_hat, y.view_as(y_hat)) / 2


def sgd(params, lr, batch_size):
    with torch.no_grad():
        torch._foreach_add_(params, [p.grad for p in params], alpha=-lr)
    for param in params:
        param.grad = torch.zeros_like(param)


def train_linreg(features, labels, lr=0.03, num_epochs=3, batch_size=10):
    w = (0.01 * torch.randn(features.shape[1], 1, dtype=features.dtype)).requires_grad_()
    b = torch.zeros(1, dtype=features.dtype, requires_grad=True)
    for _ in range(num_epochs):
        for X, y in data_iter(batch_size, features, labels):
            squared_loss(linreg(X, w, b), y).backward()
            sgd([w, b], lr, len(X))
    return w, b


def normal_equation(X, y):
    X1 = F.pad(X, (0, 1), value=1.0)
    theta = torch.linalg.lstsq(X1, y.reshape(-1, 1).to(X1.dtype)).solution
    return theta[:-1], theta[-1]


def huber_loss(y_hat, y, sigma=1.0):
    return F.smooth_l1_loss(y_hat, y.view_as(y_hat), reduction="none", beta=sigma)
