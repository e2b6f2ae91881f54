"""Derivatives by hand (Dive into Deep Learning, d2l-en 1.0, and their exercises).

This course follows d2l-en 1.0: its losses are averaged over the minibatch, so
``softmax_cross_entropy_grad`` and ``squared_loss_grad`` are the gradients of those means.

Fill in each function below: replace ``raise NotImplementedError`` with your code, keeping the
names, arguments and defaults exactly as they are. Then check your work with

    grader check . --assignment gradients --course COURSE   (COURSE: this course's folder)

The grader compares each derivative with autograd and with central differences in float64, and
reports the relative error: below 1e-7 is right, above 1e-2 is wrong. Each function is graded on
its own, so a mistake in one does not cost you the others. You may add helper functions.

Rules:
- Derive the gradients yourself. ``sigmoid_grad``, ``tanh_grad``, ``relu_grad``,
  ``softmax_jacobian``, ``softmax_cross_entropy_grad`` and ``squared_loss_grad`` may not use
  ``torch.autograd``, ``torch.func`` or ``.backward()``.
- ``sigmoid`` may not call ``torch.sigmoid`` (nor ``torch.special.expit``, ``Tensor.sigmoid``
  or ``torch.nn.Sigmoid``); ``real_softmax`` may not call ``torch.logaddexp``,
  ``torch.logsumexp`` or ``torch.nn.functional.softplus``; the update rules may not use
  ``torch.optim``.
- Building blocks are fine: ``torch.exp``, ``torch.log``, ``torch.log1p``, ``torch.tanh``,
  ``torch.where``, ``torch.maximum``, ``torch.diag``, ``torch.outer``...
- Return tensors of the inputs' dtype and device: a float64 input gives a float64 result.
"""

import torch


def sigmoid(x: torch.Tensor) -> torch.Tensor:
    """The logistic function 1 / (1 + exp(-x)), elementwise.

    Args:
        x: a float tensor of any shape.

    Returns:
        A tensor of x's shape and dtype with values in [0, 1]. It must stay finite for any finite
        x, and so must its gradient through autograd: x = -1000.0 and 1000.0 are fair inputs, yet
        exp(1000.0) overflows to inf, and inf * 0 is NaN. Which of exp(x) and exp(-x) is small
        for each sign of x? Note that torch.where differentiates both of its branches.
    """
    raise NotImplementedError


def sigmoid_grad(x: torch.Tensor) -> torch.Tensor:
    """The derivative of the sigmoid with respect to its input, elementwise.

    Args:
        x: the sigmoid's input (not its output), a float tensor of any shape.

    Returns:
        d sigmoid(x) / dx for each entry, of x's shape and dtype, finite for any finite x.
    """
    raise NotImplementedError


def tanh_grad(x: torch.Tensor) -> torch.Tensor:
    """The derivative of tanh with respect to its input, elementwise.

    Args:
        x: tanh's input (not its output), a float tensor of any shape.

    Returns:
        d tanh(x) / dx for each entry, of x's shape and dtype, finite for any finite x.
    """
    raise NotImplementedError


def relu_grad(x: torch.Tensor) -> torch.Tensor:
    """The derivative of ReLU(x) = max(x, 0), elementwise.

    Args:
        x: a float tensor of any shape.

    Returns:
        1 where x > 0 and 0 where x <= 0 (at exactly 0 the book takes the left derivative, 0),
        as a tensor of x's shape and dtype: floats, not booleans.
    """
    raise NotImplementedError


def softmax_jacobian(o: torch.Tensor) -> torch.Tensor:
    """The Jacobian of softmax at one vector of logits.

    Args:
        o: logits, a 1-D float tensor of length q.

    Returns:
        A (q, q) tensor J with J[i, j] = d softmax(o)_i / d o_j. Work out the cases i = j and
        i != j by hand. It must stay finite for logits of 1000.
    """
    raise NotImplementedError


def softmax_cross_entropy_grad(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The gradient of the batch's mean loss with respect to the logits.

    The loss is the mean over the n examples of -log softmax(o_i)[y_i], as this course's
    cross-entropy is averaged over the batch.

    Args:
        logits: a float tensor of shape (n, q), one row of logits per example.
        y: the true classes, integers in [0, q), shape (n,).

    Returns:
        Shape (n, q): row i is the gradient of the mean loss with respect to row i of the
        logits, which is example i's own gradient divided by n. It must stay finite for logits
        of 1000.
    """
    raise NotImplementedError


def squared_loss_grad(y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The gradient of the book's squared loss with respect to y_hat.

    The loss is the mean over the n examples of (y_hat - y)^2 / 2, as d2l-en 1.0 defines it.

    Args:
        y_hat: predictions, shape (n, 1).
        y: targets, shape (n,) or (n, 1): like the book's squared_loss, reshape y to y_hat's
            shape first.

    Returns:
        A tensor of y_hat's shape: d loss / d y_hat_i for each example, that is example i's
        own gradient divided by n.
    """
    raise NotImplementedError


def real_softmax(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """RealSoftMax(a, b) = log(exp(a) + exp(b)), elementwise.

    Args:
        a, b: float tensors of one shape.

    Returns:
        A tensor of that shape and dtype, finite and accurate for any finite a and b:
        real_softmax(1000, 1000) is 1000 + log 2, even though exp(1000) overflows. It always lies
        between max(a, b) and max(a, b) + log 2.
    """
    raise NotImplementedError


def adagrad_update(
    param: torch.Tensor, grad: torch.Tensor, state: torch.Tensor, lr: float, eps: float = 1e-6
) -> tuple[torch.Tensor, torch.Tensor]:
    """One step of Adagrad (D2L 12.7), as a pure function.

    Args:
        param: the parameter's current value.
        grad: its gradient at this step, of param's shape.
        state: the sum of the squares of all past gradients, of param's shape.
        lr: the learning rate.
        eps: added to the state inside the square root, as in the book.

    Returns:
        (new_param, new_state): first add this step's squared gradient to the state, then step
        param by lr * grad / sqrt(new_state + eps). Do not change param, grad or state in place:
        return new tensors.
    """
    raise NotImplementedError


def momentum_update(
    param: torch.Tensor, grad: torch.Tensor, velocity: torch.Tensor, lr: float, beta: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """One step of gradient descent with momentum (D2L 12.6), as a pure function.

    Args:
        param: the parameter's current value.
        grad: its gradient at this step, of param's shape.
        velocity: the previous velocity, of param's shape (zeros at the first step).
        lr: the learning rate.
        beta: the momentum, in [0, 1).

    Returns:
        (new_param, new_velocity), the book's way: new_velocity = beta * velocity + grad, then
        new_param = param - lr * new_velocity. Do not change the inputs in place: return new
        tensors.
    """
    raise NotImplementedError
