"""scripts/terraform-outputs-to-overlay.py: terraform output JSON -> aws overlay env files."""

import importlib.util

import pytest

from tests.gitops.conftest import ROOT

spec = importlib.util.spec_from_file_location("tf2overlay", ROOT / "scripts/terraform-outputs-to-overlay.py")
tf2overlay = importlib.util.module_from_spec(spec)
spec.loader.exec_module(tf2overlay)

OUTPUTS = {
    "msk_bootstrap_brokers_tls": {"value": "b-1:9094,b-2:9094"}, "rds_address": {"value": "db.x"},
    "rds_port": {"value": 5432}, "rds_db_name": {"value": "tickets"}, "aws_region": {"value": "eu-west-1"},
    "raw_data_bucket": {"value": "raw"}, "users_table": {"value": "users"},
    "ecr_repository_urls": {"value": {"booking-service": "1.dkr.ecr/t/booking-service"}},
    "irsa_role_arns": {"value": {"user-service": "arn:aws:iam::1:role/t-user-service"}},
}


def test_convert():
    endpoints, sources = tf2overlay.convert(OUTPUTS)
    assert endpoints["KAFKA_BROKERS"] == "b-1:9094,b-2:9094" and endpoints["DB_PORT"] == "5432"
    assert sources == {"ECR_BOOKING_SERVICE": "1.dkr.ecr/t/booking-service",
                       "IRSA_USER_SERVICE": "arn:aws:iam::1:role/t-user-service"}


def test_sandbox_workspace_outputs_are_refused():
    with pytest.raises(SystemExit, match="msk_bootstrap_brokers_tls"):
        tf2overlay.convert(OUTPUTS | {"msk_bootstrap_brokers_tls": {"value": None}})


def test_committed_overlay_files_have_every_key_the_overlay_uses():
    used = (ROOT / "gitops/overlays/aws/kustomization.yaml").read_text()
    keys = {line.split("=", 1)[0] for line in (ROOT / "gitops/overlays/aws/terraform-outputs.env").read_text().splitlines()
            if line and not line.startswith("#")}
    for k in keys:
        assert f"data.{k}" in used
