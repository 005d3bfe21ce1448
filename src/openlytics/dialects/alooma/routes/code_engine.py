"""The Code Engine: transform modules, test runs, requirements and secrets."""

from __future__ import annotations

from typing import Any

from openlytics.core.errors import InvalidInputError, NotFoundError
from openlytics.core.pipeline.code_engine import DEFAULT_TRANSFORM_CODE, MAIN
from openlytics.dialects.alooma.dispatch import Call, Routes

routes = Routes()
LANGUAGE = "PYTHON"


@routes.post("transform/functions/run")
def test_transform(call: Call) -> dict[str, Any]:
    """Run `transform(event)` of the posted `main` code on one sample."""
    body = call.json_object()
    code = body.get("code")
    if not isinstance(code, str):
        raise InvalidInputError("code", "Python source defining transform(event)")
    return _run(call, body.get("sample"), code=code, modules=None)


@routes.post("transform/v2/functions/run")
def test_code_engine_code(call: Call) -> dict[str, Any]:
    """Run the posted modules (or the saved ones) on one sample."""
    body = call.json_object()
    modules = _modules(body.get("modules") or [])
    return _run(call, body.get("sample"), code=modules.pop("main", None), modules=modules or None)


@routes.get("transform/functions")
def get_all_transforms(call: Call) -> list[dict[str, Any]]:
    """Every module: `[{"functionName", "code", "language"}]`."""
    modules = {m.name: m.code for m in call.app.code_engine.modules(call.principal)}
    modules.setdefault(MAIN, DEFAULT_TRANSFORM_CODE)  # the engine runs the default without a `main`
    return [_module(name, code) for name, code in sorted(modules.items())]


@routes.get("transform/defaults")
def get_default_transform(call: Call) -> dict[str, Any]:
    """The code a new Code Engine starts with."""
    return {LANGUAGE: DEFAULT_TRANSFORM_CODE}


@routes.get("transform/functions/{module}")
def get_transform(call: Call) -> dict[str, Any]:
    """One module."""
    name = call.params["module"]
    try:
        return _module(name, call.app.code_engine.module(call.principal, name).code)
    except NotFoundError:
        if name != MAIN:
            raise
        return _module(MAIN, DEFAULT_TRANSFORM_CODE)


@routes.post("transform/functions/{module}")
def set_transform(call: Call) -> dict[str, Any]:
    """Save one module (`set_transform_to_default` posts the default `main`)."""
    body = call.json_object()
    name = call.params["module"]
    code = body.get("code")
    if not isinstance(code, str):
        raise InvalidInputError("code", "Python source")
    call.app.code_engine.set_modules(call.principal, {name: code})
    return _module(name, code)


@routes.delete("transform/functions/{module}")
def delete_code_engine_module(call: Call) -> dict[str, Any]:
    """Delete a module (`main` goes back to the default)."""
    name = call.params["module"]
    if name == MAIN:
        call.app.code_engine.reset_to_default(call.principal)
    else:
        call.app.code_engine.delete_module(call.principal, name)
    return {}


@routes.post("transform/v2/functions")
def set_code_engine_code(call: Call) -> list[dict[str, Any]]:
    """Upsert modules: `[{"language", "functionName", "code"}]`."""
    modules = _modules(call.json())
    call.app.code_engine.set_modules(call.principal, modules)
    return [_module(name, code) for name, code in modules.items()]


@routes.get("code-engine/requirements")
def get_code_engine_requirements(call: Call) -> list[dict[str, Any]]:
    """The packages transforms can import: `[{"name", "version"}]`."""
    return [dict(r) for r in call.app.code_engine.requirements()]


@routes.get("secrets")
def get_secrets(call: Call) -> list[str]:
    """Secret names (never values)."""
    return list(call.app.code_engine.secret_names(call.principal))


@routes.put("secrets")
def set_secrets(call: Call) -> list[str]:
    """Create or update secrets: `{name: value}`."""
    secrets = call.json_object()
    if not all(isinstance(v, str | int | float | bool) for v in secrets.values()):
        raise InvalidInputError("body", "an object of secret names to string values")
    call.app.code_engine.set_secrets(call.principal, {k: str(v) for k, v in secrets.items()})
    return list(call.app.code_engine.secret_names(call.principal))


@routes.delete("secrets/{name}")
def delete_secret(call: Call) -> dict[str, Any]:
    """Delete one secret."""
    call.app.code_engine.delete_secret(call.principal, call.params["name"])
    return {}


def _run(call: Call, sample: Any, *, code: str | None, modules: dict[str, str] | None) -> dict[str, Any]:
    if not isinstance(sample, dict):
        raise InvalidInputError("sample", "an event (a JSON object)")
    run = call.app.code_engine.test_run(call.principal, sample, code=code, modules=modules)
    output = run.output or ""
    if run.error:
        output = f"{output}{run.error}" if output else run.error
    return {"output": output, "result": run.result, "runtime": run.runtime_ms}


def _modules(items: Any) -> dict[str, str]:
    if not isinstance(items, list):
        raise InvalidInputError("body", 'a list of {"functionName", "code"}')
    modules: dict[str, str] = {}
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("code"), str):
            raise InvalidInputError("body", 'a list of {"functionName", "code"}')
        name = item.get("functionName") or "main"
        modules[str(name)] = item["code"]
    return modules


def _module(name: str, code: str) -> dict[str, Any]:
    return {"functionName": name, "code": code, "language": LANGUAGE}
