# Generated from _async/__init__.py by `python -m openlytics.client._unasync`; edit that file instead.
"""Client implementation; `_sync/` is generated from `_async/` by `_unasync.py`."""
