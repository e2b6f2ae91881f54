"""Self-contained html pages: escaped text, tables and one inline stylesheet, no scripts."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from html import escape

import pandas as pd

from grader.reports.schema import number, text

_STYLE = """
*, *::before, *::after { box-sizing: border-box; }
body { font-family: system-ui, sans-serif; margin: 2rem auto; padding: 0 1rem; max-width: 80rem;
       color: #222; overflow-wrap: anywhere; }
.scroll { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; margin: 1rem 0; font-size: 0.9rem; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.6rem; text-align: left; vertical-align: top; }
th { background: #eef2f8; overflow-wrap: normal; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
pre, .message { white-space: pre-wrap; overflow-wrap: anywhere; }
.word { overflow-wrap: normal; }  /* an identifier: its column is no narrower */
pre { background: #f6f6f6; padding: 0.6rem; overflow-x: auto; }
.passed { color: #1a7f37; } .failed { color: #b42318; } .muted { color: #666; }
.detail { margin: 0.3rem 0; }
.flag { display: inline-block; margin: 0 0.2rem 0.1rem 0; padding: 0 0.35rem; border-radius: 3px;
        border: 1px solid #d9822b; background: #fff1e0; color: #7a3e00; font-size: 0.8rem;
        font-weight: 600; white-space: nowrap; }
tr.flagged > td { background: #fffaf3; }
details { border: 1px solid #ddd; border-radius: 4px; margin: 0.3rem 0; padding: 0.2rem 0.6rem; }
summary { cursor: pointer; }
.grading { scroll-margin-top: 3rem; }  /* a link to it leaves its summary line in view */
figure { display: inline-block; max-width: 100%; margin: 0.5rem 1rem 0.5rem 0; }
img { max-width: 100%; height: auto; }
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
    markup: Collection[str] = (),
    row_classes: Sequence[str] | None = None,
) -> str:
    """``frame`` as an html table in a box that scrolls sideways when the table is wider than
    the page; every header and cell escaped, numbers right-aligned.

    ``markup`` names the columns whose cells are already html (built with ``escape``), shown as
    they are; ``row_classes`` gives each row a class attribute ("" for none), in order.
    """
    formats = formats or {}
    shown = frame.reset_index() if index else frame
    classes = list(row_classes) if row_classes is not None else [""] * len(shown)
    head = "".join(f"<th>{escape(str(column))}</th>" for column in shown.columns)
    rows = []
    for (_, row), class_ in zip(shown.iterrows(), classes, strict=True):
        cells = "".join(
            f"<td>{row[column]}</td>" if column in markup
            else _cell(row[column], formats.get(column))
            for column in shown.columns
        )
        attribute = f' class="{escape(class_)}"' if class_ else ""
        rows.append(f"<tr{attribute}>{cells}</tr>")
    return (
        f'<div class="scroll"><table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n'
        + "\n".join(rows)
        + "\n</tbody>\n</table></div>"
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
