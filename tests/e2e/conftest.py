"""Fixtures for the end-to-end suite (defined in e2e_platform.py)."""

from e2e_platform import e2e_template, platform

__all__ = ["e2e_template", "platform"]
