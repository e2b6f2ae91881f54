"""Softmax regression from scratch (Dive into Deep Learning, d2l-en 1.0, sections 4.1-4.4).

This course follows d2l-en 1.0: ``cross_entropy`` and ``softmax_cross_entropy`` return the mean
over the minibatch, ``accuracy`` returns a fraction, and the training loop calls backward on the
mean loss.

Fill in each function below: replace ``raise NotImplementedError`` with your code, keeping the
names, arguments and defaults exactly as they are. Then check your work with

    grader check . --assignment softmax --course COURSE   (COURSE: this course's folder)

Each function is graded on its own, so a mistake in one does not cost you the others. You may
add helper functions and classes of your own (the book's ``Accumulator``, for example).

Rules:
- ``softmax`` must compute softmax itself: no ``torch.softmax``, ``torch.nn.functional.softmax``,
  ``torch.nn.Softmax`` or ``Tensor.softmax``.
- ``log_softmax`` must not use ``torch.nn.functional.log_softmax`` (nor ``torch.log_softmax``,
  ``Tensor.log_softmax`` or ``torch.nn.LogSoftmax``).
- ``cross_entropy`` and ``softmax_cross_entropy`` must not use
  ``torch.nn.functional.cross_entropy``, ``torch.nn.functional.nll_loss`` or
  ``torch.nn.CrossEntropyLoss``.
- Building blocks are fine: ``torch.exp``, ``torch.log``, ``torch.logsumexp``, ``max``,
  ``sum``, ``gather``, ``argmax``, a ``DataLoader``...
- ``evaluate_accuracy`` must call your ``accuracy``, and ``train_ch3`` your
  ``train_epoch_ch3`` and ``evaluate_accuracy`` (the grader may swap one of them for a
  known-good version to test the others).
"""

import torch


def softmax(X: torch.Tensor) -> torch.Tensor:
    """Softmax of each row of X.

    Args:
        X: logits, a float tensor of shape (n, q).

    Returns:
        A tensor of X's shape and dtype whose rows are positive and sum to 1:
        exp(X[i, j]) / sum over k of exp(X[i, k]). It must stay finite and accurate for any
        finite logits: 1000.0 is a fair input, yet exp(1000.0) overflows to inf. Softmax does
        not change when you subtract the same number from every entry of a row; which number
        keeps every exp small?
    """
    raise NotImplementedError


def cross_entropy(y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Cross-entropy loss from predicted probabilities, averaged over the minibatch.

    Args:
        y_hat: probabilities, shape (n, q), each row summing to 1.
        y: the true classes, integers in [0, q), shape (n,).

    Returns:
        The mean over the n examples of -log y_hat[i, y[i]]: a 0-d tensor (``.mean()``), not
        one loss per example. Where a true class's probability is exactly 0 the loss is +inf;
        that is expected.
    """
    raise NotImplementedError


def log_softmax(X: torch.Tensor) -> torch.Tensor:
    """The logarithm of the softmax of each row of X, computed without taking log(softmax(X)).

    Args:
        X: logits, a float tensor of shape (n, q).

    Returns:
        A tensor of X's shape: X[i, j] - log(sum over k of exp(X[i, k])). It must be finite for
        any finite logits, including rows like [0.0, 1000.0] where softmax underflows to 0 and
        log(0) would be -inf.
    """
    raise NotImplementedError


def softmax_cross_entropy(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Cross-entropy loss straight from logits, averaged over the minibatch (exercise 4.1).

    Args:
        logits: unnormalised scores, shape (n, q).
        y: the true classes, integers in [0, q), shape (n,).

    Returns:
        The mean over the n examples of -log softmax(logits)[i, y[i]]: a 0-d tensor, finite for
        any finite logits (even 1e4). Build it from your log_softmax rather than from softmax.
    """
    raise NotImplementedError


def accuracy(y_hat: torch.Tensor, y: torch.Tensor) -> float:
    """The fraction of correct predictions.

    Args:
        y_hat: scores or probabilities of shape (n, q), in which case the prediction is the
            column with the largest value; or predicted classes of shape (n,).
        y: the true classes, shape (n,).

    Returns:
        The fraction of predictions that equal the true class, as a Python float in [0, 1]:
        not a count (0.75 when 3 of 4 are right).
    """
    raise NotImplementedError


def evaluate_accuracy(net, data_iter) -> float:
    """The accuracy of ``net`` over a whole data set.

    Args:
        net: a function or a torch.nn.Module mapping X of shape (batch, ...) to scores of shape
            (batch, q). If it is an nn.Module, put it in evaluation mode (``net.eval()``).
        data_iter: an iterable of (X, y) minibatches, which may differ in size.

    Returns:
        The fraction of all examples classified correctly, as a Python float in [0, 1]: count
        examples, not batches. Your accuracy gives each batch's fraction, so weight it by the
        batch's size. Compute it without recording gradients (``torch.no_grad()``).
    """
    raise NotImplementedError


def train_epoch_ch3(net, train_iter, loss, updater) -> tuple[float, float]:
    """Train ``net`` for one pass over ``train_iter``.

    Args:
        net: a function or a torch.nn.Module (put it in training mode with ``net.train()``).
        train_iter: an iterable of (X, y) minibatches.
        loss: ``loss(y_hat, y)`` returns the minibatch's mean loss, a 0-d tensor.
        updater: either a ``torch.optim.Optimizer`` (then: zero its gradients, call backward on
            the loss, and step it) or a function of one argument (then: call backward on the
            loss and call ``updater(batch_size)`` with the size of this minibatch, which may be
            smaller for the last one; it steps by lr * grad, without dividing by it).

    Returns:
        (mean loss per example, fraction of examples classified correctly) over the pass, as
        Python floats. The loss and your accuracy are means over a minibatch: weight each by
        the minibatch's size before dividing by the number of examples in the pass.
    """
    raise NotImplementedError


def train_ch3(
    net, train_iter, test_iter, loss, num_epochs: int, updater
) -> tuple[float, float, float]:
    """Train ``net`` for ``num_epochs`` passes, evaluating it on ``test_iter`` after each.

    Use your train_epoch_ch3 and evaluate_accuracy. Do not plot or print.

    Args:
        net, train_iter, loss, updater: as for train_epoch_ch3.
        test_iter: an iterable of (X, y) minibatches to measure accuracy on.
        num_epochs: the number of passes over train_iter, at least 1.

    Returns:
        (train loss, train accuracy, test accuracy) of the last epoch, as Python floats.
    """
    raise NotImplementedError
