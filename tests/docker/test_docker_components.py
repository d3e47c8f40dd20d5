"""The docker runtime's components, started once (conftest) and exercised through their real clients.

Needs a Docker engine and the images (`python -m sandbox.images`); a component whose image is missing
is skipped with that reason, one that does not start fails with its container logs.
"""

from __future__ import annotations

import uuid

from tests.docker.conftest import need


def test_components_run_on_their_labelled_network_with_local_ports(docker_components):
    from sandbox.components.docker import base

    engine = base.client()
    for name in docker_components["startable"]:
        comp = need(docker_components, name)
        assert comp.running()
        for container_id in comp.container_ids():
            container = engine.containers.get(container_id)
            assert container.labels["sandbox.owner"] == comp.owner
            assert container.labels["sandbox.component"] == name
            assert comp.network in container.attrs["NetworkSettings"]["Networks"]
            for bindings in (container.attrs["HostConfig"]["PortBindings"] or {}).values():
                assert all(b["HostIp"] == "127.0.0.1" for b in bindings)
        assert comp.rss() > 0
        assert comp.logs_text(5)


def test_postgres_app_user_reads_and_writes(docker_components):
    import psycopg

    comp = need(docker_components, "postgres")
    env = comp.env()
    with psycopg.connect(env["DATABASE_URL"], connect_timeout=5) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS probe (id text primary key)")
        token = uuid.uuid4().hex
        conn.execute("INSERT INTO probe VALUES (%s)", (token,))
        assert conn.execute("SELECT id FROM probe WHERE id = %s", (token,)).fetchone() == (token,)


def test_kafka_topics_created_and_round_trip(docker_components):
    from confluent_kafka.admin import AdminClient

    comp = need(docker_components, "kafka")
    topics = AdminClient({"bootstrap.servers": comp.env()["KAFKA_BROKERS"]}).list_topics(timeout=5).topics
    assert set(comp.settings.kafka.topics) <= set(topics)
    assert len(topics["ticket-bookings"].partitions) == comp.settings.kafka.partitions
    assert comp.health().ok  # produce + consume through the published port


def test_gcs_upload_and_download(docker_components):
    comp = need(docker_components, "gcs")
    bucket = comp._client.bucket(comp.settings.gcs.default_bucket)
    blob = bucket.blob(f"probe/{uuid.uuid4().hex}.txt")
    blob.upload_from_string(b"hello")
    assert bucket.blob(blob.name).download_as_bytes() == b"hello"


def _aws_kwargs(comp) -> dict:
    env = comp.env()
    return {"endpoint_url": env["AWS_ENDPOINT_URL"], "region_name": env["AWS_DEFAULT_REGION"],
            "aws_access_key_id": "test", "aws_secret_access_key": "test"}


def test_aws_s3_and_iam(docker_components):
    import boto3

    comp = need(docker_components, "aws")
    s3 = boto3.client("s3", **_aws_kwargs(comp))
    bucket = f"probe-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"v")
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"v"
    iam = boto3.client("iam", **_aws_kwargs(comp))
    role = iam.create_role(RoleName=f"probe-{uuid.uuid4().hex[:8]}", AssumeRolePolicyDocument="{}")
    assert role["Role"]["Arn"].startswith("arn:aws:iam::")


def test_aws_dynamodb(docker_components):
    """DynamoDB Local is pre-installed in the stand-in (Maven Central jars), nothing is downloaded."""
    import boto3

    comp = need(docker_components, "aws")
    ddb = boto3.client("dynamodb", **_aws_kwargs(comp))
    table = f"probe-{uuid.uuid4().hex[:8]}"
    ddb.create_table(TableName=table, KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST")
    ddb.put_item(TableName=table, Item={"id": {"S": "1"}})
    assert ddb.get_item(TableName=table, Key={"id": {"S": "1"}})["Item"]["id"]["S"] == "1"


def test_flink_cluster_has_a_taskmanager(docker_components):
    import requests

    comp = need(docker_components, "flink")
    overview = requests.get(f"{comp.env()['FLINK_REST_URL']}/overview", timeout=5).json()
    assert overview["taskmanagers"] == 1
    assert overview["slots-total"] == comp.settings.flink.task_slots


def test_stop_removes_containers_and_start_recreates(docker_components):
    comp = need(docker_components, "gcs")
    assert comp.stop()
    assert comp.container_ids() == [] and not comp.running()
    comp.start()
    comp.wait_healthy(60)
    assert comp.running()
