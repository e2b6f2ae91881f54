"""Data: synthetic regression data, loaders over tensors, and Fashion-MNIST.

Fashion-MNIST is never downloaded or read from disk here. The grading worker preloads its
training split once (grader.runner.datasets) and every child shares those tensors. The real
test split never enters a process that runs student code, so what the book calls the test set
is the last 10,000 of the 60,000 training images, held out from the training loader: a
learner's "test accuracy" is measured on images the model did not train on, as in the book.

Loaders never start worker processes (``num_workers=0``): the sandbox forbids them.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch.nn import functional as F
from torch.utils.data import DataLoader, Dataset, TensorDataset

from grader.data.fashion_mnist import CLASSES as TEXT_LABELS

_SIDE = 28  # Fashion-MNIST images are 28 x 28


def synthetic_data(
    w: torch.Tensor, b: float | torch.Tensor, num_examples: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw X ~ N(0, 1) and y = Xw + b + noise, noise ~ N(0, 0.01²); y has shape (n, 1)."""
    # w's dtype where the book always uses float32, so a float64 w works instead of failing.
    dtype = w.dtype if w.is_floating_point() else torch.get_default_dtype()
    X = torch.normal(0, 1, (num_examples, len(w)), dtype=dtype)  # (n, d)
    y = torch.matmul(X, w.to(dtype)) + b  # (n,)
    y += torch.normal(0, 0.01, y.shape, dtype=y.dtype)
    return X, y.reshape((-1, 1))  # (n, d), (n, 1)


def load_array(data_arrays: Sequence[torch.Tensor], batch_size: int, is_train: bool = True):
    """A DataLoader over the tensors' rows, shuffled on every pass when ``is_train``."""
    dataset = TensorDataset(*data_arrays)
    return DataLoader(dataset, batch_size, shuffle=is_train)


def get_dataloader_workers() -> int:
    """0: the book uses 4 worker processes, and the sandbox forbids starting processes."""
    return 0


def get_fashion_mnist_labels(labels) -> list[str]:
    """The text labels of Fashion-MNIST class indices."""
    return [TEXT_LABELS[int(i)] for i in labels]


class FashionImages(Dataset):
    """Fashion-MNIST images and labels as torchvision's dataset yields them.

    An item is ``(image, label)``: a (1, h, w) float32 tensor in [0, 1] (h = w = 28 unless
    resized) and an int.
    """

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, resize=None) -> None:
        self.images = images  # (n, 1, 28, 28) float32, a view of the preloaded tensor
        self.labels = labels  # (n,) int64
        self.size = _size(resize)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        # A copy, as torchvision makes: an image changed in place leaves the shared data alone.
        return self.__getitems__([index])[0]

    def __getitems__(self, indices: list[int]) -> list[tuple[torch.Tensor, int]]:
        # DataLoader fetches a whole batch through this: one gather and one interpolate per batch
        # instead of one per image, which halves an epoch's time on the sandbox's one thread.
        index = torch.as_tensor(indices)
        images = self._resized(self.images[index])  # (batch, 1, h, w)
        return list(zip(images, self.labels[index].tolist(), strict=True))

    def _resized(self, images: torch.Tensor) -> torch.Tensor:
        if self.size is None:
            return images
        # Bilinear with antialiasing, as torchvision's Resize does on the book's PIL images.
        return F.interpolate(images, size=self.size, mode="bilinear", antialias=True)


def _size(resize) -> tuple[int, int] | None:
    """None for the native 28 x 28; an int means a square, as torchvision's Resize reads it."""
    if resize is None:
        return None
    size = (int(resize), int(resize)) if isinstance(resize, int) else tuple(map(int, resize))
    if len(size) != 2:
        raise ValueError(f"resize must be an int or (height, width), got {resize!r}")
    return None if size == (_SIDE, _SIDE) else size


def fashion_mnist_datasets(resize=None) -> tuple[FashionImages, FashionImages]:
    """The training images and the held-out last sixth (10,000 of 60,000) as datasets.

    Raises:
        RuntimeError: the grader did not preload Fashion-MNIST for this assignment.
    """
    images, labels = _preloaded()  # (n, 1, 28, 28) float32, (n,) int64
    # A sixth, as the real test set is to the training set: 10,000 of the real 60,000, and the
    # same proportion of a smaller stand-in set.
    start = len(labels) - len(labels) // 6
    return (
        FashionImages(images[:start], labels[:start], resize),
        FashionImages(images[start:], labels[start:], resize),
    )


def _preloaded() -> tuple[torch.Tensor, torch.Tensor]:
    try:
        from grader.runner import datasets

        return datasets.get("fashion_mnist_train")
    except (ImportError, LookupError):
        raise RuntimeError(
            "Fashion-MNIST is not available to this assignment's code: the grader loads it only "
            "for assignments that train on it, and d2l here never downloads anything"
        ) from None


def load_data_fashion_mnist(batch_size: int, resize=None) -> tuple[DataLoader, DataLoader]:
    """Fashion-MNIST loaders: (train_iter, test_iter).

    Batches are X (batch, 1, 28, 28) float32 in [0, 1] (or (batch, 1, h, w) when resized) and
    y (batch,) int64. ``train_iter`` yields the first 50,000 training images, shuffled on every
    pass; ``test_iter`` the last 10,000, in order. They stand in for the book's training and
    test sets: the real test set is kept from student code.

    Args:
        batch_size: examples per batch.
        resize: an int or (height, width) to resize the images to (bilinear), or None.

    Raises:
        RuntimeError: the grader did not preload Fashion-MNIST for this assignment.
    """
    train, held_out = fashion_mnist_datasets(resize)
    return (
        DataLoader(train, batch_size, shuffle=True, num_workers=get_dataloader_workers()),
        DataLoader(held_out, batch_size, shuffle=False, num_workers=get_dataloader_workers()),
    )
