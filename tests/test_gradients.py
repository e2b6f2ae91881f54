"""The gradients assignment: full marks for right derivatives in any style, each mistake blamed
on its own function, and the truths it is checked against (autograd, central differences, the
softmax covariance) agreeing with each other.

Every mistake below is the reference with ONE function rewritten the way a learner might get it
wrong, and every function is graded: only the listed (function, category) checks may fail.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
import torch
import torch.nn.functional as F
from helpers import (
    REPO,
    TEMPLATE_DIR,
    counted,
    course_module,
    not_passed,
    replace_function,
    report,
)

from grader.api import Grader
from grader.outcomes.results import Category, Outcome, SubmissionResult

GRADIENTS_FILE = "gradients.py"
REFERENCE_SOURCE = (REPO / "reference" / GRADIENTS_FILE).read_text()

Grade = Callable[..., SubmissionResult]


@pytest.fixture(scope="module")
def gradients_grader(data_root) -> Iterator[Grader]:
    with Grader("gradients", device="cpu", data_root=data_root) as grader:
        yield grader


@pytest.fixture(scope="module")
def grade(gradients_grader, tmp_path_factory) -> Grade:
    """``grade(source=None, **replacements)``: the reference with functions replaced, graded."""

    def run(source: str | None = None, **replacements: str) -> SubmissionResult:
        source = REFERENCE_SOURCE if source is None else source
        for name, text in replacements.items():
            source = replace_function(source, name, text)
        folder = tmp_path_factory.mktemp("submission")
        (folder / GRADIENTS_FILE).write_text(source)
        return gradients_grader.grade(folder)

    return run


def test_the_reference_earns_full_marks(grade, gradients_grader):
    result = grade()
    assert not_passed(result) == [], report(not_passed(result))
    cpu_points = sum(c.points for c in gradients_grader.assignment.checks
                     if c.category is not Category.DEVICE)
    assert result.score == result.max_score == cpu_points >= 50
    assert {c.function for c in result.checks} == set(gradients_grader.assignment.functions)


def test_the_template_earns_nothing_and_every_check_says_not_implemented(grade):
    result = grade(source=(TEMPLATE_DIR / GRADIENTS_FILE).read_text())
    checks = counted(result)
    assert result.score == 0 and result.max_score > 0
    assert {c.status for c in checks} == {Outcome.MISSING}, report(checks)
    assert all("not implemented" in c.message for c in checks), report(checks)


# --- one mistake at a time -------------------------------------------------------------------


@dataclass(frozen=True)
class Mistake:
    function: str  # the function rewritten
    source: str  # its new source
    # (function, category) -> a phrase the failure's hint must contain; each pair fails exactly
    # once (twice if listed in `twice`), and every other counted check, of every function, passes.
    fails: dict[tuple[str, str], str] = field(default_factory=dict)
    twice: tuple[tuple[str, str], ...] = ()


def _fn(name: str, body: str, args: str = "x") -> str:
    return f"def {name}({args}):\n" + "".join(f"    {line}\n" for line in body.splitlines())


FROM_SCRATCH = "autograd cannot be the answer"
CE_ARGS, SQ_ARGS = "logits, y", "y_hat, y"
ADAGRAD_ARGS, MOMENTUM_ARGS = "param, grad, state, lr, eps=1e-6", "param, grad, velocity, lr, beta"

MISTAKES = {
    "sigmoid, the textbook one-liner: NaN gradient below -709": Mistake(
        "sigmoid", _fn("sigmoid", "return 1 / (1 + torch.exp(-x))"),
        {("sigmoid", "gradient"): "inf * 0 = NaN"},
    ),
    "sigmoid as exp(x) / (1 + exp(x)) overflows": Mistake(
        "sigmoid", _fn("sigmoid", "return torch.exp(x) / (1 + torch.exp(x))"),
        {("sigmoid", "stability"): "inf / inf", ("sigmoid", "gradient"): ""},
    ),
    "sigmoid through torch.where with an overflowing branch": Mistake(
        "sigmoid", _fn("sigmoid", "return torch.where(x >= 0, 1 / (1 + torch.exp(-x)), "
                                  "torch.exp(x) / (1 + torch.exp(x)))"),
        {("sigmoid", "gradient"): "torch.where differentiates both branches"},
    ),
    "sigmoid through exp(-x.abs()): no slope at 0": Mistake(
        "sigmoid", _fn("sigmoid", "z = torch.exp(-x.abs())\n"
                                  "return torch.where(x >= 0, 1 / (1 + z), z / (1 + z))"),
        {("sigmoid", "gradient"): "derivative of |x| at 0"},
    ),
    "sigmoid via torch.sigmoid": Mistake(
        "sigmoid", _fn("sigmoid", "return torch.sigmoid(x)"),
        {("sigmoid", "rules"): "elementary operations"},
    ),
    "sigmoid_grad as x(1 - x), the output's formula": Mistake(
        "sigmoid_grad", _fn("sigmoid_grad", "return x * (1 - x)"),
        {("sigmoid_grad", "gradient"): "takes the sigmoid's output", ("sigmoid_grad",
                                                                     "stability"): ""},
    ),
    "sigmoid_grad by the quotient rule overflows": Mistake(
        "sigmoid_grad", _fn("sigmoid_grad", "return torch.exp(-x) / (1 + torch.exp(-x)) ** 2"),
        {("sigmoid_grad", "stability"): "overflows"},
    ),
    "sigmoid_grad by autograd": Mistake(
        "sigmoid_grad", _fn("sigmoid_grad", "x = x.detach().requires_grad_(True)\n"
                                            "sigmoid(x).sum().backward()\nreturn x.grad"),
        {("sigmoid_grad", "rules"): FROM_SCRATCH},
    ),
    "sigmoid_grad by autograd, hidden from the source": Mistake(
        "sigmoid_grad", _fn("sigmoid_grad", "x = x.detach().requires_grad_(True)\n"
                                            "ag = getattr(torch, 'auto' + 'grad')\n"
                                            "return ag.grad(sigmoid(x).sum(), x)[0]"),
        {("sigmoid_grad", "rules"): FROM_SCRATCH},
    ),
    "tanh_grad as 1 - x^2, the output's formula": Mistake(
        "tanh_grad", _fn("tanh_grad", "return 1 - x ** 2"),
        {("tanh_grad", "gradient"): "takes tanh's output", ("tanh_grad", "stability"): ""},
    ),
    "tanh_grad without the square": Mistake(
        "tanh_grad", _fn("tanh_grad", "return 1 - torch.tanh(x)"),
        {("tanh_grad", "gradient"): "the square is missing", ("tanh_grad", "stability"): ""},
    ),
    "relu_grad with x >= 0": Mistake(
        "relu_grad", _fn("relu_grad", "return (x >= 0).to(x.dtype)"),
        {("relu_grad", "semantics"): "not x >= 0"},
    ),
    "relu_grad returns booleans": Mistake(
        "relu_grad", _fn("relu_grad", "return x > 0"),
        {("relu_grad", "gradient"): ".to(x.dtype)"},
    ),
    "softmax_jacobian without the diagonal": Mistake(
        "softmax_jacobian", _fn("softmax_jacobian", "p = softmax(o)\nreturn -torch.outer(p, p)",
                                "o"),
        {("softmax_jacobian", "gradient"): "the diagonal is missing",
         ("softmax_jacobian", "stability"): ""},
    ),
    "softmax_jacobian with diag(p) - p broadcasting": Mistake(
        "softmax_jacobian", _fn("softmax_jacobian", "p = softmax(o)\nreturn torch.diag(p) - p",
                                "o"),
        {("softmax_jacobian", "gradient"): "torch.outer(p, p)",
         ("softmax_jacobian", "stability"): ""},
    ),
    "softmax_jacobian without the max shift overflows": Mistake(
        "softmax_jacobian", _fn("softmax_jacobian", "p = torch.exp(o) / torch.exp(o).sum()\n"
                                "return torch.diag(p) - torch.outer(p, p)", "o"),
        {("softmax_jacobian", "stability"): "shift the logits before exp"},
    ),
    "softmax_cross_entropy_grad averaged over the batch": Mistake(
        "softmax_cross_entropy_grad", _fn("softmax_cross_entropy_grad",
                                          "p = softmax(logits)\n"
                                          "return (p - F.one_hot(y, p.shape[1])) / len(y)",
                                          CE_ARGS),
        {("softmax_cross_entropy_grad", "gradient"): "divided by n",
         ("softmax_cross_entropy_grad", "stability"): ""},
        twice=(("softmax_cross_entropy_grad", "gradient"),),
    ),
    "softmax_cross_entropy_grad with the sign flipped": Mistake(
        "softmax_cross_entropy_grad", _fn("softmax_cross_entropy_grad",
                                          "p = softmax(logits)\n"
                                          "return F.one_hot(y, p.shape[1]) - p", CE_ARGS),
        {("softmax_cross_entropy_grad", "gradient"): "", ("softmax_cross_entropy_grad",
                                                         "stability"): ""},
        twice=(("softmax_cross_entropy_grad", "gradient"),),
    ),
    "softmax_cross_entropy_grad without the max shift overflows": Mistake(
        "softmax_cross_entropy_grad", _fn("softmax_cross_entropy_grad",
                                          "e = torch.exp(logits)\n"
                                          "p = e / e.sum(1, keepdim=True)\n"
                                          "return p - F.one_hot(y, p.shape[1])", CE_ARGS),
        {("softmax_cross_entropy_grad", "stability"): "shift the logits before exp"},
    ),
    "squared_loss_grad without the reshape": Mistake(
        "squared_loss_grad", _fn("squared_loss_grad", "return y_hat - y", SQ_ARGS),
        {("squared_loss_grad", "gradient"): "reshape y"},
    ),
    "squared_loss_grad with the 2 of (y_hat - y)^2": Mistake(
        "squared_loss_grad", _fn("squared_loss_grad", "return 2 * (y_hat - y.reshape("
                                                      "y_hat.shape))", SQ_ARGS),
        {("squared_loss_grad", "gradient"): "factor 2"},
    ),
    "real_softmax straight from the definition": Mistake(
        "real_softmax", _fn("real_softmax", "return torch.log(torch.exp(a) + torch.exp(b))",
                            "a, b"),
        {("real_softmax", "stability"): "at most 1", ("real_softmax", "semantics"): "",
         ("real_softmax", "gradient"): ""},
    ),
    "real_softmax through torch.where with an overflowing branch": Mistake(
        "real_softmax", _fn("real_softmax", "return torch.where(a > b, a + torch.log1p("
                                            "torch.exp(b - a)), b + torch.log1p(torch.exp(a - "
                                            "b)))", "a, b"),
        {("real_softmax", "gradient"): "torch.where differentiates both branches"},
    ),
    "real_softmax via torch.logaddexp": Mistake(
        "real_softmax", _fn("real_softmax", "return torch.logaddexp(a, b)", "a, b"),
        {("real_softmax", "rules"): "torch.log1p"},
    ),
    "adagrad_update with eps outside the square root": Mistake(
        "adagrad_update", _fn("adagrad_update", "state = state + grad ** 2\n"
                              "return param - lr * grad / (torch.sqrt(state) + eps), state",
                              ADAGRAD_ARGS),
        {("adagrad_update", "correctness"): "inside the square root",
         ("adagrad_update", "semantics"): "sqrt(s + eps)"},
    ),
    "adagrad_update that forgets past gradients": Mistake(
        "adagrad_update", _fn("adagrad_update", "state = grad ** 2\n"
                              "return param - lr * grad / torch.sqrt(state + eps), state",
                              ADAGRAD_ARGS),
        {("adagrad_update", "correctness"): "add it to the old state",
         ("adagrad_update", "semantics"): ""},
    ),
    "adagrad_update in place, the book's optimizer habit": Mistake(
        "adagrad_update", _fn("adagrad_update", "state += grad ** 2\n"
                              "return param - lr * grad / torch.sqrt(state + eps), state",
                              ADAGRAD_ARGS),
        {("adagrad_update", "semantics"): "`state += ...`"},
    ),
    "momentum_update as a leaky average": Mistake(
        "momentum_update", _fn("momentum_update", "velocity = beta * velocity + (1 - beta) * "
                               "grad\nreturn param - lr * velocity, velocity", MOMENTUM_ARGS),
        {("momentum_update", "correctness"): "leaky average", ("momentum_update",
                                                               "semantics"): ""},
    ),
    "momentum_update stepping with the old velocity": Mistake(
        "momentum_update", _fn("momentum_update", "new = beta * velocity + grad\n"
                               "return param - lr * velocity, new", MOMENTUM_ARGS),
        {("momentum_update", "correctness"): "the old velocity", ("momentum_update",
                                                                  "semantics"): ""},
    ),
    "momentum_update in place": Mistake(
        "momentum_update", _fn("momentum_update", "velocity.mul_(beta).add_(grad)\n"
                               "return param - lr * velocity, velocity", MOMENTUM_ARGS),
        {("momentum_update", "semantics"): "changes the caller's tensor"},
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", MISTAKES.values(), ids=MISTAKES.keys())
def test_each_mistake_fails_only_its_own_checks_and_names_the_mistake(grade, case: Mistake):
    result = grade(**{case.function: "import torch.nn.functional as F\n" + case.source})
    failed = not_passed(result)
    for c in failed:
        phrase = case.fails.get((c.function, str(c.category)))
        assert phrase is not None and phrase in c.hint, f"expected {phrase!r}\n{report([c])}"
    expected = Counter(case.fails.keys()) + Counter(case.twice)
    assert Counter((c.function, str(c.category)) for c in failed) == expected, report(failed)
    assert {c.function for c in failed} == {case.function}
    assert result.score == result.max_score - sum(c.max_points for c in failed)
    assert result.score > 0


# --- right answers in other styles -----------------------------------------------------------


ALTERNATIVES = {
    "sigmoid via softplus": ("sigmoid", _fn("sigmoid", "return torch.exp(-F.softplus(-x))")),
    "sigmoid with two masked formulas": ("sigmoid", _fn("sigmoid", (
        "out = torch.empty_like(x)\npos = x >= 0\nz = torch.exp(-x[pos])\n"
        "out[pos] = 1 / (1 + z)\nz = torch.exp(x[~pos])\nout[~pos] = z / (1 + z)\nreturn out")),
    ),
    "sigmoid_grad symmetric in |x|": ("sigmoid_grad", _fn("sigmoid_grad", (
        "z = torch.exp(-x.abs())\nreturn z / (1 + z) ** 2"))),
    "tanh_grad as sech^2": ("tanh_grad", _fn("tanh_grad", "return 1 / torch.cosh(x) ** 2")),
    "relu_grad via heaviside": ("relu_grad", _fn("relu_grad",
                                                 "return torch.heaviside(x, torch.zeros_like(x))")),
    "softmax_jacobian with eye": ("softmax_jacobian", _fn("softmax_jacobian", (
        "p = softmax(o)\neye = torch.eye(len(o), dtype=o.dtype, device=o.device)\n"
        "return p[:, None] * (eye - p[None, :])"), "o")),
    "softmax_cross_entropy_grad via scatter": ("softmax_cross_entropy_grad", _fn(
        "softmax_cross_entropy_grad", (
            "p = softmax(logits)\n"
            "return p - torch.zeros_like(p).scatter_(1, y[:, None], 1.0)"), CE_ARGS)),
    "real_softmax with the max shift": ("real_softmax", _fn("real_softmax", (
        "m = torch.maximum(a, b)\nreturn m + torch.log(torch.exp(a - m) + torch.exp(b - m))"),
        "a, b")),
    "adagrad_update with addcmul": ("adagrad_update", _fn("adagrad_update", (
        "s = torch.addcmul(state, grad, grad)\n"
        "return param.sub(lr * grad / (s + eps).sqrt()), s"), ADAGRAD_ARGS)),
    "momentum_update with torch.add": ("momentum_update", _fn("momentum_update", (
        "v = torch.add(grad, velocity, alpha=beta)\nreturn param - lr * v, v"), MOMENTUM_ARGS)),
}


@pytest.mark.slow
@pytest.mark.parametrize(("function", "source"), ALTERNATIVES.values(), ids=ALTERNATIVES.keys())
def test_a_right_answer_in_another_style_earns_full_marks(grade, function, source):
    result = grade(**{function: "import torch.nn.functional as F\n" + source})
    assert not_passed(result) == [], report(not_passed(result))


# --- the truths the checks rely on ------------------------------------------------------------


def test_the_cross_entropy_hessian_is_the_softmax_covariance():
    logits, y = 3 * torch.randn(4, 5, dtype=torch.float64), torch.tensor([0, 4, 2, 2])
    hessian = torch.autograd.functional.hessian(
        lambda o: F.cross_entropy(o, y, reduction="sum"), logits)
    covariance = course_module("gradients", "checks").softmax_covariance
    assert torch.allclose(hessian, covariance(torch.softmax(logits, dim=1)),
                          rtol=1e-10, atol=1e-12)
