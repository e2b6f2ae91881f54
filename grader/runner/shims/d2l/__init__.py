"""The grader's own ``d2l``: what ``from d2l import torch as d2l`` imports in a submission.

Learners' code starts the way the book's does, ``from d2l import torch as d2l``. The ``d2l``
package on PyPI cannot serve it: it pins an old numpy and imports torchvision, and neither
works with the torch the grader runs; it also downloads its data. This package is the book's
saved API written again from its definitions, in ``d2l.torch``: d2l-en 0.17's chapters 2-4
(``synthetic_data``, ``sgd``, ``train_ch3``...) and the d2l-en 1.0 classes that chapter 3
subclasses and patches (``Module``, ``DataModule``, ``Trainer``...). Where it differs from the
book, it is because of where it runs:

- Fashion-MNIST comes from the training images the grading worker preloaded, never from a
  download, and the "test" set is the last 10,000 of them, held out from training: the real
  test set never enters a process that runs student code.
- Figures are drawn on matplotlib's Agg backend and never shown; ``Animator`` and
  ``ProgressBoard`` record their points and draw only when asked.
- Data loaders start no worker processes, which the sandbox forbids.
- ``train_ch3`` returns its last epoch's figures where the book asserts on them, and
  ``Trainer.fit_epoch`` is left for learners to write, as in the book's section 3.4.

The folder holding this package, grader/runner/shims, goes on the sandboxed child's
``sys.path``, so ``d2l`` is a top-level name there and nowhere else; it is package data of
``grader.runner``, not a part of the ``grader`` package. It imports torch, numpy, matplotlib
(lazily, on the first drawing) and ``grader.runner.datasets``, nothing else of the grader.
"""

from . import torch  # noqa: F401 -- `import d2l` then `d2l.torch`, as with the book's package
