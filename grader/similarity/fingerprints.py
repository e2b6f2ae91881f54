"""Code as fingerprints that survive renaming, reformatting and reordering: the winnowing of
Schleimer, Wilkerson and Aiken (SIGMOD 2003), over Python tokens.

Each module-level function, and the rest of the file as one more part, becomes a list of
normalised tokens: names the student chose are ``V``, numbers ``N``, strings ``S``; keywords,
operators, attribute names (``.exp``, ``.sum``), keyword arguments (``keepdim=``), builtins
and imported modules (``torch``) stay as written, since a copier does not rename those;
comments, docstrings, line breaks inside brackets and indentation go. Every run of ``K``
tokens is hashed, and in every window of ``W`` hashes the smallest is kept: two parts that
share a run of ``K + W - 1`` tokens share a fingerprint. Hashes are blake2b, the same in
every process.
"""

from __future__ import annotations

import ast
import builtins
import hashlib
import io
import keyword
import tokenize
from collections.abc import Iterable
from dataclasses import dataclass, field

K = 5  # tokens per hashed run
W = 4  # hashes per window: a shared run of K + W - 1 = 8 tokens is always seen
REST = "(rest of the file)"  # the part that is not one of the functions compared

_DROPPED = {tokenize.COMMENT, tokenize.NL, tokenize.INDENT, tokenize.DEDENT, tokenize.ENCODING,
            tokenize.ENDMARKER, tokenize.TYPE_COMMENT}
# f-strings are one STRING token up to Python 3.11, and parts from 3.12 on
_STRINGS = {tokenize.STRING} | {getattr(tokenize, name) for name in
                                ("FSTRING_START", "FSTRING_MIDDLE", "FSTRING_END")
                                if hasattr(tokenize, name)}
_KEPT_NAMES = frozenset(dir(builtins)) | frozenset(keyword.kwlist) | {"self"}


@dataclass(frozen=True)
class Token:
    text: str  # normalised
    start: tuple[int, int]  # (line from 1, column) in the source
    end: tuple[int, int]


@dataclass
class Part:
    """One function (or the rest of the file): its tokens and its fingerprints, each hash with
    the indices of the token runs it stands for."""

    name: str
    tokens: list[Token]
    prints: dict[int, list[int]] = field(default_factory=dict)


def parts(source: str, functions: Iterable[str]) -> dict[str, Part]:
    """``source``'s functions named in ``functions`` (the last definition of each, as Python
    keeps it) and the rest of the file (``REST``), fingerprinted; a function the file lacks is
    absent. Raises SyntaxError (or ValueError for a NUL byte) when the source does not parse."""
    tree = ast.parse(source)  # what does not parse raises here, before the tokenizer sees it
    wanted = set(functions)
    spans = {node.name: (node.lineno, node.end_lineno) for node in tree.body
             if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in wanted}
    tokens = normalised(source, tree)
    found = {name: [] for name in spans}
    found[REST] = []
    for token in tokens:
        line = token.start[0]
        owner = next((name for name, (first, last) in spans.items() if first <= line <= last), REST)
        found[owner].append(token)
    return {name: _fingerprinted(Part(name, kept)) for name, kept in found.items()}


def normalised(source: str, tree: ast.Module) -> list[Token]:
    """The tokens of ``source`` that say what the code does, normalised (see the module)."""
    kept_names = _KEPT_NAMES | _imported(tree)
    quiet = _docstring_lines(tree)
    try:
        raw = [tok for tok in tokenize.generate_tokens(io.StringIO(source).readline)
               if tok.type not in _DROPPED
               and not any(a <= tok.start[0] and tok.end[0] <= b for a, b in quiet)]
    except tokenize.TokenError as err:  # parsed, yet the tokenizer disagrees: no tokens to trust
        raise SyntaxError(f"cannot be tokenized: {err.args[0]}") from None
    out: list[Token] = []
    depth = 0
    for i, tok in enumerate(raw):
        after = raw[i + 1].string if i + 1 < len(raw) else ""
        before = raw[i - 1].string if i else ""
        if tok.type == tokenize.NAME:
            # an attribute (.exp) or a keyword argument (keepdim=) is the library's name
            named = before == "." or (depth > 0 and after == "=")
            text = tok.string if named or tok.string in kept_names else "V"
        elif tok.type == tokenize.NUMBER:
            text = "N"
        elif tok.type in _STRINGS:
            text = "S"
        elif tok.type == tokenize.NEWLINE or tok.string == ";":
            text = ";"
        else:
            text = tok.string
            depth += (text in "([{") - (text in ")]}") if len(text) == 1 else 0
        if text in (";", "S") and out and out[-1].text == text or text == ";" and not out:
            continue  # a blank statement, a line split in two, an f-string's parts: one
        out.append(Token(text, tok.start, tok.end))
    return out


def run_hashes(tokens: list[Token]) -> list[int]:
    """The hash of every run of K tokens, in order."""
    texts = [t.text for t in tokens]
    return [int.from_bytes(hashlib.blake2b("\x1f".join(texts[i:i + K]).encode(),
                                           digest_size=8).digest(), "big")
            for i in range(len(texts) - K + 1)]


def winnowed(hashes: list[int]) -> dict[int, list[int]]:
    """The smallest hash of every window of W (the rightmost where it is tied), with the
    positions it was chosen at; every hash where there are fewer than W."""
    chosen: dict[int, list[int]] = {}
    if len(hashes) < W:
        for i, h in enumerate(hashes):
            chosen.setdefault(h, []).append(i)
        return chosen
    last = -1
    for start in range(len(hashes) - W + 1):
        window = hashes[start:start + W]
        low = min(window)
        pick = start + max(i for i, h in enumerate(window) if h == low)
        if pick != last:
            chosen.setdefault(low, []).append(pick)
            last = pick
    return chosen


def _fingerprinted(part: Part) -> Part:
    part.prints = winnowed(run_hashes(part.tokens))
    return part


def _imported(tree: ast.Module) -> set[str]:
    """The names the module's imports bind (``torch``, ``d2l``, ``random``)."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names


def _docstring_lines(tree: ast.Module) -> list[tuple[int, int]]:
    """The lines of every string that stands alone as a statement (docstrings among them)."""
    return [(node.lineno, node.end_lineno) for node in ast.walk(tree)
            if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)]
