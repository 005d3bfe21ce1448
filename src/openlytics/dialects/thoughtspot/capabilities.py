"""What makes the ThoughtSpot dialect different, as data."""

from __future__ import annotations

from openlytics.dialects.capabilities import Capabilities

CAPABILITIES = Capabilities(
    vendor="thoughtspot",
    prefix="/thoughtspot",
    auth_schemes=(
        "session cookie JSESSIONID (V1 session/login, session/login/token; V2 auth/session/login)",
        "Bearer <user token (auth/token/full), OAuth access token or API key>",
    ),
    id_kind="guid",
    pagination="V1 offset/batchsize, V2 record_offset/record_size (-1 = all)",
    timestamp_format="epoch milliseconds",
    success_status=200,
    unauthenticated_status=401,
    default_page_size=10,
)
#: Where the V1 public API and the V2 API live under the prefix.
V1 = "/callosum/v1/tspublic/v1"
V2 = "/api/rest/2.0"
