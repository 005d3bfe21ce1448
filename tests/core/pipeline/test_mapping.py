"""Events -> Arrow rows: conversions, TYPE_MISMATCH, VARCHAR lengths, STRICT's unmapped fields."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pyarrow as pa

from openlytics.core.pipeline.mapping import map_events


def field(name: str, column_type: dict[str, Any] | None, *children: dict[str, Any]) -> dict[str, Any]:
    mapping = None if column_type is None else {"columnName": name.lower(), "columnType": column_type}
    return {"fieldName": name, "fields": list(children), "mapping": mapping}


TREE = [
    field("id", {"type": "BIGINT", "nonNull": True}),
    field("name", {"type": "VARCHAR", "length": 5}),
    field("short", {"type": "VARCHAR", "length": 3, "truncate": True}),
    field("price", {"type": "FLOAT"}),
    field("ok", {"type": "BOOLEAN"}),
    field("at", {"type": "TIMESTAMP"}),
    field("day", {"type": "DATE"}),
    field("extra", {"type": "VARCHAR", "length": 100}),
    field("user", None, field("Plan", {"type": "VARCHAR", "length": 10})),
]


def test_values_convert_to_their_column_types() -> None:
    rows = map_events(
        TREE,
        [
            {
                "id": "12",
                "name": "ab",
                "short": "abcdef",
                "price": 3,
                "ok": "true",
                "at": "2026-01-02T03:04:05Z",
                "day": "2026-01-02",
                "extra": {"a": [1, 2]},
                "user": {"Plan": "pro"},
            },
            {"id": 13.0, "at": 1767323045, "extra": [1, "x"], "ok": 0},
        ],
        "AUTO_MAP",
    )
    assert rows.rejects == [] and rows.indices == [0, 1]
    assert rows.table.schema.field("id").type == pa.int64()
    assert rows.table.schema.field("at").type == pa.timestamp("us")
    assert rows.table.to_pylist() == [
        {
            "id": 12,
            "name": "ab",
            "short": "abc",
            "price": 3.0,
            "ok": True,
            "at": datetime(2026, 1, 2, 3, 4, 5),
            "day": date(2026, 1, 2),
            "extra": '{"a":[1,2]}',
            "plan": "pro",
        },
        {
            "id": 13,
            "name": None,
            "short": None,
            "price": None,
            "ok": False,
            "at": datetime(2026, 1, 2, 3, 4, 5),
            "day": None,
            "extra": '[1,"x"]',
            "plan": None,
        },
    ]


def test_values_that_do_not_fit_are_type_mismatches() -> None:
    events = [
        {"id": 1, "price": "cheap"},
        {"id": 2, "name": "too long"},
        {"id": None},
        {"id": True},
        {"id": 3, "at": "yesterday"},
        {"id": 4, "price": "4.5"},
    ]
    rows = map_events(TREE, events, "FLEXIBLE")
    assert [r.index for r in rows.rejects] == [0, 1, 2, 3, 4]
    assert {r.status for r in rows.rejects} == {"TYPE_MISMATCH"}
    assert "price" in rows.rejects[0].error and "5 characters" in rows.rejects[1].error
    assert "NOT NULL" in rows.rejects[2].error
    assert rows.indices == [5] and rows.table.column("price").to_pylist() == [4.5]


def test_strict_rejects_unmapped_fields_but_not_metadata_or_discarded_ones() -> None:
    tree = [
        *TREE,
        {"fieldName": "secret", "fields": [], "mapping": {"columnName": "", "isDiscarded": True}},
    ]
    events = [
        {"id": 1, "_metadata": {"uuid": "u"}, "secret": "s", "user": {"Plan": "x"}},
        {"id": 2, "surprise": 1},
        {"id": 3, "user": {"Plan": "x", "seats": 4}},
        {"id": 4, "surprise": None},
    ]
    strict = map_events(tree, events, "STRICT")
    assert [(r.index, r.status) for r in strict.rejects] == [(1, "UNMAPPED_FIELDS"), (2, "UNMAPPED_FIELDS")]
    assert "user.seats" in strict.rejects[1].error
    assert strict.indices == [0, 3]
    flexible = map_events(tree, events, "FLEXIBLE")
    assert flexible.rejects == [] and flexible.table.num_rows == 4
