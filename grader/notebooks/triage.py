"""Which top-level statements of a cell become part of the graded module, and why the rest do not.

Definitions are kept: imports, ``def``, ``class`` and assignments. What only makes sense while
someone watches the notebook is dropped: magics, shell escapes, displayed expressions, loops and
other top-level code, and assignments whose value trains, loads data or plots. Each verdict
carries its reason as a clause that reads after "it": "it loads data (load_data_fashion_mnist)".
"""

from __future__ import annotations

import ast
import symtable
from dataclasses import dataclass

_TRAINS = ("train_ch3", "train_epoch_ch3", "train_linreg", "train", "fit")
_LOADS = ("load_data_fashion_mnist", "FashionMNIST")
_PLOTS = ("show_images", "plot", "Animator", "predict_ch3", "set_figsize", "use_svg_display")

# Called names (the last attribute: d2l.train_ch3 -> train_ch3) whose call makes a top-level
# assignment a demonstration rather than a definition. A course may pass a larger set.
DROP_CALLS: frozenset[str] = frozenset(_TRAINS + _LOADS + _PLOTS)

_DOES = {
    **dict.fromkeys(_TRAINS, "trains a model"),
    **dict.fromkeys(_LOADS, "loads data"),
    **dict.fromkeys(_PLOTS, "plots"),
}

# What a top-level training loop calls: the book's loops end in backward() and a step
# (sgd(...), updater(...), trainer.step()).
_STEPS = frozenset({"backward", "step", "sgd", "updater"})

_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda, ast.ListComp,
           ast.SetComp, ast.DictComp, ast.GeneratorExp)
_BLOCKS = {
    ast.For: "a top-level for loop", ast.AsyncFor: "a top-level for loop",
    ast.While: "a top-level while loop", ast.With: "a top-level with block",
    ast.AsyncWith: "a top-level with block", ast.If: "a top-level if block",
    ast.Try: "a top-level try block", ast.Assert: "a top-level assert",
    ast.Delete: "a top-level del", ast.Raise: "a top-level raise",
}


@dataclass(frozen=True)
class Verdict:
    """What becomes of one top-level statement.

    ``guarded``: it runs inside a try, so that if it raises the module still imports. Plain
    ``def`` statements are not: the grader's rules read them from the module's top level.
    """

    kept: bool
    reason: str = ""
    binds: tuple[str, ...] = ()
    guarded: bool = False
    training_loop: bool = False


def triage(node: ast.stmt, drop_calls: frozenset[str] = DROP_CALLS, *,
           magics: bool = True) -> Verdict:
    """The verdict on ``node``, a top-level statement of a cell that IPython transformed.

    ``magics``: whether the cell may hold IPython calls at all (False skips looking for them).
    """
    binds = bound_names(node)
    magic = ipython_call(node) if magics else None
    if isinstance(node, _DEFS):
        note = f"uses {magic[0]} ({magic[1]}) inside, which fails outside Jupyter" if magic else ""
        guarded = isinstance(node, ast.ClassDef) or bool(node.decorator_list)
        return Verdict(True, note, binds, guarded=guarded)
    if magic:
        what, written = magic
        verb = "runs" if what == "a shell command" else "is"
        return Verdict(False, f"{verb} {what} ({written})", binds)
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return Verdict(True, "", binds, guarded=True)
    if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
        if node.value is None:
            return Verdict(False, "is an annotation without a value", binds)
        called = _dropped_call(node.value, drop_calls)
        if called:
            return Verdict(False, _does(called), binds)
        return Verdict(True, "", binds, guarded=True)
    if isinstance(node, ast.Expr):
        # trainer.fit(model, data), in d2l-en 1.0's style, is the training loop run at top level
        trains = _dropped_call(node.value, drop_calls) == "fit"
        return Verdict(False, _expression_reason(node.value, drop_calls), binds,
                       training_loop=trains)
    if isinstance(node, (ast.For, ast.AsyncFor, ast.While)) and _steps(node):
        return Verdict(False, "is a top-level training loop", binds, training_loop=True)
    if type(node) in _BLOCKS:
        return Verdict(False, "is " + _BLOCKS[type(node)], binds)
    return Verdict(False, f"is a top-level {type(node).__name__.lower()} statement", binds)


def _does(called: str) -> str:
    return f"{_DOES[called]} ({called})" if called in _DOES else f"calls {called}"


def _expression_reason(value: ast.expr, drop_calls: frozenset[str]) -> str:
    called = _dropped_call(value, drop_calls)
    if called:
        return _does(called)
    if isinstance(value, ast.Call):
        return f"is a top-level call ({called_name(value.func) or 'a call'})"
    return "is a bare expression (its value is only shown in the notebook)"


def called_name(func: ast.expr) -> str | None:
    """The name a call is known by: ``d2l.train_ch3`` -> ``train_ch3``."""
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return None


def _dropped_call(node: ast.AST, drop_calls: frozenset[str]) -> str | None:
    for sub in ast.walk(node):
        if isinstance(sub, ast.Call):
            name = called_name(sub.func)
            if name in drop_calls:
                return name
    return None


def _steps(loop: ast.AST) -> bool:
    return any(isinstance(sub, ast.Call) and called_name(sub.func) in _STEPS
               for sub in ast.walk(loop))


def ipython_call(node: ast.AST) -> tuple[str, str] | None:
    """The first IPython call in ``node`` (what a magic or shell escape became), as what it is
    and how it was written: ("an IPython magic", "%time"), ("a shell command", "!pip")."""
    for sub in ast.walk(node):
        if not (isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute)
                and _is_get_ipython(sub.func.value)):
            continue
        first = sub.args[0].value if sub.args and isinstance(sub.args[0], ast.Constant) else ""
        word = (str(first).split() or [""])[0]
        if sub.func.attr in ("system", "getoutput"):
            return "a shell command", f"!{word}"
        if sub.func.attr == "run_cell_magic":
            return "a cell magic", f"%%{word}"
        return "an IPython magic", f"%{word}"
    return None


def _is_get_ipython(node: ast.AST) -> bool:
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id == "get_ipython")


def cell_magic(tree: ast.Module) -> tuple[str, str] | None:
    """(name, body) when the cell is one cell magic (``%%time`` and what follows it)."""
    if len(tree.body) != 1 or not isinstance(tree.body[0], ast.Expr):
        return None
    call = tree.body[0].value
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
            and call.func.attr == "run_cell_magic" and _is_get_ipython(call.func.value)
            and len(call.args) == 3):
        return None
    name, _, body = (a.value if isinstance(a, ast.Constant) else None for a in call.args)
    if not (isinstance(name, str) and isinstance(body, str)):
        return None
    return name, body


def bound_names(node: ast.stmt) -> tuple[str, ...]:
    """The module-level names ``node`` binds, in order (a loop's too: ``for epoch in ...``)."""
    found: dict[str, None] = {}
    stack: list[ast.AST] = [node]
    while stack:
        sub = stack.pop()
        if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            found[sub.name] = None
        elif isinstance(sub, (ast.Import, ast.ImportFrom)):
            for alias in sub.names:
                if alias.name != "*":
                    found[alias.asname or alias.name.split(".")[0]] = None
        elif isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
            found[sub.id] = None
        elif isinstance(sub, ast.ExceptHandler) and sub.name:
            found[sub.name] = None
        if not isinstance(sub, _SCOPES):
            stack.extend(reversed(list(ast.iter_child_nodes(sub))))
    return tuple(found)


def globals_read(source: str, name: str) -> frozenset[str]:
    """The global names that the function or class ``name``, defined by ``source``, reads when
    it runs (its methods' reads, for a class; not its decorators or defaults, read once)."""
    try:
        table = symtable.symtable(source, "<cell>", "exec")
    except (SyntaxError, ValueError, RecursionError):
        return frozenset()
    reads: set[str] = set()
    stack = [t for t in table.get_children() if t.get_name() == name]
    while stack:
        scope = stack.pop()
        if scope.get_type() != "class":  # a class body runs once, when it is defined
            reads.update(s.get_name() for s in scope.get_symbols()
                         if s.is_global() and s.is_referenced())
        stack.extend(scope.get_children())
    return frozenset(reads)
