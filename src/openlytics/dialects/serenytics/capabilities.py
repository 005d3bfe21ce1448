"""What makes the Serenytics dialect different, as data."""

from __future__ import annotations

from openlytics.dialects.capabilities import Capabilities

CAPABILITIES = Capabilities(
    vendor="serenytics",
    prefix="/serenytics",
    auth_schemes=("X-Api-Key",),
    id_kind="uuid",
    pagination="Flask-Restless: num_results, objects, page, total_pages",
    timestamp_format="ISO-8601",
    success_status=200,
    unauthenticated_status=401,
    default_page_size=1000,
)
