"""Each native component exercised through the client the services use."""

from __future__ import annotations

import io
import json
import uuid
import zipfile

import boto3
import psutil
import requests

from sandbox.poll import until


def _aws(service, env):
    return boto3.client(service, endpoint_url=env["AWS_ENDPOINT_URL"], region_name=env["AWS_DEFAULT_REGION"],
                        aws_access_key_id=env["AWS_ACCESS_KEY_ID"], aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"])


def test_s3_dynamodb_iam_secrets_on_one_endpoint(sandbox_env):
    bucket = f"it-{uuid.uuid4().hex[:12]}"
    s3 = _aws("s3", sandbox_env)
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="a.txt", Body=b"hello")
    assert s3.get_object(Bucket=bucket, Key="a.txt")["Body"].read() == b"hello"

    ddb = _aws("dynamodb", sandbox_env)
    table = f"it-{uuid.uuid4().hex[:12]}"
    ddb.create_table(TableName=table, KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    ddb.put_item(TableName=table, Item={"id": {"S": "1"}, "name": {"S": "Ada"}})
    assert ddb.get_item(TableName=table, Key={"id": {"S": "1"}})["Item"]["name"]["S"] == "Ada"

    role = _aws("iam", sandbox_env).create_role(RoleName=f"it-{uuid.uuid4().hex[:8]}", AssumeRolePolicyDocument="{}")
    assert role["Role"]["Arn"].startswith("arn:aws:iam::")
    secrets = _aws("secretsmanager", sandbox_env)
    name = f"it-{uuid.uuid4().hex[:8]}"
    secrets.create_secret(Name=name, SecretString="s3cret")
    assert secrets.get_secret_value(SecretId=name)["SecretString"] == "s3cret"


HANDLER = '''
import json, os, urllib.parse, boto3
def lambda_handler(event, context):
    s3 = boto3.client("s3")
    keys = []
    for record in event.get("Records", []):
        bucket = record["s3"]["bucket"]["name"]
        key = urllib.parse.unquote_plus(record["s3"]["object"]["key"])  # S3 events carry URL-encoded keys
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        out = "processed/" + key.split("/", 1)[1]
        s3.put_object(Bucket=bucket, Key=out, Body=body.upper() + os.environ["MARKER"].encode())
        keys.append(out)
    print("handled", len(keys), "record(s) in", context.function_name)
    return {"keys": keys, "pid": os.getpid()}
'''


def _lambda_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("lambda_function.py", HANDLER)
    return buffer.getvalue()


def test_lambda_runs_real_code_on_invoke_and_on_s3_notification(sandbox_env):
    _lambda_flow(sandbox_env)


def _lambda_flow(sandbox_env) -> str:
    """Direct invoke, then an S3 notification, of a real handler; returns the run's suffix."""
    suffix = uuid.uuid4().hex[:8]
    bucket, function = f"it-lambda-{suffix}", f"it-fn-{suffix}"
    s3, lam = _aws("s3", sandbox_env), _aws("lambda", sandbox_env)
    s3.create_bucket(Bucket=bucket)
    role = _aws("iam", sandbox_env).create_role(RoleName=function, AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    arn = lam.create_function(FunctionName=function, Runtime="python3.11", Role=role, Handler="lambda_function.lambda_handler",
                              Code={"ZipFile": _lambda_zip()}, Timeout=30,
                              Environment={"Variables": {"MARKER": "-" + suffix}})["FunctionArn"]

    # direct invoke: the handler's own result comes back, from another process
    s3.put_object(Bucket=bucket, Key="uploads/direct.txt", Body=b"abc")
    event = {"Records": [{"s3": {"bucket": {"name": bucket}, "object": {"key": "uploads/direct.txt"}}}]}
    response = lam.invoke(FunctionName=function, Payload=json.dumps(event).encode())
    payload = json.loads(response["Payload"].read())
    assert payload["keys"] == ["processed/direct.txt"]
    assert payload["pid"] not in {p.pid for p in psutil.Process().children(recursive=True)} | {psutil.Process().pid}
    assert s3.get_object(Bucket=bucket, Key="processed/direct.txt")["Body"].read() == f"ABC-{suffix}".encode()

    # S3 ObjectCreated notification -> Lambda
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={"LambdaFunctionConfigurations": [
        {"LambdaFunctionArn": arn, "Events": ["s3:ObjectCreated:*"],
         "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "uploads/"}]}}}]})
    s3.put_object(Bucket=bucket, Key=f"uploads/notified {suffix}.txt", Body=b"xyz")
    until(lambda: s3.list_objects_v2(Bucket=bucket, Prefix=f"processed/notified {suffix}.txt").get("KeyCount", 0),
          timeout=20, what=f"processed/notified {suffix}.txt", interval=0.2)
    assert s3.get_object(Bucket=bucket, Key=f"processed/notified {suffix}.txt")["Body"].read() == f"XYZ-{suffix}".encode()
    return suffix


def test_lambda_invocations_are_in_the_lambda_log(sandbox_env):
    from tests.integration.conftest import sandbox_cli

    suffix = _lambda_flow(sandbox_env)
    log = sandbox_cli("logs", "lambda", "-n", "400").stdout
    assert "handled 1 record(s)" in log and "Status: ok" in log
    # the S3 event's key is URL-encoded as AWS sends it: spaces as "+", slashes kept
    assert f'"key": "uploads/notified+{suffix}.txt"' in log, log[-2000:]


def test_kafka_topics_and_round_trip(sandbox_env):
    from confluent_kafka import Consumer, Producer, TopicPartition
    from confluent_kafka.admin import AdminClient, NewTopic

    brokers = sandbox_env["KAFKA_BROKERS"]
    admin = AdminClient({"bootstrap.servers": brokers})
    topics = admin.list_topics(timeout=5).topics
    for name in ("ticket-bookings", "analytics-results", "analytics-clock"):
        assert name in topics and len(topics[name].partitions) == 3
    # the probe goes to a topic of its own: ticket-bookings carries bookings only (its consumers
    # and scenarios/test_analytics.py read it as such)
    key = uuid.uuid4().hex
    probe_topic = f"it-probe-{key[:12]}"
    admin.create_topics([NewTopic(probe_topic, num_partitions=1, replication_factor=1)])[probe_topic].result(10)
    try:
        producer = Producer({"bootstrap.servers": brokers, "acks": "all", "enable.idempotence": True})
        delivered = []
        producer.produce(probe_topic, key=key, value=json.dumps({"probe": key}),
                         on_delivery=lambda err, msg: delivered.append(msg))
        producer.flush(10)
        msg = delivered[0]
        assert msg.error() is None
        consumer = Consumer({"bootstrap.servers": brokers, "group.id": f"it-{key}",
                             "isolation.level": "read_committed"})
        consumer.assign([TopicPartition(probe_topic, msg.partition(), msg.offset())])
        got = consumer.poll(10)
        consumer.close()
        assert got is not None and json.loads(got.value()) == {"probe": key}
    finally:
        admin.delete_topics([probe_topic])[probe_topic].result(10)


def test_postgres_app_database_and_unprivileged_server(sandbox_env):
    import os

    import sqlalchemy

    url = sandbox_env["DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://", 1)
    engine = sqlalchemy.create_engine(url)
    with engine.begin() as conn:
        assert conn.execute(sqlalchemy.text("SELECT current_user, current_database()")).one() == (
            sandbox_env["DB_USER"], sandbox_env["DB_NAME"])
        conn.execute(sqlalchemy.text("CREATE TEMP TABLE t (x int)"))
    engine.dispose()
    server = [p for p in psutil.process_iter(["cmdline", "username"])
              if p.info["cmdline"] and p.info["cmdline"][0].endswith("/postgres")
              and f"port={sandbox_env['DB_PORT']}" in p.info["cmdline"]]
    assert len(server) == 1
    if os.geteuid() == 0:
        assert server[0].info["username"] != "root"


def test_gcs_emulator_with_the_google_client(sandbox_env, monkeypatch):
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    monkeypatch.setenv("STORAGE_EMULATOR_HOST", sandbox_env["STORAGE_EMULATOR_HOST"])
    client = storage.Client(project=sandbox_env["GOOGLE_CLOUD_PROJECT"], credentials=AnonymousCredentials())
    bucket = client.create_bucket(f"it-{uuid.uuid4().hex[:12]}")
    bucket.blob("jobs/analytics_job.py").upload_from_string(b"print('hi')")
    assert client.bucket(bucket.name).blob("jobs/analytics_job.py").download_as_bytes() == b"print('hi')"
    assert sandbox_env["GCS_BUCKET"] in [b.name for b in client.list_buckets()]


def test_flink_cluster_has_a_taskmanager_and_the_kafka_connector(sandbox_env):
    overview = requests.get(f"{sandbox_env['FLINK_REST_URL']}/overview", timeout=5).json()
    assert overview["taskmanagers"] >= 1 and overview["slots-total"] >= 1
    jars = sandbox_env["FLINK_CONNECTOR_JARS"].split(";")
    assert any("flink-sql-connector-kafka" in j for j in jars)
    import pyflink.version

    flink_minor = ".".join(pyflink.version.__version__.split(".")[:2])
    assert overview["flink-version"].startswith(flink_minor)
    assert any(j.endswith(f"-{flink_minor}.jar") for j in jars), "connector must match the Flink version"


def test_status_reports_every_component_healthy_with_memory(sandbox_env):
    from tests.integration.conftest import status_json

    rows = {r["component"]: r for r in status_json()}
    assert {"aws", "kafka", "postgres", "gcs", "flink"} <= {n for n, r in rows.items() if r["kind"] == "infra"}
    for row in rows.values():
        assert row["healthy"], row
        if row["kind"] != "task":
            assert row["rss_bytes"] > 0 and row["uptime_s"] > 0 and row["pids"], row
    assert len(rows["flink"]["pids"]) == 2  # JobManager + TaskManager
