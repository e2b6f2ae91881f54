"""What to do about the errors learners hit in chapter 3: a hint for a raw exception.

Matched on the exception's type and text as the child reported them, and on the student's own
frames (its traceback holds only those), so a hint names the fix, not torch's internals.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

_MATMUL = re.compile(r"mat1 and mat2 shapes cannot be multiplied \((\d+)x(\d+) and (\d+)x(\d+)\)")


@dataclass(frozen=True)
class _Rule:
    hint: str | Callable[[re.Match], str]
    text: str = ""  # a regular expression the message must contain
    kind: str = ""  # the exception's type name, if it matters
    frame: str = ""  # a student function the traceback must pass through


def _matmul(match: re.Match) -> str:
    rows, inner, other, cols = match.groups()
    return (f"a matrix product of {rows}x{inner} and {other}x{cols}: the first's {inner} columns "
            f"must match the second's {other} rows; give the second {inner} rows (a weight of "
            f"shape (d, 1) with d = X.shape[1]) or reshape the one that is wrong")


_GPU_MEMORY = ("the GPU ran out of memory, which grading slots share: is a (n, n) matrix built by "
               "accident, or are tensors with their graphs kept across batches (total += loss "
               "instead of total += float(loss))?")
_MEMORY = "it ran out of memory: is a (n, n) matrix being built by accident?"

# First match wins: the specific before the general.
RULES = (
    _Rule("update parameters inside `with torch.no_grad():` (param -= lr * param.grad / "
          "batch_size): autograd must not record the step",
          text="a leaf Variable that requires grad is being used in an in-place operation"),
    _Rule("backward needs a scalar: sum the minibatch's losses first, l.sum().backward()",
          text="grad can be implicitly created only for scalar outputs"),
    _Rule("create the parameters with requires_grad=True (w = torch.normal(...).requires_grad_()) "
          "and keep the loss in autograd: no .detach(), .item() or torch.tensor(...) on it",
          text="element 0 of tensors does not require grad"),
    _Rule("param.grad is None until the first backward(), and stays None for a tensor created "
          "without requires_grad=True: call l.sum().backward() before sgd, and zero the "
          "gradients after each step", text="'NoneType' object has no attribute 'zero_'|"
          "unsupported operand type.*NoneType|but got NoneType"),
    _Rule("class labels index rows and columns, so they must be int64: y.long() (or "
          "torch.tensor(..., dtype=torch.long))",
          text="expected scalar type Long|expected target dtype to be Long|Expected dtype "
               "int(32/int)?64|tensors used as indices must be long|index tensor of type "
               "LongTensor"),
    _Rule("pick each example's probability of its true class with y_hat[range(len(y_hat)), y]: "
          "one row index per label, y as int64 class indices",
          kind="IndexError", frame="cross_entropy"),
    _Rule(lambda match: _matmul(match), text=_MATMUL.pattern),
    _Rule("the shapes do not line up: check keepdim=True on reductions and the axis you use",
          text="must match the size of tensor"),
    _Rule(_GPU_MEMORY, text="CUDA out of memory"),
    _Rule(_GPU_MEMORY, kind="OutOfMemoryError"),
    _Rule(_MEMORY, text="can't allocate memory"),
    _Rule(_MEMORY, kind="MemoryError"),
    _Rule("the function calls itself without end", kind="RecursionError"),
    _Rule("the computation left autograd: avoid .detach(), .numpy() or .item() inside",
          text="does not require grad|does not have a grad_fn"),
)


def error_hint(kind: str, text: str, traceback: str = "") -> str:
    """The fix for a raw exception of type ``kind`` saying ``text``, or ""."""
    for rule in RULES:
        match = re.search(rule.text, text) if rule.text else None
        if rule.text and match is None:
            continue
        if rule.kind and rule.kind != kind:
            continue
        if rule.frame and not re.search(rf", in \w*{rule.frame}\w*: ", traceback):
            continue
        return rule.hint(match) if callable(rule.hint) else rule.hint
    return ""
