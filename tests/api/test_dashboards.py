"""Dashboards through the native API: CRUD, widgets, stars, public links, PNG and PDF, permissions."""

from __future__ import annotations

import struct

import httpx
import pytest


def saved_query(
    client: httpx.Client, sql: str = "SELECT 'north' AS region, 7 AS n", *, run: bool = True
) -> dict:
    created = client.post("/api/v1/queries", json={"name": "regions", "sql": sql})
    assert created.status_code == 201, created.text
    if run:
        ran = client.post(f"/api/v1/queries/{created.json()['id']}/run", json={"wait": 30})
        assert ran.status_code == 200, ran.text
    return created.json()


def table_of(client: httpx.Client, query_id: int) -> dict:
    return client.get(f"/api/v1/queries/{query_id}/visualizations").json()["items"][0]


def new_dashboard(client: httpx.Client, name: str = "Sales overview", **fields) -> dict:
    created = client.post("/api/v1/dashboards", json={"name": name, **fields})
    assert created.status_code == 201, created.text
    return created.json()


def position(col: int, row: int, size_x: int = 3, size_y: int = 8) -> dict:
    return {"position": {"col": col, "row": row, "sizeX": size_x, "sizeY": size_y}}


def test_dashboard_lifecycle_create_find_edit_archive(new_org) -> None:
    d = new_dashboard(new_org.editor, tags=["sales", "weekly"])
    assert d["slug"] == "sales-overview" and d["is_draft"] is True and d["widgets"] == []
    assert d["tags"] == ["sales", "weekly"] and d["user"]["name"] == "editor" and d["public_url"] is None
    by_slug = new_org.viewer.get("/api/v1/dashboards/sales-overview").json()
    by_id = new_org.viewer.get(f"/api/v1/dashboards/{d['id']}").json()
    assert by_slug["id"] == by_id["id"] == d["id"]
    edited = new_org.editor.patch(
        f"/api/v1/dashboards/{d['id']}",
        json={"name": "Sales", "is_draft": False, "filters_enabled": True, "options": {"refresh": 60}},
    )
    assert edited.status_code == 200, edited.text
    body = edited.json()
    assert body["name"] == "Sales" and body["slug"] == "sales-overview" and body["version"] == 2
    assert (
        body["is_draft"] is False and body["filters_enabled"] is True and body["options"] == {"refresh": 60}
    )
    new_dashboard(new_org.editor, "Marketing", tags=["weekly"])
    listed = new_org.viewer.get("/api/v1/dashboards").json()
    assert listed["total"] == 2 and set(listed) == {"items", "page", "per_page", "total"}
    assert [
        x["name"] for x in new_org.viewer.get("/api/v1/dashboards", params={"tag": "sales"}).json()["items"]
    ] == ["Sales"]
    found = new_org.viewer.get("/api/v1/dashboards", params={"search": "MARK"}).json()["items"]
    assert [x["name"] for x in found] == ["Marketing"]
    assert new_org.viewer.get("/api/v1/dashboards", params={"per_page": 1}).json()["per_page"] == 1
    assert new_org.editor.delete(f"/api/v1/dashboards/{d['id']}").status_code == 204
    assert new_org.viewer.get(f"/api/v1/dashboards/{d['id']}").json()["is_archived"] is True
    assert new_org.viewer.get("/api/v1/dashboards").json()["total"] == 1
    with_archived = new_org.viewer.get("/api/v1/dashboards", params={"include_archived": True}).json()
    assert with_archived["total"] == 2


def test_widgets_show_visualizations_and_text_at_their_positions(new_org) -> None:
    query = saved_query(new_org.editor)
    viz = table_of(new_org.editor, query["id"])
    d = new_dashboard(new_org.editor)
    chart = new_org.editor.post(
        f"/api/v1/dashboards/{d['id']}/widgets",
        json={"visualization_id": viz["id"], "options": position(3, 0)},
    )
    assert chart.status_code == 201, chart.text
    text = new_org.editor.post(
        f"/api/v1/dashboards/{d['id']}/widgets",
        json={"text": "## Notes", "width": 2, "options": position(0, 0)},
    )
    assert text.status_code == 201, text.text
    assert chart.json()["visualization"]["id"] == viz["id"] and chart.json()["query"]["id"] == query["id"]
    assert text.json()["visualization"] is None and text.json()["text"] == "## Notes"
    widgets = new_org.viewer.get(f"/api/v1/dashboards/{d['id']}").json()["widgets"]
    assert [w["id"] for w in widgets] == [
        text.json()["id"],
        chart.json()["id"],
    ]  # ordered by row, then column
    moved = new_org.editor.patch(
        f"/api/v1/widgets/{text.json()['id']}", json={"options": position(0, 8, 6, 4)}
    )
    assert moved.status_code == 200 and moved.json()["position"] == {
        "col": 0,
        "row": 8,
        "sizeX": 6,
        "sizeY": 4,
    }
    widgets = new_org.viewer.get(f"/api/v1/dashboards/{d['id']}").json()["widgets"]
    assert [w["id"] for w in widgets] == [chart.json()["id"], text.json()["id"]]
    assert new_org.editor.delete(f"/api/v1/widgets/{chart.json()['id']}").status_code == 204
    assert len(new_org.viewer.get(f"/api/v1/dashboards/{d['id']}").json()["widgets"]) == 1
    new_org.editor.delete(f"/api/v1/dashboards/{d['id']}")
    refused = new_org.editor.post(f"/api/v1/dashboards/{d['id']}/widgets", json={"text": "late"})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "conflict"


def test_a_viewer_reads_and_stars_but_cannot_edit(new_org) -> None:
    d = new_dashboard(new_org.editor)
    widget = new_org.editor.post(f"/api/v1/dashboards/{d['id']}/widgets", json={"text": "hi"}).json()
    viewer = new_org.viewer
    attempts = [
        viewer.post("/api/v1/dashboards", json={"name": "mine"}),
        viewer.patch(f"/api/v1/dashboards/{d['id']}", json={"name": "x"}),
        viewer.delete(f"/api/v1/dashboards/{d['id']}"),
        viewer.post(f"/api/v1/dashboards/{d['id']}/widgets", json={"text": "x"}),
        viewer.patch(f"/api/v1/widgets/{widget['id']}", json={"text": "x"}),
        viewer.delete(f"/api/v1/widgets/{widget['id']}"),
        viewer.post(f"/api/v1/dashboards/{d['id']}/share"),
    ]
    for response in attempts:
        assert response.status_code == 403, response.text
        assert response.json()["error"]["code"] == "permission_denied"
    assert viewer.post(f"/api/v1/dashboards/{d['id']}/favorite").status_code == 204
    assert viewer.get(f"/api/v1/dashboards/{d['id']}").json()["is_favorite"] is True
    assert new_org.editor.get(f"/api/v1/dashboards/{d['id']}").json()["is_favorite"] is False
    starred = viewer.get("/api/v1/dashboards", params={"favorites": True}).json()["items"]
    assert [x["id"] for x in starred] == [d["id"]] and starred[0]["is_favorite"] is True
    assert new_org.editor.get("/api/v1/dashboards", params={"favorites": True}).json()["total"] == 0
    assert viewer.delete(f"/api/v1/dashboards/{d['id']}/favorite").status_code == 204
    assert viewer.get("/api/v1/dashboards", params={"favorites": True}).json()["total"] == 0


def test_another_organization_sees_not_found(new_org, admin: httpx.Client) -> None:
    d = new_dashboard(new_org.editor, "Private board")
    widget = new_org.editor.post(f"/api/v1/dashboards/{d['id']}/widgets", json={"text": "secret"}).json()
    for response in (
        admin.get(f"/api/v1/dashboards/{d['id']}"),
        admin.get("/api/v1/dashboards/private-board"),
        admin.patch(f"/api/v1/dashboards/{d['id']}", json={"name": "mine now"}),
        admin.delete(f"/api/v1/dashboards/{d['id']}"),
        admin.post(f"/api/v1/dashboards/{d['id']}/favorite"),
        admin.post(f"/api/v1/dashboards/{d['id']}/share"),
        admin.get(f"/api/v1/dashboards/{d['id']}/image.png"),
        admin.post(f"/api/v1/dashboards/{d['id']}/widgets", json={"text": "x"}),
        admin.patch(f"/api/v1/widgets/{widget['id']}", json={"text": "x"}),
        admin.delete(f"/api/v1/widgets/{widget['id']}"),
    ):
        assert response.status_code == 404, response.text
        assert response.json()["error"]["code"] == "not_found"
    assert d["id"] not in [x["id"] for x in admin.get("/api/v1/dashboards").json()["items"]]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/dashboards", {"name": ""}, "name"),
        ("/api/v1/dashboards", {}, "name"),
        ("/api/v1/dashboards", {"name": "x", "colour": "red"}, "colour"),
        ("/api/v1/dashboards", {"name": "x", "tags": "sales"}, "tags"),
        ("/api/v1/dashboards", {"name": "x", "is_draft": "maybe"}, "is_draft"),
        ("WIDGETS", {"text": "x", "width": 5}, "width"),
        ("WIDGETS", {"text": ""}, "text"),
        ("WIDGETS", {"text": "x", "options": {"position": {"col": 4, "sizeX": 3}}}, "options.position"),
        ("WIDGETS", {"text": "x", "size": 2}, "size"),
    ],
)
def test_invalid_input_is_rejected_with_the_field_named(new_org, path: str, body: dict, field: str) -> None:
    if path == "WIDGETS":
        path = f"/api/v1/dashboards/{new_dashboard(new_org.editor)['id']}/widgets"
    response = new_org.editor.post(path, json=body)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_input" and field in error["message"]


def test_sharing_gives_a_public_url_until_revoked(new_org) -> None:
    d = new_dashboard(new_org.editor)
    new_org.editor.post(f"/api/v1/dashboards/{d['id']}/widgets", json={"text": "Hello, public"})
    shared = new_org.editor.post(f"/api/v1/dashboards/{d['id']}/share")
    assert shared.status_code == 200, shared.text
    link = shared.json()
    assert link["url"].endswith(f"/public/dashboards/{link['token']}")
    assert new_org.editor.post(f"/api/v1/dashboards/{d['id']}/share").json() == link  # the same link again
    assert new_org.viewer.get(f"/api/v1/dashboards/{d['id']}").json()["public_url"] == link["url"]
    page = httpx.get(link["url"], timeout=60)
    assert page.status_code == 200 and "Hello, public" in page.text
    assert new_org.editor.delete(f"/api/v1/dashboards/{d['id']}/share").status_code == 204
    assert httpx.get(link["url"], timeout=60).status_code == 404
    assert new_org.viewer.get(f"/api/v1/dashboards/{d['id']}").json()["public_url"] is None


def png_width(data: bytes) -> int:
    return struct.unpack(">I", data[16:20])[0]


def test_a_dashboard_is_drawn_as_png_thumbnail_and_pdf(new_org) -> None:
    query = saved_query(new_org.editor, "SELECT * FROM (VALUES ('north', 7), ('south', 3)) t(region, n)")
    chart = new_org.editor.post(
        "/api/v1/visualizations",
        json={
            "query_id": query["id"],
            "type": "CHART",
            "options": {"globalSeriesType": "column", "columnMapping": {"region": "x", "n": "y"}},
        },
    ).json()
    d = new_dashboard(new_org.editor)
    new_org.editor.post(
        f"/api/v1/dashboards/{d['id']}/widgets",
        json={"visualization_id": chart["id"], "options": position(0, 0)},
    )
    new_org.editor.post(
        f"/api/v1/dashboards/{d['id']}/widgets", json={"text": "# Regions", **{"options": position(3, 0)}}
    )
    image = new_org.viewer.get(f"/api/v1/dashboards/{d['slug']}/image.png")
    assert image.status_code == 200, image.text
    assert image.headers["content-type"] == "image/png" and image.content[:8] == b"\x89PNG\r\n\x1a\n"
    thumbnail = new_org.viewer.get(f"/api/v1/dashboards/{d['id']}/image.png", params={"thumbnail": True})
    assert thumbnail.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert png_width(thumbnail.content) < png_width(image.content) / 2
    pdf = new_org.viewer.get(f"/api/v1/dashboards/{d['id']}/document.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")
