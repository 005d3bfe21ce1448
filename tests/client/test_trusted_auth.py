"""`client.trusted_auth`: admins show and rotate the organization's key (sync and async)."""

from __future__ import annotations

import asyncio

import pytest

from openlytics.client import AsyncClient, PermissionDeniedError, TrustedAuthKey
from tests.client.conftest import SdkOrg


def test_the_key_is_off_until_rotated_and_changes_on_each_rotation(org: SdkOrg) -> None:
    off = org.admin.trusted_auth.show()
    assert isinstance(off, TrustedAuthKey) and not off.enabled and off.secret_key is None
    first = org.admin.trusted_auth.rotate()
    assert first.enabled and first.secret_key and first.rotated_at is not None
    assert org.admin.trusted_auth.show().secret_key == first.secret_key
    assert org.admin.trusted_auth.rotate().secret_key != first.secret_key
    with pytest.raises(PermissionDeniedError):
        org.editor.trusted_auth.show()


def test_async_client_rotates_and_shows_the_key(org: SdkOrg) -> None:
    async def main() -> None:
        async with AsyncClient(org.url, org.keys["admin"]) as client:
            rotated = await client.trusted_auth.rotate()
            assert (await client.trusted_auth.show()).secret_key == rotated.secret_key

    asyncio.run(main())
