"""A minimal stand-in for the ClicData wrapper (Greg-Bernard/clicdata-api-wrapper, not on PyPI).

It builds the same requests the wrapper builds — `url + suffix` with `url` ending in "/", the token
POST form-encoded, `requests` with `params=''` when there are none, booleans as Python literals in
query strings, no body on DELETE — and reads the answers the way the wrapper does. Where the wrapper
is broken client-side (contract §6: Basic auth, `get_data_history` without a version, `delete_data`,
`create_and_append`, thumbnails) this client does what the wrapper evidently meant.
"""

from __future__ import annotations

import base64
import warnings
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
import requests

DEFAULT_URL = "https://api.clicdata.com/"
VALID_DATA_TYPES = ["text", "number", "datetime", "date", "percentage", "checkbox", "dropdown", "rec_id"]
PANDAS_CONVERT = {
    "object": "text",
    "int64": "number",
    "float64": "number",
    "bool": "checkbox",
    "datetime64": "datetime",
    "timedelta[ns]": "text",
    "category": "text",
}
REBUILD_METHODS = ["reload", "recreate", "update", "updateappend", "append"]


def _frame(data: Any) -> pd.DataFrame:
    """`pd.DataFrame.from_dict(data)`, as the wrapper calls it (lists are deprecated in pandas 3)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        return pd.DataFrame.from_dict(data)


class Session:
    """Connection to the API: a client-credentials token, renewed when its advertised expiry passed."""

    def __init__(
        self,
        auth_method: str = "client_credentials",
        client_id: str | None = None,
        client_secret: str | None = None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> None:
        self.url = kwargs.get("url", DEFAULT_URL)
        self.auth_method = auth_method
        self.token_requests = 0
        if auth_method == "client_credentials":
            self._client_id, self._client_secret = client_id, client_secret
            token_type = "Bearer "
            self.access_token, self.token_expire_time, _ = self._initialize()
        elif auth_method == "basic":
            if not all(isinstance(v, str) for v in (client_id, username, password)):
                raise ValueError("client_id, username and password are required")
            assert client_id is not None
            up = base64.b64encode(f"{username}:{password}".encode())
            # The wrapper keeps these bytes and fails to concatenate them (Q1); decoded here.
            self.access_token = base64.b64encode(client_id.encode() + up).decode()
            token_type = "Basic "
        else:
            raise ValueError(f"unsupported auth_method {auth_method!r}")
        self.header = {"Authorization": token_type + self.access_token, "accept": "application/json"}

    def _initialize(self) -> tuple[str, datetime, int]:
        token = requests.post(
            self.url + "oauth20/token",
            data={
                "grant_type": "client_credentials",
                "client_id": self._client_id,
                "client_secret": self._client_secret,
            },
            timeout=60,
        )
        self.token_requests += 1
        body = token.json()
        expires_in = body.get("expires_in")
        return body.get("access_token"), datetime.now() + timedelta(seconds=expires_in), token.status_code

    def reinitialize(self) -> None:
        """Fetch a new token once the current one's advertised lifetime is over."""
        if self.auth_method != "basic" and datetime.now() >= self.token_expire_time:
            self.access_token, self.token_expire_time, _ = self._initialize()
            self.header = {"Authorization": "Bearer " + self.access_token, "accept": "application/json"}

    def api_call(
        self,
        suffix: str,
        request_method: str,
        params: dict[str, Any] | None = None,
        body: Any = None,
    ) -> requests.Response:
        """One request: `url + suffix`; DELETE never sends the body (like the wrapper)."""
        self.reinitialize()
        endpoint = self.url + suffix
        query: Any = params or ""
        if request_method == "get":
            return requests.get(endpoint, params=query, headers=self.header, timeout=120)
        if request_method == "post":
            return requests.post(endpoint, params=query, headers=self.header, json=body, timeout=120)
        if request_method == "delete":
            return requests.delete(endpoint, params=query, headers=self.header, timeout=120)
        if request_method == "put":
            return requests.put(endpoint, params=query, headers=self.header, json=body, timeout=120)
        raise ValueError("Please enter a valid request_method as a string")


class SessionManager:
    """Binds one session that module classes reuse when built without arguments."""

    _session: Session | None = None

    def __init__(self, **connection_params: Any) -> None:
        SessionManager._session = Session(**connection_params)

    @classmethod
    def get_session(cls) -> Session:
        if cls._session is None:
            raise RuntimeError("create a session with SessionManager first")
        return cls._session


class _Module:
    def __init__(self, **connection_params: Any) -> None:
        self.session = Session(**connection_params) if connection_params else SessionManager.get_session()


class Data(_Module):
    """`Data`: data sets, rows, versions, rebuilds."""

    def retrieve_paginated_data(self, suffix: str) -> list[dict[str, Any]]:
        page, has_more_data, data = 1, True, []
        while has_more_data:
            response = self.session.api_call(suffix=suffix, request_method="get", params={"page": page})
            if response.status_code == 200:
                has_more_data = response.json().get("has_more_data")
                page += 1
                data = data + response.json().get("data")
            else:
                has_more_data = False
        return data

    def get_data(
        self,
        rec_id: int | None = None,
        name: str | None = None,
        unique_key_available: bool | None = None,
        refresh: bool | None = None,
        output: str = "df",
    ) -> Any:
        if rec_id is None:
            params: dict[str, Any] = {}
            if name:
                params["name"] = str(name)
            if unique_key_available:
                params["uniquekeyavailable"] = unique_key_available
            if refresh:
                params["refresh"] = refresh
            data = self.session.api_call(suffix="data", request_method="get", params=params)
            return _frame(data.json().get("data")) if output == "df" else data.json().get("data")
        if type(rec_id) is not int:
            raise ValueError("Please enter a valid rec_id as int.")
        rows = self.retrieve_paginated_data(suffix=f"data/{rec_id}")
        return _frame(rows) if output == "df" else rows

    def get_data_history(self, rec_id: int, ver_id: int | None = None, output: str = "df") -> Any:
        if ver_id is None:
            # The wrapper forgets the method here (Q2); GET is what it means.
            data = self.session.api_call(suffix=f"data/{rec_id}/versions", request_method="get")
            versions = data.json().get("versions")
            for version in versions:
                version.update({"data_rec_id": rec_id})
            return _frame(versions) if output == "df" else versions
        rows = self.retrieve_paginated_data(suffix=f"data/{rec_id}/v/{ver_id}")
        return _frame(rows) if output == "df" else rows

    def create_data(
        self, name: str, description: str = "", cols: dict[str, Any] | None = None
    ) -> requests.Response:
        """`cols`: column name -> pandas dtype (converted as the wrapper does) or a ClicData type name."""
        columns = []
        for column_name, kind in (cols or {}).items():
            data_type = kind if isinstance(kind, str) else PANDAS_CONVERT[kind.name]
            columns.append({"name": column_name, "data_type": data_type})
        body = {"name": name, "description": description, "columns": columns}
        return self.session.api_call(suffix="data", body=body, request_method="post")

    def append_data(self, rec_id: int, data: pd.DataFrame) -> str:
        data_set = [
            [{"column": column, "value": value} for column, value in row.items()]
            for row in data.to_dict(orient="index").values()
        ]
        post = self.session.api_call(
            suffix=f"data/{rec_id}/row", body={"data": data_set}, request_method="post"
        )
        return post.text

    def create_and_append(
        self, name: str, description: str = "", data: pd.DataFrame | None = None
    ) -> dict[str, Any]:
        assert data is not None
        created = self.create_data(name=name, description=description, cols=data.dtypes.to_dict())
        rec_id = int(created.text)
        # The wrapper calls `.text` on this string and raises (Q3).
        return {"rec_id": rec_id, "status": self.append_data(rec_id=rec_id, data=data)}

    def rebuild_data(self, rec_id: int, method: str = "reload") -> str:
        if method not in REBUILD_METHODS:
            raise ValueError(f"Please enter a valid method: {REBUILD_METHODS}")
        return self.session.api_call(suffix=f"data/{rec_id}/{method}", request_method="post").text

    def delete_data(self, rec_id: int, filters: dict[str, Any], multiple_rows: str = "all") -> str:
        """The wrapper never gets here (Q4); DELETE bodies are dropped, so the filter goes in the query."""
        import json

        find = [{"column": k, "value": v} for k, v in filters.items()]
        params = {"multiplerows": multiple_rows, "find": json.dumps(find)}
        return self.session.api_call(suffix=f"data/{rec_id}/row", request_method="delete", params=params).text


class Account(_Module):
    """`Account`: usage, limits and activity."""

    def get_account(self, output: str = "df") -> Any:
        account = self.session.api_call(suffix="account", request_method="get")
        return _frame(account.json()) if output == "df" else account.json()

    def get_account_activity(self, entity: str = "users", output: str = "df") -> Any:
        if entity not in ("users", "dashboards"):
            raise ValueError("entity: users or dashboards")
        activity = self.session.api_call(suffix="account/activity/" + entity, request_method="get")
        return _frame(activity.json()) if output == "df" else activity.json()


class Dashboard(_Module):
    """`Dashboard`: the list, thumbnails and snapshots."""

    def get_dashboard(self, thumbnail: bool = False, name: str | None = None, output: str = "df") -> Any:
        params: dict[str, Any] = {"includethumbnail": thumbnail}
        if name is not None:
            params["name"] = name
        dashboards = self.session.api_call(suffix="dashboard", params=params, request_method="get")
        return _frame(dashboards.json().get("dashboards")) if output == "df" else dashboards.json()

    def get_dashboard_thumbnail(self, rec_id: int, output: str = "base64") -> str | bytes:
        # The wrapper concatenates the int to a str and raises (Q5); the path is its `account/...`.
        return self._image("account/" + str(rec_id) + "/thumbnail", output)

    def get_dashboard_snapshot(self, rec_id: int, output: str = "base64") -> str | bytes:
        return self._image("account/" + str(rec_id) + "/snapshot", output)

    def _image(self, suffix: str, output: str) -> str | bytes:
        text = self.session.api_call(suffix=suffix, request_method="get").text
        return text if output == "base64" else base64.b64decode(text)


class Schedule(_Module):
    """`Schedule`: list, one, trigger (with GET, as the wrapper does)."""

    def get_schedule(self, rec_id: int | None = None, output: str = "df") -> Any:
        suffix = f"schedule/{rec_id}" if type(rec_id) is int else "schedule"
        schedules = self.session.api_call(suffix=suffix, request_method="get")
        return (
            _frame(schedules.json().get("schedules")) if output == "df" else schedules.json().get("schedules")
        )

    def trigger_schedule(self, rec_id: int) -> requests.Response:
        if type(rec_id) is not int:
            raise ValueError("Please enter a valid rec_id as an integer.")
        return self.session.api_call(suffix=f"schedule/{rec_id}/trigger", request_method="get")
