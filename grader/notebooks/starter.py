"""A starter notebook made from a starter template .py, for learners who work in Jupyter.

A title cell; one code cell of imports (the template's, and ``from d2l import torch as d2l``, as
the book's notebooks start); then, per function, its contract as text and a code cell with its
stub exactly as the template has it. Converting the notebook gives back the same functions.
"""

from __future__ import annotations

import ast
import inspect
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nbformat import NotebookNode

D2L_IMPORT = "from d2l import torch as d2l"
_METADATA = {
    "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
    "language_info": {"name": "python"},
}


def starter_notebook(template_source: str, *, title: str) -> NotebookNode:
    """The starter notebook for ``template_source``, a starter template's text.

    Args:
        template_source: a template module: a docstring, imports, stub functions, constants.
        title: the notebook's heading, e.g. "Softmax regression from scratch".

    Returns:
        A valid nbformat 4 notebook with deterministic cell ids, so that a course can keep the
        file under version control.
    """
    import nbformat  # about 0.15 s, paid only when a notebook is made

    tree = ast.parse(template_source)
    lines = template_source.splitlines()
    cells = [nbformat.v4.new_markdown_cell(_title(title, ast.get_docstring(tree)))]
    imports = [_text(lines, n) for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    if D2L_IMPORT not in imports:
        imports.append(D2L_IMPORT)
    cells.append(nbformat.v4.new_code_cell("\n".join(imports)))
    others: list[str] = []  # constants between functions, kept where they appear
    for node in _statements(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            continue
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            others.append(_text(lines, node))
            continue
        if others:
            cells.append(nbformat.v4.new_code_cell("\n".join(others)))
            others = []
        cells.append(nbformat.v4.new_markdown_cell(_contract(node)))
        cells.append(nbformat.v4.new_code_cell(_text(lines, node)))
    if others:
        cells.append(nbformat.v4.new_code_cell("\n".join(others)))
    for number, cell in enumerate(cells, start=1):
        cell["id"] = f"cell-{number}"
    nb = nbformat.v4.new_notebook(cells=cells, metadata=_METADATA)
    nbformat.validate(nb)
    return nb


def _statements(tree: ast.Module) -> list[ast.stmt]:
    """The module's statements after its docstring."""
    body = tree.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        return body[1:]
    return body


def _text(lines: list[str], node: ast.stmt) -> str:
    """The statement's whole lines, decorators and trailing comments included."""
    first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", ()))])
    return "\n".join(lines[first - 1:node.end_lineno])


def _contract(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> str:
    kind = "class" if isinstance(node, ast.ClassDef) else "function"
    doc = ast.get_docstring(node)
    return f"## The {kind} `{node.name}`\n\n" + (_verbatim(doc) if doc else "(no contract)")


def _title(title: str, doc: str | None) -> str:
    return f"# {title}\n\n{_verbatim(doc)}" if doc else f"# {title}"


def _verbatim(text: str) -> str:
    """``text`` shown as written: a docstring's indented Args would turn into Markdown code."""
    fence = "~~~~" if "```" in text else "```"
    return f"{fence}text\n{inspect.cleandoc(text)}\n{fence}"
