"""Student-controlled text on a terminal: every character that is not printable is escaped.

A folder name or an exception message can hold ESC sequences (a new window title, a cleared
screen, a clipboard write), a carriage return that overwrites PASS with FAIL, or a newline that
prints a fake line of results. Everything the grader prints that a student could have written
goes through ``printable`` first.
"""

from __future__ import annotations


def printable(text: str) -> str:
    """``text`` with each non-printable character as ``\\xNN``, ``\\uNNNN`` or ``\\UNNNNNNNN``."""
    return "".join(char if char.isprintable() else _escaped(char) for char in str(text))


def _escaped(char: str) -> str:
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"
