"""What makes this dialect different, as data."""

from __future__ import annotations

from openlytics.dialects.capabilities import Capabilities

CAPABILITIES = Capabilities(
    vendor="tonalytica",
    prefix="/tonalytica",
    auth_schemes=("Key", "api_key query parameter"),
    id_kind="integer",
    pagination="page/page_size with count",
    timestamp_format="ISO-8601 UTC",
    # tonalytica-client treats anything but 200 as failure, creates included.
    success_status=200,
    unauthenticated_status=403,
    default_page_size=25,
)
