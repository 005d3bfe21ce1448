"""Groups and shares to the JSON shapes of docs/api.md."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from openlytics.api.serializers import iso
from openlytics.core.governance.sharing import PrincipalRef
from openlytics.store.models import Team

# The core says "team" (the row), the API "group" (the concept).
API_PRINCIPAL_KINDS = {"user": "user", "team": "group"}


def group(t: Team) -> dict[str, Any]:
    """Group."""
    return {
        "id": t.id,
        "uuid": str(t.uuid),
        "name": t.name,
        "display_name": t.display_name,
        "description": t.description,
        "visibility": t.visibility,
        "privileges": list(t.privileges or []),
        "author_id": t.author_id,
        "parameters": dict(t.parameters or {}),
        "created_at": iso(t.created_at),
        "updated_at": iso(t.updated_at),
    }


def groups(items: list[Team]) -> dict[str, Any]:
    """`{"items": [Group]}`."""
    return {"items": [group(t) for t in items]}


def grants(found: Mapping[PrincipalRef, str]) -> list[dict[str, Any]]:
    """Grants as `[{"principal": "user"|"group", "id", "mode"}]`, users first, by id."""
    return [
        {"principal": API_PRINCIPAL_KINDS[kind], "id": principal_id, "mode": mode}
        for (kind, principal_id), mode in sorted(
            found.items(), key=lambda item: (item[0][0] != "user", item[0][1])
        )
    ]


def shared_objects(found: list[tuple[str, int, str]]) -> dict[str, Any]:
    """`{"items": [{"kind", "object_id", "mode"}]}`."""
    return {
        "items": [{"kind": kind, "object_id": object_id, "mode": mode} for kind, object_id, mode in found]
    }
