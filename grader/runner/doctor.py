"""What this machine supports for running student code: strict isolation, a GPU, the data."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from grader import options
from grader.data import DataError, fashion_mnist
from grader.runner import sandbox


@dataclass(frozen=True)
class Finding:
    """One line of ``grader doctor``: a part, whether it works here, and what was found."""

    part: str
    ok: bool
    detail: str = ""


STRICT_BY_DEFAULT = "isolation by default"  # the finding that decides doctor's exit status


def diagnose(data_root: str | Path | None = None) -> list[Finding]:
    """What this machine supports: each part of strict isolation, the GPU, the data."""
    found = sandbox.support()
    findings = [Finding(part, not why, why or "works") for part, why in found.parts.items()]
    level = "strict" if found.strict else "basic (with a warning)"
    findings.append(Finding(STRICT_BY_DEFAULT, found.strict, level))
    cuda = torch.cuda.is_available()
    gpu = torch.cuda.get_device_name(0) if cuda else "none: --device auto grades on the CPU"
    findings.append(Finding(f"GPU (torch {torch.__version__})", cuda, gpu))
    root = options.data_root(data_root)
    try:
        fashion_mnist.check_files(root)
        findings.append(Finding("Fashion-MNIST", True, str(root)))
    except DataError as err:
        findings.append(Finding("Fashion-MNIST", False, str(err)))
    return findings
