"""Secrets at rest: argon2 password hashes, API key generation and hashing, Fernet encryption."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets as pysecrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.fernet import Fernet, InvalidToken

_hasher = PasswordHasher()

API_KEY_PREFIX = "olk_"


def hash_password(password: str) -> str:
    """An argon2id hash of `password`."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether `password` matches the stored hash (constant time)."""
    if not password_hash:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def new_api_key() -> str:
    """A fresh random API key (about 256 bits of entropy)."""
    return API_KEY_PREFIX + pysecrets.token_urlsafe(32)


def new_token() -> str:
    """A fresh random session token."""
    return pysecrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """SHA-256 hex digest used to look up high-entropy keys and tokens without storing them."""
    return hashlib.sha256(token.encode()).hexdigest()


def constant_time_equals(a: str, b: str) -> bool:
    """Compare two strings without leaking timing."""
    return hmac.compare_digest(a.encode(), b.encode())


class SecretBox:
    """Fernet encryption with a key derived from the server's secret key."""

    def __init__(self, secret_key: str) -> None:
        digest = hashlib.sha256(b"openlytics-fernet:" + secret_key.encode()).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(digest))

    def encrypt(self, plaintext: str) -> str:
        """Encrypt `plaintext` to a URL-safe token."""
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, ciphertext: str) -> str:
        """Decrypt a token made by `encrypt`; raise ValueError if it was not."""
        try:
            return self._fernet.decrypt(ciphertext.encode()).decode()
        except InvalidToken as exc:
            raise ValueError("secret cannot be decrypted with this server's secret key") from exc
