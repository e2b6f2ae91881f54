"""The names by which torch reaches an operation an exercise implements from scratch.

A ban lists each operation twice over: the Python names a student's source may spell
(``torch.softmax``, ``F.softmax``, ``X.softmax``, ``nn.Softmax``), which the source scan and the
traced run's function layer see, and the ATen operation that actually runs (``aten._softmax``),
which the traced run's dispatch layer sees however the Python name was reached. Courses use
these tuples in ``Assignment(banned={...})`` and add their own.
"""

from __future__ import annotations

SOFTMAX = (
    "torch.softmax",
    "torch.nn.functional.softmax",
    "torch.Tensor.softmax",
    "torch.nn.Softmax",
    "torch.special.softmax",
    "torch.special_softmax",
    "aten._softmax",
)
LOG_SOFTMAX = (
    "torch.log_softmax",
    "torch.nn.functional.log_softmax",
    "torch.Tensor.log_softmax",
    "torch.nn.LogSoftmax",
    "torch.special.log_softmax",
    "torch.special_log_softmax",
    "aten._log_softmax",
)
CROSS_ENTROPY = (
    "torch.nn.functional.cross_entropy",
    "torch.nn.functional.nll_loss",
    "torch.nn.CrossEntropyLoss",
    "torch.nn.NLLLoss",
    "aten.nll_loss_forward",
    "aten.nll_loss2d_forward",
    "aten.nll_loss_nd",
)
SIGMOID = (
    "torch.sigmoid",
    "torch.special.expit",
    "torch.nn.functional.sigmoid",
    "torch.Tensor.sigmoid",
    "torch.nn.Sigmoid",
    "aten.sigmoid",
)
LOGSUMEXP = (
    "torch.logaddexp",
    "torch.logsumexp",
    "torch.special.logsumexp",
    "torch.nn.functional.softplus",
    "torch.Tensor.logaddexp",
    "torch.Tensor.logsumexp",
    "aten.logaddexp",
    "aten.logsumexp",
    "aten.softplus",
)
HUBER = (
    "torch.nn.functional.smooth_l1_loss",
    "torch.nn.functional.huber_loss",
    "torch.nn.SmoothL1Loss",
    "torch.nn.HuberLoss",
    "aten.smooth_l1_loss",
    "aten.huber_loss",
)
# A derivative computed by autograd: a traced run records any backward pass the autograd engine
# runs as torch.autograd.backward, however it was started.
AUTOGRAD = ("torch.autograd", "torch.func", "functorch", "torch.Tensor.backward")
OPTIM = ("torch.optim",)
