"""Write beside, then rename over: the one way the grader replaces a file."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def written_whole(output: str | Path) -> Iterator[Path]:
    """A temporary path beside ``output`` to write to, renamed over ``output`` only if the block
    ends without an exception: a failed or interrupted write never destroys the last good file
    and never leaves a partial one (the rename is atomic on one file system).

    The temporary name carries the process and thread, so two writers never share one; it
    keeps ``output``'s suffix (numpy and pandas choose a format by it). The folder is made
    if it is missing.
    """
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(
        f".{output.stem}.{os.getpid()}-{threading.get_ident()}.partial{output.suffix}"
    )
    try:
        yield partial
        os.replace(partial, output)
    finally:
        partial.unlink(missing_ok=True)
