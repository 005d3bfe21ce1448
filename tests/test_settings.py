"""Settings: environment variables, defaults, and the refusal of the dev secret in production."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from openlytics.settings import Settings


def test_environment_variables_configure_the_server(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("OPENLYTICS_PORT", "9123")
    monkeypatch.setenv("OPENLYTICS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("OPENLYTICS_FILE_SOURCE_DIRS", '["/srv/files"]')
    monkeypatch.setenv("OPENLYTICS_DEFAULT_QUERY_TIMEOUT", "12.5")
    settings = Settings()
    assert settings.port == 9123
    assert settings.metadata_url == f"sqlite:///{tmp_path.resolve() / 'metadata.db'}"
    assert Path("/srv/files") in settings.allowed_file_dirs
    assert settings.default_query_timeout == 12.5


def test_explicit_arguments_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENLYTICS_PORT", "9123")
    assert Settings(port=8001).port == 8001


def test_production_refuses_the_development_secret() -> None:
    with pytest.raises(ValidationError, match="OPENLYTICS_SECRET_KEY"):
        Settings(dev_mode=False)
    assert Settings(dev_mode=False, secret_key="a real secret").dev_mode is False
