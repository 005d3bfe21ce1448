"""Uploads: files received for later use (dataset loads, e-mail attachments), and signed upload URLs.

A signed URL lets a client upload without its API key: `expires` and an HMAC over the object name,
the organization and the expiry, keyed from the server's secret. An expired or tampered signature
is refused; a used URL cannot be replayed (the upload is received once).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from openlytics.core.errors import ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError
from openlytics.core.principal import Action, Principal
from openlytics.core.signed_urls import UrlSigner
from openlytics.store.db import Database
from openlytics.store.models import Dataset, Upload
from openlytics.store.types import utcnow

PURPOSES = frozenset({"dataset", "attachment"})
OBJECT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$")


@dataclass(frozen=True)
class SignedUpload:
    """Where to send the bytes: `path` (relative to the server root) carries the signature."""

    upload: Upload
    path: str


class UploadService:
    """Keep uploaded files under the data directory, addressed by object name within an organization."""

    def __init__(
        self, db: Database, directory: Path, secret: bytes, *, max_bytes: int, ttl: timedelta
    ) -> None:
        self.db = db
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.signer = UrlSigner(secret, "uploads", ttl_seconds=ttl.total_seconds())
        self.max_bytes = max_bytes
        self.ttl = ttl

    def sign(
        self,
        principal: Principal,
        *,
        purpose: str,
        object_name: str,
        dataset_id: int | None = None,
        route: str,
    ) -> SignedUpload:
        """Reserve `object_name` and return a URL path (under `route`) that accepts one upload."""
        upload = self._reserve(principal, purpose, object_name, dataset_id)
        expires, signature = self.signer.sign(f"{upload.org_id}:{upload.object_name}")
        return SignedUpload(
            upload, f"{route}/{upload.org_id}/{upload.object_name}?expires={expires}&sig={signature}"
        )

    def receive_signed(
        self, org_id: int, object_name: str, expires: str, signature: str, chunks: Iterable[bytes]
    ) -> Upload:
        """Store the bytes of a signed upload; refuse an expired, tampered or used signature."""
        return self._store(self.verify(org_id, object_name, expires, signature), chunks)

    def verify(self, org_id: int, object_name: str, expires: str, signature: str) -> Upload:
        """The reserved upload a signature is for; refuse an expired, tampered or used one."""
        self.signer.check(f"{org_id}:{object_name}", expires, signature)
        with self.db.session() as s:
            upload = s.scalar(
                select(Upload).where(Upload.org_id == org_id, Upload.object_name == object_name)
            )
        if upload is None:
            raise NotFoundError("upload", object_name)
        if upload.received_at is not None:
            raise ConflictError("this upload URL was already used")
        return upload

    def reserve(
        self, principal: Principal, *, purpose: str, object_name: str, dataset_id: int | None = None
    ) -> Upload:
        """Reserve (or reuse) an object name for a direct upload by an authenticated caller."""
        return self._reserve(principal, purpose, object_name, dataset_id, replace=True)

    def store(self, upload: Upload, chunks: Iterable[bytes]) -> Upload:
        """Write the bytes of a reserved or verified upload (size-limited, atomic)."""
        return self._store(upload, chunks)

    def receive(
        self,
        principal: Principal,
        *,
        purpose: str,
        object_name: str,
        chunks: Iterable[bytes],
        dataset_id: int | None = None,
    ) -> Upload:
        """Store bytes sent directly by an authenticated caller."""
        upload = self._reserve(principal, purpose, object_name, dataset_id, replace=True)
        return self._store(upload, chunks)

    def get(self, principal: Principal, object_name: str) -> Upload:
        """A received upload of the caller's organization."""
        with self.db.session() as s:
            upload = s.scalar(
                select(Upload).where(Upload.org_id == principal.org_id, Upload.object_name == object_name)
            )
        if upload is None or upload.received_at is None or upload.path is None:
            raise NotFoundError("upload", object_name)
        return upload

    def latest_for_dataset(self, principal: Principal, dataset_id: int) -> Upload:
        """The newest file received for a dataset."""
        with self.db.session() as s:
            upload = s.scalar(
                select(Upload)
                .where(
                    Upload.org_id == principal.org_id,
                    Upload.dataset_id == dataset_id,
                    Upload.received_at.is_not(None),
                )
                .order_by(Upload.received_at.desc(), Upload.id.desc())
                .limit(1)
            )
        if upload is None or upload.path is None:
            raise InvalidInputError("file", "no file was uploaded for this data set")
        return upload

    def path_of(self, upload: Upload) -> Path:
        """Where an upload's bytes are."""
        assert upload.path is not None
        return self.directory / upload.path

    def _reserve(
        self,
        principal: Principal,
        purpose: str,
        object_name: str,
        dataset_id: int | None,
        *,
        replace: bool = False,
    ) -> Upload:
        principal.require(Action.WRITE, "uploads")
        if principal.is_query_key:
            raise PermissionDeniedError("upload", "files")
        if purpose not in PURPOSES:
            raise InvalidInputError("purpose", f"one of {', '.join(sorted(PURPOSES))}")
        if not isinstance(object_name, str) or not OBJECT_NAME.match(object_name) or ".." in object_name:
            raise InvalidInputError("object_name", "letters, digits, dots, dashes and underscores")
        with self.db.session() as s:
            if dataset_id is not None:
                dataset = s.get(Dataset, dataset_id)
                if dataset is None or dataset.org_id != principal.org_id:
                    raise NotFoundError("dataset", dataset_id)
            upload = s.scalar(
                select(Upload).where(Upload.org_id == principal.org_id, Upload.object_name == object_name)
            )
            if upload is not None and not replace:
                raise ConflictError(f"an upload named {object_name} exists", field="object_name")
            if upload is None:
                upload = Upload(org_id=principal.org_id, object_name=object_name)
                s.add(upload)
            upload.user_id = principal.user_id
            upload.purpose = purpose
            upload.dataset_id = dataset_id
            upload.expires_at = utcnow() + self.ttl
            s.flush()
            return upload

    def _store(self, upload: Upload, chunks: Iterable[bytes]) -> Upload:
        relative = Path(str(upload.org_id)) / f"{upload.uuid}"
        target = self.directory / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".part")
        size = 0
        try:
            with partial.open("wb") as out:
                for chunk in chunks:
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise InvalidInputError("file", f"larger than the limit of {self.max_bytes:,} bytes")
                    out.write(chunk)
            partial.replace(target)
        finally:
            partial.unlink(missing_ok=True)
        with self.db.session() as s:
            stored = s.get(Upload, upload.id)
            assert stored is not None
            stored.path = str(relative)
            stored.byte_size = size
            stored.received_at = utcnow()
            return stored

    def delete_files_of(self, org_id: int) -> None:
        """Remove an organization's upload directory (used when an organization is deleted)."""
        shutil.rmtree(self.directory / str(org_id), ignore_errors=True)
