"""The grader's own d2l (grader/runner/shims/d2l): the book's API, compared with the references.

The shim is imported as the sandboxed child imports it, as a top-level ``d2l`` from the
shims folder; each test gets a fresh import, so patches such as ``add_to_class(d2l.Trainer)``
do not leak between tests.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from grader.builtin.reference import linear_regression as linreg_ref
from grader.builtin.reference import softmax_regression as softmax_ref
from helpers import REPO
from torch import nn
from torch.testing import assert_close

import grader.runner
from grader.data.fashion_mnist import CLASSES, make_fake
from grader.runner import datasets

SHIMS = Path(grader.runner.__file__).parent / "shims"
FASHION = "fashion_mnist_train"


@pytest.fixture
def shims_on_path():
    """The shims folder first on sys.path; afterwards the path and every d2l module are gone."""
    sys.path.insert(0, str(SHIMS))
    yield
    sys.path.remove(str(SHIMS))
    for name in [n for n in sys.modules if n == "d2l" or n.startswith("d2l.")]:
        del sys.modules[name]
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")


@pytest.fixture
def d2l(shims_on_path):
    """``from d2l import torch as d2l``, freshly imported."""
    from d2l import torch as d2l_torch

    assert Path(d2l_torch.__file__).parent == SHIMS / "d2l"  # ours, not an installed d2l
    return d2l_torch


@pytest.fixture(scope="module")
def fashion(data_root):
    """Fashion-MNIST's training split preloaded as the zygote does; undone afterwards.

    Returns the preloaded (images (n, 1, 28, 28) float32, labels (n,) int64).
    """
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(datasets, "_PRELOADED", {})  # restored afterwards: no preload leaks out
        datasets.preload(FASHION, data_root)
        yield datasets.get(FASHION)


# importing


def test_import_d2l_then_its_torch_attribute(shims_on_path):
    import d2l

    assert d2l.torch.Trainer.__name__ == "Trainer"


def test_the_three_import_forms_give_one_module(shims_on_path):
    import d2l as package
    from d2l import torch
    from d2l import torch as d2l

    assert package.torch is torch is d2l


def test_shims_is_not_a_grader_package():
    """shims goes on the child's sys.path; an __init__.py would make it grader.runner.shims."""
    assert not (SHIMS / "__init__.py").exists()
    assert (SHIMS / "d2l" / "__init__.py").is_file()


NAMES = """
    synthetic_data load_array linreg squared_loss sgd Accumulator Timer accuracy
    evaluate_accuracy train_epoch_ch3 train_ch3 predict_ch3 get_fashion_mnist_labels
    load_data_fashion_mnist show_images Animator plot set_figsize use_svg_display plt
    tensor arange exp log reduce_sum reduce_mean argmax astype float32 int32 ones zeros
    ones_like zeros_like randn rand normal matmul reshape to numpy size transpose abs concat
    stack linspace sin cos tanh meshgrid sinh cosh eye expand_dims
    HyperParameters ProgressBoard Module DataModule Trainer add_to_class SGD Classifier
    SyntheticRegressionData FashionMNIST LinearRegression SoftmaxRegression
""".split()


@pytest.mark.parametrize("name", NAMES)
def test_the_book_name_exists(d2l, name):
    assert getattr(d2l, name) is not None


def test_the_learners_own_models_are_not_given_away(d2l):
    for name in ("LinearRegressionScratch", "SoftmaxRegressionScratch"):
        with pytest.raises(AttributeError, match="chapter 2-4 API"):
            getattr(d2l, name)


def test_the_tensor_aliases_act_like_the_books(d2l):
    x = torch.arange(6.0).reshape(2, 3)  # (2, 3)
    assert_close(d2l.reduce_sum(x, dim=0), torch.tensor([3.0, 5.0, 7.0]))
    assert_close(d2l.reduce_mean(x), torch.tensor(2.5))
    assert d2l.argmax(x, axis=1).tolist() == [2, 2]
    assert d2l.astype(x, d2l.int32).dtype == torch.int32
    assert d2l.size(x) == 6
    assert d2l.transpose(x).shape == (3, 2)
    assert d2l.expand_dims(x, 0).shape == (1, 2, 3)
    assert d2l.concat((x, x), dim=0).shape == (4, 3)
    np.testing.assert_array_equal(d2l.numpy(x.requires_grad_()), np.arange(6.0).reshape(2, 3))


# chapter 3: linear regression, against reference/linear_regression.py

TRUE_W = torch.tensor([2, -3.4])
TRUE_B = 4.2


def test_synthetic_data_draws_what_the_reference_draws(d2l):
    torch.manual_seed(0)
    X, y = d2l.synthetic_data(TRUE_W, TRUE_B, 1000)
    torch.manual_seed(0)
    X_ref, y_ref = linreg_ref.synthetic_data(TRUE_W, TRUE_B, 1000)
    assert X.shape == (1000, 2) and y.shape == (1000, 1)
    assert_close(X, X_ref, rtol=0, atol=0)
    assert_close(y, y_ref, rtol=0, atol=0)
    assert abs(X.mean()) < 0.1 and abs(X.std() - 1) < 0.1
    noise = y - (X @ TRUE_W + TRUE_B).reshape(-1, 1)  # (1000, 1)
    assert abs(noise.std() - 0.01) < 0.002


def test_linreg_and_squared_loss_match_the_reference(d2l):
    torch.manual_seed(0)
    X, w, b, y = torch.randn(7, 3), torch.randn(3, 1), torch.randn(1), torch.randn(7)
    y_hat = d2l.linreg(X, w, b)  # (7, 1)
    assert_close(y_hat, linreg_ref.linreg(X, w, b))
    assert_close(d2l.squared_loss(y_hat, y), linreg_ref.squared_loss(y_hat, y))
    assert d2l.squared_loss(y_hat, y).shape == (7, 1)  # per example, y reshaped to y_hat's shape


def test_sgd_steps_and_zeroes_like_the_reference(d2l):
    torch.manual_seed(0)
    params = [torch.randn(3, 1, requires_grad=True), torch.randn(1, requires_grad=True)]
    copies = [p.detach().clone().requires_grad_() for p in params]
    for group in (params, copies):
        (group[0].sum() * 3 + group[1].sum() ** 2).backward()
    d2l.sgd(params, 0.1, 4)
    linreg_ref.sgd(copies, 0.1, 4)
    for p, q in zip(params, copies, strict=True):
        assert_close(p, q)
        assert p.grad.abs().sum() == 0


def test_load_array_yields_every_row_once_in_batches(d2l):
    X, y = torch.arange(50.0).reshape(25, 2), torch.arange(25)
    in_order = list(d2l.load_array((X, y), 10, is_train=False))
    assert [len(b) for _, b in in_order] == [10, 10, 5]
    assert_close(torch.cat([a for a, _ in in_order]), X)
    torch.manual_seed(0)
    loader = d2l.load_array((X, y), 10)
    first, second = (torch.cat([b for _, b in loader]) for _ in range(2))
    for order in (first, second):
        assert sorted(order.tolist()) == list(range(25))
    assert first.tolist() != list(range(25)) and first.tolist() != second.tolist()
    for a, b in loader:
        assert_close(a, X[b])  # rows stay paired with their labels


# chapter 3: softmax regression, against reference/softmax_regression.py


def _blobs(n: int = 300, d: int = 5, q: int = 3) -> tuple[torch.Tensor, torch.Tensor]:
    """A small classification problem: q Gaussian clusters in d dimensions."""
    g = torch.Generator().manual_seed(0)
    centers = 3 * torch.randn(q, d, generator=g)  # (q, d)
    y = torch.arange(n) % q  # (n,)
    return centers[y] + torch.randn(n, d, generator=g), y


@pytest.mark.parametrize(
    "y_hat, y",
    [
        (torch.tensor([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]]), torch.tensor([1, 1, 1])),
        (torch.tensor([1, 0, 2]), torch.tensor([1, 1, 2])),  # class indices already
        (torch.tensor([[1.0], [0.0], [2.0]]), torch.tensor([1, 1, 2])),  # (n, 1) against (n,)
    ],
)
def test_accuracy_is_the_references_count(d2l, y_hat, y):
    assert d2l.accuracy(y_hat, y) == softmax_ref.accuracy(y_hat, y)
    assert isinstance(d2l.accuracy(y_hat, y), float)


def test_evaluate_accuracy_matches_the_reference(d2l):
    X, y = _blobs()
    torch.manual_seed(0)
    net = nn.Linear(5, 3)
    loader = d2l.load_array((X, y), 32, is_train=False)
    assert d2l.evaluate_accuracy(net, loader) == softmax_ref.evaluate_accuracy(net, loader)


def _train_twice(d2l, train, num_outputs: int = 3) -> list:
    """``train(module, net, sgd)`` run with d2l and with the references, from the same start."""
    results = []
    for module, sgd in ((d2l, d2l.sgd), (softmax_ref, linreg_ref.sgd)):
        torch.manual_seed(0)  # the same initial weights and the same shuffles
        net = nn.Sequential(nn.Flatten(), nn.LazyLinear(num_outputs))
        results.append((train(module, net, sgd), net))
    return results


@pytest.mark.parametrize("updater", ["torch.optim.SGD", "a callable on the batch size"])
def test_train_epoch_ch3_matches_the_reference(d2l, updater):
    X, y = _blobs()

    def one_epoch(module, net, sgd):
        net(X[:1])  # materialise the lazy layer before the optimizer sees its parameters
        if updater == "torch.optim.SGD":
            update = torch.optim.SGD(net.parameters(), lr=0.1)
        else:

            def update(batch_size):
                sgd(list(net.parameters()), 0.1, batch_size)

        loss = nn.CrossEntropyLoss(reduction="none")
        return module.train_epoch_ch3(net, d2l.load_array((X, y), 32), loss, update)

    (ours, net), (reference, net_ref) = _train_twice(d2l, one_epoch)
    assert ours == pytest.approx(reference, rel=1e-6)
    assert 0 < ours[0] and 0 < ours[1] <= 1
    for p, q in zip(net.parameters(), net_ref.parameters(), strict=True):
        assert_close(p, q)


def test_train_ch3_matches_the_reference_and_asserts_nothing(d2l):
    X, y = _blobs()

    def three_epochs(module, net, sgd):
        net(X[:1])
        update = torch.optim.SGD(net.parameters(), lr=0.001)  # too small to reach the book's bar
        train_iter, test_iter = d2l.load_array((X, y), 32), d2l.load_array((X, y), 64, False)
        loss = nn.CrossEntropyLoss(reduction="none")
        return module.train_ch3(net, train_iter, test_iter, loss, 3, update)

    before = d2l.plt.get_fignums()
    (ours, _), (reference, _) = _train_twice(d2l, three_epochs)
    assert ours == pytest.approx(reference, rel=1e-6)
    assert ours[0] > 0.5  # the book's train_ch3 would have failed its assertion here
    assert d2l.plt.get_fignums() == before  # its Animator recorded, and drew nothing


def test_train_ch3_on_fashion_mnist_matches_the_reference(d2l, fashion):
    def one_epoch(module, net, sgd):
        train_iter, test_iter = d2l.load_data_fashion_mnist(256)
        net(next(iter(test_iter))[0])
        update = torch.optim.SGD(net.parameters(), lr=0.1)
        loss = nn.CrossEntropyLoss(reduction="none")
        return module.train_ch3(net, train_iter, test_iter, loss, 1, update)

    (ours, _), (reference, _) = _train_twice(d2l, one_epoch, num_outputs=10)
    assert ours == pytest.approx(reference, rel=1e-6)


def test_predict_ch3_titles_the_first_images_true_then_predicted(d2l, fashion):
    _, test_iter = d2l.load_data_fashion_mnist(4)  # a batch shorter than n
    X, y = next(iter(test_iter))
    net = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
    d2l.predict_ch3(net, test_iter, n=6)
    preds = net(X).argmax(dim=1)
    titles = [ax.get_title() for ax in d2l.plt.gcf().axes]
    assert titles == [f"{CLASSES[t]}\n{CLASSES[p]}" for t, p in zip(y, preds, strict=True)]


# Fashion-MNIST


def test_fashion_mnist_labels_are_the_datasets_classes(d2l):
    assert d2l.get_fashion_mnist_labels(torch.arange(10)) == list(CLASSES)


def _fingerprints(batches) -> list[tuple[int, int]]:
    """Each image's hash (of its float32 bytes) with its label, sorted."""
    found = []
    for X, y in batches:
        pixels = X.reshape(len(X), -1).numpy()  # (batch, 784) float32
        found += zip(map(hash, map(bytes, pixels)), y.tolist(), strict=True)
    return sorted(found)


def test_load_data_fashion_mnist_holds_out_the_last_sixth(d2l, fashion):
    images, labels = fashion
    start = len(labels) - len(labels) // 6
    train_iter, test_iter = d2l.load_data_fashion_mnist(64)
    for X, y in (next(iter(train_iter)), next(iter(test_iter))):
        assert X.shape == (64, 1, 28, 28) and X.dtype == torch.float32
        assert y.shape == (64,) and y.dtype == torch.int64
        assert 0 <= X.min() and X.max() <= 1
    test = list(test_iter)  # in order: exactly the held-out images and labels
    assert_close(torch.cat([X for X, _ in test]), images[start:], rtol=0, atol=0)
    assert torch.equal(torch.cat([y for _, y in test]), labels[start:])
    # Shuffled: the rest, each image once, with its own label.
    assert _fingerprints(train_iter) == _fingerprints([(images[:start], labels[:start])])


def test_the_real_fashion_mnist_splits_50000_and_10000(d2l, fashion):
    if len(fashion[1]) != 60_000:
        pytest.skip("a stand-in data set is preloaded, not the real Fashion-MNIST")
    train_iter, test_iter = d2l.load_data_fashion_mnist(1000)
    assert (len(train_iter.dataset), len(test_iter.dataset)) == (50_000, 10_000)


@pytest.mark.parametrize("resize, size", [(64, (64, 64)), ((20, 24), (20, 24)), (28, (28, 28))])
def test_resize_matches_the_books_pil_resize(d2l, fashion, resize, size):
    """The book resizes PIL images bilinearly, then divides by 255: the same within 1/255."""
    Image = pytest.importorskip("PIL.Image")
    _, test_iter = d2l.load_data_fashion_mnist(8, resize=resize)
    X, _ = next(iter(test_iter))
    assert X.shape == (8, 1, *size) and X.dtype == torch.float32
    images = fashion[0][len(fashion[1]) - len(fashion[1]) // 6 :][:8]  # the held-out start
    book = [
        Image.fromarray((img[0] * 255).round().to(torch.uint8).numpy(), mode="L").resize(
            size[::-1], Image.BILINEAR
        )
        for img in images
    ]
    expected = torch.from_numpy(np.stack(book).astype(np.float32) / 255)[:, None]  # (8, 1, h, w)
    assert_close(X, expected, rtol=0, atol=1 / 255)


def test_without_preloaded_fashion_mnist_the_error_says_so(d2l, monkeypatch):
    monkeypatch.setattr(datasets, "_PRELOADED", {})
    for load in (lambda: d2l.load_data_fashion_mnist(256), lambda: d2l.FashionMNIST()):
        with pytest.raises(RuntimeError) as info:
            load()
        assert "Fashion-MNIST is not available to this assignment's code" in str(info.value)
        assert info.value.__suppress_context__  # no LookupError traceback for the learner


def test_preloading_from_the_same_root_keeps_the_data_and_another_root_loads_its_own(
    tmp_path, monkeypatch
):
    monkeypatch.setattr(datasets, "_PRELOADED", {})
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    small = make_fake(tmp_path / "small", n_train=30, n_test=10)
    other = make_fake(tmp_path / "other", n_train=40, n_test=10, seed=1)
    datasets.preload(FASHION, small)
    images, labels = datasets.get(FASHION)
    datasets.preload(FASHION, tmp_path / "x" / ".." / "small")  # the same root, spelled otherwise
    assert datasets.get(FASHION)[0] is images
    datasets.preload(FASHION, other)
    assert len(datasets.get(FASHION)[1]) == 40 and len(labels) == 30


def test_the_fashion_mnist_data_module(d2l, fashion):
    images, labels = fashion
    start = len(labels) - len(labels) // 6
    data = d2l.FashionMNIST(batch_size=64)
    assert (len(data.train), len(data.val)) == (start, len(labels) - start)
    image, label = data.val[0]
    assert image.shape == (1, 28, 28) and label == labels[start].item()
    assert_close(image, images[start], rtol=0, atol=0)
    X, y = next(iter(data.val_dataloader()))
    assert X.shape == (64, 1, 28, 28) and y.dtype == torch.int64
    assert data.text_labels([0, 9]) == ["t-shirt", "ankle boot"]
    assert d2l.FashionMNIST(resize=(32, 32)).train[0][0].shape == (1, 32, 32)
    data.visualize((X, y))
    assert [ax.get_title() for ax in d2l.plt.gcf().axes] == [CLASSES[i] for i in y[:8]]


# drawing


def test_animator_records_and_draws_only_when_looked_at(d2l):
    before = d2l.plt.get_fignums()
    animator = d2l.Animator(xlabel="epoch", legend=["loss", "test acc"])
    for epoch in (1, 2, 3):
        loss = torch.tensor(1.0 / epoch, requires_grad=True) * 1  # a tensor with a graph
        animator.add(epoch, (loss, None if epoch == 2 else 0.5))
    assert d2l.plt.get_fignums() == before
    assert animator.X == [[1, 2, 3], [1, 3]]
    assert animator.Y[0] == pytest.approx([1.0, 0.5, 1 / 3]) and animator.Y[1] == [0.5, 0.5]
    assert all(type(v) is float for v in animator.Y[0])  # no graph kept alive
    ax = animator.axes[0]
    animator.add(4, (0.25, 0.25))  # drawn from here on
    assert [line.get_xdata().tolist() for line in ax.get_lines()] == [[1, 2, 3, 4], [1, 3, 4]]
    assert ax.get_xlabel() == "epoch"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["loss", "test acc"]


def test_animator_add_is_cheap(d2l):
    animator = d2l.Animator(legend=["a", "b", "c"])
    start = time.perf_counter()
    for i in range(1000):
        animator.add(i, (0.1, 0.2, 0.3))
    assert time.perf_counter() - start < 0.5  # the book's redraw on every add: about 10 s


def test_plot_and_show_images_draw_tensors(d2l):
    x = torch.arange(0.0, 3.0, 0.5, requires_grad=True)
    d2l.plot(x, [x**2, 2 * x], "x", "f(x)", legend=["x^2", "2x"])
    lines = d2l.plt.gca().get_lines()
    assert [line.get_ydata().tolist() for line in lines] == [
        (x**2).tolist(),
        (2 * x).tolist(),
    ]
    axes = d2l.show_images(torch.rand(3, 1, 28, 28), 1, 1, titles=["one"])  # a 1x1 grid
    assert len(axes) == 1 and axes[0].get_title() == "one"
    axes = d2l.show_images(torch.rand(3, 28, 28), 2, 2)
    assert len(axes) == 4 and len(axes[2].get_images()) == 1 and not axes[3].get_images()


def test_plt_is_pyplot_on_agg(d2l):
    import matplotlib.pyplot

    assert d2l.plt is matplotlib.pyplot
    assert d2l.plt.get_backend().lower() == "agg"


DRAWING = """
import sys
import torch
sys.path.insert(0, {shims!r})
import d2l
d2l = d2l.torch
assert "matplotlib" not in sys.modules, "importing d2l imported matplotlib"
animator = d2l.Animator(legend=["a"])
animator.add(1, 0.5)
animator.fig
d2l.plot(torch.arange(3.0), [torch.arange(3.0) ** 2])
d2l.show_images(torch.rand(2, 28, 28), 1, 2, titles=["a", "b"])
d2l.plt.show()
print(d2l.plt.get_backend())
"""


@pytest.mark.parametrize("backend", [None, "TkAgg", "no-such-backend"])
def test_drawing_ignores_mplbackend(backend, tmp_path):
    """A fresh process: whatever MPLBACKEND says, pyplot loads late and draws on Agg, silently."""
    script = DRAWING.format(shims=str(SHIMS))
    env = {"PATH": "/usr/bin:/bin", "HOME": str(Path.home())}
    if backend is not None:
        env["MPLBACKEND"] = backend
    done = subprocess.run(
        [sys.executable, "-W", "error", "-c", script],
        capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().lower() == "agg" and done.stderr == ""


# d2l-en 1.0: the classes chapter 3 subclasses and patches


def test_save_hyperparameters_keeps_the_callers_arguments(d2l):
    class Model(d2l.HyperParameters):
        def __init__(self, a, b, _private=1, c=3):
            self.save_hyperparameters(ignore=["c"])

    model = Model(1, b=2)
    assert model.hparams == {"a": 1, "b": 2}
    assert (model.a, model.b) == (1, 2)
    assert not hasattr(model, "c") and not hasattr(model, "_private")


def test_a_learners_fit_epoch_replaces_the_saved_one(d2l):
    epochs = []

    @d2l.add_to_class(d2l.Trainer)
    def fit_epoch(self):
        epochs.append(self.epoch)

    d2l.Trainer(max_epochs=2).fit(d2l.LinearRegression(lr=0.1),
                                  d2l.SyntheticRegressionData(w=TRUE_W, b=TRUE_B))
    assert epochs == [0, 1]


def _notebook(d2l, optimizer: str):
    """Section 3.4 of d2l-en 1.0, as a learner writes it; returns LinearRegressionScratch."""

    class LinearRegressionScratch(d2l.Module):
        def __init__(self, num_inputs, lr, sigma=0.01):
            super().__init__()
            self.save_hyperparameters()
            self.w = torch.normal(0, sigma, (num_inputs, 1), requires_grad=True)
            self.b = torch.zeros(1, requires_grad=True)

    @d2l.add_to_class(LinearRegressionScratch)
    def forward(self, X):
        return torch.matmul(X, self.w) + self.b

    @d2l.add_to_class(LinearRegressionScratch)
    def loss(self, y_hat, y):
        return ((y_hat - y) ** 2 / 2).mean()

    class SGD(d2l.HyperParameters):
        def __init__(self, params, lr):
            self.save_hyperparameters()

        def step(self):
            for param in self.params:
                param -= self.lr * param.grad

        def zero_grad(self):
            for param in self.params:
                if param.grad is not None:
                    param.grad.zero_()

    @d2l.add_to_class(LinearRegressionScratch)
    def configure_optimizers(self):
        chosen = SGD if optimizer == "the learner's SGD" else d2l.SGD
        return chosen([self.w, self.b], self.lr)

    @d2l.add_to_class(d2l.Trainer)
    def prepare_batch(self, batch):
        return batch

    @d2l.add_to_class(d2l.Trainer)
    def fit_epoch(self):
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

    assert forward is loss is configure_optimizers is fit_epoch is None  # as the book's does
    return LinearRegressionScratch


@pytest.mark.parametrize("optimizer", ["the learner's SGD", "d2l.SGD"])
def test_a_learners_linear_regression_recovers_w_and_b(d2l, optimizer):
    LinearRegressionScratch = _notebook(d2l, optimizer)
    torch.manual_seed(0)
    model = LinearRegressionScratch(2, lr=0.1)  # the book's 0.03 leaves w 0.15 off in 3 epochs
    data = d2l.SyntheticRegressionData(w=torch.tensor([2, -3.4]), b=4.2)
    d2l.Trainer(max_epochs=3).fit(model, data)
    assert_close(model.w.detach().reshape(-1), TRUE_W, rtol=0, atol=0.1)
    assert abs(model.b.item() - TRUE_B) < 0.1
    # 32 batches an epoch. The board averages 16 training points into one (2 an epoch), each at
    # x = batches done before it / 32, so point k sits at the mean of 16k..16k+15, over 32; the
    # 32 validation batches make 1 point an epoch, at x = epoch.
    expected = [(16 * k + 7.5) / 32 for k in range(6)]
    assert [p.x for p in model.board.data["train_loss"]] == pytest.approx(expected)
    assert [p.x for p in model.board.data["val_loss"]] == [1, 2, 3]


def test_the_concise_linear_regression_recovers_w_and_b_with_the_saved_fit_epoch(d2l):
    torch.manual_seed(0)
    model = d2l.LinearRegression(lr=0.1)
    d2l.Trainer(max_epochs=3).fit(model, d2l.SyntheticRegressionData(w=TRUE_W, b=TRUE_B))
    w, b = model.get_w_b()
    assert_close(w.reshape(-1), TRUE_W, rtol=0, atol=0.1)
    assert abs(b.item() - TRUE_B) < 0.1


def test_classifier_accuracy_and_loss_match_the_reference(d2l):
    torch.manual_seed(0)
    Y_hat, Y = 3 * torch.randn(50, 10), torch.randint(0, 10, (50,))  # (50, 10) logits, (50,)
    classifier = d2l.Classifier()
    assert classifier.accuracy(Y_hat, Y).item() == pytest.approx(
        softmax_ref.accuracy(Y_hat, Y) / 50
    )
    correct = classifier.accuracy(Y_hat, Y, averaged=False)  # (50,) of 0 and 1
    assert correct.sum().item() == softmax_ref.accuracy(Y_hat, Y)
    assert_close(classifier.loss(Y_hat, Y), softmax_ref.softmax_cross_entropy(Y_hat, Y).mean())


def test_softmax_regression_trains_on_fashion_mnist_and_records_validation(d2l, fashion):
    _notebook(d2l, "d2l.SGD")  # for fit_epoch
    torch.manual_seed(0)
    data = d2l.FashionMNIST(batch_size=256)
    model = d2l.SoftmaxRegression(num_outputs=10, lr=0.1)
    d2l.Trainer(max_epochs=1).fit(model, data)
    (point,) = model.board.data["val_acc"]  # one epoch: the mean of the batches' accuracies
    with torch.no_grad():
        accuracies = [softmax_ref.accuracy(model(X), y) / len(y) for X, y in data.val_dataloader()]
    assert point.x == 1 and point.y == pytest.approx(np.mean(accuracies), rel=1e-5)
    assert point.y > 0.3  # chance is 0.1


@pytest.mark.slow
def test_the_wheel_carries_the_shim(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(REPO)],
        capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr
    (wheel,) = tmp_path.glob("grader-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for source in sorted((SHIMS / "d2l").glob("*.py")):
        assert f"grader/runner/shims/d2l/{source.name}" in names
    assert "grader/runner/shims/__init__.py" not in names


ALLOWED_IMPORTS = {"torch", "numpy", "matplotlib", *sys.stdlib_module_names}


@pytest.mark.parametrize("source", sorted((SHIMS / "d2l").glob("*.py")), ids=lambda p: p.name)
def test_the_shim_imports_torch_numpy_matplotlib_and_the_datasets_alone(source):
    """It runs beside student code: no torchvision or IPython, and of the grader only the
    preloaded tensors and the class names."""
    found = set()
    for node in ast.walk(ast.parse(source.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level:
            found.add(node.module)
            if node.module == "grader.runner":
                assert [alias.name for alias in node.names] == ["datasets"]
    outside = {
        name
        for name in found
        if name.split(".")[0] not in ALLOWED_IMPORTS
        and name not in ("grader.runner", "grader.data.fashion_mnist")
    }
    assert not outside, f"{source.name} imports {sorted(outside)}"
