"""A submission that does not parse: the grader reports the line and grades nothing else."""

import torch


def linreg(X, w, b)
    return torch.matmul(X, w) + b
