"""Find where terms (e-mail addresses, names) appear: queries, their cached results, dashboards.

Archived queries and dashboards are searched too: personal data in them is still stored.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from openlytics.client import Client, Dashboard, Query

# progress(stage, done, total), stage being "queries" or "dashboards".
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Finding:
    """An object where at least one term was found, and where in it."""

    kind: str  # "query" or "dashboard"
    id: int
    name: str
    url: str
    places: tuple[str, ...]  # name, description, sql, tags, result, slug, text widget
    terms: tuple[str, ...]


class Terms:
    """Case-insensitive substring matching of several terms."""

    def __init__(self, terms: Iterable[str]) -> None:
        self.terms = tuple(dict.fromkeys(t.casefold() for t in terms if t.strip()))

    def found_in(self, text: str | None) -> set[str]:
        """The terms that occur in `text`."""
        if not text:
            return set()
        folded = text.casefold()
        return {t for t in self.terms if t in folded}

    def found_in_any(self, texts: Iterable[str]) -> set[str]:
        """The terms that occur in any of `texts`."""
        return {term for text in texts for term in self.found_in(text)}


def scrub(client: Client, terms: Iterable[str], *, progress: Progress | None = None) -> list[Finding]:
    """Every query and dashboard where a term occurs, queries first."""
    matcher = Terms(terms)
    if not matcher.terms:
        return []
    base = client.server_url
    queries = list(client.queries.list(include_archived=True))
    findings: list[Finding] = []
    for done, query in enumerate(queries, start=1):
        places = _query_places(client, query, matcher)
        if places:
            url = f"{base}/queries/{query.id}"
            findings.append(_finding("query", query.id, query.name, url, places))
        if progress is not None:
            progress("queries", done, len(queries))
    dashboards = list(client.dashboards.list(include_archived=True))
    for done, dashboard in enumerate(dashboards, start=1):
        places = _dashboard_places(client, dashboard, matcher)
        if places:
            url = f"{base}/dashboards/{dashboard.slug}"
            findings.append(_finding("dashboard", dashboard.id, dashboard.name, url, places))
        if progress is not None:
            progress("dashboards", done, len(dashboards))
    return findings


def result_terms(client: Client, result_id: int, matcher: Terms) -> set[str]:
    """The terms found in a stored result's cells, read as streamed CSV (the header row skipped)."""
    found: set[str] = set()
    rows = csv.reader(_lines(client.results.iter_data(result_id, "csv")))
    next(rows, None)
    for row in rows:
        for cell in row:
            found |= matcher.found_in(cell)
        if len(found) == len(matcher.terms):
            break  # leaving the generator closes the download
    return found


def _query_places(client: Client, query: Query, matcher: Terms) -> dict[str, set[str]]:
    places = {
        "name": matcher.found_in(query.name),
        "description": matcher.found_in(query.description),
        "sql": matcher.found_in(query.sql),
        "tags": matcher.found_in_any(query.tags),
    }
    if query.latest_result_id is not None:
        places["result"] = result_terms(client, query.latest_result_id, matcher)
    return {place: found for place, found in places.items() if found}


def _dashboard_places(client: Client, dashboard: Dashboard, matcher: Terms) -> dict[str, set[str]]:
    detail = client.dashboards.get(dashboard.id)
    texts = [w.text for w in detail.widgets if w.visualization_id is None]
    places = {
        "name": matcher.found_in(dashboard.name),
        "slug": matcher.found_in(dashboard.slug),
        "tags": matcher.found_in_any(dashboard.tags),
        "text widget": matcher.found_in_any(texts),
    }
    return {place: found for place, found in places.items() if found}


def _finding(kind: str, id: int, name: str, url: str, places: dict[str, set[str]]) -> Finding:
    terms = sorted({term for found in places.values() for term in found})
    return Finding(kind, id, name, url, tuple(places), tuple(terms))


def _lines(chunks: Iterable[bytes]) -> Iterator[str]:
    """Text lines (newline kept, as csv.reader wants) from UTF-8 chunks split anywhere."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    pending = ""
    for chunk in chunks:
        pending += decoder.decode(chunk)
        *complete, pending = pending.split("\n")
        for line in complete:
            yield line + "\n"
    pending += decoder.decode(b"", final=True)
    if pending:
        yield pending
