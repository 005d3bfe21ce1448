"""The organization's trusted-authentication key (admins): show it, rotate it, turn it off.

A backend holding the key obtains tokens for the organization's users without their password
(see docs/governance.md); rotating it makes the old key useless at once.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from openlytics.api.auth import App, CurrentPrincipal
from openlytics.api.serializers import iso
from openlytics.core.user_tokens import TrustedKey

router = APIRouter(tags=["trusted authentication"])


@router.get("/trusted-auth")
def show_trusted_auth(app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """Whether trusted authentication is enabled, and its key."""
    return _shown(app.user_tokens.reveal_trusted_key(principal))


@router.post("/trusted-auth")
def rotate_trusted_auth(app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """A new key (enabling trusted authentication); the previous key stops working."""
    return _shown(app.user_tokens.rotate_trusted_key(principal))


@router.delete("/trusted-auth")
def disable_trusted_auth(app: App, principal: CurrentPrincipal) -> dict[str, Any]:
    """Turn trusted authentication off: the key stops working at once."""
    app.user_tokens.disable_trusted_key(principal)
    return _shown(None)


def _shown(key: TrustedKey | None) -> dict[str, Any]:
    if key is None:
        return {"enabled": False, "secret_key": None, "created_at": None, "rotated_at": None}
    return {
        "enabled": True,
        "secret_key": key.key,
        "created_at": iso(key.created_at),
        "rotated_at": iso(key.rotated_at),
    }
