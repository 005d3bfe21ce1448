"""`openlytics groups ...` and `openlytics share ...` against the live server."""

from __future__ import annotations

import json
import uuid
from typing import Any

from tests.cli.conftest import Invoke


def created_id(output: str, what: str) -> str:
    return output.split(f"Created {what} ")[1].split()[0]


def test_admins_manage_groups_from_the_command_line(cli: Invoke, new_org: Any) -> None:
    name = f"group-{uuid.uuid4().hex[:6]}"
    created = cli(
        "groups", "create", name, "--display-name", "Analysts", "-p", "DATADOWNLOADING", role="admin"
    )
    assert created.exit_code == 0, created.output
    group_id = created_id(created.output, "group")
    viewer, editor = str(new_org.viewer_user_id), str(new_org.editor_user_id)
    added = cli("groups", "add-member", group_id, viewer, editor, role="admin")
    assert added.exit_code == 0 and "Added users" in added.output, added.output
    assert cli("groups", "remove-member", group_id, editor, role="admin").exit_code == 0
    members = json.loads(cli("groups", "members", group_id, "--json", role="viewer").output)
    assert [u["id"] for u in members["users"]] == [new_org.viewer_user_id] and members["groups"] == []
    assert "viewer@" in cli("groups", "members", group_id, role="admin").output

    changed = cli(
        "groups", "privileges", group_id, "--add", "BYPASSRLS", "--remove", "DATADOWNLOADING", role="admin"
    )
    assert changed.exit_code == 0, changed.output
    assert cli("groups", "privileges", group_id, role="viewer").output.strip() == "BYPASSRLS"
    unknown = cli("groups", "privileges", group_id, "--add", "ROOT", role="admin")
    assert unknown.exit_code == 1 and "[invalid_input]" in unknown.output

    listed = json.loads(cli("groups", "list", "--pattern", "analysts", "--json", role="viewer").output)
    assert [g["name"] for g in listed] == [name] and listed[0]["privileges"] == ["BYPASSRLS"]
    assert name in cli("groups", "list", role="viewer").output
    denied = cli("groups", "create", "nope", role="editor")
    assert denied.exit_code == 1 and "[permission_denied]" in denied.output
    assert cli("groups", "delete", group_id, role="admin").exit_code == 0
    assert name not in cli("groups", "list", role="admin").output


def test_sharing_from_the_command_line(cli: Invoke, new_org: Any) -> None:
    query = new_org.editor.post("/api/v1/queries", json={"name": "shared", "sql": "SELECT 1"})
    assert query.status_code == 201, query.text
    query_id = str(query.json()["id"])
    group = cli("groups", "create", f"readers-{uuid.uuid4().hex[:6]}", role="admin")
    group_id = created_id(group.output, "group")

    open_ = cli("share", "show", "query", query_id, role="viewer")
    assert open_.exit_code == 0 and "open to the organization" in open_.output and "READ_ONLY" in open_.output
    granted = cli("share", "grant", "query", query_id, "--group", group_id, "--mode", "modify")
    assert granted.exit_code == 0, granted.output
    assert "group" in granted.output and "MODIFY" in granted.output
    hidden = cli("share", "show", "query", query_id, role="viewer")
    assert hidden.exit_code == 1 and "[not_found]" in hidden.output
    effective = json.loads(cli("share", "show", "query", query_id, "--effective", "--json").output)
    assert {"principal": "user", "id": new_org.editor_user_id, "mode": "MODIFY"} in effective["grants"]
    revoked = cli("share", "revoke", "query", query_id, "-g", group_id)
    assert revoked.exit_code == 0 and "none (open to the organization)" in revoked.output
    assert cli("share", "show", "query", query_id, role="viewer").exit_code == 0
