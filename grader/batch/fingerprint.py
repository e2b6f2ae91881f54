"""What a run was graded with: the versions and hardware that can change a result."""

from __future__ import annotations

import platform
import sys
from importlib import metadata


def grader_version() -> str:
    try:
        return metadata.version("grader")
    except metadata.PackageNotFoundError:
        return "unknown"


def environment(device: str = "cpu") -> dict[str, str]:
    """Python, torch, CUDA and GPU names, and the platform, as strings (stored with each run)."""
    import numpy
    import torch

    cuda = torch.cuda.is_available()
    gpus = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())] if cuda else []
    return {
        "grader": grader_version(),
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "cuda": torch.version.cuda or "none",
        "gpus": ", ".join(gpus) or "none",
        "device": device,
        "platform": platform.platform(),
        "machine": platform.machine(),
    }
