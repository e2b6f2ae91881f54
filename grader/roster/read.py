"""Reading a class roster, the CSV a TA exports from their LMS, into validated ``Student``s.

A roster decides whose grade a submission becomes, so every doubt is an error rather than a
guess: a ``RosterError`` of one line that names the file, the row and how to fix it. Columns
``id``, ``name`` and ``email`` are required, ``sis_id``, ``login`` and ``section`` optional, any
other is ignored; headers match ignoring case and spaces ("SIS ID" is ``sis_id``).

Control characters are refused, not stripped: a value that holds one was damaged on its way
here (a pasted escape sequence, a NUL), and stripping would quietly change a key that a
submission must equal. Invisible format characters (zero-width space, bidi overrides) are
refused in the keys (id, login, email) for the same reason, and kept in names, where some
scripts need them (ZWNJ in Persian).
"""

from __future__ import annotations

import codecs
import csv
import io
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.outcomes import UsageError

REQUIRED = ("id", "name", "email")
OPTIONAL = ("sis_id", "login", "section")
KEYS = ("id", "login", "email")  # what a submission's name may equal, ignoring case


class RosterError(UsageError):
    """A roster that cannot be used; ``row`` is 0 when the problem is not one row's."""

    def __init__(self, source: str, problem: str, row: int = 0) -> None:
        where = source or "roster"
        super().__init__(f"{where}, row {row}: {problem}" if row else f"{where}: {problem}")
        self.source, self.problem, self.row = source, problem, row


@dataclass(frozen=True)
class Student:
    id: str
    name: str
    email: str
    sis_id: str = ""
    login: str = ""
    section: str = ""
    row: int = 0  # the file's line number, for messages


@dataclass(frozen=True)
class Roster:
    """Students whose keys (id, login, email) are unique ignoring case, across all three kinds:
    a roster where one name could mean two students cannot be built."""

    students: tuple[Student, ...]
    source: str = ""  # the file, as shown in messages
    _index: dict[str, Student] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        index: dict[str, tuple[Student, str]] = {}
        for student in self.students:
            for kind, key in self.keys(student):
                other, other_kind = index.setdefault(key, (student, kind))
                if other is not student:
                    raise RosterError(self.source, _clash(student, kind, other, other_kind),
                                      student.row)
        object.__setattr__(self, "_index", {key: s for key, (s, _) in index.items()})

    def find(self, key: str) -> Student | None:
        """The student whose id, login or email is ``key``, ignoring case."""
        return self._index.get(key.casefold())

    @staticmethod
    def keys(student: Student) -> tuple[tuple[str, str], ...]:
        """``(kind, casefolded value)`` for each of the student's keys that is set."""
        return tuple((kind, getattr(student, kind).casefold()) for kind in KEYS
                     if getattr(student, kind))


def _clash(student: Student, kind: str, other: Student, other_kind: str) -> str:
    value, other_value = getattr(student, kind), getattr(other, other_kind)
    whose = f"row {other.row}'s" if other.row else f"{other.name}'s"
    same = "" if value == other_value else f" {other_value!r}, ignoring case"
    if kind == other_kind:
        return f"{kind} {value!r} is also {whose} {kind}{same}; give each student their own"
    return (f"{kind} {value!r} is also {whose} {other_kind}{same}: a submission named "
            f"{value!r} would match both students; change one")


def read_roster(path: str | Path) -> Roster:
    """The roster in the CSV file at ``path`` (UTF-8, with or without a BOM).

    Raises:
        RosterError: the file is missing, a folder, not UTF-8, empty or not CSV; a required
            column is missing; a row is incomplete, has more fields than the header or holds a
            control character; two students share a key.
    """
    source = str(path)
    reader = csv.reader(io.StringIO(_text(Path(path), source), newline=""))
    header = next((row for row in _rows(reader, source) if any(c.strip() for c in row)), None)
    if header is None:
        raise RosterError(source, "empty file; export the roster again, with its header row "
                                  "(id, name, email)")
    header = [column.strip() for column in header]
    _check_columns(header, source)
    return _roster(_records(reader, header, source), source)


def roster_from_rows(rows: Iterable[Mapping[str, str]], source: str) -> Roster:
    """The roster in ``rows`` (column -> value, as ``csv.DictReader`` gives them), validated
    as ``read_roster`` validates a file; row numbers count from 1."""
    return _roster(enumerate(rows, start=1), source)


def _text(path: Path, source: str) -> str:
    if path.is_dir():
        raise RosterError(source, "a folder, not a CSV file; pass the roster's .csv file")
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise RosterError(source, "no such file; export the roster from your LMS as CSV and "
                                  "pass its path") from None
    except OSError as err:
        raise RosterError(source, f"cannot read it ({err.strerror or err})") from None
    bom = len(codecs.BOM_UTF8) if raw.startswith(codecs.BOM_UTF8) else 0  # Excel's "CSV UTF-8"
    try:
        return raw[bom:].decode("utf-8")
    except UnicodeDecodeError as err:
        offset = bom + err.start
        raise RosterError(source, f"not UTF-8 (byte 0x{raw[offset]:02x} at offset {offset}); "
                                  "save it as UTF-8 CSV") from None


def _rows(reader: Any, source: str) -> Iterator[list[str]]:
    """The reader's rows, a CSV error made a ``RosterError`` on the line where it happened."""
    while True:
        try:
            yield next(reader)
        except StopIteration:
            return
        except csv.Error as err:
            raise RosterError(source, f"not valid CSV ({err}); save it again as CSV",
                              reader.line_num) from None


def _records(reader: Any, header: list[str], source: str) -> Iterator[tuple[int, dict]]:
    """(line, column -> value) for each non-blank row; fields beyond the header go under
    ``None``, as ``csv.DictReader`` puts them."""
    line = reader.line_num
    for row in _rows(reader, source):
        start, line = line + 1, reader.line_num  # a quoted value may span lines
        if not any(cell.strip() for cell in row):
            continue
        record: dict[str | None, Any] = {column: row[i] if i < len(row) else ""
                                         for i, column in enumerate(header)}
        if len(row) > len(header):
            record[None] = row[len(header):]
        yield start, record


def _column(header: str) -> str:
    return "_".join(header.split()).casefold()


def _check_columns(found: Iterable[Any], source: str) -> None:
    found = [column for column in found if isinstance(column, str)]
    seen: dict[str, int] = {}
    for number, column in enumerate(found, start=1):
        known = _column(column)
        if known in REQUIRED + OPTIONAL and seen.setdefault(known, number) != number:
            first = seen[known]
            raise RosterError(source, f"columns {first} ({found[first - 1]!r}) and {number} "
                                      f"({column!r}) both mean {known}; delete one")
    missing = [column for column in REQUIRED if column not in seen]
    if missing:
        listed = ", ".join(repr(column) for column in found) or "none"
        raise RosterError(source, f"missing required columns {', '.join(missing)} (columns "
                                  f"found: {listed}); name them in the header row")


def _roster(records: Iterable[tuple[int, Mapping]], source: str) -> Roster:
    students = []
    for number, (row, record) in enumerate(records):
        if number == 0:
            _check_columns(record, source)
        students.append(_student(row, record, source))
    if not students:
        raise RosterError(source, "no students below the header; export the roster with its "
                                  "students")
    return Roster(tuple(students), source)


def _student(row: int, record: Mapping, source: str) -> Student:
    extra = record.get(None) or ()
    if any(cell and cell.strip() for cell in extra):  # a spreadsheet's trailing commas lose nothing
        width = sum(1 for column in record if column is not None)
        raise RosterError(source, f"{width + len(extra)} fields but the header has {width} "
                                  "columns; quote values that contain commas", row)
    values = {_column(k): v for k, v in record.items() if isinstance(k, str)}
    kept = {}
    for column in REQUIRED + OPTIONAL:
        value = values.get(column)
        kept[column] = "" if value is None else str(value).strip()
        _refuse_control(kept[column], column, row, source)
    empty = [column for column in REQUIRED if not kept[column]]
    if empty:
        raise RosterError(source, f"empty {' and '.join(empty)}; every student needs an id, "
                                  "a name and an email", row)
    return Student(**kept, row=row)


def _refuse_control(value: str, column: str, row: int, source: str) -> None:
    refused = {"Cc": "control", "Cf": "invisible"} if column in KEYS else {"Cc": "control"}
    for char in value:
        kind = refused.get(unicodedata.category(char))
        if kind:
            raise RosterError(source, f"{column} contains the {kind} character "
                                      f"U+{ord(char):04X}; delete it", row)
