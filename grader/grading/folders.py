"""What a submission is on disk: a folder. No torch here, so the command line can say so first."""

from __future__ import annotations

from pathlib import Path

from grader.outcomes import UsageError


def submission_folder(path: str | Path) -> Path:
    """``path`` as a submission folder, or a UsageError saying what it is instead."""
    folder = Path(path)
    if not folder.is_dir():
        what = "is a file, not a submission folder" if folder.exists() else "not found"
        raise UsageError(f"{folder}: {what}")
    return folder
