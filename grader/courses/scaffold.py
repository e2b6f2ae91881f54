"""``grader course new``: a small working course to start from (grader/courses/skeleton)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from grader.courses.settings import FILE, CourseError

SKELETON = Path(__file__).resolve().parent / "skeleton"


def new_course(folder: str | Path) -> list[Path]:
    """Write the skeleton course into ``folder`` (new or empty), named after the folder."""
    folder = Path(folder)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise CourseError(f"{folder} already exists and is not an empty folder")
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", folder.resolve().name).strip("-.") or "my-course"
    written = []
    for source in sorted(SKELETON.rglob("*")):
        if "__pycache__" in source.parts or not source.is_file():
            continue
        target = folder / source.relative_to(SKELETON)
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.name == FILE:
            target.write_text(source.read_text(encoding="utf-8").replace("{name}", name),
                              encoding="utf-8")
        else:
            shutil.copyfile(source, target)
        written.append(target)
    return written
