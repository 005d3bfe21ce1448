"""What makes the ClicData dialect different, as data."""

from __future__ import annotations

from openlytics.dialects.capabilities import Capabilities

CAPABILITIES = Capabilities(
    vendor="clicdata",
    prefix="/clicdata",
    auth_schemes=("OAuth2 client_credentials (Bearer)", "Basic <client id + base64(user:password)>"),
    id_kind="integer",
    pagination="page=N (from 1): data, has_more_data, page, count",
    timestamp_format="ISO-8601",
    success_status=200,
    unauthenticated_status=401,
    default_page_size=1000,
)
#: `pagesize` may ask for at most this many rows per page.
MAX_PAGE_SIZE = 10_000
