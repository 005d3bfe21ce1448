"""V1 `export/pinboard/pdf` and V2 `report/liveboard`, through the real client, read back with pypdf."""

from __future__ import annotations

import io
import json

import httpx
import pytest
import requests
from pypdf import PdfReader

from tests.dialects.thoughtspot.conftest import OtherOrg, ThoughtSpot
from tests.dialects.thoughtspot.test_data import make_liveboard
from tests.warehouse_sql import numbered

A4 = (842, 595)
PLAIN = {"logo": False, "filter_page": False}  # the V1 client turns both on by default


def read(document: bytes) -> PdfReader:
    assert document.startswith(b"%PDF"), document[:200]
    return PdfReader(io.BytesIO(document))


def sizes(reader: PdfReader) -> set[tuple[int, int]]:
    return {(round(p.mediabox.width), round(p.mediabox.height)) for p in reader.pages}


def test_pinboard_layout_is_a_cover_then_the_whole_liveboard_on_landscape_pages(ts: ThoughtSpot) -> None:
    board, *_ = make_liveboard(ts.org.editor)
    reader = read(ts.v1("viewer").export_pinboard_pdf(board, **PLAIN))
    assert len(reader.pages) == 2
    assert sizes(reader) == {A4}
    assert "Sales board" in reader.pages[0].extract_text()
    without_cover = read(ts.v1("viewer").export_pinboard_pdf(board, cover_page=False, **PLAIN))
    assert len(without_cover.pages) == 1


def test_visualization_layout_is_a_page_per_visualization_in_portrait(ts: ThoughtSpot) -> None:
    board, *_ = make_liveboard(ts.org.editor)
    v1 = ts.v1("viewer")
    reader = read(
        v1.export_pinboard_pdf(
            board, one_visualization_per_page=True, landscape_or_portrait="PORTRAIT", **PLAIN
        )
    )
    assert len(reader.pages) == 3  # the cover, then Totals and Pairs
    assert sizes(reader) == {(A4[1], A4[0])}
    plain = read(v1.export_pinboard_pdf(board, one_visualization_per_page=True, cover_page=False, **PLAIN))
    assert len(plain.pages) == 2 and sizes(plain) == {A4}
    assert "Totals" in plain.pages[0].extract_text() and "Pairs" in plain.pages[1].extract_text()


def test_footer_text_and_page_numbers_are_on_every_page(ts: ThoughtSpot) -> None:
    board, *_ = make_liveboard(ts.org.editor)
    document = ts.v1("viewer").export_pinboard_pdf(
        board, one_visualization_per_page=True, page_numbers=True, footer_text="Internal use only"
    )
    texts = [page.extract_text() for page in read(document).pages]
    assert len(texts) == 4  # the cover, the filter page, Totals and Pairs
    for number, text in enumerate(texts, start=1):
        assert "Internal use only" in text and f"Page {number} of 4" in text


def test_a_liveboard_of_another_organization_is_not_found(ts: ThoughtSpot, other_org: OtherOrg) -> None:
    created = other_org.native.post("/api/v1/dashboards", json={"name": "Theirs"})
    assert created.status_code == 201, created.text
    answer = ts.v1("admin").export_pinboard_pdf(created.json()["uuid"])
    assert not answer.startswith(b"%PDF")
    assert json.loads(answer)  # the dialect's error envelope, not a document


def test_report_liveboard_v2_applies_pdf_options(ts: ThoughtSpot) -> None:
    board, *_ = make_liveboard(ts.org.editor)
    request = {
        "metadata_identifier": board,
        "file_format": "PDF",
        "pdf_options": {
            "page_orientation": "PORTRAIT",
            "include_cover_page": False,
            "page_footer_text": "v2",
        },
    }
    v2 = ts.v2("viewer")
    reader = read(v2.report_liveboard(request))
    assert len(reader.pages) == 2 and sizes(reader) == {(A4[1], A4[0])}  # the filter page, the liveboard
    assert "No filters applied" in reader.pages[0].extract_text()
    assert "v2" in reader.pages[1].extract_text() and "Page 2 of 2" in reader.pages[1].extract_text()


def make_long_liveboard(native: httpx.Client) -> tuple[str, str, str]:
    """A liveboard of a 'Totals' table and a 55-row 'Numbers' table run with low=5 (default 0).

    Returns the liveboard's, the Totals visualization's and the Numbers visualization's GUIDs.
    """
    board = native.post("/api/v1/dashboards", json={"name": "Long board"}).json()
    vizzes = []
    for name, sql, parameters, values in (
        ("Totals", "SELECT 1 AS n", [], {}),
        (
            "Numbers",
            numbered(60, where="n >= {{ low }}"),
            [{"name": "low", "title": "Lowest", "type": "number", "default": 0}],
            {"low": 5},
        ),
    ):
        query = native.post("/api/v1/queries", json={"name": name, "sql": sql, "parameters": parameters})
        assert query.status_code == 201, query.text
        ran = native.post(
            f"/api/v1/queries/{query.json()['id']}/run", json={"parameters": values, "wait": 30}
        )
        assert ran.status_code == 200, ran.text
        viz = native.get(f"/api/v1/queries/{query.json()['id']}/visualizations").json()["items"][0]
        added = native.post(f"/api/v1/dashboards/{board['id']}/widgets", json={"visualization_id": viz["id"]})
        assert added.status_code == 201, added.text
        vizzes.append(viz["uuid"])
    return board["uuid"], vizzes[0], vizzes[1]


def test_logo_filter_page_and_truncation_shape_the_v1_document(ts: ThoughtSpot) -> None:
    board, *_ = make_long_liveboard(ts.org.editor)
    organization = ts.org.admin.get("/api/v1/organization").json()["name"]
    v1 = ts.v1("viewer")
    texts = [p.extract_text() for p in read(v1.export_pinboard_pdf(board)).pages]
    # cover, filters, the liveboard, then Numbers' 55 rows at 25 a page (its cell shows 15)
    assert len(texts) == 6
    assert organization in texts[0] and "Long board" in texts[0]
    assert "Filters" in texts[1] and "Numbers - Table Lowest 5" in texts[1]
    assert all(organization not in text for text in texts[1:])
    assert "Numbers - Table (rows 1\u201325 of 55)" in texts[3]
    assert "Numbers - Table (rows 51\u201355 of 55)" in texts[5]
    truncated = read(v1.export_pinboard_pdf(board, cover_page=False, filter_page=False, truncate_tables=True))
    assert len(truncated.pages) == 1 and organization in truncated.pages[0].extract_text()
    bare = read(v1.export_pinboard_pdf(board, logo=False, truncate_tables=True))
    assert len(bare.pages) == 3 and organization not in bare.pages[0].extract_text()


def test_report_liveboard_v2_exports_only_the_chosen_visualizations(ts: ThoughtSpot) -> None:
    board, totals, numbers = make_long_liveboard(ts.org.editor)
    v2 = ts.v2("viewer")
    request = {
        "metadata_identifier": board,
        "visualization_identifiers": [totals],
        "pdf_options": {"include_cover_page": False, "include_custom_logo": False},
    }
    texts = [p.extract_text() for p in read(v2.post_request_binary("report/liveboard", request)).pages]
    assert len(texts) == 2  # the filter page and Totals; no Numbers, so no continuation pages
    assert "No filters applied" in texts[0] and "Totals - Table" in texts[1] and "Numbers" not in texts[1]
    both = {**request, "visualization_identifiers": [numbers], "pdf_options": {"truncate_table": True}}
    assert len(read(v2.post_request_binary("report/liveboard", both)).pages) == 3


@pytest.mark.parametrize("stranger", ["not-a-guid", "liveboard"])
def test_report_liveboard_v2_refuses_a_visualization_not_on_the_liveboard(
    ts: ThoughtSpot, stranger: str
) -> None:
    board, totals, *_ = make_liveboard(ts.org.editor)
    identifier = board if stranger == "liveboard" else stranger
    request = {"metadata_identifier": board, "visualization_identifiers": [totals, identifier]}
    with pytest.raises(requests.HTTPError) as caught:
        ts.v2("viewer").post_request_binary("report/liveboard", request)
    assert caught.value.response is not None and caught.value.response.status_code == 400
    assert identifier in caught.value.response.text


def test_export_pinboard_pdf_v1_takes_visualization_ids_as_a_json_array(ts: ThoughtSpot) -> None:
    board, totals, *_ = make_liveboard(ts.org.editor)
    v1 = ts.v1("viewer")  # the client has the argument but never sends it: post as it would
    params = {"id": board, "layout_type": "VISUALIZATION", "include_cover_page": "false"}
    params |= {"include_filter_page": "false", "visualization_ids": json.dumps([totals])}
    answer = v1.requests_session.post(
        v1.base_url + "export/pinboard/pdf", params=params, headers={"Accept": "application/octet-stream"}
    )
    assert answer.status_code == 200, answer.text
    pages = read(answer.content).pages
    assert len(pages) == 1 and "Totals" in pages[0].extract_text() and "Pairs" not in pages[0].extract_text()
    unknown = v1.requests_session.post(
        v1.base_url + "export/pinboard/pdf", params={**params, "visualization_ids": '["nope"]'}
    )
    assert unknown.status_code == 400 and "nope" in unknown.text
