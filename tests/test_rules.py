"""The from-scratch rules, read from source: every way of reaching a banned call is caught."""

from __future__ import annotations

import ast
import textwrap

import pytest

from grader.authoring.rules import banned_uses, is_stub

SOFTMAX_BANS = ("torch.softmax", "torch.nn.functional.softmax", "torch.Tensor.softmax",
                "torch.nn.Softmax")

CAUGHT = {
    "torch.softmax": ("import torch\ndef softmax(X):\n    return torch.softmax(X, 1)\n",
                      "torch.softmax"),
    "F alias": ("import torch.nn.functional as F\ndef softmax(X):\n    return F.softmax(X, 1)\n",
                "torch.nn.functional.softmax"),
    "method": ("def softmax(X):\n    return X.softmax(1)\n", "torch.Tensor.softmax"),
    "through a helper": (
        "import torch\ndef _h(X):\n    return torch.nn.functional.softmax(X, 1)\n"
        "def softmax(X):\n    return _h(X)\n", "torch.nn.functional.softmax"),
    "module-level alias": ("import torch\nsm = torch.softmax\ndef softmax(X):\n"
                           "    return sm(X, 1)\n", "torch.softmax"),
    "module instance": ("from torch import nn\nlayer = nn.Softmax(dim=1)\ndef softmax(X):\n"
                        "    return layer(X)\n", "torch.nn.Softmax"),
    "from-import alias": ("from torch.nn.functional import softmax as s\ndef softmax(X):\n"
                          "    return s(X, 1)\n", "torch.nn.functional.softmax"),
    "import inside the function": (
        "def softmax(X):\n    import torch.nn.functional as G\n    return G.softmax(X, 1)\n",
        "torch.nn.functional.softmax"),
}

ALLOWED = {
    "from exp and sum": "import torch\ndef softmax(X):\n"
                        "    e = torch.exp(X - X.max(1, keepdim=True).values)\n"
                        "    return e / e.sum(1, keepdim=True)\n",
    "banned call in another function": "import torch\ndef other(X):\n"
                                       "    return torch.softmax(X, 1)\n"
                                       "def softmax(X):\n    e = X.exp()\n"
                                       "    return e / e.sum(1, keepdim=True)\n",
    "logsumexp building block": "import torch\ndef softmax(X):\n"
                                "    return torch.exp(X - torch.logsumexp(X, 1, keepdim=True))\n",
}


@pytest.mark.parametrize("source, banned", CAUGHT.values(), ids=CAUGHT.keys())
def test_a_banned_call_is_found_however_it_is_reached(source, banned):
    uses = banned_uses(ast.parse(source), "softmax", SOFTMAX_BANS)
    assert [u.name for u in uses] == [banned]
    assert uses[0].line > 0


@pytest.mark.parametrize("source", ALLOWED.values(), ids=ALLOWED.keys())
def test_from_scratch_code_breaks_no_rule(source):
    assert banned_uses(ast.parse(source), "softmax", SOFTMAX_BANS) == []


@pytest.mark.parametrize("body, stub", [
    ('"""Doc."""\n    raise NotImplementedError', True),
    ("raise NotImplementedError('later')", True),
    ("pass", True),
    ("...", True),
    ('"""Only a docstring."""', True),
    ("return None", True),
    ("return", True),
    ("return 0", False),
    ("raise ValueError('bad input')", False),
    ("x = 1\n    pass", False),
])
def test_a_stub_is_recognised_and_real_code_is_not(body, stub):
    source = textwrap.dedent(f"def sgd(params, lr, batch_size):\n    {body}\n")
    assert is_stub(ast.parse(source), "sgd") is stub


AUTOGRAD_BANS = ("torch.autograd", "torch.func", "torch.Tensor.backward")
AUTOGRAD_CAUGHT = {
    "torch.autograd.grad": ("import torch\ndef g(x):\n    return torch.autograd.grad(x, x)\n",
                            "torch.autograd.grad"),
    "from-import of a submodule's function": (
        "from torch.autograd.functional import jacobian\ndef g(x):\n    return jacobian(f, x)\n",
        "torch.autograd.functional.jacobian"),
    "module alias": ("import torch.func as tf\ndef g(x):\n    return tf.grad(f)(x)\n",
                     "torch.func.grad"),
    "from torch import autograd": ("from torch import autograd\ndef g(x):\n"
                                   "    return autograd.grad(x, x)\n", "torch.autograd.grad"),
    ".backward()": ("def g(x):\n    x.sum().backward()\n    return x.grad\n",
                    "torch.Tensor.backward"),
}


@pytest.mark.parametrize("source, banned", AUTOGRAD_CAUGHT.values(), ids=AUTOGRAD_CAUGHT.keys())
def test_a_banned_module_bans_everything_under_it(source, banned):
    assert [u.name for u in banned_uses(ast.parse(source), "g", AUTOGRAD_BANS)] == [banned]


def test_a_banned_module_does_not_ban_a_name_that_merely_starts_like_it():
    source = ("import torch\ndef g(x):\n"
              "    return torch.autograd_like(x) + torch.functional.norm(x)\n")
    assert banned_uses(ast.parse(source), "g", AUTOGRAD_BANS) == []
