"""The SDK's dashboards, widgets, visualizations, alerts and destinations against a live server."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from openlytics.client import (
    AsyncClient,
    Dashboard,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
    Widget,
)
from tests.client.conftest import SdkOrg

PNG = b"\x89PNG\r\n\x1a\n"


def test_dashboards_are_created_found_edited_and_archived(org: SdkOrg) -> None:
    created = org.editor.dashboards.create("Weekly KPIs", tags=["kpi"])
    assert isinstance(created, Dashboard) and created.slug == "weekly-kpis" and created.is_draft
    org.editor.dashboards.create("Other")
    assert (
        org.viewer.dashboards.get("weekly-kpis").id == created.id == org.viewer.dashboards.get(created.id).id
    )
    edited = org.editor.dashboards.update(created.id, name="KPIs", is_draft=False)
    assert edited.name == "KPIs" and not edited.is_draft and edited.version == 2
    assert [d.name for d in org.viewer.dashboards.list(tag="kpi")] == ["KPIs"]
    assert [d.name for d in org.viewer.dashboards.list(search="oth")] == ["Other"]
    org.editor.dashboards.archive(created.id)
    assert [d.name for d in org.viewer.dashboards.list()] == ["Other"]
    assert {d.name for d in org.viewer.dashboards.list(include_archived=True)} == {"KPIs", "Other"}
    with pytest.raises(TypeError, match="colour"):
        org.editor.dashboards.update(created.id, colour="red")


def test_list_iterates_every_page(org: SdkOrg) -> None:
    for i in range(260):  # more than one page of 250
        org.editor.dashboards.create(f"board {i}")
    assert len({d.id for d in org.viewer.dashboards.list()}) == 260


def test_widgets_and_visualizations_through_the_sdk(org: SdkOrg) -> None:
    query = org.editor.queries.create(
        "regions", "SELECT * FROM (VALUES ('north', 7), ('south', 3)) t(region, n)"
    )
    org.editor.queries.run(query.id)
    [table] = list(org.viewer.visualizations.list(query.id))
    assert table.type == "TABLE" and table.query_id == query.id
    chart = org.editor.visualizations.create(
        query.id, "CHART", "By region", options={"columnMapping": {"region": "x", "n": "y"}}
    )
    assert org.viewer.visualizations.get(chart.id).name == "By region"
    assert org.editor.visualizations.update(chart.id, description="units").description == "units"
    with pytest.raises(ValidationError) as bad:
        org.editor.visualizations.create(query.id, "COUNTER", options={"counterColName": "nope"})
    assert bad.value.details["field"] == "options.counterColName"
    board = org.editor.dashboards.create("Regions")
    widget = org.editor.dashboards.add_widget(
        board.id, chart.id, position={"col": 0, "row": 0, "sizeX": 4, "sizeY": 8}
    )
    note = org.editor.dashboards.add_widget(board.id, text="Numbers are **units**", width=2)
    assert isinstance(widget, Widget) and widget.query_id == query.id and widget.position["sizeX"] == 4
    assert note.visualization is None and note.query_id is None
    moved = org.editor.dashboards.update_widget(
        note.id, options={"position": {"col": 4, "row": 0, "sizeX": 2}}
    )
    assert moved.position == {"col": 4, "row": 0, "sizeX": 2, "sizeY": 8}
    full = org.viewer.dashboards.get(board.slug)
    assert [w.id for w in full.widgets] == [widget.id, note.id]
    assert full.widgets[0].visualization is not None and full.widgets[0].visualization.name == "By region"
    assert org.viewer.dashboards.image(board.id).startswith(PNG)
    assert org.viewer.dashboards.image(board.slug, thumbnail=True).startswith(PNG)
    assert org.viewer.dashboards.pdf(board.id).startswith(b"%PDF-")
    org.editor.dashboards.delete_widget(note.id)
    org.editor.visualizations.delete(chart.id)
    assert org.viewer.dashboards.get(board.id).widgets == []


def test_stars_and_public_links(org: SdkOrg) -> None:
    board = org.editor.dashboards.create("Shared")
    org.editor.dashboards.add_widget(board.id, text="visible to anyone with the link")
    org.viewer.dashboards.favorite(board.id)
    assert [d.id for d in org.viewer.dashboards.list(favorites=True)] == [board.id]
    assert list(org.editor.dashboards.list(favorites=True)) == []
    org.viewer.dashboards.unfavorite(board.id)
    assert list(org.viewer.dashboards.list(favorites=True)) == []
    link = org.editor.dashboards.share(board.id)
    assert link.url.endswith(link.token) and org.viewer.dashboards.get(board.id).public_url == link.url
    assert "visible to anyone" in httpx.get(link.url, timeout=60).text
    org.editor.dashboards.unshare(board.id)
    assert httpx.get(link.url, timeout=60).status_code == 404
    with pytest.raises(PermissionDeniedError):
        org.viewer.dashboards.share(board.id)


def test_alerts_and_destinations_through_the_sdk(org: SdkOrg) -> None:
    query = org.editor.queries.create("errors", "SELECT 3 AS failures")
    alert = org.editor.alerts.create(
        "Failures", query.id, {"column": "failures", "op": ">=", "value": 1}, rearm=60
    )
    assert alert.state == "unknown" and alert.rearm == 60
    assert [a.id for a in org.viewer.alerts.list()] == [alert.id]
    assert org.editor.alerts.update(alert.id, muted=True).muted is True
    hook = org.admin.destinations.create(
        "hook", "webhook", {"url": "http://127.0.0.1:9/h", "password": "secret"}
    )
    assert hook.options["password"] != "secret" and [d.name for d in org.viewer.destinations.list()] == [
        "hook"
    ]
    sub = org.editor.alerts.subscribe(alert.id, hook.id)
    assert {s.destination_id for s in org.viewer.alerts.subscriptions(alert.id)} == {None, hook.id}
    org.editor.alerts.unsubscribe(alert.id, sub.id)
    assert len(org.viewer.alerts.subscriptions(alert.id)) == 1
    with pytest.raises(ValidationError) as bad:
        org.editor.alerts.create("x", query.id, {"column": "failures", "op": "≈", "value": 1})
    assert bad.value.details["field"] == "options.op"
    org.admin.destinations.delete(hook.id)
    org.editor.alerts.delete(alert.id)
    with pytest.raises(NotFoundError):
        org.viewer.alerts.get(alert.id)


def test_the_async_client_has_the_same_resources(org: SdkOrg, server: Any) -> None:
    async def scenario() -> tuple[str, list[str], bytes]:
        async with AsyncClient(server.url, org.keys["editor"]) as client:
            query = await client.queries.create("n", "SELECT 1 AS n")
            board = await client.dashboards.create("Async board")
            [table] = [v async for v in client.visualizations.list(query.id)]
            await client.dashboards.add_widget(board.id, table.id)
            names = [d.name async for d in client.dashboards.list()]
            return (
                (await client.dashboards.get(board.slug)).widgets[0].raw["query"]["name"],
                names,
                (await client.dashboards.pdf(board.id))[:5],
            )

    query_name, names, pdf = asyncio.run(scenario())
    assert query_name == "n" and names == ["Async board"] and pdf == b"%PDF-"
