"""What pipeline inputs read: webhook bodies, files (CSV, JSON lines) and database tables.

- `parse_json_events(body)`: a JSON object, a JSON array of objects, or JSON lines -> events
  (a malformed line or a non-object item raises `InvalidInputError` naming where).
- `iter_file_events(path)`: the events of a CSV (header row) or JSON file, one chunk at a time.
- `TableReader`: one PostgreSQL/MySQL table read incrementally by an increasing column.
- `validate_vendor_configuration(type, configuration)`: the shape of sources we cannot reach.
- `split_secrets(configuration)`: secret values (passwords, keys) apart from what may be shown.
"""

from __future__ import annotations

import base64
import csv
import gzip
import io
import json
import re
import uuid
from collections.abc import Iterator, Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

import sqlalchemy as sa

from openlytics.core.errors import InvalidInputError

try:  # orjson parses several times faster; the standard library is the fallback
    import orjson

    def _loads(data: bytes | str) -> Any:
        return orjson.loads(data)

    _DecodeError: type[ValueError] = orjson.JSONDecodeError
except ImportError:  # pragma: no cover - orjson is installed with the server

    def _loads(data: bytes | str) -> Any:
        return json.loads(data)

    _DecodeError = json.JSONDecodeError

MASK = "**********"
FILE_CHUNK = 10_000
DEFAULT_BATCH_SIZE = 10_000
MAX_BATCH_SIZE = 1_000_000
CONNECT_TIMEOUT_SECONDS = 10

# Configuration keys whose values are secrets: encrypted at rest, masked on read.
_SECRET_KEY = re.compile(r"password|secret|apikey|api_key|privatekey|private_key|token", re.IGNORECASE)


# ----- webhook bodies --------------------------------------------------------------------------
def parse_json_events(body: bytes) -> list[dict[str, Any]]:
    """The events of a webhook body: one object, an array of objects, or one object per line."""
    text = body.strip()
    if not text:
        return []
    if text[:1] == b"[":
        return _objects(_parse(text, None), "body")
    try:
        value = _loads(text)
    except _DecodeError as exc:
        if b"\n" not in text:
            raise InvalidInputError("body", f"malformed JSON: {exc}") from None
        return list(_json_lines(text.splitlines()))
    if not isinstance(value, dict):
        raise InvalidInputError("body", "must be a JSON object, an array of objects, or JSON lines")
    return [value]


def _parse(text: bytes, line: int | None) -> Any:
    try:
        return _loads(text)
    except _DecodeError as exc:
        where = f"line {line}: " if line is not None else ""
        raise InvalidInputError("body", f"malformed JSON: {where}{exc}") from None


def _objects(value: Any, field: str) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise InvalidInputError(field, "must be a JSON array of objects")
    for index, item in enumerate(value):
        if not isinstance(item, dict):
            raise InvalidInputError(field, f"item {index} is not a JSON object")
    return value


def _json_lines(lines: list[bytes], first_line: int = 1) -> Iterator[dict[str, Any]]:
    for number, line in enumerate(lines, start=first_line):
        if not line.strip():
            continue
        value = _parse(line, number)
        if not isinstance(value, dict):
            raise InvalidInputError("body", f"line {number} is not a JSON object")
        yield value


# ----- files -----------------------------------------------------------------------------------
@dataclass
class FileProblems:
    """Lines of a file that were not events (skipped when a folder is polled)."""

    count: int = 0
    first: str | None = None

    def add(self, message: str) -> None:
        """Count one bad line, remembering the first."""
        self.count += 1
        if self.first is None:
            self.first = message


def file_format(name: str, configured: str | None = None) -> str:
    """`csv`, `tsv` or `json`: the configured format, else guessed from the file name."""
    if configured:
        fmt = configured.lower()
        if fmt in ("delimited", "csv"):
            return "tsv" if name.lower().removesuffix(".gz").endswith(".tsv") else "csv"
        if fmt in ("json", "tsv"):
            return fmt
        raise InvalidInputError("fileFormat", f"unknown format {configured!r} (json, csv, tsv)")
    base = name.lower().removesuffix(".gz")
    if base.endswith(".csv"):
        return "csv"
    if base.endswith(".tsv"):
        return "tsv"
    return "json"


def iter_file_events(
    source: Path | bytes, name: str, *, fmt: str | None = None, problems: FileProblems | None = None
) -> Iterator[list[dict[str, Any]]]:
    """Chunks of the events of one file; bad lines raise, or are counted in `problems` if given."""
    kind = file_format(name, fmt)
    with ExitStack() as stack:
        stream: IO[bytes] = stack.enter_context(
            source.open("rb") if isinstance(source, Path) else io.BytesIO(source)
        )
        if name.lower().endswith(".gz"):
            stream = stack.enter_context(gzip.GzipFile(fileobj=stream, mode="rb"))  # type: ignore[arg-type]
        if kind == "json":
            yield from _json_file(stream, problems)
        else:
            yield from _delimited_file(stream, "\t" if kind == "tsv" else ",")


def _json_file(stream: IO[bytes], problems: FileProblems | None) -> Iterator[list[dict[str, Any]]]:
    head = stream.read(1)
    while head in (b" ", b"\n", b"\r", b"\t"):
        head = stream.read(1)
    if head == b"[":  # one JSON array: read whole
        yield from _chunks(_objects(_parse(head + stream.read(), None), "file"))
        return
    chunk: list[dict[str, Any]] = []
    for number, line in enumerate(_prefixed(head, stream), start=1):
        if not line.strip():
            continue
        try:
            value = _parse(line, number)
            if not isinstance(value, dict):
                raise InvalidInputError("body", f"line {number} is not a JSON object")
        except InvalidInputError as exc:
            if problems is None:
                raise InvalidInputError("file", exc.reason) from None
            problems.add(exc.reason)
            continue
        chunk.append(value)
        if len(chunk) >= FILE_CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _prefixed(head: bytes, stream: IO[bytes]) -> Iterator[bytes]:
    first = head + stream.readline()
    if first:
        yield first
    yield from stream


def _delimited_file(stream: IO[bytes], delimiter: str) -> Iterator[list[dict[str, Any]]]:
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    reader = csv.DictReader(text, delimiter=delimiter)
    if reader.fieldnames is None:
        return
    if len(set(reader.fieldnames)) != len(reader.fieldnames) or any(not f for f in reader.fieldnames):
        raise InvalidInputError("file", "the header row has empty or repeated column names")
    chunk: list[dict[str, Any]] = []
    for row in reader:
        # Cells beyond the header come under the key None; missing cells are None.
        chunk.append({k: v for k, v in row.items() if k is not None and v is not None})
        if len(chunk) >= FILE_CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _chunks(events: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(events), FILE_CHUNK):
        yield events[start : start + FILE_CHUNK]


# ----- database tables -------------------------------------------------------------------------
_DRIVERS = {"POSTGRESQL": "postgresql+psycopg", "MYSQL": "mysql+pymysql"}
DATABASE_FIELDS = ("hostname", "port", "database", "username", "password", "table", "incrementalColumn")


def check_database_configuration(configuration: Mapping[str, Any]) -> None:
    """Raise `InvalidInputError` unless the configuration names a server, a table and a column."""
    for key in DATABASE_FIELDS:
        value = configuration.get(key)
        if key == "password":
            if value is not None and not isinstance(value, str):
                raise InvalidInputError(key, "must be a string")
        elif key == "port":
            _port(value)
        elif not isinstance(value, str) or not value.strip():
            raise InvalidInputError(key, "is required")
    batch_size(configuration)


def batch_size(configuration: Mapping[str, Any]) -> int:
    """The configured number of rows per batch (default 10,000)."""
    value = configuration.get("batchSize", DEFAULT_BATCH_SIZE)
    try:
        size = int(value)
    except (TypeError, ValueError):
        raise InvalidInputError("batchSize", "must be a whole number") from None
    if not 1 <= size <= MAX_BATCH_SIZE:
        raise InvalidInputError("batchSize", f"must be between 1 and {MAX_BATCH_SIZE:,}")
    return size


def _port(value: Any) -> int:
    try:
        port = int(value)
    except (TypeError, ValueError):
        raise InvalidInputError("port", "must be a port number") from None
    if not 0 < port < 65536:
        raise InvalidInputError("port", "must be a port number")
    return port


class TableReader:
    """Reads rows of one table whose increasing column is past a cursor value, in order."""

    def __init__(self, input_type: str, configuration: Mapping[str, Any], password: str | None) -> None:
        url = sa.URL.create(
            _DRIVERS[input_type],
            username=configuration["username"],
            password=password or None,
            host=configuration["hostname"],
            port=_port(configuration["port"]),
            database=configuration["database"],
        )
        self.engine = sa.create_engine(
            url, poolclass=sa.NullPool, connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS}
        )
        self.schema = configuration.get("schema") or None
        self.table_name = configuration["table"]
        self.column_name = configuration["incrementalColumn"]
        self.batch_size = batch_size(configuration)

    def __enter__(self) -> TableReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.engine.dispose()

    def table(self, conn: sa.Connection) -> sa.Table:
        """The reflected table; `InvalidInputError` if it or its increasing column is missing."""
        try:
            table = sa.Table(self.table_name, sa.MetaData(), schema=self.schema, autoload_with=conn)
        except sa.exc.NoSuchTableError:
            where = f"{self.schema}.{self.table_name}" if self.schema else self.table_name
            raise InvalidInputError("table", f"table {where!r} does not exist") from None
        if self.column_name not in table.c:
            raise InvalidInputError(
                "incrementalColumn", f"table {self.table_name!r} has no column {self.column_name!r}"
            )
        return table

    def connect(self) -> sa.Connection:
        """An open connection; `InvalidInputError("configuration", "could not connect: ...")` if not."""
        try:
            return self.engine.connect()
        except sa.exc.DBAPIError as exc:
            raise InvalidInputError("configuration", f"could not connect: {_driver_message(exc)}") from None

    def validate(self) -> None:
        """Connect and check that the table and its increasing column exist."""
        with self.connect() as conn:
            self.table(conn)

    def read_batch(
        self, conn: sa.Connection, table: sa.Table, cursor: Any
    ) -> tuple[list[dict[str, Any]], Any, bool]:
        """The next rows past `cursor` (a stored cursor), the cursor after them, and whether more wait.

        A full batch never ends in the middle of a run of equal values: the rows with the last
        value are all read, so reading past that value later skips nothing.
        """
        column = table.c[self.column_name]
        after = decode_cursor(cursor)
        query = sa.select(table).order_by(column).limit(self.batch_size)
        query = query.where(column.is_not(None) if after is None else column > after)
        rows = [dict(r._mapping) for r in conn.execute(query)]
        if not rows:
            return [], cursor, False
        last = rows[-1][self.column_name]
        full = len(rows) == self.batch_size
        if full:
            rows = [r for r in rows if r[self.column_name] != last]
            rows.extend(dict(r._mapping) for r in conn.execute(sa.select(table).where(column == last)))
        return [json_safe_row(r) for r in rows], encode_cursor(last), full


def _driver_message(exc: sa.exc.DBAPIError) -> str:
    return str(exc.orig).strip().splitlines()[0] if exc.orig is not None else str(exc)


def encode_cursor(value: Any) -> dict[str, Any]:
    """A cursor value as JSON that `decode_cursor` turns back into the column's Python type."""
    if isinstance(value, bool):
        return {"kind": "bool", "value": value}
    if isinstance(value, int):
        return {"kind": "int", "value": value}
    if isinstance(value, float):
        return {"kind": "float", "value": value}
    if isinstance(value, Decimal):
        return {"kind": "decimal", "value": str(value)}
    if isinstance(value, datetime):
        return {"kind": "datetime", "value": value.isoformat()}
    if isinstance(value, date):
        return {"kind": "date", "value": value.isoformat()}
    if isinstance(value, time):
        return {"kind": "time", "value": value.isoformat()}
    if isinstance(value, uuid.UUID):
        return {"kind": "uuid", "value": str(value)}
    if isinstance(value, bytes):
        return {"kind": "bytes", "value": base64.b64encode(value).decode()}
    return {"kind": "str", "value": str(value)}


def decode_cursor(cursor: Mapping[str, Any] | None) -> Any:
    """The Python value of a stored cursor (None: read from the start)."""
    if not cursor:
        return None
    kind, value = cursor["kind"], cursor["value"]
    decoders: dict[str, Any] = {
        "decimal": Decimal,
        "datetime": datetime.fromisoformat,
        "date": date.fromisoformat,
        "time": time.fromisoformat,
        "uuid": uuid.UUID,
        "bytes": base64.b64decode,
    }
    return decoders[kind](value) if kind in decoders else value


def json_safe_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """A database row as a JSON object: dates ISO-8601, decimals numbers, bytes base64."""
    return {str(k): json_safe(v) for k, v in row.items()}


def json_safe(value: Any) -> Any:
    """One database value as a JSON value."""
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() and abs(value) < 2**63 else float(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return str(value)


# ----- configuration ---------------------------------------------------------------------------
def is_secret_key(key: str) -> bool:
    """Whether a configuration key holds a secret (password, secret, API key, token)."""
    return bool(_SECRET_KEY.search(key))


def split_secrets(configuration: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """The configuration with secrets masked, and the secret values by key."""
    shown: dict[str, Any] = {}
    secrets: dict[str, str] = {}
    for key, value in configuration.items():
        if is_secret_key(key) and isinstance(value, str) and value:
            secrets[key] = value
            shown[key] = MASK
        else:
            shown[key] = value
    return shown, secrets


_VENDOR_SHAPES: dict[str, tuple[str, ...]] = {
    "S3": ("awsAccessKeyId", "awsSecretAccessKey", "awsBucketName"),
    "MIXPANEL": ("mixpanelApiKey", "mixpanelApiSecret", "fromDate"),
}


def validate_vendor_configuration(input_type: str, configuration: Mapping[str, Any]) -> None:
    """Check the shape of a source this server cannot reach, where the shape is known."""
    for key in _VENDOR_SHAPES.get(input_type, ()):
        value = configuration.get(key)
        if not isinstance(value, str) or not value:
            raise InvalidInputError(key, "is required")
    if input_type == "S3":
        _check_s3(configuration)


def _check_s3(configuration: Mapping[str, Any]) -> None:
    load_files = configuration.get("loadFiles", "all")
    if load_files not in ("all", "new"):
        raise InvalidInputError("loadFiles", "must be 'all' or 'new'")
    raw = configuration.get("fileFormat")
    if raw is None:
        return
    try:
        fmt = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        raise InvalidInputError("fileFormat", 'must be a JSON string like {"type": "json"}') from None
    if not isinstance(fmt, dict) or fmt.get("type") not in ("json", "delimited", "other"):
        raise InvalidInputError("fileFormat", "type must be json, delimited or other")
