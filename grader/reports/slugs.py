"""Folder and file names for students and assignments that are safe on any file system."""

from __future__ import annotations

import hashlib
import re

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
_MAX_LENGTH = 64  # well inside the 255-byte name limit, with room for the hash
_HASHED = re.compile(r"-[0-9a-f]{8}$")  # how every slug that changed its name ends


def slug(name: str) -> str:
    """A file-system-safe name for ``name``, distinct for distinct names.

    Keeps ASCII letters, digits, '-', '_' and '.', maps everything else to '_', and never
    starts with '.' (so never '.', '..' or a hidden file). When that changed the name, a short
    hash of the exact name is appended, so "Zoë" and "Zoé" get different folders.

    Args:
        name: any string, such as a student's name.

    Returns:
        the name itself when it was already safe (and does not end like a slug), else the
        mapped name plus "-" and 8 hex digits of the exact name's hash.
    """
    mapped = _UNSAFE.sub("_", name)
    mapped = re.sub(r"^\.", "_", mapped)[:_MAX_LENGTH]
    # A safe name keeps itself unless it looks like another name's slug ("Zo_-c6a12698" is
    # Zoë's): every slug that changed a name ends in its hash, so no two names can meet.
    if mapped == name and name and not _HASHED.search(name):
        return name
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{mapped or '_'}-{digest}"
