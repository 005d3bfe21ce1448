"""Generate the sync SDK (`_sync/`) from the async one (`_async/`), as httpcore does.

    python -m openlytics.client._unasync          # rewrite _sync/
    python -m openlytics.client._unasync --check  # exit 1 if _sync/ is stale

Two markers cover what cannot be mirrored word for word: a line ending in `# async-only` is dropped,
and a comment line `# sync-only: <code>` becomes `<code>`. Ruff then re-sorts imports and turns
`for x in y: yield x` into `yield from y`.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
SOURCE = HERE / "_async"
TARGET = HERE / "_sync"

SUBSTITUTIONS: list[tuple[str, str]] = [
    (r"\bAsync([A-Z]\w*)", r"\1"),
    (r"\basync def\b", "def"),
    (r"\basync with\b", "with"),
    (r"\basync for\b", "for"),
    (r"\bawait ", ""),
    (r"\basynccontextmanager\b", "contextmanager"),
    (r"\baclose\b", "close"),
    (r"\baread\b", "read"),
    (r"\baiter_bytes\b", "iter_bytes"),
    (r"__aenter__", "__enter__"),
    (r"__aexit__", "__exit__"),
    (r"\basyncio\.sleep\b", "time.sleep"),
    (r"^import asyncio$", "import time"),
    (r"\bthe async SDK\b", "the sync SDK"),
]

ASYNC_ONLY = re.compile(r"#\s*async-only\s*$")
SYNC_ONLY = re.compile(r"^(\s*)# sync-only: (.*)$")
HEADER = "# Generated from _async/{name} by `python -m openlytics.client._unasync`; edit that file instead.\n"


def unasync_line(line: str) -> str | None:
    """The sync version of one line of async source, or None to drop it."""
    if ASYNC_ONLY.search(line):
        return None
    marker = SYNC_ONLY.match(line)
    if marker:
        return marker.group(1) + marker.group(2)
    for pattern, replacement in SUBSTITUTIONS:
        line = re.sub(pattern, replacement, line)
    return line


def unasync_source(name: str, text: str) -> str:
    """The sync module generated from the async module `name`."""
    lines = (unasync_line(line) for line in text.splitlines())
    body = "\n".join(line for line in lines if line is not None) + "\n"
    return _sort_imports(HEADER.format(name=name) + body, TARGET / name)


def _sort_imports(text: str, path: Path) -> str:
    ruff = [sys.executable, "-m", "ruff", "check", "--select", "I,F401,UP028", "--fix", "--unsafe-fixes"]
    ruff += ["--quiet", "--exit-zero"]
    done = subprocess.run(  # noqa: S603 - our own interpreter running ruff over generated code
        [*ruff, "--stdin-filename", str(path), "-"], input=text, capture_output=True, text=True, check=True
    )
    return done.stdout


def expected_files() -> dict[Path, str]:
    """Every file `_sync/` should contain, with its content."""
    sources = sorted(SOURCE.glob("*.py"))
    return {TARGET / src.name: unasync_source(src.name, src.read_text()) for src in sources}


def main(argv: list[str]) -> int:
    """Write `_sync/`, or with `--check` report whether it is up to date."""
    expected = expected_files()
    stale = [p for p, text in expected.items() if not p.exists() or p.read_text() != text]
    extra = [p for p in TARGET.glob("*.py") if p not in expected]
    if "--check" in argv:
        for path in stale + extra:
            print(f"stale: {path.relative_to(HERE)}")
        return 1 if stale or extra else 0
    TARGET.mkdir(exist_ok=True)
    for path in stale:
        path.write_text(expected[path])
    for path in extra:
        path.unlink()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
