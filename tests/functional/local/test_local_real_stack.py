"""The real stack (infra/app.py, synthesized) deploys into the local cloud.

Uses the `local_cloud` fixture of mlops.local.pytest_plugin, as other suites can.
"""

from __future__ import annotations

import json

import pytest

from mlops.local import LocalCloud
from mlops.local.template import REPO_ROOT

pytestmark = pytest.mark.skipif(
    not (REPO_ROOT / "infra" / "app.py").exists(), reason="infra/app.py does not exist yet"
)

HANDLERS = {
    "mlops.handlers.trigger.handler",
    "mlops.handlers.validate.handler",
    "mlops.handlers.train.handler",
    "mlops.handlers.evaluate.handler",
    "mlops.handlers.gate.handler",
    "mlops.handlers.finalize.handler",
    "mlops.handlers.score.handler",
}


def test_the_functions_state_machine_and_rules_exist(local_cloud: LocalCloud) -> None:
    settings = local_cloud.settings
    functions = local_cloud.client("lambda").list_functions()["Functions"]
    assert {function["Handler"] for function in functions} >= HANDLERS
    for function in functions:
        variables = function["Environment"]["Variables"]
        assert variables["MLOPS_REGISTRY_TABLE"] == settings.registry_table
        assert variables["MLOPS_DATA_BUCKET"] == settings.data_bucket

    machine = local_cloud.client("stepfunctions").describe_state_machine(
        stateMachineArn=settings.training_state_machine_arn
    )
    states = json.loads(machine["definition"])["States"]
    assert all(
        not isinstance(state.get("Parameters", {}).get("FunctionName"), dict)
        for state in states.values()
    )

    rules = local_cloud.client("events").list_rules()["Rules"]
    assert any("aws.s3" in rule.get("EventPattern", "") for rule in rules)
    assert local_cloud.client("dynamodb").describe_table(TableName=settings.registry_table)
    versioning = local_cloud.client("s3").get_bucket_versioning(Bucket=settings.artifact_bucket)
    assert versioning["Status"] == "Enabled"


def test_a_training_upload_is_routed_to_the_trigger_function(local_cloud: LocalCloud) -> None:
    local_cloud.upload("training/churn/data.csv", "a,b\n1,2\n")

    (delivery,) = local_cloud.deliveries
    trigger = local_cloud.function_name("mlops.handlers.trigger.handler")
    assert delivery.target_arn.endswith(f":function:{trigger}")
    assert delivery.payload["detail"]["object"]["key"] == "training/churn/data.csv"
    assert [call.handler for call in local_cloud.invocations][:1] == [
        "mlops.handlers.trigger.handler"
    ]


def test_the_registry_opens_on_the_local_table(local_cloud: LocalCloud) -> None:
    registry = local_cloud.registry()

    registry.create_model("churn", actor="test")

    assert [model.name for model in registry.list_models()] == ["churn"]
    table = local_cloud.client("dynamodb").describe_table(
        TableName=local_cloud.settings.registry_table
    )
    assert table["Table"]["ItemCount"] >= 1
