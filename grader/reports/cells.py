"""Student-controlled text made safe for the files staff open.

A CSV cell that starts with = + - @, a tab or a carriage return is a formula to Excel, LibreOffice
and Google Sheets (a folder named ``=HYPERLINK(...)`` would become a live link); OWASP's rule is
to prefix such a cell with a single quote, which the spreadsheet shows as text. Control
characters, which openpyxl refuses in a workbook, are written as \\xNN.
"""

from __future__ import annotations

import re

import pandas as pd

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def without_controls(value: object) -> object:
    """Strings with their control characters (bar tab, newline, CR) as \\xNN; others as they are."""
    if not isinstance(value, str):
        return value
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", value)


def spreadsheet_text(value: object) -> object:
    """``value`` as a CSV cell: text a spreadsheet would evaluate is quoted; numbers stay."""
    value = without_controls(value)
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def text_cells(frame: pd.DataFrame, clean=spreadsheet_text) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells went through ``clean``; numbers stay numbers."""
    safe = frame.copy()
    for column in safe.columns:
        kind = safe[column].dtype
        if not (pd.api.types.is_numeric_dtype(kind) or pd.api.types.is_datetime64_any_dtype(kind)):
            safe[column] = safe[column].map(clean).astype(object)
    return safe
