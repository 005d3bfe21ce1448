"""What the dialects contribute to the core, installed in every process that builds it.

The API server, `openlytics worker` and `openlytics scheduler` all build the same `Openlytics`; each
must see the dialects' contributions, or work done outside the API process would differ from work
done inside it (a Serenytics script run on a worker without its `params.json` keys, say).
"""

from __future__ import annotations

from openlytics.app import Openlytics


def install_dialects(core: Openlytics) -> None:
    """Register the dialects' contributions on `core` (idempotent)."""
    from openlytics.api import dataset_loads
    from openlytics.dialects import alooma, serenytics
    from openlytics.dialects.serenytics import background

    # Scripts get what the vendor clients read inside them (params.json, API domain).
    if serenytics.script_environment not in core.scripts.contributors:
        core.scripts.contributors.append(serenytics.script_environment)
    # Background tasks run wherever the core runs them (a worker too): their handlers.
    background.install(core)
    # Not a dialect's, but installed with them so workers get it: the native API's async file loads.
    dataset_loads.install(core)
    # REST inputs show the address of the webhook the alooma dialect serves.
    alooma.install(core)
