"""pytest fixtures for the local cloud: `pytest_plugins = ["mlops.local.pytest_plugin"]`.

`local_cloud` deploys `local_cloud_template` (the real stack, synthesized once per session);
override that fixture to run against another template.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from mlops.local.cloud import LocalCloud
from mlops.local.template import REPO_ROOT, load_template


@pytest.fixture(scope="session")
def local_cloud_template() -> dict[str, Any]:
    if not (REPO_ROOT / "infra" / "app.py").exists():
        pytest.skip("infra/app.py does not exist yet: no stack to deploy locally")
    return load_template()


@pytest.fixture
def local_cloud(local_cloud_template: dict[str, Any]) -> Iterator[LocalCloud]:
    with LocalCloud(local_cloud_template) as cloud:
        yield cloud
