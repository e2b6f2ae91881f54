"""Drawing for the book's helpers, on matplotlib's Agg backend: nothing is ever shown.

pyplot costs about 0.4 s to import, so it is imported on the first drawing (or the first
``d2l.plt``), never by ``from d2l import torch as d2l``. ``Animator`` records its points and
draws them only when someone looks at its figure: the book redraws on every ``add`` (about
10 ms each) so that Jupyter can display the figure, and nothing is displayed here.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import Any

import torch

_FMTS = ("-", "m--", "g-.", "r:")


@functools.cache
def pyplot() -> ModuleType:
    """matplotlib.pyplot on the Agg backend, imported on the first call."""
    if "matplotlib" not in sys.modules:
        # matplotlib validates MPLBACKEND on import and refuses a backend name it does not know;
        # whatever the environment says, this process can only draw in memory.
        saved = os.environ.get("MPLBACKEND")
        os.environ["MPLBACKEND"] = "agg"
        try:
            import matplotlib
        finally:
            if saved is None:
                del os.environ["MPLBACKEND"]
            else:
                os.environ["MPLBACKEND"] = saved
    import matplotlib

    # Before pyplot's first figure: a GUI backend (MPLBACKEND=TkAgg) would need a display.
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    # The book opens a figure per call and closes none; dozens are expected, not a leak to warn of.
    plt.rcParams["figure.max_open_warning"] = 0
    return plt


def use_svg_display() -> None:
    """Nothing: the book switches Jupyter's inline format to SVG, and nothing is displayed here."""


def set_figsize(figsize: tuple[float, float] = (3.5, 2.5)) -> None:
    """Set the default figure size for matplotlib."""
    pyplot().rcParams["figure.figsize"] = figsize


def set_axes(axes, xlabel, ylabel, xlim, ylim, xscale, yscale, legend) -> None:
    """Set the labels, limits, scales and legend of matplotlib axes."""
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.set_xscale(xscale)
    axes.set_yscale(yscale)
    axes.set_xlim(xlim)
    axes.set_ylim(ylim)
    if legend:
        axes.legend(legend)
    axes.grid()


def plot(
    X,
    Y=None,
    xlabel=None,
    ylabel=None,
    legend=None,
    xlim=None,
    ylim=None,
    xscale="linear",
    yscale="linear",
    fmts: Sequence[str] = _FMTS,
    figsize: tuple[float, float] = (3.5, 2.5),
    axes=None,
) -> None:
    """Plot one or more lines: Y against X, or Y against its index when X is omitted."""
    if _has_one_axis(X):
        X = [X]
    if Y is None:
        X, Y = [[]] * len(X), X
    elif _has_one_axis(Y):
        Y = [Y]
    if len(X) != len(Y):
        X = X * len(Y)
    set_figsize(figsize)
    if axes is None:
        axes = pyplot().gca()
    axes.cla()
    for x, y, fmt in zip(X, Y, fmts, strict=False):  # more lines than formats: the book drops them
        if len(x):
            axes.plot(_drawable(x), _drawable(y), fmt)
        else:
            axes.plot(_drawable(y), fmt)
    set_axes(axes, xlabel, ylabel, xlim, ylim, xscale, yscale, legend)


def _has_one_axis(X) -> bool:
    """A single line (a 1-D tensor or array, or a list of numbers), not a list of lines."""
    if hasattr(X, "ndim"):
        return X.ndim == 1
    return isinstance(X, list) and not hasattr(X[0], "__len__")


def _drawable(values):
    """Tensors as numpy arrays: matplotlib cannot read one that requires grad or lives on a GPU."""
    if isinstance(values, torch.Tensor):
        return values.detach().cpu().numpy()
    return values


def show_images(imgs, num_rows: int, num_cols: int, titles=None, scale: float = 1.5):
    """Draw images in a num_rows x num_cols grid; returns the flattened array of axes."""
    figsize = (num_cols * scale, num_rows * scale)
    # squeeze=False: a 1x1 grid is still an array of axes, where the book's code would crash.
    _, axes = pyplot().subplots(num_rows, num_cols, figsize=figsize, squeeze=False)
    axes = axes.flatten()
    for i, (ax, img) in enumerate(zip(axes, imgs, strict=False)):
        img = _drawable(img)
        if getattr(img, "ndim", 0) == 3 and img.shape[0] == 1:
            img = img[0]  # (1, h, w) as the data loaders yield it: imshow wants (h, w)
        ax.imshow(img)
        ax.axes.get_xaxis().set_visible(False)
        ax.axes.get_yaxis().set_visible(False)
        if titles:
            ax.set_title(titles[i])
    return axes


class Animator:
    """Lines that grow during training, e.g. loss and accuracy per epoch.

    ``add`` records points (``X[i]``, ``Y[i]`` for line i). The figure is made and drawn when
    ``fig`` or ``axes`` is first read, and redrawn on every ``add`` after that.
    """

    def __init__(
        self,
        xlabel=None,
        ylabel=None,
        legend=None,
        xlim=None,
        ylim=None,
        xscale="linear",
        yscale="linear",
        fmts: Sequence[str] = _FMTS,
        nrows: int = 1,
        ncols: int = 1,
        figsize: tuple[float, float] = (3.5, 2.5),
    ) -> None:
        self._axes_settings = (xlabel, ylabel, xlim, ylim, xscale, yscale, legend or [])
        self._grid = (nrows, ncols)
        self._figsize = figsize
        self._fig = None
        self._axes: list[Any] | None = None
        self.X: list[list] | None = None
        self.Y: list[list] | None = None
        self.fmts = fmts

    def add(self, x, y) -> None:
        """Append a point to each line; a None in ``y`` (or ``x``) skips that line."""
        if not hasattr(y, "__len__"):
            y = [y]
        n = len(y)
        if not hasattr(x, "__len__"):
            x = [x] * n
        if not self.X:
            self.X = [[] for _ in range(n)]
        if not self.Y:
            self.Y = [[] for _ in range(n)]
        for i, (a, b) in enumerate(zip(x, y, strict=False)):
            if a is not None and b is not None:
                self.X[i].append(_number(a))
                self.Y[i].append(_number(b))
        if self._fig is not None:
            self._draw()

    @property
    def fig(self):
        self._ensure_figure()
        return self._fig

    @property
    def axes(self) -> list[Any]:
        self._ensure_figure()
        return self._axes

    def config_axes(self) -> None:
        set_axes(self.axes[0], *self._axes_settings)

    def _ensure_figure(self) -> None:
        if self._fig is not None:
            return
        fig, axes = pyplot().subplots(*self._grid, figsize=self._figsize, squeeze=False)
        self._fig, self._axes = fig, list(axes.flatten())
        self._draw()

    def _draw(self) -> None:
        ax = self._axes[0]
        ax.cla()
        for x, y, fmt in zip(self.X or [], self.Y or [], self.fmts, strict=False):
            ax.plot(x, y, fmt)
        self.config_axes()


def _number(value):
    """A one-element tensor as a Python number, so a recorded loss keeps no autograd graph alive."""
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        return value.item()
    return value
