"""Tasks: work the server finishes after answering (file loads, e-mails), polled by the client."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from openlytics.dialects.serenytics.auth import Caller, app_of

router = APIRouter()


@router.get("/task/{task_id}")
def get_task(task_id: str, request: Request, caller: Caller) -> dict[str, Any]:
    """GET task/<id>: `pending`, then `success` with the result, or `failure` with `errors` (never empty)."""
    task = app_of(request).tasks.get(caller, task_id)
    if task.status in ("pending", "running"):
        return {"status": "pending"}
    if task.status == "success":
        return {"status": "success", **(task.result or {})}
    return {"status": "failure", "errors": [task.error or "the task failed"]}
