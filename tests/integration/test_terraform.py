"""The sandbox workspace of terraform/aws is what the services run on; re-applying changes nothing;
the full aws workspace plans against the emulator."""

from __future__ import annotations

import json

import boto3
import pytest

from tests.integration.conftest import sandbox_cli, status_json


@pytest.fixture(scope="module")
def terraform_applied(sandbox_env):
    row = {r["component"]: r for r in status_json()}["terraform"]
    if row["state"] == "skipped":
        pytest.skip(f"terraform cannot run on this machine: {row['health']}")
    assert row["healthy"], row
    return sandbox_env


def _client(service, env):
    return boto3.client(service, endpoint_url=env["AWS_ENDPOINT_URL"], region_name=env["AWS_DEFAULT_REGION"],
                        aws_access_key_id="test", aws_secret_access_key="test")


def test_outputs_feed_env_and_name_real_resources(terraform_applied):
    env = terraform_applied
    assert env["RAW_DATA_BUCKET"].startswith("ticketing-sandbox-")
    s3 = _client("s3", env)
    notification = s3.get_bucket_notification_configuration(Bucket=env["RAW_DATA_BUCKET"])
    [lambda_config] = notification["LambdaFunctionConfigurations"]
    rules = lambda_config["Filter"]["Key"]["FilterRules"]
    assert {"Name": "Prefix", "Value": "uploads/"} in rules or {"Name": "prefix", "Value": "uploads/"} in rules
    assert s3.get_bucket_versioning(Bucket=env["RAW_DATA_BUCKET"])["Status"] == "Enabled"
    table = _client("dynamodb", env).describe_table(TableName=env["USERS_TABLE"])["Table"]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    function = _client("lambda", env).get_function(FunctionName=env["TICKET_GENERATOR_FUNCTION"])
    variables = function["Configuration"]["Environment"]["Variables"]
    assert variables["USERS_TABLE"] == env["USERS_TABLE"] and variables["RAW_DATA_BUCKET"] == env["RAW_DATA_BUCKET"]


def test_reapply_is_a_no_op(terraform_applied):
    from sandbox.orchestrator import Sandbox

    terraform = Sandbox().component("terraform")
    result = terraform.run("plan", "-detailed-exitcode", "-input=false", "-var-file=env/sandbox.tfvars",
                           f"-var=lambda_zip_path={terraform.lambda_zip()}", check=False)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]


def test_promotion_plan_of_the_full_aws_stack(terraform_applied):
    output = sandbox_cli("promote", "--plan", "aws").stdout
    for resource in ("aws_eks_cluster", "aws_msk_cluster", "aws_db_instance", "aws_nat_gateway"):
        assert resource in output
    assert "0 to destroy" in output
    # the sandbox workspace is selected again afterwards
    assert "* sandbox" in sandbox_cli("tf", "workspace", "list").stdout


def test_missing_terraform_is_skipped_with_the_fix(terraform_applied):
    rows = json.loads(sandbox_cli("status", "--json", env={"SANDBOX_TERRAFORM__BINARY": "no-such-terraform"},
                                  check=False).stdout)
    row = {r["component"]: r for r in rows}["terraform"]
    assert row["state"] == "skipped" and "fix:" in row["health"]
    gcp = sandbox_cli("promote", "--plan", "gcp", check=False)
    assert gcp.returncode == 1 and "google provider" in gcp.stderr
