"""Read ahead on a thread: the next blocks come from S3 (network waits, inflating, splitting)
while the current one is parsed and scored. At most `depth` blocks wait, so memory stays
bounded."""

from __future__ import annotations

import queue
import threading
from collections.abc import Generator, Iterator
from typing import NamedTuple, TypeVar, cast

T = TypeVar("T")
_END = object()


class _Failed(NamedTuple):
    error: BaseException


def prefetched(items: Iterator[T], depth: int = 2) -> Generator[T, None, None]:
    """The items in order, produced up to `depth` ahead; an error raised while producing them
    is raised here, in its place. Stopping early stops the producer after its current item."""
    slots: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                if stop.is_set():
                    return
                slots.put(item)
            slots.put(_END)
        except BaseException as error:  # noqa: BLE001 - handed to the consumer, raised there
            slots.put(_Failed(error))
        finally:
            if isinstance(items, Generator):
                items.close()  # on this thread, where it runs (it may hold an S3 stream)

    producer = threading.Thread(target=produce, name="batch-read", daemon=True)
    producer.start()
    try:
        while (item := slots.get()) is not _END:
            if isinstance(item, _Failed):
                raise item.error
            yield cast(T, item)
    finally:
        stop.set()
        while producer.is_alive():  # make room, so a producer blocked on a full queue ends
            try:
                slots.get(timeout=0.1)
            except queue.Empty:
                continue
        producer.join()
