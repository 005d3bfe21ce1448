"""What a script needs so that `serenytics.Client()` works inside it, as the vendor's convention says.

`params.json` in the working directory holds the run's parameters and `SERENYTICS_API_KEY`;
`PYTHON_CLIENT_API_DOMAIN` points the client at this dialect on our server.
"""

from __future__ import annotations

import json
from typing import Any

from openlytics.dialects.serenytics.capabilities import CAPABILITIES


def script_environment(context: Any) -> tuple[dict[str, str], dict[str, bytes]]:
    """Environment contributor for the core's script runs."""
    params = {**(context.parameters or {}), "SERENYTICS_API_KEY": context.api_key}
    env = {"PYTHON_CLIENT_API_DOMAIN": context.server_url.rstrip("/") + CAPABILITIES.prefix}
    return env, {"params.json": json.dumps(params, default=str).encode()}
