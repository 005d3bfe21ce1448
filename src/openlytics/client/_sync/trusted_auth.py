# Generated from _async/trusted_auth.py by `python -m openlytics.client._unasync`; edit that file instead.
"""The organization's trusted-authentication key (admins): show it, rotate it, turn it off."""

from __future__ import annotations

from openlytics.client.models import TrustedAuthKey

from .http import HTTP


class TrustedAuth:
    """`client.trusted_auth`: the key a backend uses to obtain tokens for the organization's users."""

    def __init__(self, http: HTTP) -> None:
        self._http = http

    def show(self) -> TrustedAuthKey:
        """The current key (`enabled` is False and `secret_key` None until a first rotation)."""
        return TrustedAuthKey.from_json(self._http.request("GET", "/trusted-auth"))

    def rotate(self) -> TrustedAuthKey:
        """Make a new key (enabling trusted authentication); the previous one stops working at once."""
        return TrustedAuthKey.from_json(self._http.request("POST", "/trusted-auth"))

    def disable(self) -> TrustedAuthKey:
        """Turn trusted authentication off: the key stops working at once."""
        return TrustedAuthKey.from_json(self._http.request("DELETE", "/trusted-auth"))
