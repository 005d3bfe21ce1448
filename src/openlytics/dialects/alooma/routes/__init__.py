"""All routes of the dialect, dispatched on the raw path (see `dispatch.py`)."""

from __future__ import annotations

from fastapi import APIRouter

from openlytics.dialects.alooma.capabilities import CAPABILITIES
from openlytics.dialects.alooma.dispatch import dispatcher
from openlytics.dialects.alooma.routes import (
    account,
    code_engine,
    consolidation,
    event_types,
    events,
    inputs,
    plumbing,
    samples,
    tables,
)


def build_router() -> APIRouter:
    """The dialect's router; mount it at the dialect's prefix."""
    modules = [account, plumbing, inputs, event_types, code_engine, samples, tables, consolidation, events]
    return dispatcher(CAPABILITIES.prefix, [m.routes for m in modules], inputs.webhook)
