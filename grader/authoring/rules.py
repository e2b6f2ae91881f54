"""From-scratch rules: which library calls a student's function makes, read from its source.

The analysis runs in the parent on the parsed source, so student code cannot influence it. It
follows the module's own helper functions (softmax calling ``_normalize`` calling
``torch.softmax`` is caught) and import aliases (``import torch.nn.functional as F``). A traced
run in the child (``grader.runner.tracing``) complements it for what the source hides: names
built at run time, ATen operations reached below torch's Python layer, backward passes, and any
attempt to switch the trace off. Touching ``torch._C`` breaks every from-scratch rule.
"""

from __future__ import annotations

import ast
import importlib
import inspect
from dataclasses import dataclass
from functools import lru_cache
from types import FunctionType, ModuleType

import torch

from grader.numeric.compare import fail
from grader.outcomes import NotImplementedByStudent, StudentProblem
from grader.runner.tracing import BACKWARD


@dataclass(frozen=True)
class Use:
    name: str  # the banned dotted name it resolved to, e.g. "torch.nn.functional.softmax"
    line: int
    via: str  # the function it appears in (the checked one, or a helper it calls)


def banned_uses(tree: ast.Module, function: str, banned: tuple[str, ...]) -> list[Use]:
    """Every use of a banned name in ``function`` or the module-level helpers it reaches.

    ``banned`` holds dotted names; a name bans everything under it too (``torch.autograd`` bans
    ``torch.autograd.grad``), and ``torch.Tensor.NAME`` bans the method ``.NAME`` on anything.
    """
    defs = _defs(tree)
    values = _module_values(tree)
    aliases = _aliases(tree)
    methods = {b.rsplit(".", 1)[1] for b in banned if b.startswith("torch.Tensor.")}
    uses: set[Use] = set()
    for name in reachable(tree, function):
        local_aliases = {**aliases, **_aliases(defs[name])}
        for sub in ast.walk(defs[name]):
            # a module-level binding such as `sm = torch.softmax` or `loss = nn.CrossEntropyLoss()`
            bound = isinstance(sub, ast.Name) and sub.id in values
            nodes = ast.walk(values[sub.id]) if bound else ()
            for node in (sub, *nodes):
                found = _banned(node, local_aliases, banned, methods)
                if found:
                    uses.add(Use(found, sub.lineno, name))
    # torch.autograd.grad also walks past its prefix torch.autograd: keep the longest name
    longest = {u for u in uses if not any(v.line == u.line and v.name.startswith(u.name + ".")
                                          for v in uses)}
    return sorted(longest, key=lambda u: (u.line, u.name))


def reachable(tree: ast.Module, function: str) -> set[str]:
    """``function`` and every module-level function it names, directly or through others."""
    defs = _defs(tree)
    seen: set[str] = set()
    queue = [function]
    while queue:
        name = queue.pop()
        if name in seen or name not in defs:
            continue
        seen.add(name)
        queue.extend(sub.id for sub in ast.walk(defs[name])
                     if isinstance(sub, ast.Name) and sub.id in defs)
    return seen


def _defs(tree: ast.Module) -> dict[str, ast.AST]:
    return {n.name: n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}


def _banned(node: ast.AST, aliases: dict[str, str], banned, methods: set[str]) -> str | None:
    dotted = _dotted(node, aliases)
    if dotted is not None:
        return dotted if is_banned(dotted, banned) else None
    if isinstance(node, ast.Attribute) and node.attr in methods:
        return f"torch.Tensor.{node.attr}"  # a method call on a tensor: X.softmax(1)
    return None


def is_banned(name: str, banned: tuple[str, ...]) -> bool:
    """``name`` is one of ``banned`` or lies under one: torch.func bans torch.func.grad."""
    return any(name == b or name.startswith(b + ".") for b in banned)


def _aliases(node: ast.AST) -> dict[str, str]:
    """Local names bound by imports: {"F": "torch.nn.functional", "softmax": "torch.softmax"}."""
    found: dict[str, str] = {}
    for sub in ast.walk(node):
        if isinstance(sub, ast.Import):
            for a in sub.names:
                top = a.name.split(".")[0]
                found[a.asname or top] = a.name if a.asname else top
        elif isinstance(sub, ast.ImportFrom) and sub.module and not sub.level:
            for a in sub.names:
                found[a.asname or a.name] = f"{sub.module}.{a.name}"
    return found


def _module_values(tree: ast.Module) -> dict[str, ast.AST]:
    """Module-level ``name = expression`` bindings, to follow ``sm = torch.softmax``."""
    values: dict[str, ast.AST] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    values[target.id] = node.value
    return values


def _dotted(node: ast.AST, aliases: dict[str, str]) -> str | None:
    """``F.softmax`` -> ``torch.nn.functional.softmax`` when F is an imported module alias."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name) or node.id not in aliases:
        return None
    return ".".join([aliases[node.id], *reversed(parts)])


# torch's private core: its switches turn the grader's trace off (DisableTorchFunction), so no
# graded function may touch it, whatever else its exercise allows
PRIVATE_CORE = "torch._C"


def own_d2l_names(function: str) -> tuple[str, ...]:
    """The book's helper of the same name, however it is imported (``from d2l import torch as
    d2l``, ``import d2l``): a graded function may call d2l's other helpers, never its own."""
    return (f"d2l.torch.{function}", f"d2l.{function}")

FROM_SCRATCH_HINT = (
    "write {function} from elementary operations; building blocks such as torch.exp, "
    "torch.logsumexp and torch.linalg are allowed"
)


def add_from_scratch_check(
    assignment, function: str, *, points: float, sample=None, hint: str = FROM_SCRATCH_HINT
) -> None:
    """Register a ``rules`` check: ``function`` must not call ``assignment.banned[function]``.

    Args:
        assignment: the Assignment to register on.
        function: the student function under the rule.
        points: what keeping the rule is worth.
        sample: a zero-argument callable giving positional arguments for a traced run in the
            child, which catches calls the source hides; None to read the source only.
        hint: what to do instead; ``{function}`` is replaced by the function's name.
    """

    banned = assignment.banned[function]
    book = own_d2l_names(function)

    def run(student, ref) -> None:
        if is_stub(student.source, function):
            raise NotImplementedByStudent(
                f"`{function}` is not implemented yet (its body is a stub)"
            )
        uses = banned_uses(student.source, function, (*banned, *book, PRIVATE_CORE))
        hiding: list[str] = []
        if not uses and sample is not None:
            found, hiding = _traced(student, function, sample, (*banned, *book))
            uses = [Use(name, 0, function) for name in found]
        if uses and uses[0].name.startswith(PRIVATE_CORE):
            first = uses[0]
            fail(
                f"`{function}` reaches into {first.name} ({student.line(first.line)}, in "
                f"{first.via}), "
                "torch's private core; graded code may use torch's public API only",
                hint.format(function=function),
            )
        if hiding:
            fail(
                f"`{function}` {hiding[0]} while it ran (seen at run time); graded code may not "
                "hide what it computes from the grader",
                hint.format(function=function),
            )
        if uses:
            first = uses[0]
            where = (f" ({student.line(first.line)}, in {first.via})" if first.line
                     else " (seen at run time)")
            fail(
                f"`{function}` calls {first.name}{where}; this exercise implements it from scratch",
                hint.format(function=function),
            )

    if sample is not None:
        assignment.samples.setdefault(function, []).append(sample)
    run.__name__ = f"{function}_is_from_scratch"
    run.__doc__ = f"{function} is written from scratch, without {_short(banned)}."
    assignment.check(function=function, category="rules", points=points)(run)


def _traced(student, function: str, sample, banned) -> tuple[list[str], list[str]]:
    """The banned names the child saw the function run on ``sample``, and how it hid; what
    the child sent is checked as data."""
    try:
        seen = student.trace(function, *sample())
    except NotImplementedByStudent:
        raise
    except StudentProblem:
        try:
            student.call(function, *sample())
        except StudentProblem:  # it crashes on such inputs anyway: other checks say so, and
            return [], []  # the source alone decides this rule
        return [], ["crashed only while the grader traces it"]
    parts = [seen.get(key) if isinstance(seen, dict) else None
             for key in ("names", "entered", "tampering")]
    if not all(isinstance(x, list) and all(isinstance(n, str) for n in x) for x in parts):
        return [], ["returned something other than a trace"]
    names, entered, hiding = parts
    return runtime_uses(names, entered, banned), hiding


def runtime_uses(names: list[str], entered: list[str], banned: tuple[str, ...]) -> list[str]:
    """The banned names among what a traced run recorded, named as the student reaches them.

    ``names`` are torch's API as called (``torch.softmax``) and ATen operations
    (``aten._softmax``); ``entered`` are where the Python-level torch code it entered is defined
    (``torch.optim.sgd.SGD.step``), which count only under a banned public name
    (``torch.optim.SGD.step``): ``torch.no_grad`` is defined in torch.autograd, not banned by it.
    """
    index = _definitions(banned)
    # the book's helpers (the sandbox's d2l) are recorded under their public names already
    found = {*names, *(index.get(name, name if name.startswith("d2l.") else "")
                       for name in entered)} - {""}
    # the name the student's code used first, then the backward pass, then the ATen operation
    rank = {BACKWARD: 1}
    return sorted((name for name in found if is_banned(name, banned)),
                  key=lambda name: (rank.get(name, 2 if name.startswith("aten.") else 0), name))


@lru_cache(maxsize=64)
def _definitions(banned: tuple[str, ...]) -> dict[str, str]:
    """Where each Python function under a banned name is defined -> that banned public name."""
    index: dict[str, str] = {}
    for name in banned:
        obj = _resolve(name)
        if obj is not None:
            _index(obj, name, index, depth=2)
    return index


def _index(obj: object, public: str, index: dict[str, str], depth: int) -> None:
    if isinstance(obj, ModuleType):
        for attr in dir(obj) if depth else ():
            value = getattr(obj, attr, None)
            inside = not isinstance(value, ModuleType) or value.__name__.startswith(obj.__name__)
            # torch.autograd.no_grad is also torch.no_grad: switching grad mode is not the
            # derivative the ban is about, and its top-level name is not banned
            exported = getattr(torch, attr, None) is value
            if not attr.startswith("_") and inside and not exported:
                _index(value, f"{public}.{attr}", index, depth - 1)
    elif isinstance(obj, type):
        for attr, member in vars(obj).items():  # its own methods, not those it inherits
            function = getattr(member, "__func__", member)  # staticmethod, classmethod
            if inspect.isfunction(function):
                index.setdefault(_defined_at(function), f"{public}.{attr}")
    elif inspect.isfunction(obj):
        index.setdefault(_defined_at(obj), public)


def _defined_at(function: FunctionType) -> str:
    """The name a traced run records for a call of ``function`` (tracing.definition_name)."""
    code = function.__code__
    return f"{function.__module__}.{getattr(code, 'co_qualname', code.co_name)}"


def _resolve(dotted: str) -> object | None:
    """The object a dotted name such as ``torch.optim.SGD`` names, or None (``aten._softmax``)."""
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for part in parts[i:]:
            obj = getattr(obj, part, None)
        return obj
    return None


def is_stub(tree: ast.Module, function: str) -> bool:
    """True when ``function`` does nothing yet: ``raise NotImplementedError``, ``pass``, ``...``
    or ``return None`` after a docstring. Keeping a rule is worth nothing for a stub."""
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == function:
            body = [s for s in node.body if not (isinstance(s, ast.Expr)
                                                 and isinstance(s.value, ast.Constant))]
            if not body:  # a docstring or `...` alone
                return True
            if len(body) != 1:
                return False
            only = body[0]
            if isinstance(only, ast.Raise):
                return "NotImplementedError" in ast.unparse(only)
            if isinstance(only, ast.Return):
                return only.value is None or ast.unparse(only.value) == "None"
            return isinstance(only, ast.Pass)
    return False


def _short(banned: tuple[str, ...]) -> str:
    names = [b.replace("torch.nn.functional.", "F.") for b in banned]
    return ", ".join(names[:-1]) + (" or " if len(names) > 1 else "") + names[-1]
