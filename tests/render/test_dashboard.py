"""Dashboards as one Vega-Lite spec laid out on the 6-column grid, drawn to PNG and PDF."""

from __future__ import annotations

from typing import Any

from openlytics.render import (
    DashboardView,
    Position,
    WidgetView,
    dashboard_pdf,
    dashboard_png,
    dashboard_spec,
)
from openlytics.render.text import TextLine, strip_markdown
from tests.render.samples import chart, is_pdf, png_size, sample_dashboard


def titles(spec: dict[str, Any]) -> list[str]:
    """Titles of the views in a (nested) concatenation, in order."""
    found = []
    for key in ("vconcat", "hconcat"):
        for item in spec.get(key, []):
            title = item.get("title")
            if title is not None:
                found.append(title["text"] if isinstance(title, dict) else title)
            found.extend(titles(item))
    return found


def test_dashboard_png_is_as_wide_as_the_layout() -> None:
    image = dashboard_png(sample_dashboard())

    width, height = png_size(image)
    assert abs(width - 1200) <= 12, width
    # Rows are about 50 pixels: 18 grid rows, plus the dashboard title.
    assert 18 * 50 <= height <= 18 * 50 + 200, height


def test_a_thumbnail_is_a_third_of_the_full_size() -> None:
    full = png_size(dashboard_png(sample_dashboard()))
    thumbnail = png_size(dashboard_png(sample_dashboard(), thumbnail=True))

    assert abs(thumbnail[0] - 400) <= 6, thumbnail
    assert abs(thumbnail[1] - full[1] / 3) <= 3, (thumbnail, full)


def test_dashboard_pdf_is_a_pdf() -> None:
    assert is_pdf(dashboard_pdf(sample_dashboard()))


def test_widgets_are_laid_out_by_row_then_column() -> None:
    spec = dashboard_spec(sample_dashboard(), width=1200)

    assert spec["title"]["text"] == "Sales overview"
    text_band, middle_band, bottom_band = spec["vconcat"]
    assert text_band["hconcat"][0]["width"] == 1180  # six columns, inside the padding
    counter, line = middle_band["hconcat"]
    assert (counter["width"], line["width"]) == (383, 781)  # two and four of six columns
    assert counter["width"] + 16 + line["width"] == 1180  # with the gutter between them
    assert titles(spec) == ["Sales", "Sales", "All rows"]  # the counter draws its own label
    assert [len(band["hconcat"]) for band in spec["vconcat"]] == [1, 2, 2]
    assert bottom_band["hconcat"][0]["title"]["limit"] == 582


def test_empty_columns_and_overlapping_rows_keep_their_place() -> None:
    line = chart("line", {"day": "x", "sales": "y"})
    dashboard = DashboardView(
        "Gaps",
        (
            WidgetView(Position(col=4, row=0, size_x=2, size_y=6), visualization=line),
            WidgetView(Position(col=1, row=0, size_x=2, size_y=3), text="upper"),
            WidgetView(Position(col=1, row=3, size_x=2, size_y=3), text="lower"),
        ),
    )
    spec = dashboard_spec(dashboard, width=1200)

    (band,) = spec["vconcat"]
    spacer, stacked, gap, chart_view = band["hconcat"]
    assert spacer["mark"] == "point" and spacer["data"] == {"values": []}
    assert [v["data"]["values"][0]["text"] for v in stacked["vconcat"]] == ["upper", "lower"]
    assert gap["width"] == spacer["width"]
    assert chart_view["title"]["text"] == "Sales"
    assert abs(png_size(dashboard_png(dashboard))[0] - 1200) <= 12


def test_an_empty_dashboard_is_its_title() -> None:
    spec = dashboard_spec(DashboardView("Nothing yet", ()))

    assert spec["title"]["text"] == "Nothing yet"
    assert png_size(dashboard_png(DashboardView("Nothing yet", ())))[0] == 1200


def test_a_widget_that_cannot_be_drawn_says_why_and_the_rest_still_draws() -> None:
    broken = chart("line", {"revenue": "y"})
    dashboard = DashboardView(
        "Broken",
        (
            WidgetView(Position(col=0, row=0, size_x=3, size_y=6), visualization=broken),
            WidgetView(Position(col=3, row=0, size_x=3, size_y=6), visualization=chart("area", {"day": "x"})),
        ),
    )
    spec = dashboard_spec(dashboard)

    message = spec["vconcat"][0]["hconcat"][0]
    assert "the data has no column 'revenue'" in message["data"]["values"][0]["text"].replace("\n", " ")
    assert png_size(dashboard_png(dashboard))[0] > 0


def test_text_widgets_lose_their_markdown() -> None:
    lines = strip_markdown("# Title\n\nSome **bold**, _italic_ and [a link](https://x.org).\n- item\n`code`")

    assert lines == [
        TextLine("Title", 1),
        TextLine(""),
        TextLine("Some bold, italic and a link."),
        TextLine("• item"),
        TextLine("code"),
    ]
    assert strip_markdown("snake_case_name stays") == [TextLine("snake_case_name stays")]


def test_long_text_wraps_to_the_widget_width() -> None:
    dashboard = DashboardView(
        "Text", (WidgetView(Position(col=0, row=0, size_x=2, size_y=4), text="word " * 80),)
    )
    text_view = dashboard_spec(dashboard)["vconcat"][0]["hconcat"][0]

    lines = [r["text"] for r in text_view["data"]["values"]]
    assert len(lines) > 3
    assert max(len(line) for line in lines) * 13 * 0.56 <= text_view["width"]
