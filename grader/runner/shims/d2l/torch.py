"""``from d2l import torch as d2l``: the book's saved API for PyTorch, chapters 2-4.

The functions and classes live in this package's private modules and are gathered here, with
the short tensor aliases (``d2l.reshape``, ``d2l.reduce_sum``...) that the book's code is
written in. ``d2l.plt`` is matplotlib.pyplot on the Agg backend, imported on first access.
"""

from __future__ import annotations

import torch
from torch import nn

from ._classes import (  # noqa: F401 -- re-exported
    SGD,
    DataModule,
    HyperParameters,
    Module,
    ProgressBoard,
    Trainer,
    add_to_class,
)
from ._data import (  # noqa: F401 -- re-exported
    get_dataloader_workers,
    get_fashion_mnist_labels,
    load_array,
    load_data_fashion_mnist,
    synthetic_data,
)
from ._models import (  # noqa: F401 -- re-exported
    Classifier,
    FashionMNIST,
    LinearRegression,
    SoftmaxRegression,
    SyntheticRegressionData,
)
from ._plot import (  # noqa: F401 -- re-exported
    Animator,
    plot,
    set_axes,
    set_figsize,
    show_images,
    use_svg_display,
)
from ._plot import pyplot as _pyplot
from ._train import (  # noqa: F401 -- re-exported
    Accumulator,
    Timer,
    accuracy,
    evaluate_accuracy,
    evaluate_loss,
    linreg,
    predict_ch3,
    sgd,
    squared_loss,
    train_ch3,
    train_epoch_ch3,
)


def __getattr__(name: str):
    # PEP 562: called only for names not found above, so pyplot loads on the first d2l.plt.
    if name == "plt":
        return _pyplot()
    raise AttributeError(
        f"module 'd2l.torch' has no attribute {name!r} (the grader's d2l has the book's "
        "chapter 2-4 API and the d2l-en 1.0 classes chapter 3 builds on)"
    )


def cpu() -> torch.device:
    return torch.device("cpu")


def gpu(i: int = 0) -> torch.device:
    return torch.device(f"cuda:{i}")


def num_gpus() -> int:
    return torch.cuda.device_count()


def try_gpu(i: int = 0) -> torch.device:
    """GPU i if it exists, else the CPU."""
    return gpu(i) if num_gpus() >= i + 1 else cpu()


def try_all_gpus() -> list[torch.device]:
    """All GPUs, or [cpu()] when there are none."""
    return [gpu(i) for i in range(num_gpus())] or [cpu()]


# The book's aliases (its config.ini), so that its code reads the same for every framework.
nn_Module = nn.Module
ones_like = torch.ones_like
ones = torch.ones
zeros_like = torch.zeros_like
zeros = torch.zeros
tensor = torch.tensor
arange = torch.arange
meshgrid = torch.meshgrid
sin = torch.sin
sinh = torch.sinh
cos = torch.cos
cosh = torch.cosh
tanh = torch.tanh
linspace = torch.linspace
exp = torch.exp
log = torch.log
normal = torch.normal
rand = torch.rand
randn = torch.randn
matmul = torch.matmul
int32 = torch.int32
int64 = torch.int64
float32 = torch.float32
concat = torch.cat
stack = torch.stack
abs = torch.abs
eye = torch.eye
sigmoid = torch.sigmoid
batch_matmul = torch.bmm


def numpy(x, *args, **kwargs):
    return x.detach().numpy(*args, **kwargs)


def size(x, *args, **kwargs):
    return x.numel(*args, **kwargs)


def reshape(x, *args, **kwargs):
    return x.reshape(*args, **kwargs)


def to(x, *args, **kwargs):
    return x.to(*args, **kwargs)


def reduce_sum(x, *args, **kwargs):
    return x.sum(*args, **kwargs)


def reduce_mean(x, *args, **kwargs):
    return x.mean(*args, **kwargs)


def argmax(x, *args, **kwargs):
    return x.argmax(*args, **kwargs)


def astype(x, *args, **kwargs):
    return x.type(*args, **kwargs)


def transpose(x, *args, **kwargs):
    return x.t(*args, **kwargs)


def expand_dims(x, *args, **kwargs):
    return x.unsqueeze(*args, **kwargs)


def swapaxes(x, *args, **kwargs):
    return x.swapaxes(*args, **kwargs)


def repeat(x, *args, **kwargs):
    return x.repeat(*args, **kwargs)
