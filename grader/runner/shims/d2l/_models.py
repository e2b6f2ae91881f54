"""The d2l-en 1.0 data sets and models that chapter-3 notebooks build on."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader

from ._classes import DataModule, Module
from ._data import fashion_mnist_datasets, get_dataloader_workers, get_fashion_mnist_labels
from ._plot import show_images


class SyntheticRegressionData(DataModule):
    """y = Xw + b + noise, X ~ N(0, 1): num_train training rows, then num_val validation rows."""

    def __init__(self, w, b, noise=0.01, num_train=1000, num_val=1000, batch_size=32) -> None:
        super().__init__()
        self.save_hyperparameters()
        n = num_train + num_val
        self.X = torch.randn(n, len(w))  # (n, d)
        noise = torch.randn(n, 1) * noise  # (n, 1)
        self.y = torch.matmul(self.X, w.reshape((-1, 1))) + b + noise  # (n, 1)

    def get_dataloader(self, train: bool) -> DataLoader:
        i = slice(0, self.num_train) if train else slice(self.num_train, None)
        return self.get_tensorloader((self.X, self.y), train, i)


class FashionMNIST(DataModule):
    """Fashion-MNIST from the images the grader preloaded.

    ``train`` holds the first 50,000 training images and ``val`` the last 10,000, which stand
    in for the test set the book validates on: the real one is kept from student code.
    Items are ((1, h, w) float32 in [0, 1], int label).

    Raises:
        RuntimeError: the grader did not preload Fashion-MNIST for this assignment.
    """

    def __init__(self, batch_size: int = 64, resize=(28, 28)) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.train, self.val = fashion_mnist_datasets(resize)

    def text_labels(self, indices) -> list[str]:
        return get_fashion_mnist_labels(indices)

    def get_dataloader(self, train: bool) -> DataLoader:
        data = self.train if train else self.val
        return DataLoader(
            data, self.batch_size, shuffle=train, num_workers=get_dataloader_workers()
        )

    def visualize(self, batch, nrows: int = 1, ncols: int = 8, labels=None) -> None:
        X, y = batch
        if not labels:
            labels = self.text_labels(y)
        show_images(X.squeeze(1), nrows, ncols, titles=labels)


class Classifier(Module):
    """The base class of classification models: cross-entropy loss and accuracy."""

    def validation_step(self, batch) -> None:
        Y_hat = self(*batch[:-1])
        self.plot("loss", self.loss(Y_hat, batch[-1]), train=False)
        self.plot("acc", self.accuracy(Y_hat, batch[-1]), train=False)

    def accuracy(self, Y_hat, Y, averaged: bool = True):
        """The fraction of correct predictions, or each one's correctness (0 or 1)."""
        Y_hat = Y_hat.reshape((-1, Y_hat.shape[-1]))  # (n, q)
        preds = Y_hat.argmax(dim=1).type(Y.dtype)  # (n,)
        compare = (preds == Y.reshape(-1)).type(torch.float32)  # (n,)
        return compare.mean() if averaged else compare

    def loss(self, Y_hat, Y, averaged: bool = True):
        Y_hat = Y_hat.reshape((-1, Y_hat.shape[-1]))  # (n, q) logits
        Y = Y.reshape((-1,))
        return F.cross_entropy(Y_hat, Y, reduction="mean" if averaged else "none")


class LinearRegression(Module):
    """Linear regression with nn.LazyLinear, the loss nn.MSELoss and torch's SGD."""

    def __init__(self, lr: float) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.net = nn.LazyLinear(1)
        self.net.weight.data.normal_(0, 0.01)
        self.net.bias.data.fill_(0)

    def forward(self, X):
        return self.net(X)

    def loss(self, y_hat, y):
        return nn.MSELoss()(y_hat, y)

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), self.lr)

    def get_w_b(self):
        return self.net.weight.data, self.net.bias.data


class SoftmaxRegression(Classifier):
    """Softmax regression: flatten, then one nn.LazyLinear layer of num_outputs logits."""

    def __init__(self, num_outputs: int, lr: float) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.net = nn.Sequential(nn.Flatten(), nn.LazyLinear(num_outputs))

    def forward(self, X):
        return self.net(X)
