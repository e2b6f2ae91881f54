"""Public stand-ins for softmax's functions in d2l-en 1.0's conventions, bound in the child while
another function is checked.

A mistake in ``softmax`` must not cost points on ``evaluate_accuracy``: while one function is
checked, the student's others are replaced by these. They run next to student code, so they are
public by design: built on torch's own functions, never the reference solutions. Unlike the
built-in course's, the losses are batch means and ``accuracy`` is a fraction.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def softmax(X):
    return torch.softmax(X, dim=1)


def cross_entropy(y_hat, y):
    return F.nll_loss(torch.log(y_hat), y)


def log_softmax(X):
    return torch.log_softmax(X, dim=1)


def softmax_cross_entropy(logits, y):
    return F.cross_entropy(logits, y.long())


def accuracy(y_hat, y):
    predicted = y_hat.argmax(dim=1) if y_hat.dim() > 1 and y_hat.shape[1] > 1 else y_hat
    return float(torch.eq(predicted.reshape(y.shape).to(y.dtype), y).float().mean())


def evaluate_accuracy(net, data_iter):
    correct = total = 0.0
    with torch.no_grad():
        for X, y in data_iter:
            correct += accuracy(net(X), y) * y.numel()
            total += y.numel()
    return correct / total


def train_epoch_ch3(net, train_iter, loss, updater):
    total_loss = correct = total = 0.0
    for X, y in train_iter:
        y_hat = net(X)
        mean_loss = loss(y_hat, y)
        if isinstance(updater, torch.optim.Optimizer):
            updater.zero_grad()
            mean_loss.backward()
            updater.step()
        else:
            mean_loss.backward()
            updater(len(y))
        total_loss += float(mean_loss.detach()) * y.numel()
        correct += accuracy(y_hat.detach(), y) * y.numel()
        total += y.numel()
    return total_loss / total, correct / total


def train_ch3(net, train_iter, test_iter, loss, num_epochs, updater):
    for _ in range(num_epochs):
        train_loss, train_acc = train_epoch_ch3(net, train_iter, loss, updater)
    return train_loss, train_acc, evaluate_accuracy(net, test_iter)
