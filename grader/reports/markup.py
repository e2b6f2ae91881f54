"""Self-contained html pages: escaped text, tables and one inline stylesheet, no scripts."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from html import escape

import pandas as pd

from grader.reports.schema import number, text

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 70rem; color: #222; }
table { border-collapse: collapse; margin: 1rem 0; font-size: 0.9rem; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.6rem; text-align: left; vertical-align: top; }
th { background: #eef2f8; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
pre { background: #f6f6f6; padding: 0.6rem; overflow-x: auto; white-space: pre-wrap; }
.passed { color: #1a7f37; } .failed { color: #b42318; } .muted { color: #666; }
.detail { margin: 0.3rem 0; }
figure { display: inline-block; margin: 0.5rem 1rem 0.5rem 0; }
"""


def page(title: str, body: str) -> str:
    """A whole html document around ``body`` (already html), with ``title`` escaped."""
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{escape(title)}</title>\n<style>{_STYLE}</style>\n</head>\n"
        f"<body>\n{body}\n</body>\n</html>\n"
    )


def table(
    frame: pd.DataFrame,
    *,
    index: bool = False,
    formats: Mapping[str, Callable[[object], str]] | None = None,
) -> str:
    """``frame`` as an html table, every header and cell escaped; numbers right-aligned."""
    formats = formats or {}
    shown = frame.reset_index() if index else frame
    head = "".join(f"<th>{escape(str(column))}</th>" for column in shown.columns)
    rows = []
    for _, row in shown.iterrows():
        cells = "".join(_cell(row[column], formats.get(column)) for column in shown.columns)
        rows.append(f"<tr>{cells}</tr>")
    return (
        f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n"
        + "\n".join(rows)
        + ("\n</tbody>\n</table>")
    )


def _cell(value: object, format_: Callable[[object], str] | None) -> str:
    if format_ is not None:
        return f'<td class="num">{escape(format_(value))}</td>'
    if pd.api.types.is_bool(value):
        return f"<td>{'yes' if value else 'no'}</td>"
    if pd.api.types.is_number(value):
        return f'<td class="num">{escape(number(value))}</td>'
    return f"<td>{escape(text(value))}</td>"


def image(src: str, alt: str) -> str:
    """An <img> for a data URI, with escaped alt text."""
    return f'<figure><img src="{escape(src)}" alt="{escape(alt)}"></figure>'
