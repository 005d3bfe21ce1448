"""Dashboards as multi-page PDF documents: page count, page size and footer, read back with pypdf."""

from __future__ import annotations

import io

from pypdf import PdfReader

from openlytics.render import DocumentOptions, dashboard_document
from tests.render.samples import sample_dashboard


def pages(options: DocumentOptions) -> PdfReader:
    document = dashboard_document(sample_dashboard(), options)
    assert document.startswith(b"%PDF")
    return PdfReader(io.BytesIO(document))


def test_the_whole_dashboard_is_one_landscape_a4_page() -> None:
    reader = pages(DocumentOptions())
    assert len(reader.pages) == 1
    assert (reader.pages[0].mediabox.width, reader.pages[0].mediabox.height) == (842, 595)


def test_one_widget_per_page_skips_text_widgets_and_follows_the_cover() -> None:
    view = sample_dashboard()
    charts = sum(1 for w in view.widgets if w.visualization is not None)
    reader = pages(DocumentOptions(landscape=False, cover_page=True, one_widget_per_page=True))
    assert len(reader.pages) == 1 + charts
    assert {(p.mediabox.width, p.mediabox.height) for p in reader.pages} == {(595, 842)}
    assert view.name in reader.pages[0].extract_text()


def test_footer_and_page_numbers_are_drawn_on_each_page() -> None:
    reader = pages(DocumentOptions(cover_page=True, page_numbers=True, footer_text="Draft"))
    assert ["Draft" in p.extract_text() for p in reader.pages] == [True, True]
    assert "Page 2 of 2" in reader.pages[1].extract_text()
