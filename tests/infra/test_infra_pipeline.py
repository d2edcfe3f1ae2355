"""The training state machine matches docs/architecture.md state for state."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from conftest import Synth

STATE_NAMES = {
    "Validate",
    "IsDataValid",
    "Train",
    "Evaluate",
    "Gate",
    "FinalizeCompleted",
    "FinalizeRejected",
    "FinalizeFailed",
    "Done",
    "Rejected",
    "Failed",
}
LAMBDA_SERVICE_ERRORS = {
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
}
STEPS = {
    "Validate": ("validate", "$.validation"),
    "Train": ("train", "$.training"),
    "Evaluate": ("evaluate", "$.evaluation"),
    "Gate": ("gate", "$.gate"),
}


def render_definition(definition: Any) -> dict[str, Any]:
    """Parse a DefinitionString, rendering Fn::GetAtt tokens as "<LogicalId.Attr>"."""
    if isinstance(definition, str):
        return dict(json.loads(definition))
    parts = []
    for part in definition["Fn::Join"][1]:
        if isinstance(part, str):
            parts.append(part)
        else:
            logical_id, attribute = part["Fn::GetAtt"]
            parts.append(f"<{logical_id}.{attribute}>")
    return dict(json.loads("".join(parts)))


@pytest.fixture(scope="module")
def machine(synth: Synth) -> dict[str, Any]:
    return synth.resources("AWS::StepFunctions::StateMachine")[
        synth.logical_id("AWS::StepFunctions::StateMachine", "Training")
    ]


@pytest.fixture(scope="module")
def states(machine: dict[str, Any]) -> dict[str, Any]:
    definition = render_definition(machine["Properties"]["DefinitionString"])
    assert definition["StartAt"] == "Validate"
    return dict(definition["States"])


def test_states_are_named_as_documented(states: dict[str, Any]) -> None:
    assert set(states) == STATE_NAMES


@pytest.mark.parametrize("step", sorted(STEPS))
def test_each_step_invokes_its_function_with_response_only(
    synth: Synth, states: dict[str, Any], step: str
) -> None:
    function_name, result_path = STEPS[step]
    function_id, _ = synth.function(function_name)
    state = states[step]
    # payload_response_only: the Resource is the function ARN, not the lambda:invoke integration
    assert state["Type"] == "Task"
    assert state["Resource"] == f"<{function_id}.Arn>"
    assert state["ResultPath"] == result_path


@pytest.mark.parametrize("step", sorted(STEPS))
def test_steps_retry_service_and_transient_errors_and_catch_everything(
    states: dict[str, Any], step: str
) -> None:
    state = states[step]
    retried = [set(retry["ErrorEquals"]) for retry in state["Retry"]]
    assert LAMBDA_SERVICE_ERRORS in retried
    assert {"TransientError"} in retried
    assert state["Catch"] == [
        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "FinalizeFailed"}
    ]


def test_flow_follows_the_documented_graph(states: dict[str, Any]) -> None:
    assert states["Validate"]["Next"] == "IsDataValid"
    choice = states["IsDataValid"]
    assert choice["Type"] == "Choice"
    assert choice["Choices"] == [
        {"Variable": "$.validation.valid", "BooleanEquals": True, "Next": "Train"}
    ]
    assert choice["Default"] == "FinalizeRejected"
    assert states["Train"]["Next"] == "Evaluate"
    assert states["Evaluate"]["Next"] == "Gate"
    assert states["Gate"]["Next"] == "FinalizeCompleted"
    assert states["FinalizeCompleted"]["Next"] == "Done"
    assert states["FinalizeRejected"]["Next"] == "Rejected"
    assert states["FinalizeFailed"]["Next"] == "Failed"
    assert states["Done"]["Type"] == "Succeed"
    assert states["Rejected"]["Type"] == "Succeed"
    assert states["Failed"]["Type"] == "Fail"


@pytest.mark.parametrize(
    ("state_name", "outcome"),
    [
        ("FinalizeCompleted", "completed"),
        ("FinalizeRejected", "rejected"),
        ("FinalizeFailed", "failed"),
    ],
)
def test_finalize_receives_outcome_execution_id_and_whole_state(
    synth: Synth, states: dict[str, Any], state_name: str, outcome: str
) -> None:
    finalize_id, _ = synth.function("finalize")
    state = states[state_name]
    assert state["Resource"] == f"<{finalize_id}.Arn>"
    assert state["Parameters"] == {
        "outcome": outcome,
        "execution_id.$": "$$.Execution.Id",
        "state.$": "$",
    }
    assert {frozenset(retry["ErrorEquals"]) for retry in state["Retry"]} == {
        frozenset(LAMBDA_SERVICE_ERRORS),
        frozenset({"TransientError"}),
    }


def test_standard_workflow_with_logging_and_tracing(synth: Synth, machine: dict[str, Any]) -> None:
    properties = machine["Properties"]
    assert properties.get("StateMachineType", "STANDARD") == "STANDARD"
    assert properties["TracingConfiguration"] == {"Enabled": True}
    logging = properties["LoggingConfiguration"]
    assert logging["Level"] in {"ALL", "ERROR"}
    group_arn = logging["Destinations"][0]["CloudWatchLogsLogGroup"]["LogGroupArn"]
    group_id = group_arn["Fn::GetAtt"][0]
    assert synth.template["Resources"][group_id]["Type"] == "AWS::Logs::LogGroup"


def test_state_machine_may_invoke_only_the_pipeline_functions(
    synth: Synth, machine: dict[str, Any]
) -> None:
    role_id = machine["Properties"]["RoleArn"]["Fn::GetAtt"][0]
    invoked = set()
    for policy in synth.resources("AWS::IAM::Policy").values():
        if {"Ref": role_id} not in policy["Properties"]["Roles"]:
            continue
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if statement["Action"] == "lambda:InvokeFunction":
                invoked.update(json.dumps(resource) for resource in statement["Resource"])
    for name in ("validate", "train", "evaluate", "gate", "finalize"):
        function_id, _ = synth.function(name)
        assert any(function_id in resource for resource in invoked), name
    for name in ("trigger", "score"):
        function_id, _ = synth.function(name)
        assert not any(function_id in resource for resource in invoked), name
