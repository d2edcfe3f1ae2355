"""Typed pipeline errors. Their class names are what Step Functions' Retry and Catch match on."""

from __future__ import annotations


class TransientError(Exception):
    """A failure worth retrying (throttling, a service hiccup). The state machine retries it.

    Always raise this class itself, never a subclass: Step Functions matches the exact name.
    """


class PipelineInputError(Exception):
    """The step's input is unusable (a malformed payload, a missing spec): never retried."""


class ObjectUnreadableError(Exception):
    """A data object that does not exist or cannot be read."""

    def __init__(self, uri: str, problem: str) -> None:
        super().__init__(f"cannot read {uri}: {problem}")
        self.uri = uri
        self.problem = problem


class ExecutionExistsError(Exception):
    """Step Functions already has an execution with this name: a redelivered event."""
