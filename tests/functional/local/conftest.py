"""Fixtures for the local cloud's tests: a small synthesized CDK app and a LocalCloud on it."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mlops.local import LocalCloud, synthesize
from mlops.local.pytest_plugin import local_cloud, local_cloud_template

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # the test template's handlers live beside this file
    sys.path.insert(0, str(HERE))

TEST_STACK = "LocalCloudTest"
__all__ = ["local_cloud", "local_cloud_template"]  # the plugin's fixtures, for the real stack


@pytest.fixture(scope="session")
def tiny_template() -> dict[str, Any]:
    """The test app's template, synthesized once and cached by the app's hash."""
    return synthesize(HERE / "tiny_app.py", TEST_STACK, sources=[])


@pytest.fixture
def cloud(tiny_template: dict[str, Any]) -> Iterator[LocalCloud]:
    with LocalCloud(tiny_template, stack=TEST_STACK) as local:
        yield local
