"""No false failure on sound softmax code: the three numerically sound ways to write softmax pass
every stability check of every assignment that has one, in float32 and float64 (the checks try
both dtypes).

Each form replaces the reference's softmax, the one every softmax-based function is built on;
only a from-scratch rule may object (exp(log_softmax) calls a library softmax).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from helpers import REPO, replace_function

from grader.api import Grader
from grader.outcomes import Category, Outcome

# How learners write a stable softmax over the last axis (``dim`` is filled in per assignment).
FORMS = {
    "max-subtraction": """
def softmax(X):
    e = torch.exp(X - X.max(dim={dim}, keepdim=True).values)
    return e / e.sum(dim={dim}, keepdim=True)
""",
    "logsumexp-subtraction": """
def softmax(X):
    return torch.exp(X - torch.logsumexp(X, dim={dim}, keepdim=True))
""",
    "exp(log_softmax)": """
def softmax(X):
    return torch.exp(torch.log_softmax(X, dim={dim}))
""",
}
# assignment -> (its student file, the axis its softmax normalises over)
ASSIGNMENTS = {"softmax": ("softmax_regression.py", 1), "gradients": ("gradients.py", -1)}


@pytest.fixture(scope="module")
def graders(data_root) -> Iterator[dict[str, Grader]]:
    with Grader("softmax", device="cpu", data_root=data_root) as softmax, \
            Grader("gradients", device="cpu", data_root=data_root) as gradients:
        yield {"softmax": softmax, "gradients": gradients}


@pytest.mark.slow
@pytest.mark.parametrize("assignment", sorted(ASSIGNMENTS))
@pytest.mark.parametrize("form", sorted(FORMS))
def test_a_sound_softmax_passes_every_stability_check(graders, tmp_path, assignment, form):
    student_file, dim = ASSIGNMENTS[assignment]
    source = (REPO / "reference" / student_file).read_text()
    source = replace_function(source, "softmax", FORMS[form].format(dim=dim))
    (tmp_path / student_file).write_text(source)
    result = graders[assignment].grade(tmp_path)
    stability = [c for c in result.checks if c.category is Category.STABILITY]
    assert len(stability) >= 2
    failed = [c for c in result.checks if c.status not in (Outcome.PASSED, Outcome.SKIPPED)]
    assert [c for c in failed if c.category is not Category.RULES] == [], [
        f"{c.id}: {c.message}" for c in failed]
