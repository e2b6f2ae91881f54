"""Linear regression from scratch (Dive into Deep Learning, d2l-en 1.0, sections 3.1-3.4).

This course follows d2l-en 1.0: ``squared_loss`` returns the mean over the minibatch, and
``sgd`` steps by ``lr * grad`` without dividing by the batch size.

Fill in each function below: replace ``raise NotImplementedError`` with your code, keeping the
names, arguments and defaults exactly as they are. Then check your work with

    grader check . --assignment linreg --course COURSE   (COURSE: this course's folder)

Each function is graded on its own, so a mistake in one does not cost you the others. You may
add helper functions of your own.

Rules:
- ``sgd`` must update the parameters itself: no ``torch.optim``.
- ``huber_loss`` must compute the loss itself: no ``torch.nn.functional.smooth_l1_loss`` or
  ``torch.nn.functional.huber_loss`` (nor their ``torch.nn`` module versions).
- Building blocks are fine: ``torch.matmul``, ``torch.randperm``, ``torch.where``,
  ``torch.linalg.solve`` and ``torch.linalg.lstsq``, ``random.shuffle``, a ``DataLoader``...
- ``train_linreg`` must call your own ``data_iter``, ``linreg``, ``squared_loss`` and ``sgd``
  (the grader may swap one of them for a known-good version to test the others).
"""

import random  # noqa: F401 (yours to use, e.g. random.shuffle in data_iter)

import torch


def synthetic_data(
    w: torch.Tensor, b: float | torch.Tensor, num_examples: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Generate a synthetic regression data set y = Xw + b + noise.

    Args:
        w: the true weights, a float tensor of shape (d,).
        b: the true bias, a number.
        num_examples: n, how many examples to draw.

    Returns:
        (X, y): X of shape (n, d) with entries drawn from N(0, 1), and y of shape (n, 1) with
        y = Xw + b plus noise drawn from N(0, 0.01²) (standard deviation 0.01). Draw the
        random numbers with torch (``torch.normal``) so that ``torch.manual_seed`` fixes them.
    """
    raise NotImplementedError


def data_iter(batch_size: int, features: torch.Tensor, labels: torch.Tensor):
    """Yield the data set in shuffled minibatches (write it as a generator, with ``yield``).

    Args:
        batch_size: how many examples per minibatch.
        features: X, shape (n, d).
        labels: y, shape (n, 1) or (n,).

    Yields:
        (X, y) pairs: rows of ``features`` and the matching rows of ``labels``. Every example
        appears exactly once per pass, in a random order that changes from one pass to the next.
        All batches have ``batch_size`` examples except possibly the last, which holds whatever
        is left over (keep it; do not drop it).
    """
    raise NotImplementedError


def linreg(X: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """The linear regression model.

    Args:
        X: inputs, shape (n, d).
        w: weights, shape (d, 1).
        b: bias, shape (1,).

    Returns:
        Xw + b, shape (n, 1). Gradients must flow back to w and b.
    """
    raise NotImplementedError


def squared_loss(y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The squared loss averaged over the minibatch, as d2l-en 1.0 defines it.

    Args:
        y_hat: predictions, shape (n, 1).
        y: targets with n values, shape (n, 1) or (n,): reshape it to y_hat's shape first,
            or (n, 1) - (n,) would broadcast to an (n, n) matrix.

    Returns:
        The mean over the n examples of (y_hat - y)² / 2: a 0-d tensor (``.mean()``), not one
        loss per example. Gradients must flow back to y_hat.
    """
    raise NotImplementedError


def sgd(params: list[torch.Tensor], lr: float, batch_size: int) -> None:
    """One step of minibatch stochastic gradient descent, in place.

    For each parameter p (a leaf tensor with requires_grad=True whose ``p.grad`` holds the
    gradient of the minibatch's mean loss), set p to p - lr * p.grad, without dividing by the
    batch size (the mean already did), and then reset p.grad to zero. Modify the tensors in
    place (``-=``, inside ``torch.no_grad()``): do not replace them with new tensors, or the
    caller keeps the old ones. Returns nothing.

    Args:
        params: the parameters to update, e.g. [w, b].
        lr: the learning rate.
        batch_size: the minibatch's size. Not used in this course; it stays in the signature
            so that a call written for the first edition's sgd still works.
    """
    raise NotImplementedError


def train_linreg(
    features: torch.Tensor,
    labels: torch.Tensor,
    lr: float = 0.03,
    num_epochs: int = 3,
    batch_size: int = 10,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Train linear regression with your data_iter, linreg, squared_loss and sgd.

    Initialise w from N(0, 0.01²) with shape (d, 1) and b as zeros of shape (1,), both with
    requires_grad=True. For each of ``num_epochs`` passes over ``data_iter(batch_size, ...)``:
    compute the squared loss of each minibatch (already its mean), call backward on it, and
    take an ``sgd`` step, ``sgd([w, b], lr, X.shape[0])``.

    Args:
        features: X, shape (n, d).
        labels: y, shape (n, 1).
        lr: the learning rate.
        num_epochs: the number of passes over the data.
        batch_size: the minibatch size.

    Returns:
        (w, b), the trained parameters, of shapes (d, 1) and (1,).
    """
    raise NotImplementedError


def normal_equation(X: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Solve linear regression in closed form, bias included (exercise 3.1).

    Find the w and b minimising the sum over examples of (x_i·w + b - y_i)². Hint: append a
    column of ones to X so that b becomes one more weight.

    Args:
        X: inputs, shape (n, d).
        y: targets, shape (n,) or (n, 1).

    Returns:
        (w, b) with w of shape (d, 1) and b of shape (1,).
    """
    raise NotImplementedError


def huber_loss(y_hat: torch.Tensor, y: torch.Tensor, sigma: float = 1.0) -> torch.Tensor:
    """Huber's robust loss, one value per prediction (exercise 3.2).

    With d = y_hat - y (y reshaped to y_hat's shape):

        loss = |d| - sigma / 2        if |d| > sigma
        loss = d² / (2 * sigma)       otherwise

    Args:
        y_hat: predictions, any shape.
        y: targets with as many values as y_hat.
        sigma: where the loss switches from quadratic to linear; sigma > 0.

    Returns:
        The elementwise loss, with y_hat's shape, differentiable with respect to y_hat.
    """
    raise NotImplementedError
