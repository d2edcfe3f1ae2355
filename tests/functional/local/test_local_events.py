"""put_events routing: patterns, input transformers, InputPath, DISABLED rules."""

from __future__ import annotations

import json

import pytest

from mlops.local import HandlerError, LocalCloud


def _order(status: str, amount: float) -> dict:
    return {
        "Source": "custom.orders",
        "DetailType": "Order",
        "Detail": {"id": "o-17", "status": status, "amount": amount},
    }


def _received(cloud: LocalCloud) -> list:
    return [call.result["received"] for call in cloud.invocations if call.result]


def test_string_template_and_input_path_shape_what_targets_receive(cloud: LocalCloud) -> None:
    # When an order matching both rules is put
    response = cloud.put_events([_order("shipped", 250)])

    # Then one target got the string template filled, the other the event's detail
    assert response["FailedEntryCount"] == 0
    assert sorted(map(str, _received(cloud))) == sorted(
        ["Order o-17 is shipped", str({"id": "o-17", "status": "shipped", "amount": 250})]
    )


def test_a_disabled_rule_receives_nothing(cloud: LocalCloud) -> None:
    cloud.put_events([_order("shipped", 250)])

    assert "local_cloud_handlers.process" not in {call.handler for call in cloud.invocations}
    assert "OrdersDisabled" not in {delivery.rule for delivery in cloud.deliveries}


def test_patterns_filter_on_anything_but_and_numeric(cloud: LocalCloud) -> None:
    # a draft and a small order fail the text rule's filters; the detail rule still matches
    cloud.put_events([_order("draft", 250), _order("shipped", 50)])

    received = _received(cloud)
    assert received == [
        {"id": "o-17", "status": "draft", "amount": 250},
        {"id": "o-17", "status": "shipped", "amount": 50},
    ]


def test_invoke_runs_a_deployed_function_or_any_handler(cloud: LocalCloud) -> None:
    result = cloud.invoke("local_cloud_handlers.record", {"x": 1})
    assert result == {"received": {"x": 1}, "table": cloud.settings.registry_table}

    probe = cloud.invoke("local_cloud_handlers.environment_probe", {"names": ["MLOPS_DATA_BUCKET"]})
    assert probe == {"MLOPS_DATA_BUCKET": cloud.settings.data_bucket}

    with pytest.raises(HandlerError) as raised:
        cloud.invoke("local_cloud_handlers.process", {"bucket": "nope", "key": "k"})
    assert raised.value.error_type == "NoSuchBucket"
    assert cloud.invocations[-1].handler == "local_cloud_handlers.process"


def test_sns_and_sqs_targets_receive_the_event(cloud: LocalCloud) -> None:
    # Given a rule (created through the API) whose targets are the topic and a queue,
    # and a queue subscribed to the topic
    sqs, sns, events = cloud.client("sqs"), cloud.client("sns"), cloud.client("events")
    direct = sqs.create_queue(QueueName="direct")["QueueUrl"]
    via_topic = sqs.create_queue(QueueName="via-topic")["QueueUrl"]

    def arn(url: str) -> str:
        return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]

    topic = cloud.settings.notification_topic_arn
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn(via_topic))
    events.put_rule(Name="fanout", EventPattern='{"source": ["custom.fanout"]}')
    events.put_targets(
        Rule="fanout",
        Targets=[
            {"Id": "topic", "Arn": topic, "InputPath": "$.detail"},
            {"Id": "queue", "Arn": arn(direct), "Input": '{"fixed": true}'},
        ],
    )

    # When a matching event is put
    cloud.put_events([{"Source": "custom.fanout", "DetailType": "x", "Detail": {"n": 1}}])

    # Then the queue got the constant input and the topic's subscriber the detail
    (message,) = sqs.receive_message(QueueUrl=direct)["Messages"]
    assert json.loads(message["Body"]) == {"fixed": True}
    (notification,) = sqs.receive_message(QueueUrl=via_topic)["Messages"]
    assert json.loads(json.loads(notification["Body"])["Message"]) == {"n": 1}
