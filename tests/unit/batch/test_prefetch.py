"""Reading ahead on a thread keeps the order, raises the producer's error in its place, and
leaves no thread behind when the consumer stops early."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from mlops.batch.prefetch import prefetched


def _reading_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == "batch-read"]


def test_the_items_come_in_order() -> None:
    assert list(prefetched(iter(range(1_000)), depth=2)) == list(range(1_000))
    assert _reading_threads() == []


def test_an_error_while_producing_is_raised_after_the_items_before_it() -> None:
    def items() -> Iterator[int]:
        yield 1
        yield 2
        raise ValueError("unreadable")

    reading = prefetched(items())
    assert [next(reading), next(reading)] == [1, 2]
    with pytest.raises(ValueError, match="unreadable"):
        next(reading)
    assert _reading_threads() == []


def test_stopping_early_stops_the_producer_within_the_depth() -> None:
    produced = []

    def endless() -> Iterator[int]:
        number = 0
        while True:
            produced.append(number)
            yield number
            number += 1

    reading = prefetched(endless(), depth=2)
    assert [next(reading) for _ in range(3)] == [0, 1, 2]
    reading.close()
    assert _reading_threads() == []
    assert len(produced) <= 3 + 2 + 2  # what was taken, the queue, the item in hand and one more
