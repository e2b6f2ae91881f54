"""A class of linreg submissions for the similarity tests: everyone follows the book, each in
their own words; two pairs were planted, and two students are the book, word for word.

Independent students pick, per function, one of a few correct ways (the book's, the reference's,
a common alternative), name their variables their own way and comment their own way, so two of
them often agree on a function the way two learners of one book do. The planted pairs:

- ``copy_from`` / ``copy_to``: copy_to took copy_from's file, renamed every variable, reordered
  the functions and reformatted the code (line breaks, spacing, comments, docstrings);
  copy_from wrote data_iter and normal_equation in an unusual way, which a copy keeps.
- ``bug_from`` / ``bug_to``: otherwise independent (different choices everywhere), but bug_to
  took bug_from's huber_loss, an unusual precedence mistake (``d**2 / 2 * sigma``) that no one
  else makes: the same wrong answer on the same hidden inputs.
- ``book_a`` / ``book_b``: not planted: two independent, correct, book-faithful solutions, the
  book's code with their own names. They must score below the threshold.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

ALTERNATIVE = 0.35  # how often an independent student writes a function otherwise than the book

HEADER = '"""My linear regression."""\n\nimport random\n\nimport torch\n'

SIGNATURES = {
    "synthetic_data": "def synthetic_data(w, b, num_examples):",
    "data_iter": "def data_iter(batch_size, features, labels):",
    "linreg": "def linreg(X, w, b):",
    "squared_loss": "def squared_loss(y_hat, y):",
    "sgd": "def sgd(params, lr, batch_size):",
    "train_linreg": "def train_linreg(features, labels, lr=0.03, num_epochs=3, batch_size=10):",
    "normal_equation": "def normal_equation(X, y):",
    "huber_loss": "def huber_loss(y_hat, y, sigma=1.0):",
}

# Correct ways to write each function, the book's (or the reference's) first.
WAYS = {
    "synthetic_data": [
        """
        X = torch.normal(0, 1, (num_examples, len(w)), dtype=w.dtype)
        y = torch.matmul(X, w) + b
        y += torch.normal(0, 0.01, y.shape, dtype=y.dtype)
        return X, y.reshape((-1, 1))
        """,
        """
        X = torch.normal(0.0, 1.0, size=(num_examples, w.shape[0]), dtype=w.dtype)
        noise = torch.normal(0.0, 0.01, size=(num_examples,), dtype=w.dtype)
        y = X @ w + b + noise
        return X, y.reshape(-1, 1)
        """,
    ],
    "data_iter": [
        """
        num_examples = len(features)
        indices = torch.randperm(num_examples)
        for i in range(0, num_examples, batch_size):
            batch_indices = indices[i: i + batch_size]
            yield features[batch_indices], labels[batch_indices]
        """,
        """
        num_examples = len(features)
        indices = list(range(num_examples))
        random.shuffle(indices)
        for i in range(0, num_examples, batch_size):
            batch_indices = torch.tensor(indices[i: min(i + batch_size, num_examples)])
            yield features[batch_indices], labels[batch_indices]
        """,
    ],
    "linreg": [
        """
        return torch.matmul(X, w) + b
        """,
        """
        return X @ w + b
        """,
    ],
    "squared_loss": [
        """
        return (y_hat - y.reshape(y_hat.shape)) ** 2 / 2
        """,
        """
        diff = y_hat - y.reshape(y_hat.shape)
        return 0.5 * diff ** 2
        """,
    ],
    "sgd": [
        """
        with torch.no_grad():
            for param in params:
                param -= lr * param.grad / batch_size
                param.grad.zero_()
        """,
        """
        with torch.no_grad():
            for param in params:
                param.sub_(lr * param.grad / batch_size)
                param.grad.zero_()
        """,
    ],
    "train_linreg": [
        """
        w = torch.normal(0, 0.01, size=(features.shape[1], 1), dtype=features.dtype,
                         requires_grad=True)
        b = torch.zeros(1, dtype=features.dtype, requires_grad=True)
        for epoch in range(num_epochs):
            for X, y in data_iter(batch_size, features, labels):
                l = squared_loss(linreg(X, w, b), y)
                l.sum().backward()
                sgd([w, b], lr, X.shape[0])
        return w, b
        """,
        """
        w = torch.zeros((features.shape[1], 1), dtype=features.dtype, requires_grad=True)
        b = torch.zeros(1, dtype=features.dtype, requires_grad=True)
        for _ in range(num_epochs):
            for X, y in data_iter(batch_size, features, labels):
                loss = squared_loss(linreg(X, w, b), y).sum()
                loss.backward()
                sgd([w, b], lr, len(X))
        return w, b
        """,
    ],
    "normal_equation": [
        """
        X1 = torch.cat([X, torch.ones_like(X[:, :1])], dim=1)
        theta = torch.linalg.lstsq(X1, y.reshape(-1, 1).to(X1.dtype)).solution
        return theta[:-1], theta[-1]
        """,
        """
        ones = torch.ones(X.shape[0], 1, dtype=X.dtype)
        A = torch.cat((X, ones), dim=1)
        theta = torch.linalg.pinv(A) @ y.reshape(-1, 1).to(A.dtype)
        return theta[:-1], theta[-1]
        """,
    ],
    "huber_loss": [
        """
        d = y_hat - y.reshape(y_hat.shape)
        abs_d = d.abs()
        return torch.where(abs_d > sigma, abs_d - sigma / 2, d ** 2 / (2 * sigma))
        """,
        """
        d = y_hat - y.reshape(y_hat.shape)
        return torch.where(d.abs() <= sigma, d ** 2 / (2 * sigma), d.abs() - sigma / 2)
        """,
    ],
}

# copy_from's own ways: unusual, so only a copy shares them.
UNUSUAL = {
    "data_iter": """
        order = list(range(len(features)))
        random.shuffle(order)
        start = 0
        while start < len(order):
            chunk = torch.tensor(order[start:start + batch_size], dtype=torch.long)
            start = start + batch_size
            yield features.index_select(0, chunk), labels.index_select(0, chunk)
        """,
    "normal_equation": """
        n = X.shape[0]
        design = torch.hstack([X, torch.ones((n, 1), dtype=X.dtype)])
        q, r = torch.linalg.qr(design)
        coef = torch.linalg.solve_triangular(r, q.T @ y.reshape(n, 1).to(X.dtype), upper=True)
        weights, bias = torch.split(coef, [X.shape[1], 1])
        return weights, bias.reshape(1)
        """,
}
# bug_from's huber_loss: the quadratic part is d²/2 times sigma, not over 2 sigma.
PRECEDENCE_BUG = """
        d = y_hat - y.reshape(y_hat.shape)
        return torch.where(d.abs() > sigma, d.abs() - sigma / 2, d ** 2 / 2 * sigma)
        """

NAMES = [  # each student's own names for the book's local variables (never a parameter's)
    {"indices": "idx", "batch_indices": "batch", "i": "k", "theta": "params_hat"},
    {"indices": "order", "batch_indices": "sel", "diff": "err", "X1": "Xb"},
    {"i": "first", "abs_d": "mag", "param": "p", "ones": "col"},
    {"batch_indices": "j", "theta": "solution", "noise": "eps", "d": "delta"},
    {"indices": "perm", "param": "tensor", "X1": "augmented", "diff": "residual"},
    {"i": "lo", "abs_d": "absolute", "A": "design", "epoch": "ep"},
    {"indices": "shuffled", "batch_indices": "picks", "d": "r", "param": "weight"},
    {"theta": "coef", "i": "begin", "noise": "jitter", "l": "batch_loss"},
    {"indices": "ids", "diff": "gap", "X1": "Xa", "ones": "bias_col"},
    {"batch_indices": "rows", "abs_d": "a", "param": "t", "A": "M"},
]


def body(code: str, names: dict[str, str]) -> str:
    """``code`` (a function body, indented 8) indented 4, with ``names`` renamed."""
    lines = [line[4:] if line.startswith("        ") else line.strip() for line in
             code.strip("\n").splitlines()]
    text = "\n".join(lines)
    for old, new in names.items():
        text = re.sub(rf"(?<!\.)\b{re.escape(old)}\b", new, text)  # not an attribute
    return text


def source(choices: dict[str, str], names: dict[str, str], *, note: str = "",
           order: list[str] | None = None) -> str:
    """A file of every function, each body from ``choices``, in ``order``."""
    parts = [HEADER]
    for function in order or list(SIGNATURES):
        comment = f"    # {note} {function}\n" if note else ""
        parts.append(f"\n\n{SIGNATURES[function]}\n{comment}{body(choices[function], names)}\n")
    return "".join(parts)


def independent(k: int) -> str:
    """Independent student ``k``: the first way of most functions, the other of about a third
    (drawn from k), k's own names and notes."""
    draw = random.Random(k)
    choices = {f: WAYS[f][1] if draw.random() < ALTERNATIVE else WAYS[f][0] for f in SIGNATURES}
    return source(choices, NAMES[k % len(NAMES)], note=f"student {k}:")


def book_faithful(names: dict[str, str], note: str) -> str:
    return source({f: WAYS[f][0] for f in SIGNATURES}, names, note=note)


def copied(original_choices: dict[str, str], names: dict[str, str]) -> str:
    """copy_from's file as its copier hands it in: renamed, reordered, reformatted."""
    renamed = {"order": "perm_list", "start": "pos", "chunk": "ix", "design": "Z", "q": "Q",
               "r": "R", "coef": "sol", "weights": "w_hat", "bias": "b_hat", **names}
    text = source(original_choices, renamed, order=list(reversed(SIGNATURES)))
    # reformatted: a docstring and comments, line breaks inside brackets, other spacing
    text = text.replace("def sgd(params, lr, batch_size):",
                        'def sgd(params, lr, batch_size):\n    """Step down the gradient."""')
    text = text.replace("    return", "    # done\n    return")
    return text.replace(", dtype=", ",\n        dtype=").replace(", ", ",  ")


def write_class(root: Path, independents: int = 8) -> Path:
    """The class under ``root``: one folder per student with linear_regression.py."""
    files = {f"student{k:02d}": independent(k) for k in range(1, independents + 1)}
    mine = {f: WAYS[f][1] for f in SIGNATURES} | UNUSUAL
    files["copy_from"] = source(mine, NAMES[0], note="my")
    files["copy_to"] = copied(mine, NAMES[3])
    files["bug_from"] = source({f: WAYS[f][0] for f in SIGNATURES} | {"huber_loss": PRECEDENCE_BUG},
                               NAMES[1], note="first")
    files["bug_to"] = source({f: WAYS[f][1] for f in SIGNATURES} | {"huber_loss": PRECEDENCE_BUG},
                             NAMES[2], note="second")
    files["book_a"] = book_faithful(NAMES[4], "following the book:")
    files["book_b"] = book_faithful(NAMES[5], "as in d2l 3.2:")
    for student, text in files.items():
        (root / student).mkdir(parents=True)
        (root / student / "linear_regression.py").write_text(text)
    return root


PLANTED = [("copy_from", "copy_to"), ("bug_from", "bug_to")]
BOOK_FAITHFUL = ("book_a", "book_b")
