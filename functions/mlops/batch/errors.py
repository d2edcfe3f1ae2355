"""Typed batch errors. Their class names are what the batch state machine's Catch matches on."""

from __future__ import annotations


class BatchObjectError(Exception):
    """One input object cannot be read or scored (its child fails; the run may survive)."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"cannot score {key}: {problem}")
        self.key = key
        self.problem = problem


class NoProductionVersionError(Exception):
    """The model has no production version to pin (or does not exist)."""


class BatchInputError(Exception):
    """The step's event is unusable (a missing or malformed field): never retried."""
