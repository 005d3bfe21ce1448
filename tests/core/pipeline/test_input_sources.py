"""Input readers: body parsing, files, and PostgreSQL/MariaDB tables read incrementally (real servers)."""

from __future__ import annotations

import gzip
import shutil
import uuid
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from openlytics.app import Openlytics
from openlytics.core.errors import InvalidInputError, SourceUnavailableError
from openlytics.core.pipeline.input_sources import (
    decode_cursor,
    encode_cursor,
    iter_file_events,
    json_safe,
    parse_json_events,
    split_secrets,
)
from openlytics.core.pipeline.inputs import InputService
from openlytics.core.pipeline.spool import IncomingSpool
from openlytics.store.types import utcnow
from tests.conftest import MARIADB_URL, POSTGRES_URL
from tests.core.pipeline.test_inputs import app, drain, make_service, new_org  # noqa: F401  (fixture)


# ----- parsing ---------------------------------------------------------------------------------
def test_bodies_parse_as_object_array_or_lines() -> None:
    assert parse_json_events(b'{"a": 1}') == [{"a": 1}]
    assert parse_json_events(b'{\n  "a": 1\n}\n') == [{"a": 1}]
    assert parse_json_events(b'[{"a": 1}, {"b": 2}]') == [{"a": 1}, {"b": 2}]
    assert parse_json_events(b'{"a": 1}\r\n{"b": 2}\r\n') == [{"a": 1}, {"b": 2}]
    assert parse_json_events(b"") == []
    with pytest.raises(InvalidInputError, match="line 3"):
        parse_json_events(b'{"a": 1}\n{"b": 2}\n{"c": }\n')
    with pytest.raises(InvalidInputError):
        parse_json_events(b"42")


def test_files_read_in_chunks_with_formats_by_name() -> None:
    tsv = b"a\tb\n1\t2\n"
    assert list(iter_file_events(tsv, "x.tsv")) == [[{"a": "1", "b": "2"}]]
    gz = gzip.compress(b'{"a": 1}\n{"a": 2}\n')
    assert list(iter_file_events(gz, "x.jsonl.gz")) == [[{"a": 1}, {"a": 2}]]
    assert list(iter_file_events(b"a,b\n1,2\n", "data.txt", fmt="csv")) == [[{"a": "1", "b": "2"}]]
    big = b"".join(b'{"i": %d}\n' % i for i in range(25_000))
    assert [len(c) for c in iter_file_events(big, "big.jsonl")] == [10_000, 10_000, 5_000]
    with pytest.raises(InvalidInputError, match="header"):
        list(iter_file_events(b"a,a\n1,2\n", "dup.csv"))


def test_cursor_values_round_trip_and_rows_become_json() -> None:
    for value in (
        7,
        1.5,
        Decimal("10.25"),
        datetime(2024, 1, 2, 3, 4, 5, 6),
        date(2024, 1, 2),
        "b",
        uuid.uuid4(),
    ):
        assert decode_cursor(encode_cursor(value)) == value
    assert decode_cursor(None) is None
    assert json_safe(Decimal("3.00")) == 3
    assert json_safe(Decimal("3.25")) == 3.25
    assert json_safe(datetime(2024, 1, 2, 3, 4)) == "2024-01-02T03:04:00"
    assert json_safe(b"\x00\x01") == "AAE="
    assert json_safe({"k": [Decimal("1.5")]}) == {"k": [1.5]}


def test_secrets_are_split_from_what_is_shown() -> None:
    shown, secrets = split_secrets({"username": "u", "password": "p", "mixpanelApiKey": "k", "empty": ""})
    assert shown == {"username": "u", "password": "**********", "mixpanelApiKey": "**********", "empty": ""}
    assert secrets == {"password": "p", "mixpanelApiKey": "k"}


# ----- database tables -------------------------------------------------------------------------
class Server:
    """A real source database and the input configuration that points at it."""

    def __init__(self, kind: str, url: str) -> None:
        self.kind = kind
        self.engine = sa.create_engine(url)
        self.url = sa.make_url(url)
        self.table = f"ol_input_{uuid.uuid4().hex[:10]}"

    def configuration(self, **extra: Any) -> dict[str, Any]:
        return {
            "hostname": self.url.host,
            "port": self.url.port,
            "database": self.url.database,
            "username": self.url.username,
            "password": self.url.password or "",
            "table": self.table,
            "incrementalColumn": "id",
            **extra,
        }

    def run(self, sql: str, **params: Any) -> None:
        with self.engine.begin() as conn:
            conn.execute(sa.text(sql), params)

    def insert(self, *ids: int) -> None:
        for i in ids:
            self.run(
                f"INSERT INTO {self.table} (id, name, amount, seen_at, batch) VALUES (:i, :n, :a, :t, :b)",
                i=i,
                n=f"row {i}",
                a=Decimal(i) + Decimal("0.25"),
                t=datetime(2024, 1, 1, 12, 0, i % 60),
                b=i // 10,
            )


@pytest.fixture(params=["POSTGRESQL", "MYSQL"])
def server(request: pytest.FixtureRequest) -> Iterator[Server]:
    kind = request.param
    server = Server(kind, POSTGRES_URL if kind == "POSTGRESQL" else MARIADB_URL)
    stamp = "TIMESTAMP" if kind == "POSTGRESQL" else "DATETIME"
    server.run(
        f"CREATE TABLE {server.table} (id INTEGER PRIMARY KEY, name VARCHAR(50), "
        f"amount DECIMAL(10, 2), seen_at {stamp}, batch INTEGER)"
    )
    yield server
    server.run(f"DROP TABLE {server.table}")
    server.engine.dispose()


@pytest.fixture
def inputs(app: Openlytics, tmp_path: Path) -> InputService:  # noqa: F811
    return make_service(app, IncomingSpool(tmp_path / "spool", fsync=False), tmp_path)


def spool_of(inputs: InputService) -> IncomingSpool:
    assert isinstance(inputs.spool, IncomingSpool)
    return inputs.spool


def test_table_is_read_incrementally_and_never_twice(
    app: Openlytics,  # noqa: F811
    inputs: InputService,
    server: Server,
    tmp_path: Path,
) -> None:
    org = new_org(app)
    server.insert(1, 2, 3)
    table = inputs.create(
        org, name="orders", type=server.kind, configuration=server.configuration(batchSize=2)
    )
    assert table.validated and table.status == "active"
    shown = inputs.shown_configuration(org, table)
    assert shown["password"] in ("", "**********")

    assert inputs.poll_now(org, table.id) == 3
    events = drain(spool_of(inputs), org.org_id)
    assert [e["id"] for e in events] == [1, 2, 3]
    assert events[0]["name"] == "row 1"
    assert events[0]["amount"] == 1.25
    assert events[0]["seen_at"] == "2024-01-01T12:00:01"
    assert events[0]["_metadata"]["event_type"] == "orders"
    assert events[0]["_metadata"]["input_type"] == server.kind

    server.insert(4, 5)
    assert inputs.poll_now(org, table.id) == 2
    assert inputs.poll_now(org, table.id) == 0
    # A new service object (a restart) continues from the stored cursor.
    restarted = make_service(app, spool_of(inputs), tmp_path)
    server.insert(6)
    assert restarted.poll_due(utcnow() + timedelta(days=1)) == 1
    assert [e["id"] for e in drain(spool_of(inputs), org.org_id)] == [4, 5, 6]
    record = restarted.get(org, table.id)
    assert record.cursor["value"] == {"kind": "int", "value": 6}
    assert record.last_success_at is not None


def test_equal_values_across_a_batch_boundary_are_all_read(
    app: Openlytics,  # noqa: F811
    inputs: InputService,
    server: Server,
) -> None:
    org = new_org(app)
    server.insert(*range(1, 26))  # batch = id // 10: 0 (9 rows), 1 (10), 2 (6)
    configuration = server.configuration(incrementalColumn="batch", batchSize=4, eventType="rows")
    table = inputs.create(org, name="by-batch", type=server.kind, configuration=configuration)
    assert inputs.poll_now(org, table.id) == 25
    events = drain(spool_of(inputs), org.org_id)
    assert sorted(e["id"] for e in events) == list(range(1, 26))
    assert {e["_metadata"]["event_type"] for e in events} == {"rows"}
    server.insert(30, 31)
    assert inputs.poll_now(org, table.id) == 2


def test_table_validation_names_the_problem(
    app: Openlytics,  # noqa: F811
    inputs: InputService,
    server: Server,
) -> None:
    org = new_org(app)
    with pytest.raises(InvalidInputError, match="does not exist"):
        inputs.create(
            org, name="t", type=server.kind, configuration=server.configuration(table="no_such_table")
        )
    with pytest.raises(InvalidInputError, match="no column 'nope'"):
        inputs.create(
            org, name="t", type=server.kind, configuration=server.configuration(incrementalColumn="nope")
        )
    with pytest.raises(InvalidInputError, match="could not connect"):
        inputs.create(
            org, name="t", type=server.kind, configuration=server.configuration(database="no_such_db_x")
        )
    with pytest.raises(InvalidInputError, match="table"):
        inputs.create(org, name="t", type=server.kind, configuration={**server.configuration(), "table": ""})
    stored = inputs.create(
        org,
        name="later",
        type=server.kind,
        configuration=server.configuration(table="not_yet"),
        validate=False,
    )
    assert not stored.validated


def test_wrong_password_is_a_clear_validation_error(app: Openlytics, inputs: InputService) -> None:  # noqa: F811
    org = new_org(app)
    server = Server("MYSQL", MARIADB_URL)
    with pytest.raises(InvalidInputError, match=r"could not connect: .*Access denied"):
        inputs.create(org, name="m", type="MYSQL", configuration=server.configuration(password="wrong"))
    server.engine.dispose()


def test_a_failing_table_backs_off_notifies_and_recovers(
    app: Openlytics,  # noqa: F811
    inputs: InputService,
    server: Server,
) -> None:
    org = new_org(app)
    server.insert(1)
    table = inputs.create(org, name="flaky", type=server.kind, configuration=server.configuration())
    server.run(f"ALTER TABLE {server.table} RENAME TO {server.table}_away")
    try:
        with pytest.raises(InvalidInputError, match="does not exist"):
            inputs.poll_now(org, table.id)
        record = inputs.get(org, table.id)
        assert record.status == "error" and record.error_count == 1
        assert record.error_message and "does not exist" in record.error_message
        assert record.next_run_at is not None and record.next_run_at > utcnow()
        notes: Any = inputs.notify
        assert notes.seen[-1]["type"] == "INPUT_ERROR" and notes.seen[-1]["org_id"] == org.org_id
        assert inputs.poll_due() == 0  # backing off
    finally:
        server.run(f"ALTER TABLE {server.table}_away RENAME TO {server.table}")
    assert inputs.poll_now(org, table.id) == 1
    record = inputs.get(org, table.id)
    assert record.status == "active" and record.error_count == 0 and record.error_message is None


def test_unreachable_server_fails_the_poll_with_source_unavailable(
    app: Openlytics,  # noqa: F811
    inputs: InputService,
) -> None:
    org = new_org(app)
    server = Server("POSTGRESQL", POSTGRES_URL)
    configuration = server.configuration(port=1)  # nothing listens there
    table = inputs.create(org, name="down", type="POSTGRESQL", configuration=configuration, validate=False)
    with pytest.raises((InvalidInputError, SourceUnavailableError), match="could not connect"):
        inputs.poll_now(org, table.id)
    server.engine.dispose()


def test_cursor_moves_only_after_the_spool_took_the_rows(
    app: Openlytics,  # noqa: F811
    inputs: InputService,
    server: Server,
) -> None:
    org = new_org(app)
    server.insert(1, 2)
    table = inputs.create(org, name="careful", type=server.kind, configuration=server.configuration())
    spool = spool_of(inputs)
    shutil.rmtree(spool.root)
    spool.root.write_text("a file where the spool's folder should be")  # every append now fails
    try:
        with pytest.raises(SourceUnavailableError):
            inputs.poll_now(org, table.id)
        assert inputs.get(org, table.id).cursor == {}
    finally:
        spool.root.unlink()
        spool.root.mkdir()
    assert inputs.poll_now(org, table.id) == 2
    assert [e["id"] for e in drain(spool, org.org_id)] == [1, 2]
