"""Scripts: user Python stored on the server, run in the sandbox on demand or on a schedule.

A run is recorded as `running` before `run` returns, executes on a small thread pool — or, given a
`dispatch`, wherever that sends it (workers of the distributed executor, which call `execute`) —
and ends as `success`, `failure` or `timeout` with its output. The process executing a run claims
it first (records its name on the run, once), so a run executes at most once. Each run gets a
short-lived API key of the script's owner and the server's URL, handed to the program by
environment contributors (environment variables and files of its working directory); the key is
revoked when the run ends. A script keeps one piece of state between runs: raw JSON text, stored
as given.
"""

from __future__ import annotations

import builtins
import contextlib
import json
import logging
import os
import socket
import threading
import time
import uuid as uuid_module
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from openlytics.core.activity import ActivityKind, ActivityLog
from openlytics.core.errors import ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError
from openlytics.core.identity import IdentityService, IssuedKey
from openlytics.core.pagination import Page, paginate
from openlytics.core.principal import Action, Principal, Role
from openlytics.runtime.sandbox import Limits, Program, Sandbox, SandboxResult
from openlytics.store.db import Database
from openlytics.store.models import Script, ScriptRun, User
from openlytics.store.types import utcnow

log = logging.getLogger(__name__)

RUNNING, SUCCESS, FAILURE, TIMEOUT = "running", "success", "failure", "timeout"
KINDS = frozenset({"python"})
EDITABLE_FIELDS = frozenset({"name", "code", "kind", "options", "cpu_seconds", "wall_seconds", "memory_mb"})
SCRIPT_FILE = "script.py"
# The run's key outlives the wall-clock limit by this much, in case revoking it fails.
KEY_MARGIN = timedelta(seconds=60)
MAX_RUNS_LISTED = 100
# How often `run(wait=True)` looks at a run executing in another process.
WAIT_POLL_SECONDS = 0.2


@dataclass(frozen=True)
class RunContext:
    """What environment contributors know about the run they prepare."""

    org_id: int
    script_id: int
    script_uuid: str
    script_name: str
    run_id: int
    run_uuid: str
    owner_id: int | None
    parameters: dict[str, Any]
    server_url: str
    api_key: str | None  # the owner's per-run key; None when the script has no (enabled) owner


# Extra environment variables and extra files (name -> content) for the run's working directory.
Contributor = Callable[[RunContext], tuple[dict[str, str], dict[str, bytes]]]


def native_environment(context: RunContext) -> tuple[dict[str, str], dict[str, bytes]]:
    """`OPENLYTICS_URL`, `OPENLYTICS_API_KEY` (what the SDK's `Client()` reads) and `params.json`."""
    env = {"OPENLYTICS_URL": context.server_url}
    if context.api_key is not None:
        env["OPENLYTICS_API_KEY"] = context.api_key
    return env, {"params.json": json.dumps(context.parameters).encode()}


class ScriptService:
    """Create, find, edit, run and delete the scripts of an organization."""

    def __init__(
        self,
        db: Database,
        identity: IdentityService,
        sandbox: Sandbox,
        *,
        server_url: Callable[[], str],
        limits: Limits,
        workers: int = 2,
        contributors: Sequence[Contributor] | None = None,
        activity: ActivityLog | None = None,
        worker_name: str | None = None,
        dispatch: Callable[[int], None] | None = None,
    ) -> None:
        self.db = db
        self.activity = activity
        self.identity = identity
        self.sandbox = sandbox
        self.server_url = server_url
        self.limits = limits
        # Applied in order; a later contributor's variables and files win over an earlier one's.
        self.contributors: list[Contributor] = list(contributors or [native_environment])
        # Recorded on the runs this process executes (the name its heartbeat is written under).
        self.worker_name = worker_name or f"{socket.gethostname()}:{os.getpid()}"
        # Sends a run's id to where it executes; None: this process's pool.
        self.dispatch = dispatch
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="openlytics-script")
        self._active: set[int] = set()
        self._lock = threading.Lock()
        self._closing = False

    # ----- scripts -----------------------------------------------------------------------------------
    def list(
        self, principal: Principal, *, search: str | None = None, page: int = 1, per_page: int = 25
    ) -> Page[Script]:
        """The organization's scripts by name."""
        _require(principal, Action.READ)
        stmt = select(Script).where(Script.org_id == principal.org_id)
        if search:
            stmt = stmt.where(Script.name.ilike(f"%{search.replace('%', '').replace('_', '')}%"))
        with self.db.session() as s:
            return paginate(s, stmt.order_by(Script.name, Script.id), page, per_page)

    def get(self, principal: Principal, ref: int | str) -> Script:
        """A script by integer id or UUID."""
        _require(principal, Action.READ)
        with self.db.session() as s:
            return _find(s, principal, ref)

    def find_by_name(self, principal: Principal, name: str) -> Script | None:
        """The script with this exact name, if any."""
        _require(principal, Action.READ)
        with self.db.session() as s:
            return s.scalar(select(Script).where(Script.org_id == principal.org_id, Script.name == name))

    def create(self, principal: Principal, *, name: Any, code: Any, **fields: Any) -> Script:
        """A new script (names are unique in an organization)."""
        _require(principal, Action.WRITE)
        values = _validated({"name": name, "code": code, **fields})
        script = Script(org_id=principal.org_id, user_id=principal.user_id, **{"kind": "python"} | values)
        with self.db.session() as s:
            _check_free_name(s, principal, script.name, None)
            s.add(script)
            _flush_unique(s, script.name)
        return script

    def update(self, principal: Principal, ref: int | str, **changes: Any) -> Script:
        """Change name, code, options or limits."""
        _require(principal, Action.WRITE)
        values = _validated(changes)
        with self.db.session() as s:
            script = _find(s, principal, ref)
            if "name" in values:
                _check_free_name(s, principal, values["name"], script.id)
            for key, value in values.items():
                setattr(script, key, value)
            script.updated_at = utcnow()
            _flush_unique(s, script.name)
        return script

    def delete(self, principal: Principal, ref: int | str) -> None:
        """Delete a script with its runs."""
        _require(principal, Action.WRITE)
        with self.db.session() as s:
            s.delete(_find(s, principal, ref))

    def get_storage(self, principal: Principal, ref: int | str) -> str | None:
        """What the script stored: raw JSON text as given, or None."""
        return self.get(principal, ref).storage

    def set_storage(self, principal: Principal, ref: int | str, raw: str) -> None:
        """Store raw JSON text for the script's next runs (kept byte for byte)."""
        _require(principal, Action.WRITE)
        try:
            json.loads(raw)
        except ValueError:
            raise InvalidInputError("storage", "must be a JSON document") from None
        with self.db.session() as s:
            _find(s, principal, ref).storage = raw

    # ----- runs --------------------------------------------------------------------------------------
    def run(
        self,
        principal: Principal,
        ref: int | str,
        *,
        parameters: dict[str, Any] | None = None,
        wait: bool = False,
        schedule_id: int | None = None,
    ) -> ScriptRun:
        """Start a run (recorded as `running` before this returns); with `wait`, return it finished."""
        _require(principal, Action.RUN_SAVED)
        parameters = _parameters(parameters)
        if self._closing:
            raise ConflictError("the server is stopping")
        with self.db.session() as s:
            script = _find(s, principal, ref)
            run = ScriptRun(
                org_id=principal.org_id,
                script_id=script.id,
                user_id=principal.user_id,
                schedule_id=schedule_id,
                status=RUNNING,
                parameters=parameters,
                started_at=utcnow(),
                # Executed by this process's pool: its name from the start, so that if the process
                # dies before the run begins, the reaper still knows whose it was. Sent to workers:
                # the worker that claims it records its own.
                worker=self.worker_name if self.dispatch is None else None,
            )
            s.add(run)
            s.flush()
        if self.dispatch is None:
            with self._lock:
                self._active.add(run.id)
        if self.activity is not None:
            self.activity.record(
                principal.org_id,
                principal.user_id,
                ActivityKind.SCRIPT_RUN,
                object_type="script",
                object_id=script.id,
            )
        if self.dispatch is not None:
            sent = self._send(run.id)
            return self._wait_for(run.id) if wait or not sent else run
        future: Future[None] = self._pool.submit(self._execute, run.id)
        if not wait:
            return run
        future.result()
        with self.db.session() as s:
            return s.get_one(ScriptRun, run.id)

    def state(self, principal: Principal, ref: int | str) -> bool:
        """Whether a run of the script is running."""
        _require(principal, Action.READ)
        with self.db.session() as s:
            script = _find(s, principal, ref)
            running = select(ScriptRun.id).where(
                ScriptRun.script_id == script.id, ScriptRun.status == RUNNING
            )
            return s.scalar(running.limit(1)) is not None

    def runs(self, principal: Principal, ref: int | str, *, limit: int = 20) -> builtins.list[ScriptRun]:
        """The script's latest runs, newest first."""
        _require(principal, Action.READ)
        with self.db.session() as s:
            script = _find(s, principal, ref)
            stmt = (
                select(ScriptRun)
                .where(ScriptRun.script_id == script.id)
                .order_by(ScriptRun.id.desc())
                .limit(max(1, min(limit, MAX_RUNS_LISTED)))
            )
            return list(s.scalars(stmt))

    def recover_after_restart(self, *, worker: str | None = None, resend: bool = True) -> int:
        """Runs a stopped process left `running` fail as interrupted; how many.

        With `worker`, only the runs that worker executed fail — runs executing in other processes
        are theirs to finish (and the reaper's if they die) — and runs still waiting for a worker
        are sent again (unless not `resend`): a duplicate message finds its run claimed."""
        running = ScriptRun.status == RUNNING
        if worker is not None:
            running = running & (ScriptRun.worker == worker)
        with self.db.session() as s:
            result = s.execute(
                update(ScriptRun)
                .where(running)
                .values(status=FAILURE, error=_INTERRUPTED, finished_at=utcnow())
                .execution_options(synchronize_session=False)
            )
            failed = int(getattr(result, "rowcount", 0) or 0)
            waiting = (
                list(
                    s.scalars(
                        select(ScriptRun.id).where(ScriptRun.status == RUNNING, ScriptRun.worker.is_(None))
                    )
                )
                if worker is not None and resend and self.dispatch is not None
                else []
            )
        for run_id in waiting:
            self._send(run_id)
        return failed

    @property
    def closing(self) -> bool:
        """Whether `close` was called: this process starts no more runs."""
        return self._closing

    def close(self) -> None:
        """Kill running programs, drop queued runs and record both as interrupted."""
        self._closing = True
        self._pool.shutdown(wait=False, cancel_futures=True)
        self.sandbox.terminate_all()
        self._pool.shutdown(wait=True)
        with self._lock:
            left = list(self._active)
        for run_id in left:
            self._finish(run_id, FAILURE, _INTERRUPTED, None)

    # ----- execution ---------------------------------------------------------------------------------
    def execute(self, run_id: int) -> bool:
        """Execute a `running` run here and record its outcome; False (doing nothing) when the run
        is no longer running or another process claimed it (a redelivered message)."""
        if not self._claim(run_id):
            log.info("script run %s is finished or claimed elsewhere: not executed", run_id)
            with self._lock:
                self._active.discard(run_id)
            return False
        with self._lock:
            self._active.add(run_id)
        self._execute(run_id)
        return True

    def _claim(self, run_id: int) -> bool:
        with self.db.session() as s:
            result = s.execute(
                update(ScriptRun)
                .where(ScriptRun.id == run_id, ScriptRun.status == RUNNING, ScriptRun.worker.is_(None))
                .values(worker=self.worker_name)
                .execution_options(synchronize_session=False)
            )
            return int(getattr(result, "rowcount", 0) or 0) == 1

    def _send(self, run_id: int) -> bool:
        """Hand the run to `dispatch`; False when it could not (the run then failed)."""
        assert self.dispatch is not None
        try:
            self.dispatch(run_id)
        except Exception as exc:  # a run nobody will execute must not stay `running`
            log.exception("script run %s could not be sent to its workers", run_id)
            self._finish(run_id, FAILURE, f"the run could not be sent to the workers: {exc}", None)
            return False
        return True

    def _wait_for(self, run_id: int) -> ScriptRun:
        """The run once finished, or as it is when it could not have finished in time."""
        deadline = time.monotonic() + self.limits.wall_seconds + KEY_MARGIN.total_seconds()
        while True:
            with self.db.session() as s:
                run = s.get_one(ScriptRun, run_id)
            if run.status != RUNNING or time.monotonic() > deadline:
                return run
            time.sleep(WAIT_POLL_SECONDS)

    def _execute(self, run_id: int) -> None:
        try:
            result, limits = self._sandboxed(run_id)
        except Exception as exc:
            log.exception("script run %s could not be executed", run_id)
            self._finish(run_id, FAILURE, f"the run could not start: {type(exc).__name__}: {exc}", None)
            return
        if self._closing and result.return_code != 0:
            self._finish(run_id, FAILURE, _INTERRUPTED, result)
            return
        status, error = _outcome(result, limits)
        self._finish(run_id, status, error, result)

    def _sandboxed(self, run_id: int) -> tuple[SandboxResult, Limits]:
        with self.db.session() as s:
            run = s.get_one(ScriptRun, run_id)
            script = s.get_one(Script, run.script_id)
            owner = s.get(User, script.user_id) if script.user_id is not None else None
        limits = self.limits.lowered(
            cpu_seconds=script.cpu_seconds, wall_seconds=script.wall_seconds, memory_mb=script.memory_mb
        )
        issued = self._issue_key(owner, run_id, limits)
        try:
            context = RunContext(
                org_id=script.org_id,
                script_id=script.id,
                script_uuid=str(script.uuid),
                script_name=script.name,
                run_id=run.id,
                run_uuid=str(run.uuid),
                owner_id=script.user_id,
                parameters=dict(run.parameters or {}),
                server_url=self.server_url().rstrip("/"),
                api_key=issued.key if issued is not None else None,
            )
            env: dict[str, str] = {}
            files: dict[str, bytes] = {}
            for contribute in self.contributors:
                extra_env, extra_files = contribute(context)
                env |= extra_env
                files |= extra_files
            files[SCRIPT_FILE] = script.code.encode()
            result = self.sandbox.run(
                Program.file(SCRIPT_FILE), files=files, env=env, limits=limits, network=True
            )
        finally:
            if issued is not None:
                self._revoke_key(owner, issued)
        return result, limits

    def _issue_key(self, owner: User | None, run_id: int, limits: Limits) -> IssuedKey | None:
        if owner is None or owner.disabled_at is not None:
            return None
        expires_at = utcnow() + timedelta(seconds=limits.wall_seconds) + KEY_MARGIN
        return self.identity.create_api_key(
            _acting_as(owner), name=f"script run {run_id}", expires_at=expires_at
        )

    def _revoke_key(self, owner: User | None, issued: IssuedKey) -> None:
        assert owner is not None
        # NotFoundError: revoked meanwhile (by an admin, or the script itself).
        with contextlib.suppress(NotFoundError):
            self.identity.revoke_api_key(_acting_as(owner), issued.record.id)

    def _finish(self, run_id: int, status: str, error: str | None, result: SandboxResult | None) -> None:
        values: dict[str, Any] = {"status": status, "error": error, "finished_at": utcnow()}
        if result is not None:
            values |= {
                "stdout": _storable(result.stdout),
                "stderr": _storable(result.stderr),
                "return_code": result.return_code,
            }
        try:
            with self.db.session() as s:
                s.execute(
                    update(ScriptRun)
                    .where(ScriptRun.id == run_id, ScriptRun.status == RUNNING)
                    .values(**values)
                    .execution_options(synchronize_session=False)
                )
        finally:
            with self._lock:
                self._active.discard(run_id)


_INTERRUPTED = "interrupted: the server stopped while the script ran"


def _outcome(result: SandboxResult, limits: Limits) -> tuple[str, str | None]:
    if result.limit == "wall":
        return TIMEOUT, f"wall-clock limit of {limits.wall_seconds:g} s exceeded"
    if result.limit == "cpu":
        return TIMEOUT, f"CPU time limit of {limits.cpu_seconds} s exceeded"
    if result.limit == "memory":
        return FAILURE, f"memory limit of {limits.memory_mb} MB exceeded"
    if result.return_code == 0:
        return SUCCESS, None
    return FAILURE, f"exited with code {result.return_code}"


def _storable(text: str) -> str:
    return text.replace("\x00", "\ufffd")  # PostgreSQL text cannot hold NUL


def _acting_as(owner: User) -> Principal:
    """The owner, as whom a run's key is issued and revoked."""
    return Principal(org_id=owner.org_id, user_id=owner.id, role=Role(owner.role), credential="system")


def _require(principal: Principal, action: Action) -> None:
    principal.require(action, "scripts")
    if principal.is_query_key or principal.credential == "public_link":
        raise PermissionDeniedError(action.value, "scripts")


def _find(s: Session, principal: Principal, ref: int | str) -> Script:
    stmt = select(Script).where(Script.org_id == principal.org_id)
    if isinstance(ref, int) or (isinstance(ref, str) and ref.isdecimal()):
        stmt = stmt.where(Script.id == int(ref))
    else:
        try:
            stmt = stmt.where(Script.uuid == uuid_module.UUID(str(ref)))
        except ValueError:
            raise NotFoundError("script", ref) from None
    script = s.scalar(stmt)
    if script is None:
        raise NotFoundError("script", ref)
    return script


def _check_free_name(s: Session, principal: Principal, name: str, own_id: int | None) -> None:
    stmt = select(Script.id).where(Script.org_id == principal.org_id, Script.name == name)
    if own_id is not None:
        stmt = stmt.where(Script.id != own_id)
    if s.scalar(stmt) is not None:
        raise ConflictError(f"a script named {name!r} already exists", field="name")


def _flush_unique(s: Session, name: str) -> None:
    try:
        s.flush()
    except IntegrityError:
        raise ConflictError(f"a script named {name!r} already exists", field="name") from None


def _validated(fields: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key, value in fields.items():
        if key not in EDITABLE_FIELDS:
            raise InvalidInputError(key, "unknown field")
        values[key] = _checked(key, value)
    return values


def _checked(key: str, value: Any) -> Any:
    if key == "name":
        if not isinstance(value, str) or not value.strip() or len(value) > 255:
            raise InvalidInputError("name", "a non-empty text of at most 255 characters")
        return value.strip()
    if key == "code":
        if not isinstance(value, str):
            raise InvalidInputError("code", "must be text")
        return value
    if key == "kind":
        if value not in KINDS:
            raise InvalidInputError("kind", f"one of {', '.join(sorted(KINDS))}")
        return value
    if key == "options":
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise InvalidInputError("options", "must be an object")
        return value
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise InvalidInputError(key, "a positive number, or null for the server's default")
    return int(value) if key == "memory_mb" else float(value)


def _parameters(parameters: Any) -> dict[str, Any]:
    if parameters is None:
        return {}
    if not isinstance(parameters, dict):
        raise InvalidInputError("parameters", "must be an object")
    try:
        json.dumps(parameters)
    except (TypeError, ValueError):
        raise InvalidInputError("parameters", "must be JSON") from None
    return dict(parameters)
