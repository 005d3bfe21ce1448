"""Dashboards as multi-page PDF documents: page count, page size and footer, read back with pypdf."""

from __future__ import annotations

import io
from dataclasses import replace
from typing import Any

import pytest
from pypdf import PdfReader

from openlytics.render import DashboardView, DocumentOptions, Position, WidgetView, dashboard_document
from tests.render.samples import ROWS, sample_dashboard, view


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


def small_board(rows: int = 60, **dashboard: Any) -> DashboardView:
    """A counter and a table four grid rows high (five rows fit), keyed "counter" and "table"."""
    counter = replace(view("COUNTER", "Best day"), parameters=(("Region", "north"),))
    table = replace(view("TABLE", "Orders", data=(ROWS * 3)[:rows]), parameters=(("Since", "2024-01-01"),))
    return DashboardView(
        name="Orders board",
        widgets=(
            WidgetView(Position(col=0, row=0, size_x=6, size_y=1), text="Notes"),
            WidgetView(Position(col=0, row=1, size_x=2, size_y=4), visualization=counter, key="counter"),
            WidgetView(Position(col=2, row=1, size_x=4, size_y=4), visualization=table, key="table"),
        ),
        **dashboard,
    )


def read(board: DashboardView, options: DocumentOptions) -> list[str]:
    document = dashboard_document(board, options)
    return [page.extract_text() for page in PdfReader(io.BytesIO(document)).pages]


@pytest.mark.parametrize(
    ("options", "count"),
    [
        (DocumentOptions(), 1),
        (DocumentOptions(cover_page=True, filter_page=True, logo=True), 3),
        (DocumentOptions(truncate_tables=False), 1 + 3),  # 60 rows, 25 a landscape page
        (DocumentOptions(truncate_tables=False, landscape=False), 1 + 2),  # 45 a portrait page
        (DocumentOptions(cover_page=True, filter_page=True, one_widget_per_page=True), 2 + 2),
        (DocumentOptions(one_widget_per_page=True, truncate_tables=False), 2 + 3),
        (DocumentOptions(visualizations=frozenset({"counter"}), truncate_tables=False), 1),
    ],
)
def test_page_count_follows_the_options(options: DocumentOptions, count: int) -> None:
    assert len(read(small_board(), options)) == count


def test_the_logo_is_the_organization_name_on_the_first_page_only() -> None:
    board = small_board(rows=3, organization="Acme Analytics")
    with_cover = read(board, DocumentOptions(cover_page=True, logo=True))
    assert ["Acme Analytics" in text for text in with_cover] == [True, False]
    first = read(board, DocumentOptions(logo=True))[0]
    assert "Acme Analytics" in first and "Orders board" in first
    assert "Acme Analytics" not in read(board, DocumentOptions(cover_page=True))[0]


def test_the_filter_page_lists_each_visualization_parameter_after_the_cover() -> None:
    texts = read(small_board(rows=3), DocumentOptions(cover_page=True, filter_page=True))
    assert len(texts) == 3 and "Filters" in texts[1]
    assert "Best day Region north" in texts[1] and "Orders Since 2024-01-01" in texts[1]
    plain = replace(
        small_board(rows=3), widgets=(WidgetView(Position(0, 0, 6, 4), visualization=view("TABLE")),)
    )
    assert "No filters applied" in read(plain, DocumentOptions(filter_page=True))[0]


def test_a_table_that_does_not_fit_continues_with_all_its_rows() -> None:
    texts = read(small_board(), DocumentOptions(truncate_tables=False, page_numbers=True))
    assert "Orders (rows 1\u201325 of 60)" in texts[1] and "Page 2 of 4" in texts[1]
    assert "Orders (rows 26\u201350 of 60)" in texts[2]
    assert "Orders (rows 51\u201360 of 60)" in texts[3]
    assert texts[3].count("2024-01-") == 10
    assert len(read(small_board(rows=5), DocumentOptions(truncate_tables=False))) == 1  # five rows fit


def test_only_the_chosen_visualizations_are_drawn() -> None:
    options = DocumentOptions(filter_page=True, visualizations=frozenset({"table"}), one_widget_per_page=True)
    texts = read(small_board(rows=3), options)
    assert len(texts) == 2
    assert "Orders Since" in texts[0] and "Best day" not in texts[0]
    assert "Orders" in texts[1] and "Best day" not in texts[1] and "Notes" not in texts[1]
    nothing = read(small_board(rows=3), DocumentOptions(visualizations=frozenset()))
    assert len(nothing) == 1 and "Orders board" in nothing[0] and "Notes" not in nothing[0]
