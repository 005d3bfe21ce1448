"""E-mail: HTML body, an optional dashboard rendered as PDF, an optional uploaded file; a daily quota."""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Any

from fastapi import APIRouter, Request

from openlytics.app import Openlytics
from openlytics.core.emails import OutgoingEmail
from openlytics.core.errors import InvalidInputError
from openlytics.core.notifications import Attachment
from openlytics.core.principal import Principal
from openlytics.dialects.serenytics.auth import Caller, app_of
from openlytics.dialects.serenytics.routes.common import Body
from openlytics.render.image import dashboard_pdf

router = APIRouter()


@router.post("/email")
def send_email(request: Request, caller: Caller, body: Body) -> dict[str, Any]:
    """POST email (`send_email`) -> {"task_id"}; 429 once the organization's daily quota is used."""
    app = app_of(request)
    email = app.emails.check(
        caller, subject=body.get("subject"), recipients=body.get("recipients"), html=body.get("html")
    )
    web_app, attachment = body.get("web_app_uuid"), body.get("file_to_attach_uuid")
    if web_app is not None:
        app.dashboards.get(caller, str(web_app))  # unknown dashboards fail now, not in the task
    if attachment is not None:
        app.uploads.get(caller, str(attachment))
    task = app.tasks.submit(
        caller,
        "email",
        lambda: _send(app, caller, email, body),
        wait=app.settings.max_wait_seconds,
    )
    return {"status": "ok", "task_id": str(task.uuid)}


def _send(app: Openlytics, caller: Principal, email: OutgoingEmail, body: dict[str, Any]) -> dict[str, Any]:
    attachments: list[Attachment] = []
    if body.get("web_app_uuid"):
        view = app.dashboard_views.view(caller, str(body["web_app_uuid"]))
        name = body.get("pdf_file_name") or f"{view.name}.pdf"
        if not isinstance(name, str):
            raise InvalidInputError("pdf_file_name", "a file name")
        attachments.append(Attachment(_safe_name(name, ".pdf"), dashboard_pdf(view), "application/pdf"))
    if body.get("file_to_attach_uuid"):
        upload = app.uploads.get(caller, str(body["file_to_attach_uuid"]))
        name = os.path.basename(str(body.get("file_to_attach_name") or upload.object_name))
        content = app.uploads.path_of(upload).read_bytes()
        attachments.append(Attachment(_safe_name(name, ""), content, "application/octet-stream"))
    sent = app.emails.send(caller, replace(email, attachments=tuple(attachments)))
    return {"email_id": str(sent.uuid), "recipients": sent.recipients}


def _safe_name(name: str, suffix: str) -> str:
    cleaned = "".join(ch for ch in os.path.basename(name) if ch.isprintable() and ch not in '\\/"') or "file"
    return cleaned if cleaned.endswith(suffix) else cleaned + suffix
