"""The REST API: Lambda proxy integration to the score function."""

from __future__ import annotations

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.config import ApiConfig
from infra.constructs.nag import acknowledge

STAGE_NAME = "prod"
# (HTTP method, path) served by the score function.
ROUTES = (
    ("GET", "/v1/health"),
    ("GET", "/v1/openapi.json"),
    ("GET", "/v1/models"),
    ("GET", "/v1/models/{name}"),
    ("POST", "/v1/models/{name}/predict"),
    ("POST", "/v1/models/{name}/feedback"),
)
JSON_OBJECT_SCHEMA = apigw.JsonSchema(
    schema=apigw.JsonSchemaVersion.DRAFT4,
    type=apigw.JsonSchemaType.OBJECT,
    title="JsonObject",
)


class Api(Construct):
    """Authenticated (IAM or API key), throttled, access-logged, traced."""

    def __init__(
        self, scope: Construct, construct_id: str, *, score: lambda_.IFunction, config: ApiConfig
    ) -> None:
        super().__init__(scope, construct_id)
        self.access_logs = logs.LogGroup(
            self,
            "AccessLogs",
            retention=logs.RetentionDays.THREE_MONTHS,
            removal_policy=RemovalPolicy.DESTROY,
        )
        api_key_auth = config.auth == "api_key"
        self.rest_api = apigw.RestApi(
            self,
            "RestApi",
            rest_api_name=f"{Stack.of(self).stack_name}-api",
            description="mlops model serving API",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            cloud_watch_role=True,
            cloud_watch_role_removal_policy=RemovalPolicy.RETAIN,
            deploy_options=apigw.StageOptions(
                stage_name=STAGE_NAME,
                throttling_rate_limit=config.throttle_rate_limit,
                throttling_burst_limit=config.throttle_burst_limit,
                tracing_enabled=True,
                logging_level=apigw.MethodLoggingLevel.ERROR,
                data_trace_enabled=False,
                access_log_destination=apigw.LogGroupLogDestination(self.access_logs),
                access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
                    caller=True,
                    http_method=True,
                    ip=True,
                    protocol=True,
                    request_time=True,
                    resource_path=True,
                    response_length=True,
                    status=True,
                    user=True,
                ),
            ),
            default_method_options=apigw.MethodOptions(
                authorization_type=(
                    apigw.AuthorizationType.NONE if api_key_auth else apigw.AuthorizationType.IAM
                ),
                api_key_required=api_key_auth,
            ),
            default_cors_preflight_options=(
                apigw.CorsOptions(allow_origins=config.cors_origins)
                if config.cors_origins
                else None
            ),
        )
        self.body_validator = self.rest_api.add_request_validator(
            "BodyValidator", validate_request_body=True, validate_request_parameters=True
        )
        self.params_validator = self.rest_api.add_request_validator(
            "ParamsValidator", validate_request_body=False, validate_request_parameters=True
        )
        json_object = self.rest_api.add_model(
            "JsonObject", content_type="application/json", schema=JSON_OBJECT_SCHEMA
        )
        integration = apigw.LambdaIntegration(score, proxy=True, allow_test_invoke=False)
        for method, path in ROUTES:
            resource = self.rest_api.root.resource_for_path(path)
            parameters = {"method.request.path.name": True} if "{name}" in path else None
            resource.add_method(
                method,
                integration,
                request_parameters=parameters,
                request_validator=self.body_validator
                if method == "POST"
                else self.params_validator,
                request_models={"application/json": json_object} if method == "POST" else None,
            )
        # The stack exports the URL once, as ApiUrl; drop RestApi's own "Endpoint" output.
        self.rest_api.node.try_remove_child("Endpoint")
        if api_key_auth:
            self._add_usage_plan(config)
        self._acknowledge(api_key_auth=api_key_auth, cors=bool(config.cors_origins))

    @property
    def url(self) -> str:
        return self.rest_api.url

    def _add_usage_plan(self, config: ApiConfig) -> None:
        plan = self.rest_api.add_usage_plan(
            "UsagePlan",
            description="mlops API clients",
            throttle=apigw.ThrottleSettings(
                rate_limit=config.throttle_rate_limit, burst_limit=config.throttle_burst_limit
            ),
        )
        plan.add_api_stage(stage=self.rest_api.deployment_stage)
        plan.add_api_key(self.rest_api.add_api_key("ApiKey", description="mlops API key"))

    def _acknowledge(self, *, api_key_auth: bool, cors: bool) -> None:
        cloud_watch_role = self.rest_api.node.try_find_child("CloudWatchRole")
        if cloud_watch_role is not None:
            acknowledge(
                cloud_watch_role,
                "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                "AmazonAPIGatewayPushToCloudWatchLogs]",
                "API Gateway's account-level logging role: the AWS-managed policy is the "
                "documented way to let API Gateway write execution logs.",
            )
        acknowledge(
            self.rest_api,
            "AwsSolutions-APIG3",
            "No WAF by default: callers are authenticated and the stage is throttled; "
            "attach a web ACL per deployment if the API is exposed to the internet at large.",
        )
        acknowledge(
            self.rest_api,
            "AwsSolutions-COG4",
            "Clients are services, not end users: the API uses IAM (SigV4) or API-key "
            "auth by configuration instead of a Cognito user pool.",
        )
        if api_key_auth or cors:
            acknowledge(
                self.rest_api,
                "AwsSolutions-APIG4",
                "API-key mode is chosen in cdk.json (keys + usage plan), and CORS "
                "preflight OPTIONS requests cannot carry credentials.",
            )
