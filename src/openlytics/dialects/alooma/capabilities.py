"""What makes the Alooma dialect different, as data."""

from __future__ import annotations

from openlytics.dialects.capabilities import Capabilities

CAPABILITIES = Capabilities(
    vendor="alooma",
    prefix="/alooma",
    auth_schemes=("API", "session cookie"),
    id_kind="uuid",
    pagination="none: whole lists",
    timestamp_format="epoch milliseconds",
    success_status=200,
    unauthenticated_status=401,
    default_page_size=1000,
)
