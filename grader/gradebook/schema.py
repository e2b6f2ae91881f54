"""Creating a gradebook's tables, and the columns an older gradebook lacks, under a lock."""

from __future__ import annotations

from sqlalchemy import Column, Connection, Engine, func, inspect, select

from grader.gradebook.models import Base
from grader.outcomes import UsageError

SCHEMA_LOCK = 0x67726164  # PostgreSQL advisory lock ("grad") held while creating the tables


class SchemaError(UsageError):
    """A gradebook whose tables cannot be brought up to date."""


def create_tables(engine: Engine, writer: Engine) -> None:
    """Create what tables and columns are missing; two processes opening a new gradebook take
    turns."""
    with engine.connect() as connection:
        found = inspect(connection)
        if (set(Base.metadata.tables) <= set(found.get_table_names())
                and not _missing_columns(found) and not _narrow_columns(found)):
            return  # no lock needed to read a gradebook that is already there
    with writer.begin() as connection:  # SQLite: BEGIN IMMEDIATE
        if connection.dialect.name == "postgresql":
            # Transactional DDL: the second CREATE TABLE would wait, then fail on the catalog.
            connection.execute(select(func.pg_advisory_xact_lock(SCHEMA_LOCK)))
        Base.metadata.create_all(connection)
        found = inspect(connection)
        for table, column in _missing_columns(found):
            _add_column(connection, table, column)
        for table, column in _narrow_columns(found):
            _widen(connection, table, column)


def _missing_columns(found) -> list[tuple[str, Column]]:
    """The model's columns that an existing gradebook's tables lack (it predates them)."""
    tables = set(found.get_table_names())
    missing = []
    for name, table in Base.metadata.tables.items():
        if name in tables:
            have = {c["name"] for c in found.get_columns(name)}
            missing += [(name, c) for c in table.columns if c.name not in have]
    return missing


def _narrow_columns(found) -> list[tuple[str, Column]]:
    """The model's string columns that an existing gradebook holds shorter than the model says
    (a status that grew a longer value); SQLite enforces no length, so there are none there."""
    if found.bind.dialect.name == "sqlite":
        return []
    tables = set(found.get_table_names())
    narrow = []
    for name, table in Base.metadata.tables.items():
        if name not in tables:
            continue
        lengths = {c["name"]: getattr(c["type"], "length", None) for c in found.get_columns(name)}
        for column in table.columns:
            want, have = getattr(column.type, "length", None), lengths.get(column.name)
            if want is not None and have is not None and have < want:
                narrow.append((name, column))
    return narrow


def _widen(connection: Connection, table: str, column: Column) -> None:
    quote = connection.dialect.identifier_preparer.quote
    kind = column.type.compile(dialect=connection.dialect)
    connection.exec_driver_sql(f"ALTER TABLE {quote(table)} ALTER COLUMN {quote(column.name)} "
                               f"TYPE {kind}")


def _add_column(connection: Connection, table: str, column: Column) -> None:
    if column.server_default is None:
        raise SchemaError(f"the gradebook's table {table} lacks the column {column.name}, "
                             "which cannot be added to rows already there; start a new gradebook")
    quote = connection.dialect.identifier_preparer.quote
    kind = column.type.compile(dialect=connection.dialect)
    default = column.server_default.arg
    connection.exec_driver_sql(f"ALTER TABLE {quote(table)} ADD COLUMN {quote(column.name)} "
                               f"{kind} NOT NULL DEFAULT '{default}'")
