"""Where an assignment comes from: the course folder that a course loader is importing.

While ``grader.courses`` imports an assignment's folder, it says so here (``loading``), and the
``Assignment`` created there resolves its names against that folder: ``".reference"`` is a module
of the folder's package, ``"../shared/probes.py"`` a file loaded by path into the same package.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from grader.outcomes import UsageError


class AssignmentError(UsageError):
    """An assignment is declared wrongly, or does not exist."""


@dataclass(frozen=True)
class Origin:
    """An assignment's place in its course.

    Args:
        course: the course's name (course.toml's ``name``).
        package: the unique import name of the assignment's folder.
        folder: the assignment's folder.
        reference: the reference file that course.toml names, if it names one.
        templates: the starter files that course.toml names, if it names them.
        settings: the assignment's table of course.toml, as read (part of its version).
    """

    course: str
    package: str
    folder: Path
    reference: Path | None = None
    templates: tuple[Path, ...] | None = None
    settings: dict = field(default_factory=dict)


_loading: ContextVar[Origin | None] = ContextVar("grader_assignment_origin", default=None)


@contextmanager
def loading(origin: Origin) -> Iterator[None]:
    """While the course loader imports ``origin.package``, assignments created belong there."""
    token = _loading.set(origin)
    try:
        yield
    finally:
        _loading.reset(token)


def current() -> Origin | None:
    return _loading.get()


def is_path(name: str) -> bool:
    """A name that is a file (``../linreg/probes.py``) rather than a module (``.probes``)."""
    return name.endswith(".py") or "/" in name


def resolve(
    name: str, origin: Origin | None, *, as_name: str | None = None
) -> tuple[str, Path | None]:
    """The absolute module name for ``name``, and the file it was loaded from when it is a path.

    ``.probes`` is the folder's ``probes.py``; a path is loaded now, into the folder's package,
    as ``as_name`` (default: the file's stem); an absolute name is left to ``import``.
    """
    if not name.startswith(".") and not is_path(name):
        return name, None
    if origin is None:
        raise AssignmentError(
            f"{name!r} is relative to an assignment's folder, which only a course has: "
            "load the assignment as part of a course (grader --course DIR)")
    if not is_path(name):
        return importlib.util.resolve_name(name, origin.package), None
    path = (origin.folder / name).resolve()
    module = f"{origin.package}.{as_name or path.stem}"
    load_file(path, module)
    return module, path


def load_file(path: Path, module: str) -> ModuleType:
    """Import the file ``path`` as ``module``, once; the same name from another file is an error."""
    found = sys.modules.get(module)
    if found is not None:
        if Path(getattr(found, "__file__", "") or "").resolve() != path:
            raise AssignmentError(f"{module} is already {found.__file__}; cannot also load {path}")
        return found
    if not path.is_file():
        raise AssignmentError(f"{path}: no such file")
    spec = importlib.util.spec_from_file_location(module, path)
    assert spec is not None and spec.loader is not None
    loaded = importlib.util.module_from_spec(spec)
    sys.modules[module] = loaded
    try:
        spec.loader.exec_module(loaded)
    except BaseException:
        del sys.modules[module]
        raise
    return loaded
