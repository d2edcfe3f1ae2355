"""The registry contract on the in-memory store."""

import pytest
from registry_contract import RegistryContract

from mlops.registry import InMemoryRegistryStore, RegistryStore


class TestInMemoryRegistryStore(RegistryContract):
    @pytest.fixture
    def store(self) -> RegistryStore:
        return InMemoryRegistryStore()
