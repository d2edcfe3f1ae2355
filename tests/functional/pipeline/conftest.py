"""Fixtures for the pipeline's functional tests (defined in pipeline_env.py)."""

from pipeline_env import pipeline_env

__all__ = ["pipeline_env"]
