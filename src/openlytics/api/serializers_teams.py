"""Teams to the JSON shapes of docs/api.md."""

from __future__ import annotations

from typing import Any

from openlytics.api.serializers import iso
from openlytics.store.models import Team


def team(t: Team, member_ids: list[int]) -> dict[str, Any]:
    """Team, with the ids of its members."""
    return {
        "id": t.id,
        "uuid": str(t.uuid),
        "name": t.name,
        "description": t.description,
        "parameters": dict(t.parameters or {}),
        "member_ids": member_ids,
        "created_at": iso(t.created_at),
        "updated_at": iso(t.updated_at),
    }
