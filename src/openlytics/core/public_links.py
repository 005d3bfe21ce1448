"""Public links: revocable tokens that let anyone with the URL see one dashboard, read-only."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select, update

from openlytics.core.access import ObjectAccess, require_access
from openlytics.core.errors import NotFoundError, PermissionDeniedError
from openlytics.core.principal import Action, Principal
from openlytics.core.secrets import SecretBox, new_token, token_hash
from openlytics.store.db import Database
from openlytics.store.models import Dashboard, PublicLink
from openlytics.store.types import utcnow


class PublicLinkService:
    """Share a dashboard by token, revoke it, and resolve a token to its one dashboard."""

    def __init__(self, db: Database, box: SecretBox) -> None:
        self.db = db
        self.box = box
        self.sharing: ObjectAccess | None = None  # set by the application (docs/governance.md)

    def share(self, principal: Principal, dashboard_id: int) -> str:
        """The dashboard's public token: the active one, or a new one."""
        principal.require(Action.WRITE, f"dashboard {dashboard_id}")
        if principal.is_query_key:
            raise PermissionDeniedError("share", f"dashboard {dashboard_id}")
        with self.db.session() as s:
            dashboard = s.get(Dashboard, dashboard_id)
            if dashboard is None or dashboard.org_id != principal.org_id or dashboard.is_archived:
                raise NotFoundError("dashboard", dashboard_id)
            require_access(self.sharing, principal, "dashboard", dashboard_id, "MODIFY")
            active = s.scalar(_active(dashboard_id))
            if active is not None:
                return self.box.decrypt(active.token_encrypted)
            token = new_token()
            s.add(
                PublicLink(
                    org_id=principal.org_id,
                    dashboard_id=dashboard_id,
                    created_by_id=principal.user_id,
                    token_hash=token_hash(token),
                    token_encrypted=self.box.encrypt(token),
                )
            )
            return token

    def current(self, principal: Principal, dashboard_id: int) -> str | None:
        """The active token of a dashboard, if it is shared."""
        principal.require(Action.READ, f"dashboard {dashboard_id}")
        with self.db.session() as s:
            dashboard = s.get(Dashboard, dashboard_id)
            if dashboard is None or dashboard.org_id != principal.org_id:
                raise NotFoundError("dashboard", dashboard_id)
            require_access(self.sharing, principal, "dashboard", dashboard_id)
            active = s.scalar(_active(dashboard_id))
            return self.box.decrypt(active.token_encrypted) if active else None

    def revoke(self, principal: Principal, dashboard_id: int) -> None:
        """Stop sharing: every token of the dashboard stops working at once."""
        principal.require(Action.WRITE, f"dashboard {dashboard_id}")
        with self.db.session() as s:
            dashboard = s.get(Dashboard, dashboard_id)
            if dashboard is None or dashboard.org_id != principal.org_id:
                raise NotFoundError("dashboard", dashboard_id)
            require_access(self.sharing, principal, "dashboard", dashboard_id, "MODIFY")
            s.execute(
                update(PublicLink)
                .where(PublicLink.dashboard_id == dashboard_id, PublicLink.revoked_at.is_(None))
                .values(revoked_at=utcnow())
            )

    def resolve(self, token: str) -> tuple[Principal, int]:
        """A read-only principal of the dashboard's organization and the one dashboard it reaches."""
        with self.db.session() as s:
            link = s.scalar(select(PublicLink).where(PublicLink.token_hash == token_hash(token)))
            dashboard = s.get(Dashboard, link.dashboard_id) if link is not None else None
        if link is None or link.revoked_at is not None or dashboard is None or dashboard.is_archived:
            raise NotFoundError("shared dashboard", "link")
        return Principal.public(link.org_id), link.dashboard_id


def _active(dashboard_id: int) -> Select[Any]:
    return (
        select(PublicLink)
        .where(PublicLink.dashboard_id == dashboard_id, PublicLink.revoked_at.is_(None))
        .order_by(PublicLink.id.desc())
        .limit(1)
    )
