"""The d2l-en 1.0 framework that chapter-3 notebooks subclass and patch.

``Module`` is the model, ``DataModule`` the data and ``Trainer`` the loop; a notebook adds
methods to them with ``@d2l.add_to_class(...)``. ``Trainer.fit_epoch`` is the working one of
the saved library, as the real package has it (later sections' notebooks call ``fit`` without
writing it); a learner's own, added with ``add_to_class``, replaces it. The book's from-scratch
models (``LinearRegressionScratch``, ``SoftmaxRegressionScratch``) are the learners' work and are
not here; the concise ones are, in _models.
"""

from __future__ import annotations

import inspect
from collections import namedtuple
from collections.abc import Callable, Iterable

import torch
from torch.utils.data import DataLoader, TensorDataset

Point = namedtuple("Point", ["x", "y"])


def add_to_class(Class: type) -> Callable[[Callable], None]:
    """A decorator that sets the function as a method of ``Class``, after the class is made.

    Like the book's, the decorated name is bound to None in the caller's namespace.
    """

    def wrapper(obj: Callable) -> None:
        setattr(Class, obj.__name__, obj)

    return wrapper


class HyperParameters:
    """The base class of objects that keep their constructor's arguments as attributes."""

    def save_hyperparameters(self, ignore: Iterable[str] = ()) -> None:
        """Set the calling function's local variables (its arguments) as attributes of self.

        Names in ``ignore``, ``self`` and names starting with an underscore are left out; the
        rest are also kept in ``self.hparams``.
        """
        frame = inspect.currentframe().f_back
        try:
            local_vars = dict(frame.f_locals)
        finally:
            del frame  # a frame kept in a local makes a reference cycle
        skip = {*ignore, "self"}
        self.hparams = {
            k: v for k, v in local_vars.items() if k not in skip and not k.startswith("_")
        }
        for k, v in self.hparams.items():
            setattr(self, k, v)


class ProgressBoard(HyperParameters):
    """Points plotted during training, recorded but never drawn: nothing is displayed here.

    ``draw`` keeps, for each label, the mean of every ``every_n`` points in ``data[label]``:
    the points the book's board would plot.
    """

    def __init__(
        self,
        xlabel=None,
        ylabel=None,
        xlim=None,
        ylim=None,
        xscale="linear",
        yscale="linear",
        ls=("-", "--", "-.", ":"),
        colors=("C0", "C1", "C2", "C3"),
        fig=None,
        axes=None,
        figsize=(3.5, 2.5),
        display=True,
    ) -> None:
        self.save_hyperparameters()
        self.raw_points: dict[str, list[Point]] = {}
        self.data: dict[str, list[Point]] = {}

    def draw(self, x, y, label: str, every_n: int = 1) -> None:
        points = self.raw_points.setdefault(label, [])
        line = self.data.setdefault(label, [])
        points.append(Point(x, y))
        if len(points) != every_n:
            return
        line.append(Point(_mean(p.x for p in points), _mean(p.y for p in points)))
        points.clear()


def _mean(values: Iterable) -> float:
    values = list(values)
    return sum(values) / len(values)


class Module(torch.nn.Module, HyperParameters):
    """The base class of models: a network, its loss, its optimizer and its training steps."""

    def __init__(self, plot_train_per_epoch: int = 2, plot_valid_per_epoch: int = 1) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.board = ProgressBoard()

    def loss(self, y_hat, y):
        raise NotImplementedError(f"{type(self).__name__} has no loss method; define one")

    def forward(self, X):
        if not hasattr(self, "net"):
            raise NotImplementedError(
                f"{type(self).__name__} has neither a forward method nor a self.net to call"
            )
        return self.net(X)

    def plot(self, key: str, value, train: bool) -> None:
        """Record a point of ``key`` (a loss, an accuracy) on the board, in epochs."""
        if not hasattr(self, "trainer"):
            raise RuntimeError("Module.plot needs a trainer: call it from Trainer.fit")
        self.board.xlabel = "epoch"
        if train:
            x = self.trainer.train_batch_idx / self.trainer.num_train_batches
            n = self.trainer.num_train_batches / self.plot_train_per_epoch
        else:
            x = self.trainer.epoch + 1
            n = self.trainer.num_val_batches / self.plot_valid_per_epoch
        value = value.detach().cpu().item() if torch.is_tensor(value) else float(value)
        self.board.draw(x, value, ("train_" if train else "val_") + key, every_n=int(n))

    def training_step(self, batch):
        loss = self.loss(self(*batch[:-1]), batch[-1])
        self.plot("loss", loss, train=True)
        return loss

    def validation_step(self, batch) -> None:
        loss = self.loss(self(*batch[:-1]), batch[-1])
        self.plot("loss", loss, train=False)

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.lr)


class DataModule(HyperParameters):
    """The base class of data: training and validation loaders."""

    # num_workers 0 where the book has 4: the sandbox forbids worker processes.
    def __init__(self, root: str = "../data", num_workers: int = 0) -> None:
        self.save_hyperparameters()

    def get_dataloader(self, train: bool):
        raise NotImplementedError(f"{type(self).__name__} has no get_dataloader method")

    def train_dataloader(self):
        return self.get_dataloader(train=True)

    def val_dataloader(self):
        return self.get_dataloader(train=False)

    def get_tensorloader(self, tensors, train: bool, indices=slice(0, None)) -> DataLoader:
        """A loader over the rows ``indices`` of ``tensors``, shuffled when ``train``."""
        tensors = tuple(a[indices] for a in tensors)
        dataset = TensorDataset(*tensors)
        return DataLoader(dataset, self.batch_size, shuffle=train)


class Trainer(HyperParameters):
    """Trains a Module on a DataModule: ``fit`` runs ``fit_epoch`` max_epochs times."""

    def __init__(self, max_epochs: int, num_gpus: int = 0, gradient_clip_val: float = 0) -> None:
        self.save_hyperparameters()
        # The GPUs that exist, up to num_gpus; CUDA is not asked about when none are wanted.
        count = min(num_gpus, torch.cuda.device_count()) if num_gpus else 0
        self.gpus = [torch.device(f"cuda:{i}") for i in range(count)]

    def prepare_data(self, data) -> None:
        self.train_dataloader = data.train_dataloader()
        self.val_dataloader = data.val_dataloader()
        self.num_train_batches = len(self.train_dataloader)
        self.num_val_batches = len(self.val_dataloader) if self.val_dataloader is not None else 0

    def prepare_model(self, model) -> None:
        model.trainer = self
        model.board.xlim = [0, self.max_epochs]
        if self.gpus:
            model.to(self.gpus[0])
        self.model = model

    def fit(self, model, data) -> None:
        self.prepare_data(data)
        self.prepare_model(model)
        self.optim = model.configure_optimizers()
        self.epoch = 0
        self.train_batch_idx = 0
        self.val_batch_idx = 0
        for epoch in range(self.max_epochs):
            self.epoch = epoch  # read by fit_epoch and Module.plot
            self.fit_epoch()

    def fit_epoch(self) -> None:
        """One pass over the training data, then one over the validation data (book, 3.4)."""
        self.model.train()
        for batch in self.train_dataloader:
            loss = self.model.training_step(self.prepare_batch(batch))
            self.optim.zero_grad()
            with torch.no_grad():
                loss.backward()
                if self.gradient_clip_val > 0:
                    self.clip_gradients(self.gradient_clip_val, self.model)
                self.optim.step()
            self.train_batch_idx += 1
        if self.val_dataloader is None:
            return
        self.model.eval()
        for batch in self.val_dataloader:
            with torch.no_grad():
                self.model.validation_step(self.prepare_batch(batch))
            self.val_batch_idx += 1

    def prepare_batch(self, batch):
        if self.gpus:
            batch = [a.to(self.gpus[0]) for a in batch]
        return batch

    def clip_gradients(self, grad_clip_val: float, model) -> None:
        """Scale the gradients down so that their joint norm is at most grad_clip_val."""
        params = [p for p in model.parameters() if p.requires_grad]
        norm = torch.sqrt(sum(torch.sum(p.grad**2) for p in params))
        if norm > grad_clip_val:
            for param in params:
                param.grad[:] *= grad_clip_val / norm


class SGD(HyperParameters):
    """Minibatch SGD on a list of tensors: p -= lr * p.grad (the loss is already a batch mean)."""

    def __init__(self, params, lr: float) -> None:
        self.save_hyperparameters()

    def step(self) -> None:
        # no_grad here too: the book relies on its caller's, and a leaf updated in place outside
        # one is an autograd error.
        with torch.no_grad():
            for param in self.params:
                param -= self.lr * param.grad

    def zero_grad(self) -> None:
        for param in self.params:
            if param.grad is not None:
                param.grad.zero_()
