"""The account: repository, login, users, settings, deployment, credits and notifications."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from fastapi.responses import JSONResponse, Response

from openlytics.core.errors import InvalidInputError
from openlytics.dialects.alooma.dispatch import Call, Routes
from openlytics.store.models import PipelineNotification

routes = Routes()


@routes.get("repository")
def get_account_name(call: Call) -> dict[str, Any]:
    """The constructor's account discovery: `config_clientName` is the organization's slug."""
    return {"config_clientName": call.app.identity.get_organization(call.principal).slug}


@routes.post("login", public=True)
def login(call: Call) -> Response:
    """`{"email", "password"}` -> 200 and the session cookie (the client's lazy login)."""
    body = call.json_object()
    email, password = body.get("email"), body.get("password")
    if not isinstance(email, str) or not isinstance(password, str):
        raise InvalidInputError("body", '{"email": ..., "password": ...}')
    token, user = call.app.identity.login(email, password, call.account)
    response = JSONResponse({"email": user.email, "name": user.name})
    settings = call.app.settings
    response.set_cookie(
        settings.session_cookie_name,
        token,
        max_age=settings.session_ttl_seconds,
        httponly=True,
        samesite="lax",
        secure=call.request.url.scheme == "https",
        path="/",
    )
    return response


@routes.get("user")
def get_users(call: Call) -> list[dict[str, Any]]:
    """The organization's users; pending = no password and never seen."""
    out: list[dict[str, Any]] = []
    page = 1
    while True:
        batch = call.app.identity.list_users(call.principal, page=page, per_page=250)
        for user in batch.items:
            first, _, last = (user.name or "").partition(" ")
            out.append(
                {
                    "email": user.email,
                    "first_name": first,
                    "last_name": last,
                    "isPending": user.password_hash is None and user.last_seen_at is None,
                }
            )
        if page * 250 >= batch.total:
            return out
        page += 1


@routes.get("settings")
def get_settings(call: Call) -> dict[str, Any]:
    """E-mail digests and S3 retention."""
    service = call.app.pipeline_settings
    return {
        "email-notifications": service.email_notifications(call.principal),
        "s3-retention": service.s3_retention(call.principal),
    }


@routes.post("settings/email-notifications")
def set_settings_email_notifications(call: Call) -> dict[str, Any]:
    """Replace the digest settings."""
    return call.app.pipeline_settings.set_email_notifications(call.principal, call.json_object())


@routes.post("settings/s3-retention")
def set_s3_retention(call: Call) -> dict[str, Any]:
    """Archive raw events to S3 (stored; the secret masked)."""
    return call.app.pipeline_settings.set_s3_retention(call.principal, call.json_object())


@routes.delete("settings/s3-retention")
def delete_s3_retention(call: Call) -> dict[str, Any]:
    """Stop archiving (also when nothing was set)."""
    call.app.pipeline_settings.delete_s3_retention(call.principal)
    return {}


@routes.get("deployInfo")
def get_deployment_info(call: Call) -> dict[str, Any]:
    """The deployment's name and build."""
    return call.app.pipeline_settings.deployment_info(call.principal)


@routes.get("credits/company")
def get_company_credits(call: Call) -> dict[str, Any]:
    """This month's credit account."""
    return call.app.pipeline_settings.company_credits(call.principal)


@routes.get("credits/used-credits")
def get_used_credits(call: Call) -> list[dict[str, Any]]:
    """Credits per day (`all=True` changes nothing: one instance per organization)."""
    return call.app.pipeline_settings.used_credits(
        call.principal, from_day=_day(call.arg("from"), "from"), to_day=_day(call.arg("to"), "to")
    )


@routes.get("notifications")
def get_notifications(call: Call) -> dict[str, Any]:
    """Notifications since `from` (epoch seconds)."""
    since = call.arg("from")
    try:
        moment = datetime.fromtimestamp(float(since or 0), UTC)
    except (ValueError, OverflowError):
        raise InvalidInputError("from", "epoch seconds") from None
    messages = call.app.pipeline_notifications.since(call.principal, moment)
    return {"messages": [_notification(n) for n in messages]}


@routes.post("notifications/custom")
def publish_notification(call: Call) -> dict[str, Any]:
    """A notification of the caller's own (`{"level", "description", "data"}`)."""
    body = call.json_object()
    level = str(body.get("level") or "info").lower()
    description = body.get("description")
    if not isinstance(description, str):
        raise InvalidInputError("description", "a string")
    record = call.app.pipeline_notifications.publish(call.principal, level, description, body.get("data"))
    return _notification(record)


def _notification(n: PipelineNotification) -> dict[str, Any]:
    return {
        "id": str(n.uuid),
        "type": n.type,
        "timestamp": int(n.created_at.timestamp() * 1000),
        "params": n.params,
        "state": n.state,
        "aggregatedCount": n.aggregated_count,
        "message": n.message,
        "typeDescription": n.type.replace("_", " ").capitalize(),
        "severity": n.severity,
        "description": n.description or n.message,
    }


def _day(value: str | None, field: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInputError(field, "a day, YYYY-MM-DD") from None
