"""Where a course is: a folder, an installed course's name, or the built-in course.

``--course`` names a folder or an installed course (one that registers under the entry-point
group ``grader.courses``, naming the package whose folder is the course); without it,
$GRADER_COURSE; without that, the built-in course. Nothing here imports a course.
"""

from __future__ import annotations

import importlib.util
from importlib.metadata import entry_points
from pathlib import Path

from grader import builtin, options
from grader.courses.settings import CourseError, read


def course_folder(where: str | Path | None = None) -> Path:
    """The folder of the course ``where`` names (see the module's docstring)."""
    chosen = options.course(where)
    if chosen is None:
        return builtin.folder("assignments").resolve()
    path = Path(chosen).expanduser()
    if path.is_dir():
        return path.resolve()
    installed = _installed(chosen)
    if installed is not None:
        return installed
    if path.exists():
        raise CourseError(f"course {chosen}: not a folder")
    known = sorted({ep.name for ep in entry_points(group=options.COURSE_ENTRY_POINTS)})
    raise CourseError(f"course {chosen}: no such folder, and no installed course of that name"
                      f" (installed: {', '.join(known) or 'none'})")


def _installed(name: str) -> Path | None:
    found = entry_points(group=options.COURSE_ENTRY_POINTS, name=name)
    targets = sorted({ep.value for ep in found})
    if not targets:
        return None
    if len(targets) > 1:
        raise CourseError(f"course {name}: two installed courses have this name "
                          f"({' and '.join(targets)}); uninstall one or name the folder")
    try:
        spec = importlib.util.find_spec(targets[0])
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise CourseError(f"course {name}: its entry point names {targets[0]}, "
                          "which is not an installed package")
    return Path(next(iter(spec.submodule_search_locations))).resolve()


def course_name(where: str | Path | None = None) -> str:
    """The name in course.toml of the course ``where`` names, without importing it."""
    return read(course_folder(where)).name
