"""Recipes that run next to the student's softmax regression code. No secrets here: the
Fashion-MNIST test set never reaches this process; the training recipe holds out a slice of the
training set as the student's test_iter and returns the weights for the parent to evaluate."""

from __future__ import annotations

import torch

from grader.authoring import ProbeEnv, training_data

NUM_INPUTS, NUM_OUTPUTS = 784, 10
HOLDOUT = 1 / 6  # the last sixth of the training set (10,000 of 60,000): the student's test_iter


def warm_up() -> None:
    """Run once in the zygote: a child's first torch.optim step otherwise imports torch._dynamo
    (0.9 s measured here), in every child that grades train_epoch_ch3."""
    W = torch.zeros(3, requires_grad=True)
    (W * 2).sum().backward()
    optimizer = torch.optim.SGD([W], lr=0.1)
    optimizer.step()
    optimizer.zero_grad()


class Batches:
    """A re-iterable minibatch loader over tensors, like the book's DataLoader."""

    def __init__(self, X: torch.Tensor, y: torch.Tensor, batch_size: int, shuffle: bool) -> None:
        self.X, self.y, self.batch_size, self.shuffle = X, y, batch_size, shuffle

    def __iter__(self):
        n = len(self.y)
        order = torch.randperm(n, device=self.y.device) if self.shuffle else None
        for i in range(0, n, self.batch_size):
            if order is None:
                yield self.X[i : i + self.batch_size], self.y[i : i + self.batch_size]
            else:
                idx = order[i : i + self.batch_size]
                yield self.X[idx], self.y[idx]

    def __len__(self) -> int:
        return -(-len(self.y) // self.batch_size)


class RecordingNet(torch.nn.Module):
    """A linear layer with given weights that records the mode it was called in."""

    def __init__(self, W: torch.Tensor, b: torch.Tensor) -> None:
        super().__init__()
        self.W, self.b = torch.nn.Parameter(W.clone()), torch.nn.Parameter(b.clone())
        self.calls: list[tuple[bool, bool]] = []  # (training, grad enabled)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        self.calls.append((self.training, torch.is_grad_enabled()))
        return X @ self.W + self.b  # (batch, q)


def _sgd(params: list[torch.Tensor], lr: float, sizes: list[int]):
    def updater(batch_size: int) -> None:
        sizes.append(int(batch_size))
        with torch.no_grad():
            for p in params:
                p -= lr * p.grad / batch_size
                p.grad.zero_()

    return updater


def evaluate(env: ProbeEnv, W: torch.Tensor, b: torch.Tensor, batches: list, module: bool) -> dict:
    """evaluate_accuracy on a linear net: an nn.Module left in train mode, or a function."""
    net = RecordingNet(W, b)
    net.train()
    value = env.fn(net if module else (lambda X: X @ W + b), batches)
    return {"value": value, "calls": net.calls}


def one_epoch(
    env: ProbeEnv, W: torch.Tensor, b: torch.Tensor, batches: list, lr: float
) -> dict:
    """train_epoch_ch3 with the book's net and a custom sgd updater that records batch sizes."""
    W, b = W.clone().requires_grad_(True), b.clone().requires_grad_(True)
    sizes: list[int] = []
    net = lambda X: env.module.softmax(X.reshape(-1, W.shape[0]) @ W + b)  # noqa: E731
    result = env.fn(net, batches, env.module.cross_entropy, _sgd([W, b], lr, sizes))
    return {"result": result, "sizes": sizes, "W": W, "b": b}


def one_epoch_optimizer(
    env: ProbeEnv, W: torch.Tensor, b: torch.Tensor, batches: list, lr: float
) -> dict:
    """train_epoch_ch3 with an nn.Module, nn.CrossEntropyLoss and torch.optim.SGD."""
    net = torch.nn.Linear(W.shape[0], W.shape[1])
    with torch.no_grad():
        net.weight.copy_(W.T)
        net.bias.copy_(b)
    loss = torch.nn.CrossEntropyLoss(reduction="none")
    result = env.fn(net, batches, loss, torch.optim.SGD(net.parameters(), lr=lr))
    return {"result": result, "W": net.weight.detach().T, "b": net.bias.detach()}


def epochs(
    env: ProbeEnv, W: torch.Tensor, b: torch.Tensor, train: list, test: list, num_epochs: int,
    lr: float,
) -> dict:
    """train_ch3 on small data with the book's net, loss and a custom sgd updater."""
    W, b = W.clone().requires_grad_(True), b.clone().requires_grad_(True)
    net = lambda X: env.module.softmax(X.reshape(-1, W.shape[0]) @ W + b)  # noqa: E731
    updater = _sgd([W, b], lr, [])
    result = env.fn(net, train, test, env.module.cross_entropy, num_epochs, updater)
    return {"result": result, "W": W, "b": b}


def fashion_mnist(
    env: ProbeEnv, num_epochs: int = 10, lr: float = 0.1, batch_size: int = 256,
    examples: int | None = None,
) -> dict:
    """The book's section 3.6 run, all student parts: W ~ N(0, 0.01), lr 0.1, batch 256, on
    the first ``examples`` of the training part with a fifth as many held out as test_iter
    (None: all of both)."""
    images, labels = training_data("fashion_mnist_train")
    images = images.to(env.device)
    labels = labels.to(env.device)
    split = len(labels) - int(len(labels) * HOLDOUT)
    train, held = split, len(labels) - split
    if examples is not None:
        train, held = min(examples, train), min(max(examples // 5, 1), held)
    train_iter = Batches(images[:train], labels[:train], batch_size, shuffle=True)
    test_iter = Batches(images[split : split + held], labels[split : split + held], batch_size,
                        shuffle=False)
    W = torch.normal(0, 0.01, size=(NUM_INPUTS, NUM_OUTPUTS), device=env.device)
    W.requires_grad_(True)
    b = torch.zeros(NUM_OUTPUTS, requires_grad=True, device=env.device)
    net = lambda X: env.module.softmax(X.reshape(-1, NUM_INPUTS) @ W + b)  # noqa: E731
    updater = _sgd([W, b], lr, [])
    result = env.fn(net, train_iter, test_iter, env.module.cross_entropy, num_epochs, updater)
    return {"result": result, "W": W, "b": b}


def timed_epoch(env: ProbeEnv, W: torch.Tensor, b: torch.Tensor, batches: list) -> int:
    """One epoch for timing; returns nothing worth comparing."""
    one_epoch(env, W, b, batches, lr=0.1)
    return 0

