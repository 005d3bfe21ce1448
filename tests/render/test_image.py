"""Drawing through vl-convert, and the browser bundle of Vega, Vega-Lite and vega-embed."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from openlytics.render import render_png, render_svg, vega_embed_bundle, visualization_spec
from tests.render.samples import chart, png_size


def test_scale_multiplies_the_image_size() -> None:
    spec = visualization_spec(chart("column", {"region": "x", "sales": "y"}), width=300, height=150)

    width, height = png_size(render_png(spec))
    double = png_size(render_png(spec, scale=2.0))
    assert abs(double[0] - 2 * width) <= 2 and abs(double[1] - 2 * height) <= 2


def test_svg_is_a_document() -> None:
    svg = render_svg(visualization_spec(chart("line", {"day": "x", "sales": "y"})))
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")


def test_specs_never_load_data_from_a_url() -> None:
    spec = visualization_spec(chart("line", {"day": "x", "sales": "y"}))
    spec["data"] = {"url": "http://127.0.0.1:9/data.json"}
    with pytest.raises(ValueError, match="External data url not allowed"):
        render_svg(spec)


def test_the_browser_bundle_is_built_once_and_defines_vega_embed() -> None:
    with ThreadPoolExecutor(4) as pool:
        bundles = list(pool.map(lambda _: vega_embed_bundle(), range(4)))

    assert all(b is bundles[0] for b in bundles)
    assert vega_embed_bundle() is bundles[0]
    assert "window.vegaEmbed=" in bundles[0] and "window.vegaLite=" in bundles[0]
    assert len(bundles[0]) > 100_000
