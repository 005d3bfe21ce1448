"""Teams and users (the README's "To Do" endpoints); team parameters filter what members read."""

from __future__ import annotations

from tests.dialects.clicdata.conftest import ClicData


def test_users_crud_and_password(cd: ClicData) -> None:
    created = cd.call("POST", "user", json={"email": "Ann@Example.test", "name": "Ann", "role": "editor"})
    assert created.status_code == 200, created.text
    user = created.json()["user"]
    assert user["email"] == "ann@example.test" and user["role"] == "editor" and user["enabled"] is True
    listed = cd.call("GET", "user").json()["users"]
    assert user["rec_id"] in [u["rec_id"] for u in listed] and len(listed) == 4
    changed = cd.call(
        "PUT", f"user/{user['rec_id']}", json={"name": "Annie", "role": "viewer", "enabled": False}
    )
    assert changed.json()["user"]["name"] == "Annie" and changed.json()["user"]["enabled"] is False
    assert cd.call("GET", f"user/{user['rec_id']}").json()["users"][0]["role"] == "viewer"
    assert cd.call("PUT", f"user/{user['rec_id']}/password", json={"password": "x"}).status_code == 400
    assert (
        cd.call(
            "PUT", f"user/{user['rec_id']}/password", json={"password": "long-enough-Passw0rd"}
        ).status_code
        == 200
    )
    refused = cd.call("POST", "user", role="editor", json={"email": "x@example.test"})
    assert refused.status_code == 403
    assert cd.call("DELETE", f"user/{user['rec_id']}").json() == {"success": True}
    assert cd.call("GET", f"user/{user['rec_id']}").status_code == 404
    duplicate = cd.call("POST", "user", json={"email": "viewer@" + listed[0]["email"].split("@")[1]})
    assert duplicate.status_code in (400, 409) and duplicate.json()["success"] is False


def test_teams_crud_and_members(cd: ClicData) -> None:
    created = cd.call("POST", "team", json={"name": "Sales", "description": "the sellers"})
    assert created.status_code == 200, created.text
    team = created.json()["team"]
    assert team["name"] == "Sales" and team["users"] == [] and team["parameters"] == {}
    renamed = cd.call("PUT", f"team/{team['rec_id']}", json={"name": "Sales EU"}).json()["team"]
    assert renamed["name"] == "Sales EU" and renamed["description"] == "the sellers"
    by_id = cd.call("POST", f"team/{team['rec_id']}/user", json={"user_id": cd.org.editor_user_id})
    assert by_id.json()["team"]["users"] == [cd.org.editor_user_id]
    viewer_email = cd.call("GET", f"user/{cd.org.viewer_user_id}").json()["users"][0]["email"]
    by_email = cd.call("POST", f"team/{team['rec_id']}/user", json={"email": viewer_email})
    assert by_email.json()["team"]["users"] == sorted([cd.org.editor_user_id, cd.org.viewer_user_id])
    # DELETE bodies may be dropped by clients: the query string works too.
    removed = cd.call("DELETE", f"team/{team['rec_id']}/user", params={"user_id": cd.org.editor_user_id})
    assert removed.json()["team"]["users"] == [cd.org.viewer_user_id]
    assert [t["name"] for t in cd.call("GET", "team").json()["teams"]] == ["Sales EU"]
    assert cd.call("POST", "team", json={"name": "Sales EU"}).status_code == 409
    assert cd.call("POST", "team", role="editor", json={"name": "Mine"}).status_code == 403
    assert cd.call("DELETE", f"team/{team['rec_id']}").json() == {"success": True}
    assert cd.call("GET", "team").json()["teams"] == []
    assert cd.call("PUT", f"team/{team['rec_id']}", json={"name": "x"}).status_code == 404


def test_a_team_parameter_filters_the_rows_members_read(cd: ClicData) -> None:
    rec_id = int(
        cd.call(
            "POST",
            "data",
            json={
                "name": "Orders",
                "columns": [
                    {"name": "region", "data_type": "text"},
                    {"name": "amount", "data_type": "number"},
                ],
            },
        ).text
    )
    rows = [("EU", 1), ("US", 2), ("EU", 3), ("APAC", 4)]
    body = {"data": [[{"column": "region", "value": r}, {"column": "amount", "value": a}] for r, a in rows]}
    assert cd.call("POST", f"data/{rec_id}/row", json=body).status_code == 200
    team = cd.call("POST", "team", json={"name": "Europe"}).json()["team"]
    cd.call("POST", f"team/{team['rec_id']}/user", json={"user_id": cd.org.viewer_user_id})
    param = cd.call("POST", f"team/{team['rec_id']}/parameter", json={"name": "region", "value": "EU"})
    assert param.status_code == 200 and param.json()["team"]["parameters"] == {"region": ["EU"]}

    def amounts(role: str) -> list[float]:
        return sorted(r["amount"] for r in cd.call("GET", f"data/{rec_id}", role=role).json()["data"])

    assert amounts("viewer") == [1, 3]
    assert amounts("editor") == [1, 2, 3, 4]  # not a member
    assert amounts("admin") == [1, 2, 3, 4]
    cd.call("POST", f"team/{team['rec_id']}/parameter", json={"name": "region", "values": ["EU", "US"]})
    assert amounts("viewer") == [1, 2, 3]
    dropped = cd.call("DELETE", f"team/{team['rec_id']}/parameter", params={"name": "region"})
    assert dropped.status_code == 200 and dropped.json()["team"]["parameters"] == {}
    assert amounts("viewer") == [1, 2, 3, 4]
    assert cd.call("DELETE", f"team/{team['rec_id']}/parameter", params={"name": "region"}).status_code == 404
