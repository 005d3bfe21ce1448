"""`openlytics teams ...` and `openlytics users delete` against the live server."""

from __future__ import annotations

import json
import uuid
from typing import Any

from tests.cli.conftest import Invoke


def test_admins_manage_teams_from_the_command_line(cli: Invoke, new_org: Any) -> None:
    name = f"team-{uuid.uuid4().hex[:6]}"
    created = cli("teams", "create", name, "--description", "EU sales", role="admin")
    assert created.exit_code == 0, created.output
    team_id = created.output.split("Created team ")[1].split()[0]
    viewer = str(new_org.viewer_user_id)
    assert cli("teams", "add-member", team_id, viewer, role="admin").exit_code == 0
    assert cli("teams", "set-parameter", team_id, "region", "EU", "US", role="admin").exit_code == 0
    typed = cli("teams", "set-parameter", team_id, "year", "2024", "--typed", role="admin")
    assert typed.exit_code == 0, typed.output
    teams = json.loads(cli("teams", "list", "--json", role="admin").output)
    mine = next(t for t in teams if t["name"] == name)
    assert mine["parameters"] == {"region": ["EU", "US"], "year": [2024]}
    assert mine["member_ids"] == [new_org.viewer_user_id]
    assert name in cli("teams", "list", role="viewer").output
    assert cli("teams", "remove-parameter", team_id, "year", role="admin").exit_code == 0
    assert cli("teams", "remove-member", team_id, viewer, role="admin").exit_code == 0
    denied = cli("teams", "create", "nope", role="editor")
    assert denied.exit_code == 1 and "[permission_denied]" in denied.output
    assert cli("teams", "delete", team_id, role="admin").exit_code == 0
    assert name not in cli("teams", "list", role="admin").output


def test_admins_delete_users(cli: Invoke, new_org: Any) -> None:
    deleted = cli("users", "delete", str(new_org.viewer_user_id), "--yes", role="admin")
    assert deleted.exit_code == 0, deleted.output
    assert "viewer@" not in cli("users", "list", role="admin").output
    itself = cli("users", "delete", str(new_org.admin_user_id), "--yes", role="admin")
    assert itself.exit_code == 1 and "yourself" in itself.output
