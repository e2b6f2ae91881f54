"""Alice's linear regression, in the book's style (d2l 3.2). Two mistakes are left for the demo."""

import random

import torch


def synthetic_data(w, b, num_examples):
    X = torch.normal(0, 1, (num_examples, len(w)))
    y = torch.matmul(X, w) + b
    y += torch.normal(0, 0.01, y.shape)
    return X, y.reshape((-1, 1))


def data_iter(batch_size, features, labels):
    num_examples = len(features)
    indices = list(range(num_examples))
    random.shuffle(indices)
    # Mistake: the range stops before the last partial batch.
    for i in range(0, num_examples - batch_size + 1, batch_size):
        batch_indices = torch.tensor(indices[i : i + batch_size])
        yield features[batch_indices], labels[batch_indices]


def linreg(X, w, b):
    return torch.matmul(X, w) + b


def squared_loss(y_hat, y):
    return (y_hat - y.reshape(y_hat.shape)) ** 2 / 2


def sgd(params, lr, batch_size):
    with torch.no_grad():
        for param in params:
            param -= lr * param.grad / batch_size
            param.grad.zero_()


def train_linreg(features, labels, lr=0.03, num_epochs=3, batch_size=10):
    w = torch.normal(0, 0.01, size=(features.shape[1], 1), requires_grad=True)
    b = torch.zeros(1, requires_grad=True)
    for _ in range(num_epochs):
        for X, y in data_iter(batch_size, features, labels):
            loss = squared_loss(linreg(X, w, b), y)
            loss.sum().backward()
            sgd([w, b], lr, batch_size)
    return w, b


def normal_equation(X, y):
    # Mistake: no column of ones, so the bias is never fitted.
    w = torch.linalg.solve(X.T @ X, X.T @ y.reshape(-1, 1))
    return w, torch.zeros(1, dtype=X.dtype)


def huber_loss(y_hat, y, sigma=1.0):
    d = (y_hat - y.reshape(y_hat.shape)).abs()
    return torch.where(d > sigma, d - sigma / 2, d**2 / (2 * sigma))
