"""Object documents given to an import: objects, JSON/YAML text, or files and directories of them."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

DOCUMENT_SUFFIXES = (".yaml", ".yml", ".json")

# What an import accepts per document: an object, text, or a file (or directory) holding documents.
DocumentSource = Mapping[str, Any] | str | os.PathLike[str]


def document_files(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """The files named, a directory standing for its `.yaml`, `.yml` and `.json` files (recursively,
    sorted); FileNotFoundError for a path that does not exist."""
    files: list[Path] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            found = (p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in DOCUMENT_SUFFIXES)
            files.extend(sorted(found))
        elif path.is_file():
            files.append(path)
        else:
            raise FileNotFoundError(f"no such file or directory: {path}")
    return files


def request_documents(documents: Iterable[DocumentSource]) -> list[Any]:
    """The `documents` of an import request: objects as they are, texts as text, files read (a
    directory counts as its document files, sorted). A string naming an existing file or directory
    is read; any other string is document text."""
    request: list[Any] = []
    for document in documents:
        if isinstance(document, Mapping):
            request.append(dict(document))
        elif isinstance(document, str) and not _names_a_path(document):
            request.append(document)
        else:
            request.extend(path.read_text(encoding="utf-8") for path in document_files([document]))
    return request


def _names_a_path(text: str) -> bool:
    # Document text spans lines or starts a JSON value; a path does neither.
    if "\n" in text or text.lstrip().startswith(("{", "[")):
        return False
    return Path(text).exists()
