"""`Capabilities`: the differences between dialects, as data rather than `if vendor == ...` branches."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Capabilities:
    """How one vendor's API looks on the wire."""

    vendor: str
    prefix: str
    auth_schemes: tuple[str, ...]
    id_kind: str  # "integer", "uuid", "guid"
    pagination: str
    timestamp_format: str
    success_status: int = 200
    unauthenticated_status: int = 401
    default_page_size: int = 25
