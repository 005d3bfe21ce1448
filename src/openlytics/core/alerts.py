"""Alerts: a condition on a query's latest result, checked after every successful run.

States: `unknown` (no rows, or no such column), `ok`, `triggered`. Subscribers are notified when the
state changes to triggered or back to ok, and again while it stays triggered once `rearm` seconds
have passed since the last notification.
"""

from __future__ import annotations

import builtins
import logging
import operator
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import lazyload

from openlytics.core.access import ObjectAccess, require_access, without_hidden
from openlytics.core.errors import InvalidInputError, NotFoundError, PermissionDeniedError
from openlytics.core.notifications import DestinationService, Message, NotificationError, Sender
from openlytics.core.principal import Action, Principal
from openlytics.results.formats import rows_as_json_objects
from openlytics.results.store import ResultStore
from openlytics.store.db import Database
from openlytics.store.models import (
    Alert,
    AlertSubscription,
    Job,
    NotificationDestination,
    Query,
    QueryResult,
    User,
)
from openlytics.store.types import utcnow

log = logging.getLogger(__name__)

OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
}
# Older spellings some clients still send.
OPERATOR_ALIASES = {"greater than": ">", "less than": "<", "equals": "=="}
EDITABLE_FIELDS = frozenset({"name", "options", "query_id", "rearm", "muted"})


def evaluate(options: dict[str, Any], rows: list[dict[str, Any]]) -> str:
    """The state of a condition on the first row of a result: ok, triggered or unknown."""
    if not rows or options.get("column") not in rows[0]:
        return "unknown"
    op = OPERATORS[OPERATOR_ALIASES.get(options["op"], options["op"])]
    actual, threshold = rows[0][options["column"]], options.get("value")
    if actual is None:
        return "unknown"
    try:
        triggered = op(float(actual), float(threshold))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        triggered = op(str(actual), str(threshold))
    return "triggered" if triggered else "ok"


class AlertService:
    """Alert definitions, their subscribers, and their evaluation after each query run."""

    def __init__(
        self,
        db: Database,
        results: ResultStore,
        destinations: DestinationService,
        sender: Sender,
        *,
        base_url: Callable[[], str] = lambda: "",
    ) -> None:
        self.db = db
        self.results = results
        self.destinations = destinations
        self.sender = sender
        self.base_url = base_url
        self._outbox = ThreadPoolExecutor(max_workers=2, thread_name_prefix="notify")
        self.sharing: ObjectAccess | None = None  # set by the application (docs/governance.md)

    # ----- definitions -------------------------------------------------------------------
    def list(self, principal: Principal) -> builtins.list[Alert]:
        """Alerts of the organization."""
        _require(principal, Action.READ)
        with self.db.session() as s:
            stmt = select(Alert).where(Alert.org_id == principal.org_id)
            stmt = without_hidden(stmt, self.sharing, principal, "query", Alert.query_id)
            return list(s.scalars(stmt.order_by(Alert.id)))

    def get(self, principal: Principal, alert_id: int) -> Alert:
        """One alert."""
        _require(principal, Action.READ)
        with self.db.session() as s:
            return self._get(s, principal, alert_id)

    def create(
        self, principal: Principal, *, name: Any, query_id: Any, options: Any, rearm: Any = None
    ) -> Alert:
        """A new alert on a saved query, in state unknown until the query next runs."""
        _require(principal, Action.WRITE)
        with self.db.session() as s:
            alert = Alert(org_id=principal.org_id, user_id=principal.user_id, state="unknown")
            fields = {"name": name, "query_id": query_id, "options": options, "rearm": rearm}
            _apply(s, principal, alert, fields, self.sharing)
            s.add(alert)
            s.flush()
            if principal.user_id is not None:  # the author hears of it by e-mail, as in most tools
                s.add(
                    AlertSubscription(org_id=principal.org_id, alert_id=alert.id, user_id=principal.user_id)
                )
            _ = alert.user
            return alert

    def update(self, principal: Principal, alert_id: int, **changes: Any) -> Alert:
        """Change name, options, query, rearm or muted."""
        _require(principal, Action.WRITE)
        unknown = set(changes) - EDITABLE_FIELDS
        if unknown:
            raise InvalidInputError(sorted(unknown)[0], "unknown field")
        with self.db.session() as s:
            alert = self._get(s, principal, alert_id)
            _apply(s, principal, alert, changes, self.sharing)
            alert.updated_at = utcnow()
            return alert

    def delete(self, principal: Principal, alert_id: int) -> None:
        """Delete an alert."""
        _require(principal, Action.WRITE)
        with self.db.session() as s:
            s.delete(self._get(s, principal, alert_id))

    # ----- subscriptions -----------------------------------------------------------------
    def subscriptions(self, principal: Principal, alert_id: int) -> builtins.list[AlertSubscription]:
        """Who hears of an alert."""
        _require(principal, Action.READ)
        with self.db.session() as s:
            self._get(s, principal, alert_id)
            stmt = select(AlertSubscription).where(AlertSubscription.alert_id == alert_id)
            return list(s.scalars(stmt.order_by(AlertSubscription.id)))

    def subscribe(
        self, principal: Principal, alert_id: int, *, destination_id: Any = None
    ) -> AlertSubscription:
        """Subscribe a destination, or the caller by e-mail when no destination is given."""
        _require(principal, Action.READ)
        with self.db.session() as s:
            self._get(s, principal, alert_id)
            if destination_id is not None:
                found = (
                    s.get(NotificationDestination, destination_id)
                    if isinstance(destination_id, int)
                    else None
                )
                if found is None or found.org_id != principal.org_id:
                    raise NotFoundError("destination", destination_id)
            elif principal.user_id is None:
                raise InvalidInputError("destination_id", "required for callers that are not users")
            sub = AlertSubscription(
                org_id=principal.org_id,
                alert_id=alert_id,
                user_id=None if destination_id is not None else principal.user_id,
                destination_id=destination_id,
            )
            s.add(sub)
            s.flush()
            return sub

    def unsubscribe(self, principal: Principal, alert_id: int, subscription_id: int) -> None:
        """Remove a subscription."""
        _require(principal, Action.READ)
        with self.db.session() as s:
            sub = s.get(AlertSubscription, subscription_id)
            if sub is None or sub.org_id != principal.org_id or sub.alert_id != alert_id:
                raise NotFoundError("subscription", subscription_id)
            if sub.user_id != principal.user_id and not principal.can(Action.WRITE):
                raise PermissionDeniedError("unsubscribe", f"subscription {subscription_id}")
            s.delete(sub)

    # ----- evaluation --------------------------------------------------------------------
    def on_query_result(self, job: Job, result: QueryResult) -> None:
        """Runner listener: evaluate the alerts of the query that just produced `result`."""
        with self.db.session() as s:
            alerts = list(s.scalars(select(Alert).where(Alert.query_id == job.query_id)))
        if not alerts:
            return
        reader = self.results.open(result.path)
        try:
            rows = rows_as_json_objects(reader, 1)
        finally:
            reader.close()
        for alert in alerts:
            self._transition(alert.id, evaluate(alert.options, rows), rows)

    def _transition(self, alert_id: int, state: str, rows: builtins.list[dict[str, Any]]) -> None:
        now = utcnow()
        with self.db.session() as s:
            # Locked, so two runs finishing together notify once (SQLite serialises writers anyway).
            alert = s.scalar(
                select(Alert).options(lazyload(Alert.user)).where(Alert.id == alert_id).with_for_update()
            )
            if alert is None:
                return
            previous = alert.state
            changed = state != previous
            rearmed = (
                state == "triggered"
                and not changed
                and alert.rearm is not None
                and alert.last_triggered_at is not None
                and now - alert.last_triggered_at >= timedelta(seconds=alert.rearm)
            )
            alert.state = state
            # News: triggering, or recovering from triggered; a first "ok" is not worth a message.
            notify = (changed and state == "triggered") or (changed and previous == "triggered") or rearmed
            if state == "triggered" and notify:
                alert.last_triggered_at = now
            alert.updated_at = now
            if not notify or alert.muted:
                return
            query = s.get(Query, alert.query_id)
            message = self._message(alert, query, rows)
            targets = self._targets(s, alert)
        for kind, where, auth in targets:
            self._outbox.submit(self._deliver, kind, where, auth, message)

    def _targets(self, s: Any, alert: Alert) -> builtins.list[tuple[str, Any, tuple[str, str] | None]]:
        targets: builtins.list[tuple[str, Any, tuple[str, str] | None]] = []
        for sub in s.scalars(select(AlertSubscription).where(AlertSubscription.alert_id == alert.id)):
            if sub.user_id is not None:
                user = s.get(User, sub.user_id)
                if user is not None and user.disabled_at is None:
                    targets.append(("email", [user.email], None))
            elif sub.destination_id is not None:
                destination = s.get(NotificationDestination, sub.destination_id)
                if destination is None:
                    continue
                options = self.destinations.options(destination)
                if destination.kind == "email":
                    targets.append(("email", options["addresses"], None))
                else:
                    auth = (
                        (options["username"], options.get("password", ""))
                        if options.get("username")
                        else None
                    )
                    targets.append(("webhook", options["url"], auth))
        return targets

    def _deliver(self, kind: str, where: Any, auth: tuple[str, str] | None, message: Message) -> None:
        try:
            if kind == "email":
                self.sender.email(where, message)
            else:
                self.sender.webhook(where, message, auth=auth)
        except NotificationError as exc:
            log.warning("alert notification not delivered: %s", exc)

    def _message(self, alert: Alert, query: Query | None, rows: builtins.list[dict[str, Any]]) -> Message:
        state = alert.state.upper()
        options = alert.options or {}
        subject = options.get("custom_subject") or f"({state}) {alert.name}"
        value = rows[0].get(options.get("column", "")) if rows else None
        link = f"{self.base_url().rstrip('/')}/queries/{alert.query_id}" if self.base_url() else ""
        body = options.get("custom_body") or (
            f"Alert {alert.name!r} is {state}.\n"
            f"Condition: {options.get('column')} {options.get('op')} {options.get('value')}\n"
            f"Value: {value}\nQuery: {query.name if query else alert.query_id} {link}\n"
        )
        payload = {
            "event": "alert_state_change",
            "alert": {
                "id": alert.id,
                "name": alert.name,
                "state": alert.state,
                "options": options,
                "query_id": alert.query_id,
            },
            "value": value,
            "url_base": self.base_url(),
        }
        return Message(subject=subject, body=body, payload=payload)

    def close(self) -> None:
        """Wait for notifications in flight."""
        self._outbox.shutdown(wait=True)

    def _get(self, s: Any, principal: Principal, alert_id: int) -> Alert:
        alert = s.get(Alert, alert_id)
        if alert is None or alert.org_id != principal.org_id:
            raise NotFoundError("alert", alert_id)
        try:  # an alert shows its query's results: as restricted as the query
            require_access(self.sharing, principal, "query", alert.query_id)
        except NotFoundError:
            raise NotFoundError("alert", alert_id) from None
        _ = alert.user
        return alert


def _require(principal: Principal, action: Action) -> None:
    principal.require(action, "alerts")
    if principal.is_query_key:
        raise PermissionDeniedError(action.value, "alerts")


def _apply(
    s: Any, principal: Principal, alert: Alert, fields: dict[str, Any], sharing: ObjectAccess | None
) -> None:
    if "name" in fields:
        name = fields["name"]
        if not isinstance(name, str) or not name.strip() or len(name) > 255:
            raise InvalidInputError("name", "a non-empty string of at most 255 characters")
        alert.name = name.strip()
    if "query_id" in fields:
        query_id = fields["query_id"]
        query = (
            s.get(Query, query_id) if isinstance(query_id, int) and not isinstance(query_id, bool) else None
        )
        if query is None or query.org_id != principal.org_id:
            raise NotFoundError("query", query_id)
        require_access(sharing, principal, "query", query.id)
        alert.query_id = query.id
    if "options" in fields:
        alert.options = _options(fields["options"])
    if "rearm" in fields:
        rearm = fields["rearm"]
        if rearm is not None and (isinstance(rearm, bool) or not isinstance(rearm, int) or rearm < 0):
            raise InvalidInputError("rearm", "a number of seconds, or null")
        alert.rearm = rearm or None
    if "muted" in fields:
        if not isinstance(fields["muted"], bool):
            raise InvalidInputError("muted", "true or false")
        alert.muted = fields["muted"]


def _options(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidInputError("options", "an object with column, op and value")
    column, op = value.get("column"), value.get("op")
    if not isinstance(column, str) or not column:
        raise InvalidInputError("options.column", "the name of a result column")
    if not isinstance(op, str) or OPERATOR_ALIASES.get(op, op) not in OPERATORS:
        raise InvalidInputError("options.op", f"one of {', '.join(OPERATORS)}")
    if "value" not in value or isinstance(value["value"], dict | list):
        raise InvalidInputError("options.value", "a number or a string")
    return dict(value)
