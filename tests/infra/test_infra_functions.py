"""Functions: handlers, layers, environment, sizing, code asset and least-privilege IAM."""

from __future__ import annotations

import importlib.util
import json
import marshal
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_lambda as lambda_

from infra.constructs.code import (
    FUNCTIONS_DIR,
    FunctionCodeBundler,
    code_asset_hash,
    code_files,
    docker_bundling_command,
    function_code,
)
from infra.constructs.layers import RUNTIME, load_builder

if TYPE_CHECKING:
    from conftest import Synth

FUNCTION_NAMES = ("trigger", "validate", "train", "evaluate", "gate", "finalize", "score")
LAYERS = {
    "trigger": {"Base"},
    "validate": {"Base", "Scoring"},
    "train": {"Base", "Training"},
    "evaluate": {"Base", "Scoring"},
    "gate": {"Base"},
    "finalize": {"Base"},
    "score": {"Base", "Scoring"},
}
COMMON_ENVIRONMENT = {
    "MLOPS_REGISTRY_TABLE",
    "MLOPS_ARTIFACT_BUCKET",
    "MLOPS_DATA_BUCKET",
    "MLOPS_NOTIFICATION_TOPIC_ARN",
    "MLOPS_CODE_VERSION",
    "POWERTOOLS_SERVICE_NAME",
    "POWERTOOLS_METRICS_NAMESPACE",
}
EXTRA_ENVIRONMENT = {
    "trigger": {"MLOPS_TRAINING_STATE_MACHINE_ARN"},
    "score": {
        "MLOPS_ALIAS_REFRESH_SECONDS",
        "MLOPS_MAX_RECORDS_PER_REQUEST",
        "MLOPS_MAX_BODY_BYTES",
        "MLOPS_CAPTURE_SAMPLE_RATE",
    },
}
S3_WRITES = {"s3:PutObject", "s3:DeleteObject*", "s3:PutObjectLegalHold", "s3:PutObjectRetention"}
DYNAMODB_WRITES = {
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
}


def _layer_names(synth: Synth, function: dict[str, Any]) -> set[str]:
    names = set()
    for layer in function["Properties"]["Layers"]:
        logical_id = layer["Ref"]
        names.update(name for name in ("Base", "Scoring", "Training") if name in logical_id)
    return names


def _environment(function: dict[str, Any]) -> dict[str, Any]:
    variables: dict[str, Any] = function["Properties"]["Environment"]["Variables"]
    return variables


@pytest.mark.parametrize("name", FUNCTION_NAMES)
def test_each_function_runs_its_handler_on_python_312_x86_with_tracing(
    synth: Synth, name: str
) -> None:
    _, function = synth.function(name)
    properties = function["Properties"]
    assert properties["Runtime"] == "python3.12"
    assert properties["Architectures"] == ["x86_64"]
    assert properties["TracingConfig"] == {"Mode": "Active"}
    assert "LoggingConfig" in properties  # its own log group, with retention
    assert _layer_names(synth, function) == LAYERS[name]


def test_all_functions_share_one_code_asset(synth: Synth) -> None:
    keys = {synth.function(name)[1]["Properties"]["Code"]["S3Key"] for name in FUNCTION_NAMES}
    assert len(keys) == 1


def test_training_and_scoring_layers_never_share_a_function(synth: Synth) -> None:
    for function in synth.resources("AWS::Lambda::Function").values():
        assert {"Scoring", "Training"} - _layer_names(synth, function), function


def test_function_log_groups_have_retention(synth: Synth) -> None:
    groups = synth.resources("AWS::Logs::LogGroup")
    for name in FUNCTION_NAMES:
        _, function = synth.function(name)
        group_id = function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
        assert groups[group_id]["Properties"]["RetentionInDays"] > 0


@pytest.mark.parametrize("name", FUNCTION_NAMES)
def test_environment_is_exactly_the_documented_variables(synth: Synth, name: str) -> None:
    _, function = synth.function(name)
    environment = _environment(function)
    assert set(environment) == COMMON_ENVIRONMENT | EXTRA_ENVIRONMENT.get(name, set())
    assert environment["POWERTOOLS_SERVICE_NAME"] == "mlops"
    assert environment["POWERTOOLS_METRICS_NAMESPACE"] == "MLOps"
    assert environment["MLOPS_CODE_VERSION"] == "abc1234"
    table_id = synth.logical_id("AWS::DynamoDB::Table", "Registry")
    assert environment["MLOPS_REGISTRY_TABLE"] == {"Ref": table_id}


def test_score_environment_and_sizing_follow_the_config(synth: Synth) -> None:
    _, score = synth.function("score")
    environment = _environment(score)
    assert environment["MLOPS_ALIAS_REFRESH_SECONDS"] == "15.0"
    assert environment["MLOPS_MAX_RECORDS_PER_REQUEST"] == "50"
    assert environment["MLOPS_MAX_BODY_BYTES"] == "262144"
    assert environment["MLOPS_CAPTURE_SAMPLE_RATE"] == "0.25"
    assert score["Properties"]["MemorySize"] == 1536
    assert score["Properties"]["Timeout"] < 29  # below API Gateway's integration timeout


def test_trigger_knows_the_training_state_machine(synth: Synth) -> None:
    _, trigger = synth.function("trigger")
    machine_id = synth.logical_id("AWS::StepFunctions::StateMachine", "Training")
    assert _environment(trigger)["MLOPS_TRAINING_STATE_MACHINE_ARN"] == {"Ref": machine_id}


def test_train_and_evaluate_sizing(synth: Synth) -> None:
    _, train = synth.function("train")
    _, evaluate = synth.function("evaluate")
    assert train["Properties"]["MemorySize"] == 4096
    assert train["Properties"]["Timeout"] == 15 * 60
    assert evaluate["Properties"]["MemorySize"] == 2048
    assert evaluate["Properties"]["Timeout"] == 5 * 60


def test_roles_carry_no_managed_policies(synth: Synth) -> None:
    for name in FUNCTION_NAMES:
        _, function = synth.function(name)
        role_id = function["Properties"]["Role"]["Fn::GetAtt"][0]
        role = synth.template["Resources"][role_id]
        assert "ManagedPolicyArns" not in role["Properties"], name


# --- least privilege ---------------------------------------------------------------------


def _ids(synth: Synth) -> dict[str, str]:
    return {
        "data": synth.logical_id("AWS::S3::Bucket", "DataBucket"),
        "artifacts": synth.logical_id("AWS::S3::Bucket", "ArtifactBucket"),
        "table": synth.logical_id("AWS::DynamoDB::Table", "Registry"),
        "topic": synth.logical_id("AWS::SNS::Topic", "Notifications"),
        "machine": synth.logical_id("AWS::StepFunctions::StateMachine", "Training"),
    }


def test_no_function_may_act_on_everything(synth: Synth) -> None:
    for name in FUNCTION_NAMES:
        for action, resource in synth.grants(name):
            assert action != "*", name
            assert not action.endswith(":*"), (name, action)
            if resource == "*":
                assert action.startswith("xray:"), (name, action)


def test_gate_only_touches_the_registry(synth: Synth) -> None:
    assert synth.services("gate") == {"dynamodb", "logs", "xray"}
    ids = _ids(synth)
    assert synth.actions_on("gate", ids["table"]) >= DYNAMODB_WRITES - {"dynamodb:DeleteItem"}


def test_score_reads_registry_and_artifacts_and_writes_only_captures_and_feedback(
    synth: Synth,
) -> None:
    ids = _ids(synth)
    assert not synth.actions_on("score", ids["artifacts"]) & S3_WRITES
    assert "s3:GetObject*" in synth.actions_on("score", ids["artifacts"])
    assert not synth.actions_on("score", ids["table"]) & DYNAMODB_WRITES
    data_writes = [
        resource for action, resource in synth.grants("score") if action == "s3:PutObject"
    ]
    assert len(data_writes) == 2
    assert any("/captures/*" in resource for resource in data_writes)
    assert any("/feedback/*" in resource for resource in data_writes)
    assert all(ids["data"] in resource for resource in data_writes)
    assert "s3:GetObject*" not in synth.actions_on("score", ids["data"])
    assert "cloudwatch" not in synth.services("score")  # metrics go out as EMF log lines


def test_trigger_starts_only_the_training_pipeline(synth: Synth) -> None:
    ids = _ids(synth)
    start = [
        resource for action, resource in synth.grants("trigger") if action.startswith("states:")
    ]
    assert start == [json_ref(ids["machine"])]
    assert ("states:StartExecution", json_ref(ids["machine"])) in synth.grants("trigger")
    assert "s3:List*" in synth.actions_on("trigger", ids["data"])
    assert not synth.actions_on("trigger", ids["data"]) & S3_WRITES
    assert not synth.actions_on("trigger", ids["artifacts"])


def test_pipeline_steps_write_artifacts_only_under_their_prefixes(synth: Synth) -> None:
    ids = _ids(synth)
    for name, prefixes in (
        ("validate", {"/runs/*", "/staging/*"}),
        ("train", {"/models/*"}),
        ("evaluate", {"/models/*"}),
    ):
        writes = [r for a, r in synth.grants(name) if a == "s3:PutObject"]
        assert writes, name
        under = [{p for p in prefixes if ids["artifacts"] in r and p in r} for r in writes]
        assert all(under), (name, writes)  # every write is under one of the step's prefixes
        assert set().union(*under) == prefixes, (name, writes)
    assert not synth.actions_on("train", ids["artifacts"]) - {
        "s3:PutObject",
        "s3:PutObjectLegalHold",
        "s3:PutObjectRetention",
        "s3:PutObjectTagging",
        "s3:PutObjectVersionTagging",
        "s3:Abort*",
        "s3:GetObject*",
        "s3:GetBucket*",
        "s3:List*",
    }
    # train reads only the table validation staged, never the raw data
    bucket_itself = json.dumps({"Fn::GetAtt": [ids["artifacts"], "Arn"]})
    keys_read = [r for a, r in synth.grants("train") if a == "s3:GetObject*" and r != bucket_itself]
    assert keys_read
    assert all(ids["artifacts"] in r and r.endswith('"/staging/*"]]}') for r in keys_read), (
        keys_read
    )
    assert not synth.actions_on("train", ids["data"])
    assert "s3:GetObject*" in synth.actions_on("evaluate", ids["artifacts"])
    assert not synth.actions_on("evaluate", ids["data"])


def test_only_finalize_and_trigger_publish_notifications(synth: Synth) -> None:
    # finalize reports run outcomes; trigger reports events it could not start a run for
    ids = _ids(synth)
    for name in FUNCTION_NAMES:
        publishes = "sns:Publish" in synth.actions_on(name, ids["topic"])
        assert publishes == (name in {"finalize", "trigger"}), name


def json_ref(logical_id: str) -> str:
    return json.dumps({"Ref": logical_id})


# --- the code asset: sources plus CPython 3.12 bytecode --------------------------------------

UNCHECKED_HASH = 1  # .pyc flags word: hash-based (bit 0), source never checked (bit 1 clear)
SHIPPED_MODULES = ("mlops/settings.py", "mlops/handlers/score.py", "mlops/serving/api.py")


@pytest.fixture(scope="module")
def builder() -> ModuleType:
    return load_builder()


def _synth_score_code(app: App, builder: ModuleType) -> None:
    """A stack holding only a function with the score function's code asset."""
    lambda_.Function(
        Stack(app, "Code"),
        "Score",
        runtime=RUNTIME,
        handler="mlops.handlers.score.handler",
        code=function_code(builder=builder),
    )
    app.synth()


@pytest.fixture(scope="module")
def bundled_code(tmp_path_factory: pytest.TempPathFactory, builder: ModuleType) -> Path:
    """The score function's code asset as CDK really bundles it (a stack of its own)."""
    outdir = tmp_path_factory.mktemp("cdk-code")
    _synth_score_code(App(outdir=str(outdir)), builder)  # bundling on, unlike the session synth
    assets = json.loads((outdir / "Code.assets.json").read_text())["files"]
    (code,) = [a["source"]["path"] for a in assets.values() if a["source"]["packaging"] == "zip"]
    return outdir / code


def _runtime_magic(interpreter: str) -> bytes:
    script = "import importlib.util, sys; sys.stdout.write(importlib.util.MAGIC_NUMBER.hex())"
    result = subprocess.run([interpreter, "-c", script], capture_output=True, text=True, check=True)
    return bytes.fromhex(result.stdout)


def _pyc(module: Path) -> Path:
    return module.parent / "__pycache__" / f"{module.stem}.cpython-312.pyc"


def test_bundled_code_is_the_score_functions_code_asset(
    synth: Synth, builder: ModuleType, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # The session synth skips bundling but hashes the asset alike: same sources, same key
    outdir = tmp_path_factory.mktemp("cdk-code-key")
    _synth_score_code(App(outdir=str(outdir), context={"aws:cdk:bundling-stacks": []}), builder)
    resources = json.loads((outdir / "Code.template.json").read_text())["Resources"]
    (function,) = [r for r in resources.values() if r["Type"] == "AWS::Lambda::Function"]
    key = function["Properties"]["Code"]["S3Key"]
    assert key == synth.function("score")[1]["Properties"]["Code"]["S3Key"]


def test_code_asset_is_the_same_in_every_synth(synth: Synth, api_key_synth: Synth) -> None:
    keys = {
        s.function(name)[1]["Properties"]["Code"]["S3Key"]
        for s in (synth, api_key_synth)
        for name in FUNCTION_NAMES
    }
    assert len(keys) == 1


def test_code_asset_holds_the_handlers_but_not_the_local_cloud_cli_or_caches(
    bundled_code: Path,
) -> None:
    files = {p.relative_to(bundled_code).as_posix() for p in bundled_code.rglob("*") if p.is_file()}
    sources = {name for name in files if not name.endswith(".pyc")}
    assert sources == set(code_files(FUNCTIONS_DIR))
    assert {f"mlops/handlers/{name}.py" for name in FUNCTION_NAMES} <= sources
    assert not [name for name in files if name.startswith(("mlops/local/", "mlops/cli/"))]
    assert not [name for name in files if ".egg-info" in name]
    assert not [name for name in files if name.endswith(".pyc") and ".cpython-312." not in name]


def test_code_asset_ships_unchecked_hash_bytecode_for_var_task(
    bundled_code: Path, builder: ModuleType
) -> None:
    interpreter = builder.runtime_interpreter()
    modules = sorted(bundled_code.rglob("*.py"))
    if interpreter is None:  # no CPython 3.12 on this machine: sources only
        assert not list(bundled_code.rglob("*.pyc"))
        return
    assert [m for m in modules if not _pyc(m).exists()] == []
    magic = _runtime_magic(interpreter)
    for module in SHIPPED_MODULES:
        data = _pyc(bundled_code / module).read_bytes()
        assert data[:4] == magic, module
        assert int.from_bytes(data[4:8], "little") == UNCHECKED_HASH, module
        if magic == importlib.util.MAGIC_NUMBER:  # this interpreter can read it
            assert marshal.loads(data[16:]).co_filename == f"/var/task/{module}"
        else:
            assert f"/var/task/{module}".encode() in data[16:], module


def test_code_bundling_without_cpython_312_ships_sources_and_warns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given no CPython 3.12 interpreter on this machine
    builder = load_builder()
    monkeypatch.setattr(builder, "runtime_interpreter", lambda: None)
    # When the code is bundled
    assert FunctionCodeBundler(FUNCTIONS_DIR, builder).try_bundle(str(tmp_path)) is True
    # Then it holds the sources without bytecode, and the build says so and how to fix it
    files = {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()}
    assert files == set(code_files(FUNCTIONS_DIR))
    warning = capsys.readouterr().err
    assert "bytecode not compiled" in warning
    assert "install CPython 3.12" in warning


def test_code_asset_hash_follows_sources_and_bytecode_not_build_time(tmp_path: Path) -> None:
    # Given a small functions tree with a cache and the local cloud in it
    (tmp_path / "mlops" / "local").mkdir(parents=True)
    (tmp_path / "mlops" / "__pycache__").mkdir()
    module = tmp_path / "mlops" / "settings.py"
    module.write_text("A = 1\n")

    def digest(bytecode: bool = True) -> str:
        return code_asset_hash(tmp_path, bytecode=bytecode, python_version="3.12")

    before = digest()
    # When only times change, or excluded files, the hash stays
    os.utime(module, (0, 0))
    (tmp_path / "mlops" / "__pycache__" / "settings.cpython-311.pyc").write_bytes(b"x")
    (tmp_path / "mlops" / "local" / "cloud.py").write_text("")
    assert digest() == before
    # When the bytecode flag or a source changes, it does not
    assert digest(bytecode=False) != before
    module.write_text("A = 2\n")
    assert digest() != before


def test_docker_fallback_bundles_the_same_files(
    tmp_path: Path, builder: ModuleType, bundled_code: Path
) -> None:
    # Given the Docker command run here, with this machine's directories and interpreter
    interpreter = builder.runtime_interpreter() or sys.executable
    output = tmp_path / "out"
    output.mkdir()
    command = docker_bundling_command(str(FUNCTIONS_DIR), str(output), interpreter)
    subprocess.run(command, check=True)
    # Then it bundles what local bundling does (bytecode too, given CPython 3.12)
    local = {p.relative_to(bundled_code) for p in bundled_code.rglob("*") if p.is_file()}
    docker = {p.relative_to(output) for p in output.rglob("*") if p.is_file()}
    if builder.runtime_interpreter() is None:
        local = {p for p in local if p.suffix != ".pyc"}
        docker = {p for p in docker if p.suffix != ".pyc"}
    assert docker == local
