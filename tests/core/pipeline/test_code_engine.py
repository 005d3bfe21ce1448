"""Code Engine: modules, secrets, and transforms run in real sandbox subprocesses (real app)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from openlytics.app import Openlytics
from openlytics.core.errors import InvalidInputError, NotFoundError, PermissionDeniedError
from openlytics.core.pipeline.code_engine import DEFAULT_TRANSFORM_CODE, CodeEngine, TransformResult
from openlytics.core.principal import Principal, Role
from openlytics.runtime.sandbox import Limits
from openlytics.store.models import Organization, PipelineSecret
from tests.conftest import make_settings

ADD_AND_RENAME = """\
def transform(event):
    event["seen"] = True
    event["name"] = event.pop("title", None)
    return event
"""


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Openlytics]:
    settings, databases = make_settings(tmp_path / "data", "sqlite", scheduler_enabled=False)
    core = Openlytics(settings)
    core.start()
    try:
        yield core
    finally:
        core.stop()
        databases.drop()


@pytest.fixture
def admin(app: Openlytics) -> Principal:
    return Principal.system(app.identity.organizations()[0].id)


@pytest.fixture
def viewer(admin: Principal) -> Principal:
    return Principal(org_id=admin.org_id, user_id=None, role=Role.VIEWER, credential="user_key")


@pytest.fixture
def engine(app: Openlytics) -> Iterator[CodeEngine]:
    """The app's stores and sandbox with tight limits: 1 s per event, 256 MB per batch."""
    engine = CodeEngine(
        app.db,
        app.box,
        app.sandbox,
        limits=Limits(cpu_seconds=30, wall_seconds=30, memory_mb=256),
        event_seconds=1.0,
    )
    yield engine
    engine.pool.close_all()


def other_org(app: Openlytics) -> Principal:
    with app.db.session() as s:
        org = Organization(name="Other", slug="other")
        s.add(org)
        s.flush()
        return Principal.system(org.id)


# ----- modules -----------------------------------------------------------------------------------------
def test_modules_are_saved_listed_replaced_and_deleted(app: Openlytics, admin: Principal) -> None:
    engine = app.code_engine
    engine.set_modules(admin, {"main": ADD_AND_RENAME, "helpers": "X = 1\n"})
    assert [m.name for m in engine.modules(admin)] == ["helpers", "main"]
    assert engine.module(admin, "main").code == ADD_AND_RENAME

    engine.set_modules(admin, {"helpers": "X = 2\n"})
    assert engine.module(admin, "helpers").code == "X = 2\n"
    assert engine.module(admin, "main").code == ADD_AND_RENAME  # untouched

    engine.delete_module(admin, "helpers")
    with pytest.raises(NotFoundError):
        engine.module(admin, "helpers")
    with pytest.raises(NotFoundError):
        engine.delete_module(admin, "helpers")
    assert engine.reset_to_default(admin).code == DEFAULT_TRANSFORM_CODE


def test_main_is_not_found_until_saved(app: Openlytics, admin: Principal) -> None:
    with pytest.raises(NotFoundError):
        app.code_engine.module(admin, "main")


@pytest.mark.parametrize(
    ("modules", "words"),
    [
        (
            {"main": "def transform(event):\n    return event\n", "helpers": "def f(:\n"},
            ["helpers", "line 1"],
        ),
        ({"main": "def transform(event):\n  x = (\n"}, ["main", "line 2"]),
        ({"main": "def other(event):\n    return event\n"}, ["transform(event)"]),
        ({"json": "X = 1\n"}, ["json"]),
        ({"not-a-name": "X = 1\n"}, ["not-a-name"]),
    ],
)
def test_invalid_modules_are_refused(
    app: Openlytics, admin: Principal, modules: dict[str, str], words: list[str]
) -> None:
    with pytest.raises(InvalidInputError) as caught:
        app.code_engine.set_modules(admin, modules)
    assert all(word in str(caught.value) for word in words), caught.value
    assert app.code_engine.modules(admin) == []  # nothing of a refused set is saved


def test_changing_modules_and_secrets_needs_manage_sources(app: Openlytics, viewer: Principal) -> None:
    assert app.code_engine.modules(viewer) == []
    with pytest.raises(PermissionDeniedError):
        app.code_engine.set_modules(viewer, {"main": DEFAULT_TRANSFORM_CODE})
    with pytest.raises(PermissionDeniedError):
        app.code_engine.set_secrets(viewer, {"k": "v"})
    with pytest.raises(PermissionDeniedError):  # a test run could print the secrets
        app.code_engine.test_run(viewer, {"a": 1})


# ----- transforms --------------------------------------------------------------------------------------
def test_default_transform_passes_events_through_without_a_subprocess(
    app: Openlytics, admin: Principal
) -> None:
    events = [{"a": 1}, {"b": 2}]
    assert app.code_engine.transform_batch(admin.org_id, events) == [TransformResult(e) for e in events]
    app.code_engine.reset_to_default(admin)
    app.sandbox.python = "/nonexistent/python"  # a subprocess would fail
    assert app.code_engine.transform_batch(admin.org_id, events) == [TransformResult(e) for e in events]


def test_main_imports_a_helper_module_and_none_drops(engine: CodeEngine, admin: Principal) -> None:
    engine.set_modules(
        admin,
        {
            "helpers": "def clean(event):\n    event['clean'] = True\n    return event\n",
            "main": (
                "from helpers import clean\n"
                "def transform(event):\n"
                "    print('saw', event['n'])\n"
                "    if event['n'] == 1:\n"
                "        return None\n"
                "    return clean(event)\n"
            ),
        },
    )
    results = engine.transform_batch(admin.org_id, [{"n": 0}, {"n": 1}, {"n": 2}])
    assert results == [
        TransformResult({"n": 0, "clean": True}, None, "saw 0\n"),
        TransformResult(None, None, "saw 1\n"),
        TransformResult({"n": 2, "clean": True}, None, "saw 2\n"),
    ]


def test_one_failing_event_does_not_spoil_the_batch(engine: CodeEngine, admin: Principal) -> None:
    engine.set_modules(
        admin,
        {
            "main": (
                "def transform(event):\n"
                "    if event['n'] == 1:\n"
                "        return 1 / 0\n"
                "    if event['n'] == 2:\n"
                "        return ['not', 'a', 'dict']\n"
                "    return event\n"
            )
        },
    )
    ok, failed, wrong, last = engine.transform_batch(admin.org_id, [{"n": n} for n in range(4)])
    assert ok.event == {"n": 0} and last.event == {"n": 3}
    assert failed.event is None
    assert failed.error == "ZeroDivisionError: division by zero (main.py, line 3, in transform)"
    assert wrong.event is None and wrong.error is not None
    assert "transform must return a dict or None" in wrong.error


def test_an_endless_event_times_out_alone(engine: CodeEngine, admin: Principal) -> None:
    engine.set_modules(
        admin,
        {
            "main": (
                "def transform(event):\n"
                "    while event['n'] == 1:\n"
                "        try:\n"
                "            pass\n"
                "        except Exception:\n"  # does not swallow the timeout
                "            pass\n"
                "    return event\n"
            )
        },
    )
    first, looping, last = engine.transform_batch(admin.org_id, [{"n": 0}, {"n": 1}, {"n": 2}])
    assert first.event == {"n": 0} and last.event == {"n": 2}
    assert looping == TransformResult(None, "timed out after 1 s")


def test_a_memory_hog_fails_the_whole_batch_with_a_clear_error(engine: CodeEngine, admin: Principal) -> None:
    engine.set_modules(
        admin,
        {
            "main": "def transform(event):\n    if event['n'] == 1:\n        event['x'] = 'x' * 2_000_000_000\n    return event\n"
        },
    )
    results = engine.transform_batch(admin.org_id, [{"n": 0}, {"n": 1}, {"n": 2}])
    assert [r.event for r in results] == [None, None, None]
    assert {r.error for r in results} == {"the transform process ran out of memory (limit 256 MB)"}


@pytest.mark.parametrize("statement", ["import socket", "from urllib import request", "import ctypes"])
def test_process_network_and_ffi_modules_are_refused(
    engine: CodeEngine, admin: Principal, statement: str
) -> None:
    engine.set_modules(admin, {"main": f"def transform(event):\n    {statement}\n    return event\n"})
    (result,) = engine.transform_batch(admin.org_id, [{"n": 0}])
    assert result.event is None and result.error is not None
    assert result.error.startswith("ImportError: module ") and "is not allowed in transforms" in result.error


def test_a_forbidden_import_in_main_fails_each_event_with_the_reason(
    engine: CodeEngine, admin: Principal
) -> None:
    engine.set_modules(admin, {"main": "import socket\ndef transform(event):\n    return event\n"})
    results = engine.transform_batch(admin.org_id, [{"n": 0}, {"n": 1}])
    assert {r.error for r in results} == {
        "ImportError: module 'socket' is not allowed in transforms (main.py, line 1, in <module>)"
    }


def test_standard_library_and_allowed_packages_import(engine: CodeEngine, admin: Principal) -> None:
    engine.set_modules(
        admin,
        {
            "main": (
                "import re, hashlib, email.utils\n"
                "from dateutil import parser\n"
                "def transform(event):\n"
                "    event['day'] = parser.parse(event['at']).date()\n"
                "    event['digest'] = hashlib.sha1(event['at'].encode()).hexdigest()[:8]\n"
                "    return event\n"
            )
        },
    )
    (result,) = engine.transform_batch(admin.org_id, [{"at": "2024-05-06T07:08:09Z"}])
    assert result.error is None
    digest = hashlib.sha1(b"2024-05-06T07:08:09Z").hexdigest()[:8]
    assert result.event == {"at": "2024-05-06T07:08:09Z", "day": "2024-05-06", "digest": digest}


def test_requirements_list_the_installed_allowed_packages(app: Openlytics) -> None:
    names = {r["name"]: r["version"] for r in app.code_engine.requirements()}
    assert names.get("python-dateutil")
    assert "sqlalchemy" not in {n.lower() for n in names}


# ----- secrets -----------------------------------------------------------------------------------------
def test_secrets_are_readable_in_transforms_and_never_returned(
    app: Openlytics, engine: CodeEngine, admin: Principal
) -> None:
    engine.set_secrets(admin, {"api_token": "s3cr3t", "other": "x"})
    engine.set_secrets(admin, {"other": "y"})
    assert engine.secret_names(admin) == ["api_token", "other"]
    with app.db.session() as s:
        stored = {row.name: row.value_encrypted for row in s.query(PipelineSecret)}
    assert "s3cr3t" not in stored["api_token"]

    engine.set_modules(
        admin,
        {
            "main": (
                "from transform_secrets import secrets\n"
                "def transform(event):\n"
                "    event['token'] = secrets['api_token'] + secrets['other']\n"
                "    return event\n"
            )
        },
    )
    (result,) = engine.transform_batch(admin.org_id, [{}])
    assert result.event == {"token": "s3cr3ty"}

    engine.delete_secret(admin, "other")
    assert engine.secret_names(admin) == ["api_token"]
    with pytest.raises(NotFoundError):
        engine.delete_secret(admin, "other")


def test_another_organizations_modules_and_secrets_are_invisible(
    app: Openlytics, engine: CodeEngine, admin: Principal
) -> None:
    engine.set_modules(admin, {"main": ADD_AND_RENAME})
    engine.set_secrets(admin, {"token": "mine"})
    stranger = other_org(app)
    assert engine.modules(stranger) == [] and engine.secret_names(stranger) == []
    with pytest.raises(NotFoundError):
        engine.module(stranger, "main")
    with pytest.raises(NotFoundError):
        engine.delete_secret(stranger, "token")
    assert engine.transform_batch(stranger.org_id, [{"title": "t"}]) == [TransformResult({"title": "t"})]
    assert engine.transform_batch(admin.org_id, [{"title": "t"}])[0].event == {"seen": True, "name": "t"}


# ----- test runs ---------------------------------------------------------------------------------------
def test_test_run_returns_result_output_and_runtime(engine: CodeEngine, admin: Principal) -> None:
    engine.set_modules(admin, {"main": ADD_AND_RENAME})
    run = engine.test_run(admin, {"title": "t"})
    assert run.result == {"seen": True, "name": "t"} and run.error is None and run.runtime_ms >= 0

    run = engine.test_run(
        admin, {"a": 1}, code="def transform(event):\n    print('hello')\n    return None\n"
    )
    assert (run.result, run.output, run.error) == (None, "hello\n", None)
    assert engine.module(admin, "main").code == ADD_AND_RENAME  # a test run saves nothing


def test_test_run_uses_given_modules_over_the_saved_ones(engine: CodeEngine, admin: Principal) -> None:
    engine.set_modules(
        admin,
        {
            "helpers": "TAG = 'saved'\n",
            "main": "import helpers\ndef transform(e):\n    return {'tag': helpers.TAG}\n",
        },
    )
    assert engine.test_run(admin, {}).result == {"tag": "saved"}
    assert engine.test_run(admin, {}, modules={"helpers": "TAG = 'draft'\n"}).result == {"tag": "draft"}


def test_test_run_reports_the_traceback_and_syntax_errors(engine: CodeEngine, admin: Principal) -> None:
    run = engine.test_run(
        admin, {}, code="def transform(event):\n    print('before')\n    return event['missing']\n"
    )
    assert run.result is None and run.output == "before\n" and run.error is not None
    assert 'File "main.py", line 3, in transform' in run.error and run.error.strip().endswith(
        "KeyError: 'missing'"
    )
    assert "_transform_worker" not in run.error

    run = engine.test_run(admin, {}, code="def transform(event)\n    return event\n")
    assert (
        run.result is None and run.error is not None and "SyntaxError" in run.error and "line 1" in run.error
    )


def test_saved_changes_reach_the_next_batch_at_once(engine: CodeEngine, admin: Principal) -> None:
    """Batches run in a long-lived process; new modules or secrets must not meet an old one."""
    engine.set_modules(admin, {"main": "def transform(event):\n    event['v'] = 1\n    return event\n"})
    assert engine.transform_batch(admin.org_id, [{"a": 1}])[0].event == {"a": 1, "v": 1}
    assert engine.pool.processes(admin.org_id) == 1
    code = "from transform_secrets import secrets\n\ndef transform(event):\n    event['v'] = secrets.get('k')\n    return event\n"
    engine.set_modules(admin, {"main": code})
    assert engine.transform_batch(admin.org_id, [{"a": 1}])[0].event == {"a": 1, "v": None}
    engine.set_secrets(admin, {"k": "new"})
    assert engine.transform_batch(admin.org_id, [{"a": 1}])[0].event == {"a": 1, "v": "new"}


def test_events_given_as_json_lines_are_transformed_as_they_are(engine: CodeEngine, admin: Principal) -> None:
    engine.set_modules(admin, {"main": ADD_AND_RENAME})
    events = [{"title": "x", "n": 1}, {"title": "y", "n": 2}]
    encoded = [b'{"title":"x","n":1}', b'{"title":"y","n":2}']
    results = engine.transform_batch(admin.org_id, events, encoded)
    assert [r.event for r in results] == [
        {"n": 1, "seen": True, "name": "x"},
        {"n": 2, "seen": True, "name": "y"},
    ]
