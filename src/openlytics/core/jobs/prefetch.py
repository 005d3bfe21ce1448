"""Read batches from an engine in a second thread while the current one writes them.

DuckDB and Arrow's compression both release the GIL, so producing and storing a large result
overlap instead of adding up. A result of one batch never starts a thread.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from types import TracebackType

import pyarrow as pa

_DONE = object()


class Prefetcher:
    """Iterates `batches` one step ahead in a background thread; always `close()` it (or use `with`)."""

    def __init__(self, batches: Iterator[pa.RecordBatch], depth: int = 2) -> None:
        self._source = batches
        self._queue: queue.Queue[object] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        first = next(self._source, None)
        if first is None:
            return
        yield first
        self._thread = threading.Thread(target=self._produce, name="openlytics-prefetch", daemon=True)
        self._thread.start()
        while True:
            item = self._queue.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            assert isinstance(item, pa.RecordBatch)
            yield item

    def _produce(self) -> None:
        try:
            for batch in self._source:
                if not self._put(batch):
                    return
            self._put(_DONE)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, which re-raises it
            self._put(exc)

    def _put(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def close(self) -> None:
        """Stop the producer and wait for it, so the engine cursor is no longer in use."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> Prefetcher:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
