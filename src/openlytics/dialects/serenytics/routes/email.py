"""E-mail: HTML body, an optional dashboard rendered as PDF, an optional uploaded file; a daily quota.

The e-mail is sent by a background task (`background.send_email`, queue `emails`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from openlytics.dialects.serenytics import background
from openlytics.dialects.serenytics.auth import Caller, app_of
from openlytics.dialects.serenytics.routes.common import Body

router = APIRouter()

# What the task reads of the body besides the checked subject, recipients and HTML.
ATTACHMENT_FIELDS = ("web_app_uuid", "pdf_file_name", "file_to_attach_uuid", "file_to_attach_name")


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
    arguments = {
        "subject": email.subject,
        "recipients": email.recipients,
        "html": email.html,
        **{name: body[name] for name in ATTACHMENT_FIELDS if body.get(name) is not None},
    }
    task = app.tasks.submit(caller, background.EMAIL, arguments, wait=app.settings.max_wait_seconds)
    return {"status": "ok", "task_id": str(task.uuid)}
