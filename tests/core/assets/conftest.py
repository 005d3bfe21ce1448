"""Objects-as-code tests reuse the governance fixtures: a real app per metadata backend, a fresh
organization per test."""

from tests.core.governance.conftest import app, org

__all__ = ["app", "org"]
