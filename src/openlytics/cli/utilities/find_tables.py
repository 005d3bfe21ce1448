"""Which tables the queries of one data source read, parsed with sqlglot in the source's dialect."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from sqlglot.errors import SqlglotError

from openlytics.client import Client, Query
from openlytics.sql_tables import dialect_for, tables_in


@dataclass
class TableReport:
    """The tables each query reads, and the queries that could not be parsed."""

    uses: list[tuple[Query, str]] = field(default_factory=list)
    failures: list[tuple[Query, str]] = field(default_factory=list)

    def counts(self) -> list[tuple[str, int]]:
        """(table, number of queries reading it), most read first."""
        counter = Counter(table for _, table in self.uses)
        return sorted(counter.items(), key=lambda item: (-item[1], item[0]))


def find_tables(client: Client, data_source_id: int, *, include_archived: bool = False) -> TableReport:
    """The tables read by each query of the data source."""
    source = client.data_sources.get(data_source_id)
    dialect = dialect_for(source.kind, (source.options or {}).get("engine"))
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
