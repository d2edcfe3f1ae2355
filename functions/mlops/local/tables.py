"""The registry table as the storage construct declares it, for tests and benchmarks."""

from typing import Any


def create_registry_table(client: Any, name: str) -> None:
    """Create the registry table (`pk`/`sk` string keys, on demand) through `client`."""
    client.create_table(
        TableName=name,
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
