"""Event pipelines: inputs, Code Engine transforms, event types and mappings, outputs (docs/pipeline.md)."""

from openlytics.core.errors import PermissionDeniedError
from openlytics.core.principal import Action, Principal


def require_read(principal: Principal, resource: str = "pipeline") -> None:
    """READ on the organization's pipeline; a key scoped to a query (or to objects) reaches none of it."""
    principal.require(Action.READ, resource)
    if principal.query_scope is not None or principal.object_scope is not None:
        raise PermissionDeniedError(Action.READ.value, resource)
