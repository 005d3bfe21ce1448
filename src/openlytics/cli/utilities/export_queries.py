"""Export every saved query to its own `.sql` file, with its metadata in a header comment."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from openlytics.client import Client, Query

Progress = Callable[[int, int], None]


def file_name(query: Query) -> str:
    """`query_<id>.sql`: stable across renames, as the original export script named them."""
    return f"query_{query.id}.sql"


def header(query: Query, data_source: str) -> str:
    """The metadata comment above the SQL: one `-- key: value` line each, values on one line."""
    author = (query.user or {}).get("name") or ""
    fields = {
        "id": str(query.id),
        "name": query.name,
        "data source": data_source,
        "author": author,
        "updated at": query.updated_at.isoformat() if query.updated_at else "",
        "tags": ", ".join(query.tags),
        "parameters": json.dumps(query.parameters, ensure_ascii=False) if query.parameters else "",
    }
    return "".join(f"-- {key}: {_one_line(value)}\n" for key, value in fields.items())


def export_queries(
    client: Client, directory: Path, *, include_archived: bool = False, progress: Progress | None = None
) -> list[Path]:
    """Write one file per query into `directory` (created if missing); returns the files written."""
    directory.mkdir(parents=True, exist_ok=True)
    sources = {s.id: f"{s.name} ({s.id})" for s in client.data_sources.list()}
    queries = list(client.queries.list(include_archived=include_archived))
    written: list[Path] = []
    for done, query in enumerate(queries, start=1):
        source = sources.get(query.data_source_id or -1, str(query.data_source_id or ""))
        path = directory / file_name(query)
        path.write_text(header(query, source) + "\n" + query.sql.rstrip("\n") + "\n", encoding="utf-8")
        written.append(path)
        if progress is not None:
            progress(done, len(queries))
    return written


def _one_line(value: str) -> str:
    # A newline in a name would end the comment and put the rest of the header into the SQL.
    return " ".join(value.splitlines())
