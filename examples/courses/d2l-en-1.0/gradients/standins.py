"""Public stand-ins for the gradients assignment in d2l-en 1.0's conventions, bound in the child
while another function is checked, so a student's sigmoid_grad that calls their own (broken)
sigmoid is graded on its own.

They run next to student code, so they are public by design: torch's own functions, and autograd
for the derivatives; the update rules are the book's published formulas (d2l 12.6, 12.7). Unlike
the built-in course's, the two loss gradients are those of the batch mean.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from grader.authoring import autograd_derivative as _derivative


def sigmoid(x):
    return torch.sigmoid(x)


def sigmoid_grad(x):
    return _derivative(torch.sigmoid, x)


def tanh_grad(x):
    return _derivative(torch.tanh, x)


def relu_grad(x):
    return _derivative(torch.relu, x)


def softmax_jacobian(o):
    return torch.autograd.functional.jacobian(lambda v: torch.softmax(v, dim=0), o.detach())


def softmax_cross_entropy_grad(logits, y):
    return _derivative(lambda o: F.cross_entropy(o, y.long()), logits)


def squared_loss_grad(y_hat, y):
    return _derivative(lambda p: ((p - y.reshape(p.shape)) ** 2 / 2).mean(), y_hat)


def real_softmax(a, b):
    return torch.logaddexp(a, b)


def adagrad_update(param, grad, state, lr, eps=1e-6):
    state = state + grad * grad
    return param - lr * grad / torch.sqrt(state + eps), state


def momentum_update(param, grad, velocity, lr, beta):
    velocity = beta * velocity + grad
    return param - lr * velocity, velocity
