"""The Code Engine: an organization's Python modules, its secrets, and sandboxed event transforms.

    engine = CodeEngine(db, box, sandbox, limits=Limits(...), event_seconds=5.0)
    engine.set_modules(principal, {"main": "def transform(event):\\n    return event"})
    results = engine.transform_batch(org_id, events, encoded)  # one TransformResult per event, in order
    run = engine.test_run(principal, sample, code=...)    # TestRun(result, output, runtime_ms, error)

Modules are named Python sources; `main` defines `transform(event)`, which returns the event (a
dict, possibly changed), or None to drop it. Other modules are importable from `main` by name.
Secrets (encrypted at rest, never returned) are read in transforms as
`from transform_secrets import secrets` (a read-only mapping of name to value).

Batches run in a long-lived sandboxed process of the organization (`runtime/transform_pool.py`
over `runtime/_transform_worker.py`), without network and under the given limits, fed the events'
JSON lines; each event gets `event_seconds` and errs alone (exception, timeout, a result that is
not a dict); when the process itself fails (memory, the batch's wall clock) every event of the
batch gets that error. Test runs get a process of their own. With no `main`, or the default one,
events pass unchanged without a process.

Permissions: reading modules and secret names needs READ; changing them, and test runs (which run
code with the secrets), need MANAGE_SOURCES.
"""

from __future__ import annotations

import ast
import contextlib
import gc
import keyword
import sys
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from openlytics.core.errors import ConflictError, InvalidInputError, NotFoundError
from openlytics.core.pipeline import require_read
from openlytics.core.principal import Action, Principal
from openlytics.core.secrets import SecretBox
from openlytics.runtime.sandbox import Limits, Program, Sandbox, SandboxResult
from openlytics.runtime.transform_policy import SECRETS_MODULE, allowed_packages
from openlytics.runtime.transform_pool import TransformPool, TransformProcessError
from openlytics.store.db import Database
from openlytics.store.models import CodeModule, PipelineSecret

try:
    import orjson

    def _dumps(value: Any) -> bytes:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)

    def _loads(data: bytes) -> Any:
        return orjson.loads(data)

except ImportError:  # pragma: no cover - orjson is installed with the server
    import json

    def _dumps(value: Any) -> bytes:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str).encode()

    def _loads(data: bytes) -> Any:
        return json.loads(data)


DEFAULT_TRANSFORM_CODE = "def transform(event):\n\treturn event"
MAIN = "main"
LANGUAGE = "PYTHON"
WORKER = "openlytics.runtime._transform_worker"
INPUT, OUTPUT = "batch.jsonl", "results.jsonl"
MAX_NAME = 255
MAX_CODE_CHARS = 1_000_000
_DEFAULT_SHAPE = ast.dump(ast.parse(DEFAULT_TRANSFORM_CODE))


class TransformResult(NamedTuple):
    """What the transform made of one event: the event, None (dropped, or failed: see `error`).

    A named tuple: tens of thousands are made per batch, and a tuple is the cheapest to make."""

    event: dict[str, Any] | None
    error: str | None = None
    output: str = ""  # what the transform printed for this event


@dataclass(frozen=True)
class TestRun:
    """A test of the transform on one sample."""

    __test__ = False  # not a pytest test class

    result: dict[str, Any] | None
    output: str
    runtime_ms: float
    error: str | None = None  # the exception's traceback text, or why the run failed


class CodeEngine:
    """Modules, secrets and sandboxed transforms of each organization."""

    def __init__(
        self,
        db: Database,
        box: SecretBox,
        sandbox: Sandbox,
        *,
        limits: Limits,
        event_seconds: float = 5.0,
        pool: TransformPool | None = None,
    ) -> None:
        self.db = db
        self.box = box
        self.sandbox = sandbox
        self.limits = limits
        self.event_seconds = event_seconds
        self.pool = pool or TransformPool(sandbox, limits)

    # ----- modules -------------------------------------------------------------------------------------
    def modules(self, principal: Principal) -> list[CodeModule]:
        """The organization's modules by name."""
        require_read(principal)
        with self.db.session() as s:
            stmt = select(CodeModule).where(CodeModule.org_id == principal.org_id).order_by(CodeModule.name)
            return list(s.scalars(stmt))

    def module(self, principal: Principal, name: str) -> CodeModule:
        """One module by name (NotFoundError when absent, `main` included)."""
        require_read(principal)
        with self.db.session() as s:
            found = s.scalar(
                select(CodeModule).where(CodeModule.org_id == principal.org_id, CodeModule.name == name)
            )
        if found is None:
            raise NotFoundError("code module", name)
        return found

    def set_modules(self, principal: Principal, modules: Mapping[str, str]) -> list[CodeModule]:
        """Create or replace these modules (the others stay); every one must compile."""
        principal.require(Action.MANAGE_SOURCES)
        for name, code in modules.items():
            check_module(name, code)
        saved = []
        try:
            with self.db.session() as s:
                existing = {
                    m.name: m
                    for m in s.scalars(
                        select(CodeModule).where(
                            CodeModule.org_id == principal.org_id, CodeModule.name.in_(list(modules))
                        )
                    )
                }
                for name, code in modules.items():
                    row = existing.get(name)
                    if row is None:
                        row = CodeModule(org_id=principal.org_id, name=name, code=code, language=LANGUAGE)
                        s.add(row)
                    else:
                        row.code = code
                    saved.append(row)
                s.flush()
        except IntegrityError as exc:
            raise ConflictError("code modules were changed at the same time; try again") from exc
        self._retire_processes(principal.org_id)  # the old code's (they would be retired anyway)
        return sorted(saved, key=lambda m: m.name)

    def delete_module(self, principal: Principal, name: str) -> None:
        """Delete a module (NotFoundError when absent)."""
        principal.require(Action.MANAGE_SOURCES)
        with self.db.session() as s:
            gone = s.execute(
                delete(CodeModule).where(CodeModule.org_id == principal.org_id, CodeModule.name == name)
            )
            if not gone.rowcount:  # type: ignore[attr-defined]
                raise NotFoundError("code module", name)
        self._retire_processes(principal.org_id)

    def reset_to_default(self, principal: Principal) -> CodeModule:
        """Set `main` back to the transform that returns events unchanged."""
        return self.set_modules(principal, {MAIN: DEFAULT_TRANSFORM_CODE})[0]

    # ----- secrets -------------------------------------------------------------------------------------
    def secret_names(self, principal: Principal) -> list[str]:
        """The names of the organization's secrets (values are never returned)."""
        require_read(principal)
        with self.db.session() as s:
            stmt = select(PipelineSecret.name).where(PipelineSecret.org_id == principal.org_id)
            return sorted(s.scalars(stmt))

    def set_secrets(self, principal: Principal, values: Mapping[str, str]) -> None:
        """Create or replace secrets; values are encrypted at rest."""
        principal.require(Action.MANAGE_SOURCES)
        for name, value in values.items():
            if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME:
                raise InvalidInputError("secrets", f"a secret name must be 1 to {MAX_NAME} characters")
            if not isinstance(value, str):
                raise InvalidInputError(f"secrets.{name}", "a secret value must be a string")
        try:
            with self.db.session() as s:
                existing = {
                    row.name: row
                    for row in s.scalars(
                        select(PipelineSecret).where(
                            PipelineSecret.org_id == principal.org_id, PipelineSecret.name.in_(list(values))
                        )
                    )
                }
                for name, value in values.items():
                    encrypted = self.box.encrypt(value)
                    if name in existing:
                        existing[name].value_encrypted = encrypted
                    else:
                        s.add(PipelineSecret(org_id=principal.org_id, name=name, value_encrypted=encrypted))
        except IntegrityError as exc:
            raise ConflictError("secrets were changed at the same time; try again") from exc
        self._retire_processes(principal.org_id)

    def delete_secret(self, principal: Principal, name: str) -> None:
        """Delete a secret (NotFoundError when absent)."""
        principal.require(Action.MANAGE_SOURCES)
        with self.db.session() as s:
            gone = s.execute(
                delete(PipelineSecret).where(
                    PipelineSecret.org_id == principal.org_id, PipelineSecret.name == name
                )
            )
            if not gone.rowcount:  # type: ignore[attr-defined]
                raise NotFoundError("secret", name)
        self._retire_processes(principal.org_id)

    # ----- running -------------------------------------------------------------------------------------
    def transform_batch(
        self, org_id: int, events: list[dict[str, Any]], encoded: list[bytes] | None = None
    ) -> list[TransformResult]:
        """Transform a batch of the organization's events; one result per event, in order.

        `encoded`, when given, holds each event as one line of JSON (the spool's lines): they go
        to the transform process as they are.
        """
        if not events:
            return []
        sources = self._sources(org_id)
        if is_pass_through(sources):
            return [TransformResult(event) for event in events]
        header = _dumps(self._header(sources, self._secrets(org_id), detail=False))
        try:
            with _no_gc_pauses():
                lines = encoded if encoded is not None else [_dumps(e) for e in events]
            results = self.pool.run(org_id, header, lines)
        except TransformProcessError as exc:
            failure = self._failure(exc.result)
            return [TransformResult(None, failure) for _ in events]
        with _no_gc_pauses():
            return [_result(_loads(line)) for line in results]

    def test_run(
        self,
        principal: Principal,
        sample: dict[str, Any],
        *,
        code: str | None = None,
        modules: Mapping[str, str] | None = None,
    ) -> TestRun:
        """Run the transform on one sample: `code` as main, or `modules` over the saved ones, or these."""
        principal.require(Action.MANAGE_SOURCES)
        if not isinstance(sample, dict):
            raise InvalidInputError("sample", "must be a JSON object")
        sources = self._sources(principal.org_id) | dict(modules or {})
        if code is not None:
            sources[MAIN] = code
        for name, source in sources.items():
            try:
                check_module(name, source)
            except InvalidInputError as exc:
                return TestRun(result=None, output="", runtime_ms=0.0, error=exc.reason)
        if is_pass_through(sources):
            return TestRun(result=sample, output="", runtime_ms=0.0)
        rows, failure = self._run(sources, self._secrets(principal.org_id), [sample], detail=True)
        if failure is not None:
            return TestRun(result=None, output="", runtime_ms=0.0, error=failure)
        kind, value, output, runtime_ms, trace = rows[0]
        if kind == "error":
            return TestRun(result=None, output=output, runtime_ms=runtime_ms, error=trace or value)
        return TestRun(result=value if kind == "ok" else None, output=output, runtime_ms=runtime_ms)

    def requirements(self) -> list[dict[str, str]]:
        """The packages a transform may import besides the standard library (those installed)."""
        return [{"name": p.name, "version": p.version} for p in allowed_packages()]

    # ----- internals -----------------------------------------------------------------------------------
    def _retire_processes(self, org_id: int) -> None:
        """Close the organization's transform processes (their code or secrets changed); inside a
        unit of work only once it commits (a rolled-back import changed nothing)."""
        unit = self.db.current_unit()
        if unit is None:
            self.pool.close_org(org_id)
        else:
            unit.after_commit(lambda: self.pool.close_org(org_id))

    def _sources(self, org_id: int) -> dict[str, str]:
        with self.db.session() as s:
            rows = s.execute(select(CodeModule.name, CodeModule.code).where(CodeModule.org_id == org_id))
            return {name: code for name, code in rows}

    def _secrets(self, org_id: int) -> dict[str, str]:
        with self.db.session() as s:
            rows = s.execute(
                select(PipelineSecret.name, PipelineSecret.value_encrypted).where(
                    PipelineSecret.org_id == org_id
                )
            )
            return {name: self.box.decrypt(value) for name, value in rows}

    def _run(
        self, sources: dict[str, str], secrets: dict[str, str], events: list[dict[str, Any]], *, detail: bool
    ) -> tuple[list[list[Any]], str | None]:
        """The worker's rows for `events` (one process for them), or why the whole batch failed."""
        header = self._header(sources, secrets, detail=detail)
        with _no_gc_pauses():
            payload = b"\n".join([_dumps(header), *map(_dumps, events), b""])
        with tempfile.TemporaryDirectory(prefix="openlytics-transform-") as tmp:
            destination = Path(tmp) / OUTPUT
            result = self.sandbox.run(
                Program.entry_point(WORKER),
                files={INPUT: payload},
                limits=self.limits,
                network=False,
                outputs={OUTPUT: destination},
            )
            if not result.ok or OUTPUT not in result.outputs:
                return [], self._failure(result)
            lines = destination.read_bytes().splitlines()
        if len(lines) != len(events):
            return [], f"the transform process returned {len(lines)} results for {len(events)} events"
        with _no_gc_pauses():
            return [_loads(line) for line in lines], None

    def _header(self, sources: dict[str, str], secrets: dict[str, str], *, detail: bool) -> dict[str, Any]:
        return {
            "modules": sources,
            "secrets": secrets,
            "packages": sorted({m for p in allowed_packages() for m in p.modules}),
            "event_seconds": self.event_seconds,
            "detail": detail,
        }

    def _failure(self, result: SandboxResult) -> str:
        if result.limit == "memory":
            return f"the transform process ran out of memory (limit {self.limits.memory_mb} MB)"
        if result.limit == "wall":
            return f"the transform process took longer than {self.limits.wall_seconds:g} s"
        if result.limit == "cpu":
            return f"the transform process used more than {self.limits.cpu_seconds} s of CPU"
        lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
        why = f": {lines[-1].strip()}" if lines else ""
        return f"the transform process failed (exit code {result.return_code}){why}"


def check_module(name: str, code: str) -> None:
    """Raise InvalidInputError unless `name` is a usable module name and `code` compiles."""
    if (
        not isinstance(name, str)
        or not name.isidentifier()
        or keyword.iskeyword(name)
        or len(name) > MAX_NAME
    ):
        raise InvalidInputError("modules", f"module name {name!r} is not a Python identifier")
    if name in sys.stdlib_module_names or name == SECRETS_MODULE:
        raise InvalidInputError("modules", f"module name {name!r} is taken by a standard module")
    field = f"modules.{name}"
    if not isinstance(code, str):
        raise InvalidInputError(field, "code must be a string")
    if len(code) > MAX_CODE_CHARS:
        raise InvalidInputError(field, f"code is longer than {MAX_CODE_CHARS} characters")
    try:
        tree = ast.parse(code, filename=f"{name}.py")
        compile(tree, f"{name}.py", "exec", dont_inherit=True)
    except SyntaxError as exc:
        raise InvalidInputError(field, f"SyntaxError in module {name}, line {exc.lineno}: {exc.msg}") from exc
    except ValueError as exc:  # e.g. a NUL character
        raise InvalidInputError(field, f"module {name} cannot be compiled: {exc}") from exc
    if name == MAIN and "transform" not in _top_level_names(tree):
        raise InvalidInputError(field, "module main must define transform(event)")


def is_pass_through(sources: Mapping[str, str]) -> bool:
    """Whether these modules leave events unchanged: no `main`, or the default one."""
    main = sources.get(MAIN)
    if main is None:
        return True
    try:
        return ast.dump(ast.parse(main)) == _DEFAULT_SHAPE
    except (SyntaxError, ValueError):
        return False


def _top_level_names(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {t.id for t in targets if isinstance(t, ast.Name)}
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names |= {(a.asname or a.name).partition(".")[0] for a in node.names}
        else:  # conditional definitions (if/try): accept any name bound inside
            names |= {
                n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
            }
            names |= {n.name for n in ast.walk(node) if isinstance(n, ast.FunctionDef)}
    return names


@contextlib.contextmanager
def _no_gc_pauses() -> Iterator[None]:
    """Suspend the cyclic GC while building many acyclic objects (events): without it, the
    collections triggered by tens of thousands of new dicts take longer than the JSON work itself."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _result(row: list[Any]) -> TransformResult:
    kind, value, output = row[0], row[1], row[2]
    if kind == "ok":
        return TransformResult(value, None, output)
    if kind == "drop":
        return TransformResult(None, None, output)
    return TransformResult(None, str(value), output)
