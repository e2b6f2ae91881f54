"""What `grader similarity` does, callable from Python: compare a class, write what was found.

html shows each listed pair's two files side by side, the shared stretches marked; csv holds one
row per pair; json the whole result. Student names and code are untrusted text: escaped in html
(autoescape), quoted as text in csv (a name starting with = is no formula).
"""

from __future__ import annotations

import csv
import json
from dataclasses import asdict
from pathlib import Path

import pandas as pd
from jinja2 import ChoiceLoader, PackageLoader

from grader import options
from grader.courses.course import open_course
from grader.files import written_whole
from grader.gradebook import Gradebook
from grader.outcomes import UsageError
from grader.reports import templates
from grader.reports.cells import text_cells
from grader.reports.outputs import course_of, known_assignment
from grader.similarity.compare import Similarity, compare_class
from grader.similarity.ranking import Region

FORMATS = options.SIMILARITY_FORMATS


def similarity(
    assignment: str, output: str | Path | None = None, fmt: str | None = None, *,
    db: str | None = None, course: str | None = None,
    threshold: float = options.SIMILARITY_THRESHOLD,
) -> Similarity:
    """Rank the pairs of ``assignment``'s current submissions in the gradebook by the code they
    share beyond the book and the rare wrong answers they share; write them to ``output``
    (html, csv or json, by ``fmt`` or its suffix) when given."""
    if not 0 <= threshold <= 1:
        raise UsageError(f"--threshold is a score from 0 to 1, not {threshold:g}")
    if output is not None:
        fmt = fmt or Path(output).suffix.lstrip(".").lower()
        if fmt not in FORMATS:
            raise UsageError(f"cannot tell the format of {Path(output).name!r}: pass --format "
                             f"({', '.join(FORMATS)})")
    with Gradebook(db, create=False) as gradebook:
        name = course_of(gradebook, course)
        known_assignment(gradebook, name, assignment)
        opened = open_course(course)
        if name is not None and opened.name != name:
            raise UsageError(f"the gradebook's runs are of course {name}, not of {opened.name}: "
                             "pass that course's folder with --course")
        found = compare_class(gradebook, opened.get(assignment), name, threshold=threshold,
                              book=opened.settings.of(assignment).book)
    if output is not None:
        write_similarity(found, fmt, Path(output))
    return found


def write_similarity(found: Similarity, fmt: str, output: Path) -> Path:
    """Write ``found`` to ``output`` as ``fmt`` (one of FORMATS), whole or not at all."""
    with written_whole(output) as partial:
        _WRITERS[fmt](found, partial)
    return output


def pair_rows(found: Similarity) -> pd.DataFrame:
    """One row per listed pair: the scores, each signal's share, the functions and answers."""
    rows = []
    for rank, pair in enumerate(found.pairs, 1):
        code_share, answer_share = pair.shares
        rows.append({
            "rank": rank, "first": pair.first, "second": pair.second,
            "score": round(pair.score, 3), "code": round(pair.code, 3),
            "behaviour": round(pair.behaviour, 3), "code_share": round(code_share, 3),
            "behaviour_share": round(answer_share, 3),
            "functions": "; ".join(f"{f} {s:.2f}" for f, s in pair.functions),
            "shared_wrong_answers": "; ".join(
                f"{a.check_id} (given by {a.given_by})" for a in pair.answers),
        })
    columns = ["rank", "first", "second", "score", "code", "behaviour", "code_share",
               "behaviour_share", "functions", "shared_wrong_answers"]
    return pd.DataFrame(rows, columns=columns)


def _csv(found: Similarity, output: Path) -> None:
    text_cells(pair_rows(found)).to_csv(output, index=False, quoting=csv.QUOTE_NONNUMERIC)


def _json(found: Similarity, output: Path) -> None:
    data = asdict(found)
    data.pop("code")
    for pair, kept in zip(found.pairs, data["pairs"], strict=True):
        kept["code_share"], kept["behaviour_share"] = pair.shares
    output.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _html(found: Similarity, output: Path) -> None:
    environment = templates.make_environment(
        ChoiceLoader([PackageLoader("grader.similarity", "templates"), templates.loader()]))
    pairs = [{"pair": pair, "rank": rank,
              "first": _marked(found.code.get(pair.first, ""), pair.first_regions),
              "second": _marked(found.code.get(pair.second, ""), pair.second_regions)}
             for rank, pair in enumerate(found.pairs, 1)]
    page = environment.get_template("similarity.html").render(found=found, pairs=pairs)
    output.write_text(page, encoding="utf-8")


def _marked(text: str, regions: tuple[Region, ...]) -> list[tuple[str, bool]]:
    """``text`` cut into (piece, shared) at ``regions``' edges, in order."""
    starts = [0]
    for line in text.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))

    def offset(at: tuple[int, int]) -> int:
        line, column = at
        return min(starts[min(line - 1, len(starts) - 1)] + column, len(text))

    spans = sorted((offset(r.start), offset(r.end)) for r in regions)
    pieces, done = [], 0
    for start, end in spans:
        start = max(start, done)
        if end <= start:
            continue
        if start > done:
            pieces.append((text[done:start], False))
        pieces.append((text[start:end], True))
        done = end
    if done < len(text):
        pieces.append((text[done:], False))
    return pieces


_WRITERS = {"html": _html, "csv": _csv, "json": _json}  # one for each of FORMATS
