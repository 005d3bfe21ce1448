"""Session, users and data sources."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request

from openlytics.core.errors import InvalidInputError
from openlytics.core.principal import Action
from openlytics.dialects.tonalytica import wire
from openlytics.dialects.tonalytica.auth import Caller, app_of
from openlytics.dialects.tonalytica.routes.common import Body, PageParams, truthy

router = APIRouter()

# Redash data source types we can connect to, with the options their forms ask for.
SOURCE_TYPES = {
    "pg": "postgresql+psycopg",
    "postgresql": "postgresql+psycopg",
    "mysql": "mysql+pymysql",
    "sqlite": "sqlite",
    "duckdb": "duckdb",
}


@router.get("/session")
def session(request: Request, caller: Caller) -> dict[str, Any]:
    """GET session: who the key belongs to (the clients' credential check); 200 for any valid key."""
    app = app_of(request)
    org = app.identity.get_organization(caller)
    user = app.identity.current_user(caller)
    body_user: dict[str, Any] = (
        wire.user(user) if user is not None else {"id": None, "name": "query key", "email": ""}
    )
    body_user["permissions"] = sorted(a.value for a in Action if caller.can(a))
    return {"user": body_user, "org_slug": org.slug, "client_config": {}, "messages": []}


@router.get("/users")
def users(
    request: Request, caller: Caller, paging: PageParams, disabled: str | None = None
) -> dict[str, Any]:
    """GET users (`users`): `disabled=True` lists only disabled users, `False` only active ones."""
    app = app_of(request)
    page = app.identity.list_users(
        caller, page=paging.page, per_page=paging.page_size, disabled=truthy(disabled)
    )
    return wire.envelope(page, [wire.user(u) for u in page.items])


@router.post("/users")
def create_user(request: Request, caller: Caller, body: Body) -> dict[str, Any]:
    """POST users: a new user (no invitation e-mail is sent)."""
    app = app_of(request)
    name, email = body.get("name"), body.get("email")
    if not isinstance(name, str) or not isinstance(email, str):
        raise InvalidInputError("email", "name and email are required strings")
    user = app.identity.create_user(caller, email=email, name=name, role="editor")
    return {**wire.user(user), "invite_link": ""}


@router.get("/users/{user_id}")
def get_user(user_id: int, request: Request, caller: Caller) -> dict[str, Any]:
    """GET users/<id>: admins also see the user's API key (redash-migrate needs it)."""
    app = app_of(request)
    user = app.identity.get_user(caller, user_id)
    key = app.identity.reveal_user_key(caller, user_id) if caller.can(Action.MANAGE_USERS) else None
    return wire.user(user, api_key=key)


@router.post("/users/{user_id}/disable")
def disable_user(user_id: int, request: Request, caller: Caller) -> dict[str, Any]:
    """POST users/<id>/disable (`disable_user`)."""
    return wire.user(app_of(request).identity.update_user(caller, user_id, is_disabled=True))


@router.delete("/users/{user_id}/disable")
def enable_user(user_id: int, request: Request, caller: Caller) -> dict[str, Any]:
    """DELETE users/<id>/disable: enable again."""
    return wire.user(app_of(request).identity.update_user(caller, user_id, is_disabled=False))


@router.get("/data_sources")
def get_data_sources(request: Request, caller: Caller) -> list[dict[str, Any]]:
    """GET data_sources (`get_data_sources`): every source, not paginated."""
    app = app_of(request)
    page = app.sources.list(caller, page=1, per_page=250)
    return [wire.data_source(s) for s in page.items]


@router.get("/data_sources/types")
def data_source_types(caller: Caller) -> list[dict[str, Any]]:
    """GET data_sources/types: what POST data_sources accepts."""
    return [
        {
            "type": kind,
            "name": kind,
            "configuration_schema": {
                "type": "object",
                "properties": {k: {"type": "string"} for k in ("host", "port", "user", "password", "dbname")},
                "secret": ["password"],
            },
        }
        for kind in SOURCE_TYPES
    ]


@router.post("/data_sources")
def create_data_source(request: Request, caller: Caller, body: Body) -> dict[str, Any]:
    """POST data_sources (`create_data_source`): {name, type, options}."""
    source = app_of(request).sources.create(caller, name=body.get("name"), url=_url(body))  # type: ignore[arg-type]
    return wire.data_source(source)


@router.get("/data_sources/{source_id}")
def get_data_source(source_id: int, request: Request, caller: Caller) -> dict[str, Any]:
    """GET data_sources/<id> (`get_data_source`)."""
    return wire.data_source(app_of(request).sources.get(caller, source_id))


@router.get("/data_sources/{source_id}/schema")
def get_schema(source_id: int, request: Request, caller: Caller) -> dict[str, Any]:
    """GET data_sources/<id>/schema: tables and their columns (find-tables reads `name`)."""
    tables = app_of(request).sources.schema(caller, source_id)
    schema = []
    for t in tables:
        name = t.name if t.schema in (None, "", "main", "public") else f"{t.schema}.{t.name}"
        schema.append({"name": name, "columns": [{"name": c.name, "type": c.type} for c in t.columns]})
    return {"schema": schema}


def _url(body: dict[str, Any]) -> str:
    kind, options = body.get("type"), body.get("options") or {}
    if kind not in SOURCE_TYPES or not isinstance(options, dict):
        raise InvalidInputError("type", f"one of {', '.join(SOURCE_TYPES)} with an options object")
    driver = SOURCE_TYPES[kind]
    if driver in ("sqlite", "duckdb"):
        path = options.get("dbpath") or options.get("database")
        if not isinstance(path, str) or not path:
            raise InvalidInputError("options.dbpath", "the database file")
        return f"{driver}:///{path}"
    user = quote(str(options.get("user") or ""), safe="")
    password = quote(str(options.get("password") or ""), safe="")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = options.get("host") or "localhost"
    port = f":{options['port']}" if options.get("port") else ""
    return f"{driver}://{auth}{host}{port}/{options.get('dbname') or ''}"
