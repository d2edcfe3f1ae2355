"""Batch scoring: the Distributed Map state machine, its schedules, least-privilege IAM, nag."""

from __future__ import annotations

import json
from typing import Any

import pytest
from conftest import TEST_CONFIG, Synth, synthesize

from infra.config import ConfigError, load_config

BATCH_MODELS = [
    {
        "name": "churn",
        "schedule": "rate(1 day)",
        "batch": {
            "schedule": "cron(0 2 * * ? *)",
            "input_prefix": "batch/input/churn/daily/",
            "max_concurrency": 40,
            "tolerated_failure_percentage": 5,
        },
    },
    {"name": "price", "batch": {"max_concurrency": 3}},  # by hand only: no schedule
    {"name": "fraud"},
]
BATCH_FUNCTIONS = ("batch_pin", "batch_score", "batch_manifest", "batch_trigger")
S3_WRITES = {"s3:PutObject", "s3:DeleteObject*", "s3:PutObjectLegalHold", "s3:PutObjectRetention"}
DYNAMODB_WRITES = {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"}
LAMBDA_SERVICE_ERRORS = {
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
}


@pytest.fixture(scope="module")
def batch_synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    """The stack with batch configured for two models (synthesis fails on any nag finding)."""
    return synthesize(tmp_path_factory.mktemp("cdk-batch"), {**TEST_CONFIG, "models": BATCH_MODELS})


@pytest.fixture(scope="module")
def ids(batch_synth: Synth) -> dict[str, str]:
    return {
        "data": batch_synth.logical_id("AWS::S3::Bucket", "DataBucket"),
        "artifacts": batch_synth.logical_id("AWS::S3::Bucket", "ArtifactBucket"),
        "table": batch_synth.logical_id("AWS::DynamoDB::Table", "Registry"),
        "machine": batch_synth.logical_id("AWS::StepFunctions::StateMachine", "Batch"),
        "training": batch_synth.logical_id("AWS::StepFunctions::StateMachine", "Training"),
    }


@pytest.fixture(scope="module")
def machine(batch_synth: Synth, ids: dict[str, str]) -> dict[str, Any]:
    resource: dict[str, Any] = batch_synth.template["Resources"][ids["machine"]]
    return resource


@pytest.fixture(scope="module")
def states(machine: dict[str, Any]) -> dict[str, Any]:
    definition = _render(machine["Properties"]["DefinitionString"])
    assert definition["StartAt"] == "Pin"
    return dict(definition["States"])


def _render(definition: Any) -> dict[str, Any]:
    """A DefinitionString with Fn::GetAtt as "<Id.Attr>" and Ref as "<Id>"."""
    if isinstance(definition, str):
        return dict(json.loads(definition))
    parts = []
    for part in definition["Fn::Join"][1]:
        if isinstance(part, str):
            parts.append(part)
        elif "Fn::GetAtt" in part:
            parts.append("<{}.{}>".format(*part["Fn::GetAtt"]))
        else:
            parts.append(f"<{part['Ref']}>")
    return dict(json.loads("".join(parts)))


# --- the state machine ----------------------------------------------------------------------


def test_flow_pins_scores_writes_the_manifest_then_succeeds_or_fails(
    states: dict[str, Any],
) -> None:
    assert set(states) == {"Pin", "ScoreObjects", "Manifest", "RunSucceeded", "Done", "Failed"}
    assert states["Pin"]["Next"] == "ScoreObjects"
    assert states["ScoreObjects"]["Next"] == "Manifest"
    assert states["Manifest"]["Next"] == "RunSucceeded"
    choice = states["RunSucceeded"]
    assert choice["Choices"] == [
        {"Variable": "$.manifest.status", "StringEquals": "failed", "Next": "Failed"}
    ]
    assert choice["Default"] == "Done"
    assert states["Done"]["Type"] == "Succeed"
    assert states["Failed"]["Type"] == "Fail"


@pytest.mark.parametrize("state", ["Pin", "ScoreObjects"])
def test_pin_and_map_errors_are_caught_into_the_manifest(
    states: dict[str, Any], state: str
) -> None:
    assert states[state]["Catch"] == [
        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Manifest"}
    ]


def test_tasks_invoke_their_functions_and_retry_service_and_transient_errors(
    batch_synth: Synth, states: dict[str, Any]
) -> None:
    child = states["ScoreObjects"]["ItemProcessor"]["States"]["ScoreObject"]
    for task, function, result_path in (
        (states["Pin"], "batch_pin", "$.pinned"),
        (states["Manifest"], "batch_manifest", "$.manifest"),
        (child, "batch_score", None),
    ):
        function_id, _ = batch_synth.function(function)
        assert task["Resource"] == f"<{function_id}.Arn>"  # the response payload only
        assert task.get("ResultPath") == result_path
        retried = [set(retry["ErrorEquals"]) for retry in task["Retry"]]
        assert retried == [LAMBDA_SERVICE_ERRORS, {"TransientError"}], function


def test_manifest_receives_the_run_state_and_the_execution(states: dict[str, Any]) -> None:
    assert states["Manifest"]["Parameters"] == {
        "run.$": "$",
        "execution_id.$": "$$.Execution.Id",
        "started_at.$": "$$.Execution.StartTime",
    }


def test_score_objects_is_a_distributed_map_over_the_input_prefix(
    states: dict[str, Any], ids: dict[str, str]
) -> None:
    score = states["ScoreObjects"]
    assert score["Type"] == "Map"
    assert score["ItemProcessor"]["ProcessorConfig"] == {
        "Mode": "DISTRIBUTED",
        "ExecutionType": "STANDARD",
    }
    assert score["ItemReader"] == {
        "Resource": "arn:<AWS::Partition>:states:::s3:listObjectsV2",
        "Parameters": {"Bucket": f"<{ids['data']}>", "Prefix.$": "$.input_prefix"},
    }
    # per-model concurrency and failure tolerance come with each execution's input
    assert score["MaxConcurrencyPath"] == "$.max_concurrency"
    assert score["ToleratedFailurePercentagePath"] == "$.tolerated_failure_percentage"
    assert "MaxConcurrency" not in score
    # child results stay out of the state (10,000 of them exceed 256 KiB): parts are in S3
    assert score["ResultPath"] is None


def test_each_child_gets_the_pinned_version_and_its_object(states: dict[str, Any]) -> None:
    assert states["ScoreObjects"]["ItemSelector"] == {
        "run_id.$": "$.run_id",
        "model.$": "$.model",
        "input_bucket.$": "$.input_bucket",
        "input_prefix.$": "$.input_prefix",  # outputs mirror the keys below it
        "output_bucket.$": "$.output_bucket",
        "output_prefix.$": "$.output_prefix",
        "version.$": "$.pinned.version",
        "sha256.$": "$.pinned.sha256",
        "artifact_uri.$": "$.pinned.artifact_uri",
        "key.$": "$$.Map.Item.Value.Key",
        "size.$": "$$.Map.Item.Value.Size",
    }


def test_standard_workflow_with_logging_and_tracing(machine: dict[str, Any]) -> None:
    properties = machine["Properties"]
    assert properties["StateMachineType"] == "STANDARD"
    assert properties["TracingConfiguration"] == {"Enabled": True}
    assert properties["LoggingConfiguration"]["Level"] == "ALL"
    assert properties["LoggingConfiguration"]["IncludeExecutionData"] is False


# --- functions and least privilege -----------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "layers", "memory", "timeout"),
    [
        ("batch_pin", {"Base"}, 512, 60),
        ("batch_score", {"Base", "Scoring"}, 2048, 900),
        ("batch_manifest", {"Base"}, 1024, 300),
        ("batch_trigger", {"Base"}, 512, 60),
    ],
)
def test_batch_functions_layers_and_sizes(
    batch_synth: Synth, name: str, layers: set[str], memory: int, timeout: int
) -> None:
    _, function = batch_synth.function(name)
    properties = function["Properties"]
    named = {
        layer_name
        for layer in properties["Layers"]
        for layer_name in ("Base", "Scoring", "Training")
        if layer_name in layer["Ref"]
    }
    assert named == layers
    assert (properties["MemorySize"], properties["Timeout"]) == (memory, timeout)
    assert properties["TracingConfig"] == {"Mode": "Active"}


def test_only_the_batch_trigger_knows_the_batch_state_machine(
    batch_synth: Synth, ids: dict[str, str]
) -> None:
    for name in BATCH_FUNCTIONS:
        _, function = batch_synth.function(name)
        variables = function["Properties"]["Environment"]["Variables"]
        if name == "batch_trigger":
            assert variables["MLOPS_BATCH_STATE_MACHINE_ARN"] == {"Ref": ids["machine"]}
        else:
            assert "MLOPS_BATCH_STATE_MACHINE_ARN" not in variables


def _writes(synth: Synth, name: str) -> list[str]:
    return [resource for action, resource in synth.grants(name) if action == "s3:PutObject"]


def _keys_read(synth: Synth, name: str, bucket: str) -> list[str]:
    bucket_itself = json.dumps({"Fn::GetAtt": [bucket, "Arn"]})
    return [
        resource
        for action, resource in synth.grants(name)
        if action == "s3:GetObject*" and bucket in resource and resource != bucket_itself
    ]


def test_batch_score_reads_inputs_models_and_registry_and_writes_only_outputs(
    batch_synth: Synth, ids: dict[str, str]
) -> None:
    assert batch_synth.services("batch_score") == {"s3", "dynamodb", "logs", "xray"}
    assert not batch_synth.actions_on("batch_score", ids["table"]) & DYNAMODB_WRITES
    [inputs] = _keys_read(batch_synth, "batch_score", ids["data"])
    assert inputs.endswith('"/batch/input/*"]]}')
    [models] = _keys_read(batch_synth, "batch_score", ids["artifacts"])
    assert models.endswith('"/models/*"]]}')
    [output] = _writes(batch_synth, "batch_score")
    assert ids["data"] in output
    assert output.endswith('"/batch/output/*"]]}')
    assert not batch_synth.actions_on("batch_score", ids["artifacts"]) & S3_WRITES


def test_batch_manifest_reads_batch_and_writes_only_outputs(
    batch_synth: Synth, ids: dict[str, str]
) -> None:
    assert batch_synth.services("batch_manifest") == {"s3", "logs", "xray"}
    [read] = _keys_read(batch_synth, "batch_manifest", ids["data"])
    assert read.endswith('"/batch/*"]]}')
    assert "s3:List*" in batch_synth.actions_on("batch_manifest", ids["data"])
    [output] = _writes(batch_synth, "batch_manifest")
    assert output.endswith('"/batch/output/*"]]}')
    assert not batch_synth.actions_on("batch_manifest", ids["artifacts"])


def test_batch_pin_only_reads_the_registry(batch_synth: Synth, ids: dict[str, str]) -> None:
    assert batch_synth.services("batch_pin") == {"dynamodb", "logs", "xray"}
    actions = batch_synth.actions_on("batch_pin", ids["table"])
    assert "dynamodb:GetItem" in actions
    assert not actions & DYNAMODB_WRITES


def test_batch_trigger_only_starts_the_batch_state_machine(
    batch_synth: Synth, ids: dict[str, str]
) -> None:
    assert batch_synth.services("batch_trigger") == {"states", "logs", "xray"}
    states_grants = [
        (action, resource)
        for action, resource in batch_synth.grants("batch_trigger")
        if action.startswith("states:")
    ]
    assert states_grants == [("states:StartExecution", json.dumps({"Ref": ids["machine"]}))]


def test_state_machine_invokes_only_the_batch_functions_and_lists_the_data_bucket(
    batch_synth: Synth, machine: dict[str, Any], ids: dict[str, str]
) -> None:
    role_id = machine["Properties"]["RoleArn"]["Fn::GetAtt"][0]
    statements = [
        statement
        for policy in batch_synth.resources("AWS::IAM::Policy").values()
        if {"Ref": role_id} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    invoked = json.dumps(
        [s["Resource"] for s in statements if s["Action"] == "lambda:InvokeFunction"]
    )
    for name in ("batch_pin", "batch_score", "batch_manifest"):
        assert batch_synth.function(name)[0] in invoked, name
    for name in ("batch_trigger", "score", "train", "validate"):
        assert batch_synth.function(name)[0] not in invoked, name
    listing = [s for s in statements if s["Action"] == "s3:ListBucket"]
    assert [s["Resource"] for s in listing] == [{"Fn::GetAtt": [ids["data"], "Arn"]}]
    assert not any(
        "s3:GetObject" in json.dumps(s["Action"]) or "s3:Put" in json.dumps(s["Action"])
        for s in statements
    )


# --- schedules --------------------------------------------------------------------------------


def _batch_rules(synth: Synth) -> list[dict[str, Any]]:
    return [
        rule["Properties"]
        for rule in synth.resources("AWS::Events::Rule").values()
        if "batch scoring" in rule["Properties"].get("Description", "")
    ]


def test_one_batch_schedule_per_model_with_a_batch_schedule(
    batch_synth: Synth, synth: Synth
) -> None:
    # Given churn has a batch schedule, price batch settings without one, fraud none
    (rule,) = _batch_rules(batch_synth)
    assert rule["ScheduleExpression"] == "cron(0 2 * * ? *)"
    trigger_id, _ = batch_synth.function("batch_trigger")
    assert rule["Targets"][0]["Arn"] == {"Fn::GetAtt": [trigger_id, "Arn"]}
    transformer = rule["Targets"][0]["InputTransformer"]
    assert transformer["InputPathsMap"] == {"time": "$.time"}
    # When EventBridge substitutes the event time
    rendered = transformer["InputTemplate"].replace("<time>", '"2026-01-01T02:00:00Z"')
    # Then batch_trigger receives the run's parameters from cdk.json (defaults filled in)
    assert json.loads(rendered) == {
        "source": "mlops.batch",
        "model": "churn",
        "time": "2026-01-01T02:00:00Z",
        "input_prefix": "batch/input/churn/daily/",
        "output_prefix": "batch/output/churn/",
        "max_concurrency": 40,
        "tolerated_failure_percentage": 5,
    }
    # And a stack without batch schedules has no batch rule
    assert _batch_rules(synth) == []


def test_eventbridge_may_invoke_the_batch_trigger(batch_synth: Synth) -> None:
    trigger_id, _ = batch_synth.function("batch_trigger")
    permissions = [
        permission["Properties"]
        for permission in batch_synth.resources("AWS::Lambda::Permission").values()
        if permission["Properties"]["FunctionName"] == {"Fn::GetAtt": [trigger_id, "Arn"]}
    ]
    assert [permission["Principal"] for permission in permissions] == ["events.amazonaws.com"]


def test_cdk_nag_is_clean_with_batch_configured(batch_synth: Synth) -> None:
    report = batch_synth.validation_report()
    violations = [
        violation["ruleName"]
        for plugin in report["pluginReports"]
        for violation in plugin["violations"]
    ]
    assert violations == []


@pytest.mark.parametrize(
    ("batch", "message"),
    [
        ({"input_prefix": "training/churn/"}, "under batch/input/"),
        ({"output_prefix": "batch/input/churn/"}, "under batch/output/"),
        ({"max_concurrency": 0}, "max_concurrency"),
        ({"tolerated_failure_percentage": 101}, "tolerated_failure_percentage"),
        ({"schedule": "every day"}, "rate(N unit) or cron(...)"),
    ],
)
def test_bad_batch_config_is_refused_naming_the_field(batch: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_config({"models": [{"name": "churn", "batch": batch}]})
    assert "mlops.models.0.batch" in str(error.value)
    assert message in str(error.value)
