"""The tables a SQL text reads, parsed with sqlglot (not regular expressions).

A light, pure module: the CLI (through the SDK) and the core both use it.
"""

from __future__ import annotations

import re

import sqlglot
from sqlglot import exp

# Source kinds (and warehouse engines) -> sqlglot dialects; an unknown kind is parsed with sqlglot's
# generic dialect. "warehouse" alone means the DuckDB warehouse (an engine not recorded).
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


def dialect_for(kind: str, engine: str | None = None) -> str | None:
    """The sqlglot dialect of a data source kind; the warehouse's is its `engine`'s
    (`options["engine"]`: "duckdb" or "postgresql")."""
    if kind == "warehouse" and engine:
        return DIALECTS.get(engine)
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


def _is_write_target(table: exp.Table) -> bool:
    node: exp.Expression = table
    if isinstance(node.parent, exp.Schema):  # CREATE TABLE t (a int, ...) wraps t in a Schema
        node = node.parent
    parent = node.parent
    return isinstance(parent, exp.Create | exp.Insert) and parent.this is node
