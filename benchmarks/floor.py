"""The floor every benchmark here states its figures against: a fresh ``import torch``.

Run from a benchmark in this folder (``python benchmarks/NAME.py`` puts it on the path).
"""

from __future__ import annotations

import subprocess
import sys
import time


def fresh_torch_import() -> float:
    """Seconds a new Python process takes to import torch and exit, on this machine, now."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import torch"], check=True)
    return time.perf_counter() - start
