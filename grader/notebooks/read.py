"""Reading a learner's .ipynb: nbformat 4, validated, without its outputs.

Outputs are never graded, and a notebook's outputs can be most of its size (50 MB of plots), so
they and cell attachments are dropped before nbformat validates what is left. Every problem is
a ``NotebookError``, one line that names the file and says how to fix it.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grader.outcomes import StudentError

if TYPE_CHECKING:
    from nbformat import NotebookNode

_MESSAGE_LIMIT = 160  # characters of a schema message (some quote a whole cell)
_CELL_TYPES = ("code", "markdown", "raw")


class NotebookError(StudentError):
    """A submitted notebook that cannot be read: the submission's problem, so every check of it
    reports this message, and a batch goes on to the next submission."""


def read_notebook(path: str | Path) -> NotebookNode:
    """The notebook at ``path``, as nbformat 4, validated, with no outputs or attachments.

    Raises:
        NotebookError: the file cannot be read, is not UTF-8 or not JSON, was saved in
            nbformat 3 or older (or a format newer than 4), or breaks the nbformat 4 schema.
    """
    path = Path(path)
    data = _json(path)
    minor = _version(path, data)
    _strip(path, data, minor)
    import nbformat  # about 0.15 s, paid only by a grader that reads notebooks

    try:
        nbformat.validate(nbformat.from_dict(data))
        # nbformat's own v4 reader, for what it does after json.loads: source lists joined
        return nbformat.v4.to_notebook_json(data)
    except nbformat.ValidationError as err:
        raise NotebookError(f"{path} is not a valid notebook: {_schema_message(err)}") from None
    except (TypeError, KeyError, AttributeError, ValueError) as err:  # nbformat on odd shapes
        raise NotebookError(f"{path} is not a valid notebook: {err}") from None


def _json(path: Path) -> Any:
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise NotebookError(f"cannot read {path}: {err.strerror or err}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise NotebookError(
            f"{path} is not UTF-8 text (byte 0x{raw[err.start]:02x} at offset {err.start}): "
            "save it again from Jupyter") from None
    try:
        return json.loads(text.removeprefix("\ufeff"))  # a BOM an editor added is harmless
    except json.JSONDecodeError as err:
        raise NotebookError(f"{path} is not a notebook: not valid JSON ({err.msg} at line "
                            f"{err.lineno}, column {err.colno})") from None
    except RecursionError:
        raise NotebookError(f"{path} is not a notebook: its JSON nests too deeply") from None


def _version(path: Path, data: Any) -> int:
    """The nbformat minor version, after checking that the major one is 4."""
    if not isinstance(data, dict):
        raise NotebookError(f"{path} is not a notebook: its JSON is a {type(data).__name__}, "
                            "not an object")
    major, minor = data.get("nbformat"), data.get("nbformat_minor", 0)
    if type(major) is not int:
        raise NotebookError(f"{path} is not a notebook: it has no nbformat version")
    if major < 4:
        raise NotebookError(
            f"{path} was saved by an old Jupyter (nbformat {major}); open and save it in "
            "Jupyter 7 or convert with `jupyter nbconvert --to notebook`")
    if major > 4:
        raise NotebookError(f"{path} is in nbformat {major}, newer than this grader reads (4); "
                            "save it from Jupyter 7 as nbformat 4")
    return minor if type(minor) is int else 0


def _strip(path: Path, data: dict, minor: int) -> None:
    """Drop outputs and attachments, and fill in cell ids that are missing or repeated (nbformat
    would warn and invent them; the grader never reads them)."""
    cells = data.get("cells")
    if not isinstance(cells, list):
        raise NotebookError(f"{path} is not a valid notebook: it has no list of cells")
    seen: set[str] = set()
    for number, cell in enumerate(cells, start=1):
        if not isinstance(cell, dict):
            raise NotebookError(f"{path} is not a valid notebook: cell {number} is a "
                                f"{type(cell).__name__}, not an object")
        if isinstance(cell.get("outputs"), list):
            cell["outputs"] = []
        cell.pop("attachments", None)
        if minor >= 5:
            if "id" not in cell or (isinstance(cell["id"], str) and cell["id"] in seen):
                cell["id"] = uuid.uuid4().hex[:8]
            if isinstance(cell["id"], str):
                seen.add(cell["id"])


def _schema_message(err: Any) -> str:
    """"cell 4: 'source' is a required property" from a jsonschema error on cells[3]."""
    path = list(getattr(err, "relative_path", None) or [])
    instance = getattr(err, "instance", None)
    message = str(getattr(err, "message", err)).replace("\n", " ")
    if len(path) >= 2 and path[0] == "cells" and isinstance(path[1], int):
        where = f"cell {path[1] + 1}"
        field = ".".join(str(p) for p in path[2:])
        if isinstance(instance, dict) and instance.get("cell_type") not in _CELL_TYPES:
            message = (f"unknown cell_type {instance.get('cell_type')!r} (expected "
                       f"{', '.join(_CELL_TYPES)})")
        elif field:
            where += f", field {field}"
    else:
        where = ".".join(str(p) for p in path) or "top level"
    if len(message) > _MESSAGE_LIMIT:
        message = message[:_MESSAGE_LIMIT - 3] + "..."
    return f"{where}: {message}"
