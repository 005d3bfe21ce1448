"""Storage data sources through the real serenytics client: loads, queries, batch, push, uploads."""

from __future__ import annotations

import gzip
import pickle
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest

from tests.dialects.serenytics.conftest import Serenytics

SALES = [
    {"year": 2015, "quarter": "Q1", "sales": 120},
    {"year": 2015, "quarter": "Q2", "sales": 80},
    {"year": 2015, "quarter": "Q4", "sales": 25},
    {"year": 2014, "quarter": "Q2", "sales": 85},
]


def storage(sty: Serenytics, name: str = "sales") -> Any:
    return sty.client.get_or_create_storage_data_source_by_name(name)


def columns_of(source: Any) -> list[dict[str, str]]:
    return sorted(source.get_columns(), key=lambda c: c["name"])


def test_get_or_create_by_name_and_uuid_give_the_same_document(sty: Serenytics) -> None:
    created = storage(sty, "first")
    assert created._config["type"] == "Storage" and created._config["token"]
    again = storage(sty, "first")
    assert again._config == created._config
    assert sty.client.get_data_source_by_uuid(created.uuid)._config == created._config
    storage(sty, "second")
    assert sty.client.get_data_source_by_name("first")._config == created._config
    assert sty.client.get_data_source_by_name("nope") is None
    assert sorted(s.name for s in sty.client.get_data_sources()) == ["first", "second"]


def test_unknown_uuid_raises_unknown_data_source(sty: Serenytics) -> None:
    from serenytics.source import UnknownDataSource

    with pytest.raises(UnknownDataSource):
        sty.client.get_data_source_by_uuid("2b1f6c1e-5d8e-4a59-9a65-3c0c2b8b7f10")


def test_reload_from_rows_array_and_dataframe(sty: Serenytics) -> None:
    source = storage(sty)
    source.reload_data(SALES)
    assert columns_of(source) == [
        {"name": "quarter", "type": "str"},
        {"name": "sales", "type": "int"},
        {"name": "year", "type": "int"},
    ]
    assert sorted(source.get_data().rows) == sorted([r["year"], r["quarter"], r["sales"]] for r in SALES)
    source.reload_data_from_array(["year", "quarter", "sales"], [[2016, "Q3", 7]])
    assert source.get_nb_rows() == 1
    frame = pd.DataFrame({"when": pd.to_datetime(["2026-01-02 03:04:05"]), "sales": [1], "share": [0.5]})
    source.reload_data_from_dataframe(frame)
    assert columns_of(source) == [
        {"name": "sales", "type": "int"},
        {"name": "share", "type": "float"},
        {"name": "when", "type": "datetime"},
    ]


def test_force_types_make_an_int_column_float(sty: Serenytics) -> None:
    source = storage(sty)
    source.reload_data_from_dataframe(pd.DataFrame(SALES), force_types={"sales": "float"})
    assert {"name": "sales", "type": "float"} in columns_of(source)


def test_get_data_with_the_query_language(sty: Serenytics) -> None:
    source = storage(sty)
    source.reload_data(SALES)
    data = source.get_data(
        {
            "order": "row_by_row",
            "data_processing_pipeline": [
                {
                    "select": [{"name": "year"}, {"name": "sales", "agg_function": "sum"}],
                    "where": [
                        {"name": "quarter", "op": "in", "value": '["Q1","Q2"]'},
                        {"name": "sales", "op": ">", "value": "50"},
                    ],
                    "group_by": ["year"],
                    "order_by": [{"name": "sales", "agg_function": "sum", "direction": "desc"}],
                    "limit": 5,
                }
            ],
        }
    )
    assert data.columns == ["year", "sales"]
    assert data.rows == [[2015, 200], [2014, 85]]
    assert source.get_nb_rows() == 4


def test_empty_storage_and_measures(sty: Serenytics) -> None:
    from serenytics.helpers import SerenyticsException

    source = storage(sty)
    with pytest.raises(SerenyticsException, match="Storage source is empty"):
        source.get_data()
    assert source.get_nb_rows() == 0
    source.reload_data(SALES)
    source._config["jsonContent"]["measures"] = {
        "m1": {"name": "double", "type": "formula", "data": {"formula": "2 * [sales]"}}
    }
    source.save()
    assert "double" not in [c["name"] for c in source.get_columns()]
    data = source.get_data(
        {
            "format": "simple_array",
            "order": "row_by_row",
            "data_processing_pipeline": [{"select": [{"name": "sales"}, {"name": "double"}]}],
        }
    )
    assert sorted(data.rows) == sorted([[r["sales"], 2 * r["sales"]] for r in SALES])


def test_reload_and_update_from_csv_files(sty: Serenytics, tmp_path: Path) -> None:
    v1 = tmp_path / "sales.csv"
    v1.write_text(
        "id;quarter;sales;year\n1;Q1;120;2015\n2;Q2;80;2015\n3;Q2;85;2014\n4;Q4;25;2015\n5;Qaccentué;10;2016\n",
        encoding="utf-8",
    )
    v2 = tmp_path / "sales_v2.csv.gz"
    v2.write_bytes(
        gzip.compress(b"id;quarter;sales;year\n1;Q1;120;2013\n3;Q2;140;2014\n5;Q1;245;2016\n6;Q2;130;2015\n")
    )
    source = storage(sty)
    source.reload_data_from_file(str(v1), separator=";")
    assert sorted(source.get_data().rows)[-1] == [5, "Qaccentué", 10, 2016]
    source.update_data_from_file(str(v2), primary_key="id", separator=";")
    assert sorted(source.get_data().rows) == [
        [1, "Q1", 120, 2013],
        [2, "Q2", 80, 2015],
        [3, "Q2", 140, 2014],
        [4, "Q4", 25, 2015],
        [5, "Q1", 245, 2016],
        [6, "Q2", 130, 2015],
    ]


def test_a_bad_file_fails_the_task_and_keeps_the_data(sty: Serenytics, tmp_path: Path) -> None:
    from serenytics.helpers import SerenyticsException

    source = storage(sty)
    source.reload_data(SALES)
    bad = tmp_path / "bad.csv"
    bad.write_text('year,sales\n2015,1\n2016,2\n2017,"unterminated\n', encoding="utf-8")
    with pytest.raises(SerenyticsException):
        source.reload_data_from_file(str(bad), force_types={"sales": "int"})
    assert source.get_nb_rows() == 4


def test_batch_push_and_type_mismatch(sty: Serenytics) -> None:
    from serenytics.helpers import SerenyticsException

    source = storage(sty)
    source.batch(rows_to_insert=[{"id": 1, "sales": 3.5}, {"id": 2, "sales": 4.5}], async_=False)
    source.batch(
        rows_to_insert_or_update=[{"id": 2, "sales": 9.0}, {"id": 3, "sales": 1.0}], primary_key="id"
    )
    source.batch(rows_to_delete=[1], primary_key="id")
    assert sorted(source.get_data().rows) == [[2, 9.0], [3, 1.0]]
    with pytest.raises(
        SerenyticsException,
        match='invalid data "3,4" was pushed and is incompatible with current table column types',
    ):
        source.batch(rows_to_insert=[{"id": 4, "sales": "3,4"}])
    assert source.get_nb_rows() == 2
    source.push_data({"id": 7, "sales": 1.5})
    assert source.get_nb_rows() == 3
    wrong = httpx.post(f"{sty.base}/api/data_source/{source.uuid}/push/not-the-token", json={"id": 8})
    assert wrong.status_code in (401, 403, 404)


def test_signed_upload_urls_refuse_tampering_and_expiry(sty: Serenytics) -> None:
    source = storage(sty)
    signed = sty.http.get(
        "/data_source/sign_s3/", params={"s3_object_type": "csv/gz", "s3_object_name": source.uuid}
    ).json()
    assert signed["status"] == "ok"
    url = signed["signed_request"]
    tampered = url.replace("sig=", "sig=0")
    assert httpx.put(tampered, content=b"a\n1\n").status_code == 403
    expired = url.split("expires=")[0] + "expires=1&" + url.split("&", 1)[1]
    assert httpx.put(expired, content=b"a\n1\n").status_code == 403
    assert (
        httpx.put(
            url, content=b"a\n1\n", headers={"Content-Type": "csv/gz", "x-amz-acl": "private"}
        ).status_code
        == 200
    )
    assert httpx.put(url, content=b"a\n2\n").status_code in (400, 409)  # used once


class Exploit:
    """Unpickling this writes a marker file: a server that unpickles would be compromised."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (Path.write_text, (self.marker, "pwned"))


def test_a_malicious_pickle_achieves_nothing(sty: Serenytics, tmp_path: Path) -> None:
    from serenytics.helpers import SerenyticsException

    source = storage(sty)
    source.reload_data(SALES)
    marker = tmp_path / "marker.txt"
    evil = tmp_path / "evil.pd025_pickle"
    evil.write_bytes(gzip.compress(pickle.dumps(Exploit(marker))))
    source._upload_attached_file(str(evil), separator=None)
    with pytest.raises(SerenyticsException):
        source._load_attached_file_into_storage()
    assert not marker.exists()
    assert source.get_nb_rows() == 4


def test_invalidate_cache_and_user_metadata(sty: Serenytics) -> None:
    from serenytics.helpers import SerenyticsException

    source = storage(sty)
    source.invalidate_cache()
    users = sty.org.admin.get("/api/v1/users").json()["items"]
    editor = next(u["email"] for u in users if u["email"].startswith("editor@"))
    source.reload_data(
        [{"login": editor, "region": "north"}, {"login": "stranger@elsewhere.test", "region": "x"}]
    )
    source.reload_users_metadata()
    viewer = sty.client_for(sty.org.keys["viewer"])
    with pytest.raises(SerenyticsException):
        viewer.get_data_source_by_uuid(source.uuid).reload_users_metadata()
    answer = sty.http.post(f"/data_source/{source.uuid}/reload_users_metadata").json()
    assert answer == {"status": "ok", "nb_users": 1}  # the stranger is not a user here


def test_set_property_is_saved_with_the_document(sty: Serenytics) -> None:
    source = storage(sty, "props")
    source.set_property("color", "teal")
    source.save()
    assert sty.client.get_data_source_by_uuid(source.uuid)._config["jsonContent"]["color"] == "teal"


@pytest.mark.parametrize("exchange_format", ["auto", "csv", "csv.gz", "parquet"])
def test_exports_download_through_a_signed_url(sty: Serenytics, exchange_format: str) -> None:
    source = storage(sty, "exported")
    source.reload_data(SALES)
    frame = source.get_dataset_as_dataframe(exchange_format=exchange_format, csv_separator=";")
    assert sorted(frame.to_dict("records"), key=lambda r: (r["year"], r["quarter"])) == sorted(
        SALES, key=lambda r: (r["year"], r["quarter"])
    )


def test_get_dataset_and_tampered_download_urls(sty: Serenytics) -> None:
    source = storage(sty, "plain export")
    source.reload_data(SALES)
    assert len(source.get_dataset()) == 4
    answer = sty.http.post(
        f"/data_source/{source.uuid}/export_source_data", json={"export_format": "csv"}
    ).json()
    assert httpx.get(answer["csv_url"]).status_code == 200
    assert httpx.get(answer["csv_url"].replace("format=csv", "format=parquet")).status_code == 403
    assert httpx.get(answer["csv_url"].replace("sig=", "sig=f")).status_code == 403
    other = sty.http.post(f"/data_source/{source.uuid}/export_source_data", json={"export_format": "xml"})
    assert other.status_code == 400
