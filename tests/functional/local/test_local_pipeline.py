"""An S3 upload, routed through EventBridge, runs the state machine with real handlers."""

from __future__ import annotations

import json

from mlops.local import LocalCloud


def _only_execution(cloud: LocalCloud) -> dict:
    (execution,) = cloud.executions()
    return cloud.wait_for_execution(execution["executionArn"], timeout=60)


def test_upload_starts_the_pipeline_whose_task_runs_the_handler(cloud: LocalCloud) -> None:
    # Given a data bucket whose uploads under incoming/ start the pipeline
    # When a good file is uploaded
    cloud.upload("incoming/good.csv", "a,b\n1,2\n3,4\n")

    # Then the execution ran the real handler in-process with the function's environment
    execution = _only_execution(cloud)
    assert execution["status"] == "SUCCEEDED"
    output = json.loads(execution["output"])
    assert output["origin"] == "s3"
    assert output["work"] == {
        "lines": 3,
        "key": "incoming/good.csv",
        "function": cloud.physical_id("ProcessCB70800C"),
        "greeting": "hello from the template",
    }
    assert [call.handler for call in cloud.invocations] == ["local_cloud_handlers.process"]


def test_catch_sees_the_handler_exception_type(cloud: LocalCloud) -> None:
    # Given a file the handler refuses
    cloud.upload("incoming/bad.csv", "bad data\n")

    # When the pipeline runs
    execution = _only_execution(cloud)

    # Then the Catch on "ValidationFailed" took it to the Rejected state
    assert execution["status"] == "SUCCEEDED"
    output = json.loads(execution["output"])
    assert output["error"]["Error"] == "ValidationFailed"
    assert (
        json.loads(output["error"]["Cause"])["errorMessage"] == "incoming/bad.csv starts with 'bad'"
    )
    entered = [
        event["stateEnteredEventDetails"]["name"]
        for event in cloud.execution_history(execution["executionArn"])
        if "stateEnteredEventDetails" in event
    ]
    assert entered == ["ProcessFile", "Rejected"]
    (call,) = cloud.invocations
    assert call.errored
    assert call.error is not None
    assert call.error["errorType"] == "ValidationFailed"


def test_keys_arrive_url_encoded_as_s3_sends_them(cloud: LocalCloud) -> None:
    cloud.upload("incoming/my file+v2.csv", "x\n")

    execution = _only_execution(cloud)

    assert json.loads(execution["input"])["key"] == "incoming/my+file%2Bv2.csv"
    assert json.loads(execution["output"])["work"]["key"] == "incoming/my file+v2.csv"


def test_uploads_outside_the_pattern_start_nothing(cloud: LocalCloud) -> None:
    cloud.upload("elsewhere/file.csv", "x\n")
    cloud.client("s3").put_object(
        Bucket=cloud.outputs["ArtifactBucketName"], Key="incoming/x", Body=b""
    )

    assert cloud.executions() == []
    assert cloud.invocations == []
