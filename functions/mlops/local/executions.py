"""Notice of Step Functions executions ending, so local waiters need not poll on a timer."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from unittest import mock

from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication


class Terminations:
    """Counts executions that ended in moto's interpreter and wakes whoever waits for one."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._count = 0

    @property
    def count(self) -> int:
        with self._condition:
            return self._count

    def wait_beyond(self, count: int, timeout: float) -> bool:
        """Block until more than `count` executions have ended, or `timeout` seconds pass."""
        with self._condition:
            return self._condition.wait_for(lambda: self._count > count, timeout)

    @contextmanager
    def patched(self) -> Iterator[None]:
        """Count every execution end (moto records the final status, then tells us)."""
        original = BaseExecutionWorkerCommunication.terminated

        def terminated(communication: BaseExecutionWorkerCommunication) -> None:
            try:
                original(communication)
            finally:
                with self._condition:
                    self._count += 1
                    self._condition.notify_all()

        with mock.patch.object(BaseExecutionWorkerCommunication, "terminated", terminated):
            yield
