"""Client implementation; `_sync/` is generated from `_async/` by `_unasync.py`."""
