"""Outputs, cdk-nag (0 unacknowledged findings) and cfn-lint (0 errors)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from aws_cdk import aws_s3 as s3
from cfnlint.api import lint_all

from infra.app import build_app

if TYPE_CHECKING:
    from conftest import Synth

OUTPUTS = {
    "RegistryTableName",
    "ArtifactBucketName",
    "DataBucketName",
    "NotificationTopicArn",
    "TrainingStateMachineArn",
    "BatchStateMachineArn",
    "ApiUrl",
}


def test_stack_outputs_are_exactly_the_documented_names(synth: Synth) -> None:
    assert set(synth.template["Outputs"]) == OUTPUTS
    assert synth.template["Outputs"]["ApiUrl"]["Value"]["Fn::Join"][1][0] == "https://"


def test_cdk_nag_reports_no_unacknowledged_findings(synth: Synth, api_key_synth: Synth) -> None:
    # Synthesis itself fails on findings; the report written beside the template agrees.
    for assembly in (synth, api_key_synth):
        report = assembly.validation_report()
        violations = [
            violation["ruleName"]
            for plugin in report["pluginReports"]
            for violation in plugin["violations"]
        ]
        assert violations == []


def test_cdk_nag_is_really_enforced(tmp_path: Path) -> None:
    # Given the stack plus a bucket that breaks AWS Solutions rules (no TLS, no logs)
    app, stack = build_app(
        {"aws:cdk:bundling-stacks": [], "mlops": {"code_version": "test"}}, outdir=str(tmp_path)
    )
    s3.Bucket(stack, "CarelessBucket")
    # When it is synthesized, Then cdk-nag fails the synthesis and names the findings
    with pytest.raises(RuntimeError, match="AwsSolutions-S10"):
        app.synth()
    report = json.loads((tmp_path / "validation-report.json").read_text())
    failing = {
        constructs["constructPath"]
        for plugin in report["pluginReports"]
        for violation in plugin["violations"]
        for constructs in violation["violatingConstructs"]
    }
    assert failing == {"Mlops/CarelessBucket/Resource"}


# E2530: SnapStart is not offered in every region; the variant that opts into it (serving
# .snap_start, off by default and documented as region-limited) is linted without that rule.
@pytest.mark.parametrize(
    ("variant", "accepted"), [("synth", {"W3005"}), ("api_key_synth", {"W3005", "E2530"})]
)
def test_cfn_lint_finds_no_errors(
    variant: str, accepted: set[str], request: pytest.FixtureRequest
) -> None:
    assembly: Synth = request.getfixturevalue(variant)
    matches = lint_all(assembly.template_path.read_text())
    problems = [
        f"{match.rule.id} {match.message}"
        for match in matches
        if match.rule.id not in accepted and match.rule.id.startswith("E")
    ]
    warnings = [m.rule.id for m in matches if m.rule.id.startswith("W") and m.rule.id != "W3005"]
    assert problems == []
    assert warnings == []
