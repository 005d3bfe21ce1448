"""Credentials never reach the logs: the access log shows request targets with their secrets masked.

Some clients must put a credential in the URL: TONalytica's `?api_key=`, signed download and upload
URLs (`sig=`), the token of a public dashboard link or of a webhook in the path. The access log
(`uvicorn.access`) would write them in clear; `AccessLogRedaction` replaces them with `***` before a
record is formatted. It is installed in every API process when the application starts.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import parse_qsl, urlencode

MASK = "***"
SECRET_PARAMETERS = frozenset(
    {
        "api_key",
        "apikey",
        "key",
        "token",
        "access_token",
        "auth_token",
        "refresh_token",
        "sig",
        "signature",
        "password",
        "secret",
        "secret_key",
        "client_secret",
        "code",
    }
)
# Paths whose segment after the prefix is a credential (public links, webhooks, push tokens).
SECRET_PATH_SEGMENTS = (
    re.compile(r"(/public/dashboards/)[^/?#.]+"),
    re.compile(r"(/dashboards/public/)[^/?#]+"),
    re.compile(r"(/inputs/rest/)[^/?#]+"),
    re.compile(r"(/push/)[^/?#]+"),
)


def redact_target(target: str) -> str:
    """`target` (a path with its query) with credentials in the path and the query masked."""
    path, mark, query = target.partition("?")
    for pattern in SECRET_PATH_SEGMENTS:
        path = pattern.sub(lambda m: m.group(1) + MASK, path)
    if not mark:
        return path
    pairs = parse_qsl(query, keep_blank_values=True)
    masked = [(name, MASK if name.lower() in SECRET_PARAMETERS else value) for name, value in pairs]
    return f"{path}?{urlencode(masked, safe='*')}"


class AccessLogRedaction(logging.Filter):
    """Masks the request target of uvicorn's access records (args: client, method, target, ...)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], redact_target(args[2]), *args[3:])
        return True


def install_access_log_redaction() -> None:
    """Add the filter to `uvicorn.access` once per process."""
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, AccessLogRedaction) for f in access.filters):
        access.addFilter(AccessLogRedaction())
