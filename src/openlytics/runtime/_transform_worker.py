"""Runs INSIDE the sandbox: applies an organization's `transform(event)` to a batch of events.

Input `batch.jsonl`: a header line `{"modules": {name: code}, "secrets": {name: value},
"packages": [top-level module], "event_seconds": s, "detail": bool}`, then one event (a JSON object)
per line. Output `results.jsonl`: one line per event, in order, `[kind, value, output]` where kind
is "ok" (value: the event), "drop" (the transform returned None) or "error" (value: "Type: message
(module.py, line n, in function)"); with `detail` (test runs) each line also carries the transform's
runtime in milliseconds and the traceback text. `output` is what the event's transform printed.

`main` runs one batch from files and exits (test runs); `serve` stays up and runs batch after
batch from its standard input (the pipeline, see runtime/transform_pool.py). Either way the user's
module `main` is imported once (its sibling modules importable by name, the secrets as
`from transform_secrets import secrets`), then every event runs under a per-event timer
(SIGALRM) in a try/except, so one failing or looping event errs alone. Running out of memory ends
the process (the sandbox reports it and the whole batch fails).

Import policy (`transform_policy`): user modules run with their own `__builtins__` whose
`__import__` refuses process, network and FFI modules and anything that is neither the standard
library, an allowed package, nor another user module. A meta path finder serves the user modules
from their source. This is defence in depth, not the boundary: the sandbox is (no network, the
unprivileged user, limits); a determined transform may reach a loaded module through `sys.modules`.
"""

from __future__ import annotations

import builtins
import gc
import importlib
import io
import linecache
import signal
import sys
import time
import traceback
import types
from collections.abc import Callable, Sequence
from importlib.abc import Loader, MetaPathFinder
from importlib.machinery import ModuleSpec
from typing import Any

from openlytics.runtime.transform_policy import SECRETS_MODULE, is_forbidden, is_standard_library

INPUT = "batch.jsonl"
OUTPUT = "results.jsonl"
MAIN = "main"
MAX_EVENT_OUTPUT = 65_536  # characters of print() output kept per event

try:
    import orjson

    def _loads(data: bytes) -> Any:
        return orjson.loads(data)

    def _dumps(value: Any) -> bytes:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)

except ImportError:  # pragma: no cover - orjson is installed with the server
    import json

    def _loads(data: bytes) -> Any:
        return json.loads(data)

    def _dumps(value: Any) -> bytes:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=_json_default)
        return text.encode()

    def _json_default(value: Any) -> Any:
        if hasattr(value, "isoformat"):
            return value.isoformat()
        raise TypeError(f"Type is not JSON serializable: {type(value).__name__}")


_real_import = builtins.__import__
# The per-event clock: a timer ticks a few times a second for the whole batch (re-arming a timer per
# event would cost two system calls each); a tick while an event has run `_limit` seconds ends it.
_armed = False
_started = 0.0
_limit = 5.0


class EventTimeout(BaseException):
    """Raised in the transform when its event ran out of time (BaseException: `except Exception`
    in user code does not swallow it)."""


def _on_alarm(signum: int, frame: object) -> None:
    if _armed and time.monotonic() - _started >= _limit:
        raise EventTimeout


class ImportPolicy:
    """The `__import__` user modules see: the policy checked before the real import."""

    def __init__(self, user_modules: set[str], packages: set[str]) -> None:
        self.allowed_tops = user_modules | packages | {SECRETS_MODULE}

    def check(self, fullname: str) -> None:
        """Raise ImportError when transforms may not import `fullname`."""
        if is_forbidden(fullname):
            raise ImportError(f"module {fullname!r} is not allowed in transforms", name=fullname)
        top = fullname.partition(".")[0]
        if top not in self.allowed_tops and not is_standard_library(top):
            raise ImportError(
                f"module {top!r} is not allowed in transforms (not among the allowed packages)", name=top
            )

    def __call__(
        self,
        name: str,
        globals: dict[str, Any] | None = None,
        locals: dict[str, Any] | None = None,
        fromlist: Sequence[str] | None = (),
        level: int = 0,
    ) -> types.ModuleType:
        if level == 0:
            self.check(name)
            for item in fromlist or ():
                if item != "*" and is_forbidden(f"{name}.{item}"):
                    raise ImportError(f"module '{name}.{item}' is not allowed in transforms")
        return _real_import(name, globals, locals, fromlist or (), level)


class UserModules(MetaPathFinder, Loader):
    """Serves the organization's modules from their source, with the guarded builtins."""

    def __init__(self, sources: dict[str, str], guarded: dict[str, Any]) -> None:
        self.sources = sources
        self.guarded = guarded

    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: types.ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname in self.sources:
            return ModuleSpec(fullname, self, origin=f"{fullname}.py")
        return None

    def create_module(self, spec: ModuleSpec) -> types.ModuleType | None:
        return None

    def exec_module(self, module: types.ModuleType) -> None:
        name = module.__name__
        filename = f"{name}.py"
        source = self.sources[name]
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        module.__file__ = filename
        module.__dict__["__builtins__"] = self.guarded
        exec(compile(source, filename, "exec", dont_inherit=True), module.__dict__)  # noqa: S102


class Batcher:
    """The organization's transform, loaded once, applied to events given as JSON lines."""

    def __init__(self, header: dict[str, Any]) -> None:
        global _limit
        self.sources: dict[str, str] = header["modules"]
        self.seconds = float(header["event_seconds"])
        self.detail = bool(header.get("detail"))
        _limit = self.seconds
        signal.signal(signal.SIGALRM, _on_alarm)
        tick = min(0.1, self.seconds / 4)
        signal.setitimer(signal.ITIMER_REAL, tick, tick)
        packages = set(header.get("packages") or ())
        self.transform, self.failure = _load(self.sources, header.get("secrets") or {}, packages)
        self.capture = io.StringIO()
        gc.freeze()  # what is alive now (the interpreter, the modules) need not be scanned per event
        sys.stdout = self.capture

    def apply(self, line: bytes) -> bytes:
        """The result line (without its newline) of one event line."""
        global _armed, _started
        detail = self.detail
        if self.transform is None:
            return _dumps(["error", self.failure, "", 0.0, self.failure][: 5 if detail else 3])
        started = time.perf_counter()
        trace = ""
        try:
            event = _loads(line)
            _started = time.monotonic()
            _armed = True
            try:
                value = self.transform(event)
            finally:
                _armed = False
            if value is None:
                row: list[Any] = ["drop", None]
            elif isinstance(value, dict):
                row = ["ok", value]
            else:
                row = ["error", f"transform must return a dict or None, not {type(value).__name__}"]
        except EventTimeout:
            row = ["error", f"timed out after {self.seconds:g} s"]
        except MemoryError:
            raise
        except Exception as exc:  # noqa: BLE001 - the transform's failure is this event's error
            row = ["error", describe(exc, self.sources)]
            trace = user_traceback(exc) if detail else ""
        output = ""
        capture = self.capture
        if capture.tell():
            output = capture.getvalue()[:MAX_EVENT_OUTPUT]
            capture.seek(0)
            capture.truncate()
        row.append(output)
        if detail:
            row += [(time.perf_counter() - started) * 1000, trace]
        try:
            return _dumps(row)
        except (TypeError, ValueError) as exc:  # the returned event holds a non-JSON value
            return _dumps(
                ["error", f"transform returned an event that is not JSON ({exc})", output, *row[3:]]
            )


def main() -> int:
    """Transform every event of `batch.jsonl` into `results.jsonl` (one batch, then exit)."""
    with open(INPUT, "rb") as source, open(OUTPUT, "wb", buffering=1 << 20) as sink:
        batcher = Batcher(_loads(source.readline()))
        for line in source:
            sink.write(batcher.apply(line) + b"\n")
    return 0


def serve() -> int:
    """Long-lived: the header line on standard input, then batches until the input ends.

    A batch is a line holding its event count N, then N event lines; the answer is N result
    lines on standard output, flushed. The whole batch is read before the first result is
    written, so neither side blocks writing while the other does. The real standard output is
    kept for the results: what the transform prints goes to each event's captured output.
    """
    source = sys.stdin.buffer
    # Buffered: under `python -u` stdout's own binary layer is raw, and a raw write to a pipe that
    # the per-event timer's signal interrupts writes only part of a batch's results.
    sink = open(sys.stdout.fileno(), "wb", buffering=1 << 20, closefd=False)  # noqa: SIM115
    header = source.readline()
    if not header:
        return 0
    batcher = Batcher(_loads(header))
    while count_line := source.readline():
        count = int(count_line)
        lines = [source.readline() for _ in range(count)]
        if lines and not lines[-1]:
            return 1  # the input ended inside a batch: the server went away
        sink.write(b"".join([batcher.apply(line) + b"\n" for line in lines]))
        sink.flush()
        gc.collect(0)
    return 0


def _load(
    sources: dict[str, str], secrets: dict[str, str], packages: set[str]
) -> tuple[Callable[[Any], Any] | None, str]:
    """Import `main` under the policy (and the per-event time limit); its `transform`, or None and why."""
    global _armed, _started
    guarded = dict(builtins.__dict__)
    guarded["__import__"] = ImportPolicy(set(sources), packages)
    vault = types.ModuleType(SECRETS_MODULE, "The organization's pipeline secrets (read-only).")
    vault.secrets = types.MappingProxyType(dict(secrets))  # type: ignore[attr-defined]
    sys.modules[SECRETS_MODULE] = vault
    sys.meta_path.insert(0, UserModules(sources, guarded))
    try:
        _started = time.monotonic()
        _armed = True
        try:
            module = importlib.import_module(MAIN)
        finally:
            _armed = False
    except EventTimeout:
        return None, f"importing main timed out after {_limit:g} s"
    except MemoryError:
        raise
    except Exception as exc:  # noqa: BLE001 - reported as every event's error
        return None, describe(exc, sources)
    transform = getattr(module, "transform", None)
    if not callable(transform):
        return None, "module main does not define transform(event)"
    return transform, ""


def describe(exc: BaseException, sources: dict[str, str]) -> str:
    """`Type: message (module.py, line n, in function)` naming the last user frame."""
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    if isinstance(exc, SyntaxError):
        return text  # its message already names the file and line
    user_files = {f"{name}.py" for name in sources}
    last = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename in user_files:
            last = frame
    if last is not None:
        text += f" ({last.filename}, line {last.lineno}, in {last.name})"
    return text


def user_traceback(exc: BaseException) -> str:
    """The traceback text without this worker's (or the import machinery's) frames."""
    frames = [
        frame
        for frame in traceback.extract_tb(exc.__traceback__)
        if frame.filename != __file__ and not frame.filename.startswith("<frozen")
    ]
    lines = ["Traceback (most recent call last):\n"] if frames else []
    lines += traceback.format_list(frames)
    lines += traceback.format_exception_only(type(exc), exc)
    return "".join(lines)
