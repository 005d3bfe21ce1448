"""Which tables the queries of one data source read, parsed with sqlglot in the source's dialect."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from openlytics.client import Client, Query

# Source kinds -> sqlglot dialects; an unknown kind is parsed with sqlglot's generic dialect.
DIALECTS = {
    "warehouse": "duckdb",
    "duckdb": "duckdb",
    "postgresql": "postgres",
    "mysql": "mysql",
    "sqlite": "sqlite",
}

# `{{ name }}` is not SQL: it becomes an identifier the parser accepts wherever a value or a name may be.
PARAMETER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
PLACEHOLDER_PREFIX = "__openlytics_param_"


@dataclass
class TableReport:
    """The tables each query reads, and the queries that could not be parsed."""

    uses: list[tuple[Query, str]] = field(default_factory=list)
    failures: list[tuple[Query, str]] = field(default_factory=list)

    def counts(self) -> list[tuple[str, int]]:
        """(table, number of queries reading it), most read first."""
        counter = Counter(table for _, table in self.uses)
        return sorted(counter.items(), key=lambda item: (-item[1], item[0]))


def dialect_for(kind: str) -> str | None:
    """The sqlglot dialect of a data source kind."""
    return DIALECTS.get(kind)


def tables_in(sql: str, dialect: str | None) -> list[str]:
    """The tables a SQL text reads, `schema.table` when written so; CTEs and table functions left out."""
    text = PARAMETER.sub(lambda m: PLACEHOLDER_PREFIX + re.sub(r"\W", "_", m.group(1)), sql)
    found: set[str] = set()
    for statement in sqlglot.parse(text, read=dialect):
        if statement is None:
            continue
        ctes = {cte.alias_or_name.lower() for cte in statement.find_all(exp.CTE)}
        for table in statement.find_all(exp.Table):
            if not isinstance(table.this, exp.Identifier) or _is_write_target(table):
                continue  # a table function (range(10), read_csv(...)) or what the statement creates
            name = table.name
            if name.startswith(PLACEHOLDER_PREFIX) or (not table.db and name.lower() in ctes):
                continue
            found.add(".".join(part for part in (table.catalog, table.db, name) if part))
    return sorted(found)


def find_tables(client: Client, data_source_id: int, *, include_archived: bool = False) -> TableReport:
    """The tables read by each query of the data source."""
    dialect = dialect_for(client.data_sources.get(data_source_id).kind)
    report = TableReport()
    for query in client.queries.list(include_archived=include_archived):
        if query.data_source_id != data_source_id:
            continue
        try:
            tables = tables_in(query.sql, dialect)
        except SqlglotError as exc:
            report.failures.append((query, str(exc).splitlines()[0] if str(exc) else type(exc).__name__))
            continue
        report.uses.extend((query, table) for table in tables)
    return report


def _is_write_target(table: exp.Table) -> bool:
    node: exp.Expression = table
    if isinstance(node.parent, exp.Schema):  # CREATE TABLE t (a int, ...) wraps t in a Schema
        node = node.parent
    parent = node.parent
    return isinstance(parent, exp.Create | exp.Insert) and parent.this is node
