"""Grading on a GPU: inputs there, device checks that bite, out-of-memory as a check's failure,
deterministic kernels, the GPU in the fingerprint, and slots sharing one GPU.

These need CUDA and are skipped without it; the README says where they last ran.
"""

from __future__ import annotations

import shutil

import pytest
import torch
from helpers import REPO, replace_function

from grader.api import Grader
from grader.batch.fingerprint import environment
from grader.batch.run import Options, run_batch
from grader.gradebook.store import Gradebook
from grader.outcomes.results import Category, Outcome
from grader.runner.worker import Worker

pytestmark = pytest.mark.skipif(
    not torch.cuda.is_available(),
    reason="no CUDA device here: the GPU path runs where a GPU is lent (see the README)",
)

GRADIENTS = (REPO / "reference" / "gradients.py").read_text()


def _submission(tmp_path, name: str, source: str, file: str = "gradients.py"):
    folder = tmp_path / name
    folder.mkdir()
    (folder / file).write_text(source)
    return folder


@pytest.fixture(scope="module")
def gpu_grader(data_root):
    with Grader("gradients", device="cuda", data_root=data_root) as grader:
        yield grader


@pytest.mark.parametrize("name, file", [("linreg", "linear_regression.py"),
                                        ("softmax", "softmax_regression.py")])
def test_the_references_earn_full_marks_on_the_gpu_with_the_device_checks(data_root, tmp_path,
                                                                         name, file):
    folder = _submission(tmp_path, name, (REPO / "reference" / file).read_text(), file)
    with Grader(name, device="cuda", data_root=data_root) as grader:
        result = grader.grade(folder)
    device_checks = [c for c in result.checks if c.category is Category.DEVICE]
    assert device_checks and all(c.status is Outcome.PASSED for c in device_checks)
    assert result.score == result.max_score


def test_a_tensor_made_on_the_cpu_fails_the_device_check_alone(gpu_grader, tmp_path):
    source = replace_function(GRADIENTS, "relu_grad", (
        "def relu_grad(x):\n"
        "    return torch.tensor([float(v > 0) for v in x.tolist()], dtype=x.dtype)\n"))
    result = gpu_grader.grade(_submission(tmp_path, "cpu-tensor", source))
    failed = [c for c in result.checks if c.status is not Outcome.PASSED]
    assert [(c.function, c.category) for c in failed] == [("relu_grad", Category.DEVICE)]
    assert "device=" in failed[0].hint


def test_cuda_out_of_memory_is_that_checks_failure_and_grading_goes_on(gpu_grader, tmp_path):
    source = replace_function(GRADIENTS, "softmax_jacobian", (
        "def softmax_jacobian(o):\n"
        "    waste = torch.empty(2**44, dtype=torch.uint8, device=o.device)  # 16 TiB\n"
        "    return waste\n"))
    result = gpu_grader.grade(_submission(tmp_path, "oom", source))
    failed = [c for c in result.checks if c.status is not Outcome.PASSED]
    assert failed and {c.function for c in failed} == {"softmax_jacobian"}
    assert any("GPU ran out of memory" in c.hint for c in failed)
    assert result.score == result.max_score - sum(c.max_points for c in failed)


def test_the_child_runs_deterministic_kernels_on_the_gpu(tmp_path):
    folder = _submission(tmp_path, "flags", (
        "import os\nimport torch\n"
        "def relu_grad(x):\n"
        "    return torch.tensor([torch.are_deterministic_algorithms_enabled(),\n"
        "                         os.environ.get('CUBLAS_WORKSPACE_CONFIG') == ':4096:8'])\n"))
    with Worker(probe_modules=["grader.runner.probes"]) as worker:
        child = worker.spawn(folder)
        try:
            child.request({"op": "import", "file": "gradients.py", "functions": ["relu_grad"]},
                          timeout=60)
            reply = child.request({
                "op": "probe", "probe": "grader.runner.probes:call", "function": "relu_grad",
                "kwargs": {"args": (torch.zeros(1),)}, "bind": [], "seed": 0, "device": "cuda",
            }, timeout=60)
        finally:
            child.close()
    assert reply["ok"].tolist() == [True, True]


def test_the_fingerprint_names_the_gpu_and_the_cuda_version():
    found = environment("cuda")
    assert found["cuda"] == torch.version.cuda
    assert torch.cuda.get_device_name(0) in found["gpus"]


@pytest.mark.slow
def test_two_slots_share_one_gpu(tmp_path, data_root):
    root = tmp_path / "class"
    for student in ("ana", "ben", "cai", "dee"):
        (root / student).mkdir(parents=True)
        shutil.copy(REPO / "reference" / "gradients.py", root / student / "gradients.py")
    gradebook = Gradebook(f"sqlite:///{tmp_path / 'grades.db'}")
    summary = run_batch(root, gradebook, Options("gradients", jobs=2, device="cuda",
                                                 data_root=data_root))
    assert len(summary.outcomes) == 4
    assert all(g.full_marks for g in summary.outcomes)
