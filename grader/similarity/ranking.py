"""Pairs of students ranked by two signals: the code they share beyond the book, and the rare
wrong answers they share on the same hidden inputs. Pure: what is compared comes in as values.

One rule weighs both: a thing n students of the class share links n(n - 1) / 2 pairs, and each
of those pairs gets 1 / (n(n - 1) / 2) of it, 1 when the two are the only ones. What everyone
writes alike, or gets wrong alike, links so many pairs that it says almost nothing of one.

Code. Each student's functions are fingerprinted (``fingerprints``); a run of the book's code
(the starter, the reference, the course's file of the book's code) never counts. The pair's
code signal is 1 - exp(-links / EVIDENCE) over the fingerprints they share.

Behaviour. A failed check's wrong answer is kept as a digest; the same digest on the same check
in two submissions is the same wrong output on the same hidden inputs. Its link counts NAMED as
much for a mistake the grader names (its result has a hint): one many make. Per function the
strongest shared answer counts (one bug fails several checks), STRENGTH times its link, and the
functions combine as independent evidence: 1 - prod(1 - s).

The pair's score combines both the same way, 1 - (1 - code)(1 - behaviour); each signal's
share of the evidence is listed beside it. The score never changes a grade.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from itertools import combinations

from grader.similarity.fingerprints import K, Part, run_hashes

SHOWN = 0.05  # a function whose own code signal is below this is not listed as involved
MARKED = 1 / 3  # shared code is marked where it counts this much: three or fewer hold it
NAMED = 0.25  # a mistake the grader names is expected: it counts this much of an unnamed one
EVIDENCE = 8.0  # fingerprints only the pair holds (two lines of code) for a 63% code signal
STRENGTH = 0.8  # what one shared wrong answer that only the pair gave is worth, at most


@dataclass(frozen=True)
class Answer:
    """A failed check's wrong answer, as a digest; ``named``: the grader named the mistake (its
    result has a hint), so it is one the assignment expects many to make."""

    check_id: str
    function: str
    digest: str
    named: bool = field(default=False, compare=False)


@dataclass(frozen=True)
class Student:
    """What is compared of one student: their code's parts (none where the code could not be
    read) and their failed checks' answers."""

    name: str
    parts: Mapping[str, Part]
    answers: frozenset[Answer] = frozenset()


@dataclass(frozen=True)
class SharedAnswer:
    check_id: str
    function: str
    given_by: int  # students of the class who gave this wrong answer
    weight: float  # its link: 1 when only this pair gave it, NAMED of that for a named mistake
    named: bool = False


@dataclass(frozen=True)
class Region:
    """Code one student of a pair shares with the other: ``start`` to ``end`` as (line, column)."""

    function: str
    start: tuple[int, int]
    end: tuple[int, int]


@dataclass(frozen=True)
class Pair:
    first: str
    second: str
    score: float
    code: float
    behaviour: float
    # (function, its own code signal) where that is at least SHOWN, highest first
    functions: tuple[tuple[str, float], ...]
    answers: tuple[SharedAnswer, ...]  # the weightiest first
    first_regions: tuple[Region, ...] = ()
    second_regions: tuple[Region, ...] = ()

    @property
    def shares(self) -> tuple[float, float]:
        """(code, behaviour): each signal's part of the evidence, summing to 1 (0, 0 for none)."""
        total = self.code + self.behaviour
        return (self.code / total, self.behaviour / total) if total else (0.0, 0.0)


def rank(students: Iterable[Student], boilerplate: set[int], threshold: float) -> list[Pair]:
    """Every pair scoring at least ``threshold``, highest first (ties by name); ``boilerplate``
    holds the hashes of every run of K tokens in the book's code (``book_hashes``)."""
    students = sorted(students, key=lambda s: s.name)
    prints = {s.name: _kept_prints(s, boilerplate) for s in students}
    held = Counter(key for keys in prints.values() for key in keys)
    given = Counter(a for s in students for a in s.answers)
    pairs = []
    for a, b in combinations(students, 2):
        shared = prints[a.name] & prints[b.name]
        code = _sure(sum(_link(held[k]) for k in shared))
        answers = _shared_answers(a, b, given)
        behaviour = _behaviour(answers)
        score = 1 - (1 - code) * (1 - behaviour)
        if score >= threshold and score > 0:
            pairs.append(_pair(a, b, score, code, behaviour, answers, shared, held))
    return sorted(pairs, key=lambda p: (-p.score, p.first, p.second))


def _link(holders: int) -> float:
    """What one thing ``holders`` students share says of each pair of them: 1 / the pairs."""
    return 2 / (holders * (holders - 1)) if holders > 1 else 0.0


def _sure(links: float) -> float:
    return 1 - math.exp(-links / EVIDENCE)


def book_hashes(parts: Iterable[Part]) -> set[int]:
    """The hashes of every run of K tokens of the book's code: not only its fingerprints, so a
    student's run the book holds anywhere never counts."""
    return {h for part in parts for h in run_hashes(part.tokens)}


def _kept_prints(student: Student, boilerplate: set[int]) -> set[tuple[str, int]]:
    return {(name, h) for name, part in student.parts.items() for h in part.prints
            if h not in boilerplate}


def _shared_answers(a: Student, b: Student, given: Counter) -> list[SharedAnswer]:
    shared = [SharedAnswer(x.check_id, x.function, given[x],
                           _link(given[x]) * (NAMED if x.named else 1.0), x.named)
              for x in a.answers & b.answers]
    return sorted(shared, key=lambda s: (-s.weight, s.check_id))


def _behaviour(answers: list[SharedAnswer]) -> float:
    strongest: dict[str, float] = {}
    for answer in answers:
        strongest[answer.function] = max(strongest.get(answer.function, 0.0), answer.weight)
    return 1 - math.prod(1 - STRENGTH * w for w in strongest.values())


def _pair(a: Student, b: Student, score: float, code: float, behaviour: float,
          answers: list[SharedAnswer], shared: set[tuple[str, int]], held: Counter) -> Pair:
    links: dict[str, float] = {}
    for key in shared:
        links[key[0]] = links.get(key[0], 0.0) + _link(held[key])
    sure = {name: _sure(value) for name, value in links.items()}
    functions = sorted(((name, value) for name, value in sure.items() if value >= SHOWN),
                       key=lambda f: (-f[1], f[0]))
    telling = {key for key in shared if _link(held[key]) >= MARKED}
    return Pair(a.name, b.name, score, code, behaviour, tuple(functions), tuple(answers),
                _regions(a, telling), _regions(b, telling))


def _regions(student: Student, shared: set[tuple[str, int]]) -> tuple[Region, ...]:
    """The stretches of ``student``'s code that the ``shared`` fingerprints stand for, merged."""
    regions = []
    for name, part in sorted(student.parts.items()):
        covered = sorted({i + j for h in part.prints if (name, h) in shared
                          for i in part.prints[h] for j in range(K)})
        run: list[int] = []
        for index in covered + [None]:
            if run and (index is None or index != run[-1] + 1):
                regions.append(Region(name, part.tokens[run[0]].start, part.tokens[run[-1]].end))
                run = []
            if index is not None:
                run.append(index)
    return tuple(regions)
