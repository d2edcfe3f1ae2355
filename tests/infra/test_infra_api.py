"""The REST API: routes to the score function, auth, throttling, logging, validation."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from conftest import Synth

ROUTES = {
    ("GET", "/v1/health"),
    ("GET", "/v1/openapi.json"),
    ("GET", "/v1/models"),
    ("GET", "/v1/models/{name}"),
    ("POST", "/v1/models/{name}/predict"),
    ("POST", "/v1/models/{name}/feedback"),
}


def _path_of(synth: Synth, resource_id: str) -> str:
    resources = synth.template["Resources"]
    parts = []
    while True:
        resource = resources.get(resource_id)
        if resource is None or resource["Type"] != "AWS::ApiGateway::Resource":
            break
        parts.append(resource["Properties"]["PathPart"])
        parent = resource["Properties"]["ParentId"]
        resource_id = parent.get("Ref", "")
    return "/" + "/".join(reversed(parts))


def _methods(synth: Synth) -> dict[tuple[str, str], dict[str, Any]]:
    methods = {}
    for method in synth.resources("AWS::ApiGateway::Method").values():
        properties = method["Properties"]
        resource = properties["ResourceId"]
        path = _path_of(synth, resource["Ref"]) if "Ref" in resource else "/"
        methods[(properties["HttpMethod"], path)] = properties
    return methods


def _stage(synth: Synth) -> dict[str, Any]:
    (stage,) = synth.resources("AWS::ApiGateway::Stage").values()
    properties: dict[str, Any] = stage["Properties"]
    return properties


def test_documented_routes_proxy_to_the_score_function_with_iam_auth(synth: Synth) -> None:
    score_id, _ = synth.function("score")
    methods = _methods(synth)
    assert set(methods) == ROUTES  # no CORS preflight when no origins are configured
    for route, method in methods.items():
        assert method["AuthorizationType"] == "AWS_IAM", route
        assert method["ApiKeyRequired"] is False, route
        integration = method["Integration"]
        assert integration["Type"] == "AWS_PROXY"
        assert score_id in json.dumps(integration["Uri"])


def test_post_bodies_and_path_parameters_are_validated(synth: Synth) -> None:
    validators = synth.resources("AWS::ApiGateway::RequestValidator")
    for (verb, path), method in _methods(synth).items():
        validator = validators[method["RequestValidatorId"]["Ref"]]["Properties"]
        assert validator["ValidateRequestParameters"] is True
        if verb == "POST":
            assert validator["ValidateRequestBody"] is True
            assert "application/json" in method["RequestModels"]
        if "{name}" in path:
            assert method["RequestParameters"] == {"method.request.path.name": True}


def test_stage_is_throttled_traced_and_access_logged_as_json(synth: Synth) -> None:
    stage = _stage(synth)
    assert stage["TracingEnabled"] is True
    (settings,) = stage["MethodSettings"]
    assert settings["ThrottlingRateLimit"] == 20
    assert settings["ThrottlingBurstLimit"] == 40
    assert settings["LoggingLevel"] == "ERROR"
    access_format = json.loads(stage["AccessLogSetting"]["Format"])
    assert {"requestId", "status", "ip", "httpMethod", "resourcePath"} <= set(access_format)


def test_no_usage_plan_or_keys_in_iam_mode(synth: Synth) -> None:
    assert not synth.resources("AWS::ApiGateway::UsagePlan")
    assert not synth.resources("AWS::ApiGateway::ApiKey")


def test_api_key_mode_requires_keys_adds_a_usage_plan_and_cors(api_key_synth: Synth) -> None:
    methods = _methods(api_key_synth)
    for route in ROUTES:
        assert methods[route]["ApiKeyRequired"] is True, route
        assert methods[route]["AuthorizationType"] == "NONE", route
    preflights = {path for verb, path in methods if verb == "OPTIONS"}
    assert {path for _, path in ROUTES} <= preflights
    (plan,) = api_key_synth.resources("AWS::ApiGateway::UsagePlan").values()
    assert plan["Properties"]["Throttle"] == {"RateLimit": 5, "BurstLimit": 10}
    assert len(api_key_synth.resources("AWS::ApiGateway::ApiKey")) == 1
    assert len(api_key_synth.resources("AWS::ApiGateway::UsagePlanKey")) == 1
    origin_header = json.dumps(methods[("OPTIONS", "/v1/models")]["Integration"])
    assert "https://app.example.com" in origin_header


def _integration_targets(synth: Synth) -> set[str]:
    """What the API's Lambda proxy integrations invoke, as compact JSON of their URI."""
    return {
        json.dumps(method["Properties"]["Integration"]["Uri"], sort_keys=True)
        for method in synth.resources("AWS::ApiGateway::Method").values()
        if method["Properties"].get("Integration", {}).get("Type") == "AWS_PROXY"
    }


def test_by_default_the_api_invokes_the_score_function_without_snapstart(synth: Synth) -> None:
    score_id, score = synth.function("score")

    assert "SnapStart" not in score["Properties"]
    assert not synth.resources("AWS::Lambda::Alias")
    (target,) = _integration_targets(synth)
    assert score_id in target


def test_snapstart_mode_publishes_a_version_and_the_api_invokes_its_live_alias(
    api_key_synth: Synth,
) -> None:
    _, score = api_key_synth.function("score")
    assert score["Properties"]["SnapStart"] == {"ApplyOn": "PublishedVersions"}

    ((alias_id, alias),) = api_key_synth.resources("AWS::Lambda::Alias").items()
    assert alias["Properties"]["Name"] == "live"
    version_id = alias["Properties"]["FunctionVersion"]["Fn::GetAtt"][0]
    assert api_key_synth.template["Resources"][version_id]["Type"] == "AWS::Lambda::Version"
    (target,) = _integration_targets(api_key_synth)
    assert alias_id in target
