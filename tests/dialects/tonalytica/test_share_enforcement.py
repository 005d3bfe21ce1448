"""Shares enforced through the TONalytica dialect without dialect code: a query shared with a group
is read and run by its members and invisible to the organization's other users (tonalytica-client)."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.dialects.tonalytica.conftest import Tonalytica, unique


def outsider_key(ton: Tonalytica) -> str:
    """The API key of a new viewer of the organization, in no group."""
    created = ton.org.admin.post(
        "/api/v1/users", json={"email": f"out-{uuid.uuid4().hex[:6]}@x.test", "name": "outsider"}
    )
    assert created.status_code == 201, created.text
    key = ton.org.admin.post("/api/v1/api-keys", json={"name": "o", "user_id": created.json()["id"]})
    assert key.status_code == 201, key.text
    return str(key.json()["key"])


def test_a_query_shared_with_a_group_is_invisible_to_others_through_the_dialect(ton: Tonalytica) -> None:
    admin = ton.org.admin
    group = admin.post("/api/v1/groups", json={"name": "Readers"}).json()["id"]
    members = {"user_ids": [ton.org.viewer_user_id]}
    assert admin.put(f"/api/v1/groups/{group}/members", json=members).status_code == 204
    secret = ton.admin.create_query(
        ton.warehouse_id, unique("secret"), "SELECT count(*) AS n FROM sales"
    ).json()
    public = ton.admin.create_query(ton.warehouse_id, unique("public"), "SELECT 1 AS n").json()
    grants = [{"principal": "group", "id": group, "mode": "READ_ONLY"}]
    assert admin.put(f"/api/v1/shares/query/{secret['id']}", json={"grants": grants}).status_code == 200

    member = ton.client_for(ton.org.keys["viewer"])
    assert member.get_query(secret["id"])["id"] == secret["id"]
    assert secret["id"] in {q["id"] for q in member.queries(page_size=100)["results"]}

    outsider = ton.client_for(outsider_key(ton))
    with pytest.raises(Exception, match=r"404"):
        outsider.get_query(secret["id"])
    listed = {q["id"] for q in outsider.queries(page_size=100)["results"]}
    assert public["id"] in listed and secret["id"] not in listed

    with ton.raw(ton.org.keys["viewer"]) as as_member:
        ran = as_member.post(f"/api/queries/{secret['id']}/results", json={"max_age": 0})
        assert ran.status_code == 200, ran.text
    with ton.raw(outsider_key(ton)) as as_outsider:
        refused: httpx.Response = as_outsider.post(
            f"/api/queries/{secret['id']}/results", json={"max_age": 0}
        )
        assert refused.status_code == 404, refused.text
