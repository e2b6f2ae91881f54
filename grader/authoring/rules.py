"""From-scratch rules: which library calls a student's function makes, read from its source.

The analysis runs in the parent on the parsed source, so student code cannot influence it. It
follows the module's own helper functions (softmax calling ``_normalize`` calling
``torch.softmax`` is caught) and import aliases (``import torch.nn.functional as F``). A traced
run in the child (``Student.trace``) complements it for calls the source hides.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from grader.numeric.compare import fail
from grader.outcomes import NotImplementedByStudent, StudentProblem


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

    def run(student, ref) -> None:
        if is_stub(student.source, function):
            raise NotImplementedByStudent(
                f"`{function}` is not implemented yet (its body is a stub)"
            )
        uses = banned_uses(student.source, function, banned)
        if not uses and sample is not None:
            try:
                traced = set(student.trace(function, *sample()))
            except NotImplementedByStudent:
                raise
            except StudentProblem:  # it crashed on the sample: other checks say so; the source
                traced = set()  # alone decides this rule
            uses = [Use(name, 0, function) for name in sorted(traced) if is_banned(name, banned)]
        if uses:
            first = uses[0]
            where = f" (line {first.line}, in {first.via})" if first.line else " (seen at run time)"
            fail(
                f"`{function}` calls {first.name}{where}; this exercise implements it from scratch",
                hint.format(function=function),
            )

    if sample is not None:
        assignment.samples.setdefault(function, []).append(sample)
    run.__name__ = f"{function}_is_from_scratch"
    run.__doc__ = f"{function} is written from scratch, without {_short(banned)}."
    assignment.check(function=function, category="rules", points=points)(run)


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
