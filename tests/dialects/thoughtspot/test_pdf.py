"""V1 `export/pinboard/pdf` and V2 `report/liveboard`, through the real client, read back with pypdf."""

from __future__ import annotations

import io
import json

from pypdf import PdfReader

from tests.dialects.thoughtspot.conftest import OtherOrg, ThoughtSpot
from tests.dialects.thoughtspot.test_data import make_liveboard

A4 = (842, 595)


def read(document: bytes) -> PdfReader:
    assert document.startswith(b"%PDF"), document[:200]
    return PdfReader(io.BytesIO(document))


def sizes(reader: PdfReader) -> set[tuple[int, int]]:
    return {(round(p.mediabox.width), round(p.mediabox.height)) for p in reader.pages}


def test_pinboard_layout_is_a_cover_then_the_whole_liveboard_on_landscape_pages(ts: ThoughtSpot) -> None:
    board, *_ = make_liveboard(ts.org.editor)
    reader = read(ts.v1("viewer").export_pinboard_pdf(board))
    assert len(reader.pages) == 2
    assert sizes(reader) == {A4}
    assert "Sales board" in reader.pages[0].extract_text()
    without_cover = read(ts.v1("viewer").export_pinboard_pdf(board, cover_page=False))
    assert len(without_cover.pages) == 1


def test_visualization_layout_is_a_page_per_visualization_in_portrait(ts: ThoughtSpot) -> None:
    board, *_ = make_liveboard(ts.org.editor)
    v1 = ts.v1("viewer")
    reader = read(
        v1.export_pinboard_pdf(board, one_visualization_per_page=True, landscape_or_portrait="PORTRAIT")
    )
    assert len(reader.pages) == 3  # the cover, then Totals and Pairs
    assert sizes(reader) == {(A4[1], A4[0])}
    plain = read(v1.export_pinboard_pdf(board, one_visualization_per_page=True, cover_page=False))
    assert len(plain.pages) == 2 and sizes(plain) == {A4}
    assert "Totals" in plain.pages[0].extract_text() and "Pairs" in plain.pages[1].extract_text()


def test_footer_text_and_page_numbers_are_on_every_page(ts: ThoughtSpot) -> None:
    board, *_ = make_liveboard(ts.org.editor)
    document = ts.v1("viewer").export_pinboard_pdf(
        board, one_visualization_per_page=True, page_numbers=True, footer_text="Internal use only"
    )
    texts = [page.extract_text() for page in read(document).pages]
    assert len(texts) == 3
    for number, text in enumerate(texts, start=1):
        assert "Internal use only" in text and f"Page {number} of 3" in text


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
    assert len(reader.pages) == 1 and sizes(reader) == {(A4[1], A4[0])}
    assert "v2" in reader.pages[0].extract_text() and "Page 1 of 1" in reader.pages[0].extract_text()
