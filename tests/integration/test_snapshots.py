"""`sandbox snapshot` on the session's sandbox: a booking made after a save is gone everywhere after
the load (database, topics, the AWS emulator's table and bucket), one made before is there, and the
analytics job resumes from the snapshot's savepoint. The test loads the snapshot it took first, so
the sandbox is left as it found it.
"""

from __future__ import annotations

import json
import pickle
import uuid

import boto3
import pytest
from confluent_kafka.admin import AdminClient, NewTopic

from scenarios.lib.clients import Api, Db, Kafka
from tests.integration.conftest import sandbox_cli

# what only bookings write: the analytics job's output grows with event time whenever a window closes
TOPICS = ("ticket-bookings", "booking-status")


def _booking(api: Api, event_id: int, user: str) -> str:
    attempt = api.book({"event_id": event_id, "user_id": user, "ticket_count": 1})
    assert attempt.accepted, attempt.statuses
    assert (api.wait_final(attempt.booking_id) or {}).get("status") == "confirmed"
    return attempt.booking_id


def _aws(service: str, env: dict):
    return boto3.client(service, endpoint_url=env["AWS_ENDPOINT_URL"], region_name=env["AWS_DEFAULT_REGION"],
                        aws_access_key_id="test", aws_secret_access_key="test")


def _user(env: dict, user: str) -> None:
    _aws("dynamodb", env).put_item(TableName=env["USERS_TABLE"], Item={"user_id": {"S": user}})


def _has_user(env: dict, user: str) -> bool:
    return "Item" in _aws("dynamodb", env).get_item(TableName=env["USERS_TABLE"], Key={"user_id": {"S": user}})


def _keys(env: dict, prefix: str) -> set[str]:
    answer = _aws("s3", env).list_objects_v2(Bucket=env["RAW_DATA_BUCKET"], Prefix=prefix)
    return {o["Key"] for o in answer.get("Contents", [])}


def _assert_resumed_from_a_savepoint() -> None:
    """The job's last submission (`flink run`, or its kept graph: sandbox/jobgraph.py) named a savepoint."""
    analytics = sandbox_cli("logs", "analytics", "-n", "400").stdout
    submissions = [line for line in analytics.splitlines()
                   if line.startswith(("$ flink run", "$ submit the kept job graph"))]
    assert submissions and " -s " in submissions[-1] and "/savepoints/savepoint-" in submissions[-1], analytics[-2000:]


@pytest.fixture()
def snapshot_name():
    name = f"test-{uuid.uuid4().hex[:8]}"
    yield name
    sandbox_cli("snapshot", "rm", name, check=False)


def test_a_load_forgets_what_came_after_the_save_everywhere(sandbox_env, made_events, snapshot_name, tmp_path):
    env, uid = sandbox_env, uuid.uuid4().hex[:8]
    api, db, kafka = Api(env), Db(env), Kafka(env)
    event = api.create_event(10, f"snapshot {uid}")
    made_events.append(event["id"])
    before = _booking(api, event["id"], f"{uid}-before")
    _user(env, f"{uid}-before")
    _aws("s3", env).put_object(Bucket=env["RAW_DATA_BUCKET"], Key=f"snapshot-test/{uid}/before", Body=b"1")

    saved = sandbox_cli("snapshot", "save", snapshot_name, "--output", str(tmp_path / "snap.tar.gz"), timeout=600)
    assert f"saved snapshot {snapshot_name}" in saved.stdout
    offsets = {topic: kafka.end_offsets(topic) for topic in TOPICS}
    listed = json.loads(sandbox_cli("snapshot", "list", "--json").stdout)
    mine = next(s for s in listed if s["name"] == snapshot_name)
    assert {"aws", "kafka", "postgres", "flink", "terraform"} <= set(mine["components"]) and mine["bytes"] > 0

    after = _booking(api, event["id"], f"{uid}-after")
    _user(env, f"{uid}-after")
    _aws("s3", env).put_object(Bucket=env["RAW_DATA_BUCKET"], Key=f"snapshot-test/{uid}/after", Body=b"2")
    assert kafka.end_offsets("ticket-bookings") != offsets["ticket-bookings"]
    assert {r[0] for r in db.bookings_for_event(event["id"])} == {before, after}

    sandbox_cli("snapshot", "load", snapshot_name, timeout=600)
    rows = {r[0]: r[3] for r in db.bookings_for_event(event["id"])}
    assert rows == {before: "confirmed"}
    assert db.event(event["id"]) == (10, 9)
    assert {topic: kafka.end_offsets(topic) for topic in TOPICS} == offsets
    assert _has_user(env, f"{uid}-before") and not _has_user(env, f"{uid}-after")
    assert _keys(env, f"snapshot-test/{uid}/") == {f"snapshot-test/{uid}/before"}
    # the job runs again, from the savepoint the save took
    _assert_resumed_from_a_savepoint()
    status = {r["component"]: r for r in json.loads(sandbox_cli("status", "--json", check=False).stdout)}
    assert status["analytics"]["healthy"] and status["terraform"]["healthy"], status
    # nothing re-applied: the emulator came back with the state Terraform's record names
    [terraform] = json.loads(sandbox_cli("up", "--only", "terraform", "--json").stdout)["components"]
    assert terraform["action"] == "reused", terraform

    # the tarball: removed, then loaded from the file alone
    sandbox_cli("snapshot", "rm", snapshot_name)
    assert snapshot_name not in sandbox_cli("snapshot", "list").stdout
    sandbox_cli("snapshot", "load", str(tmp_path / "snap.tar.gz"), timeout=600)
    assert snapshot_name in sandbox_cli("snapshot", "list").stdout
    assert {r[0] for r in db.bookings_for_event(event["id"])} == {before}


def _gcs(env: dict):
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    client = storage.Client(project=env["GOOGLE_CLOUD_PROJECT"], credentials=AnonymousCredentials(),
                            client_options={"api_endpoint": env["STORAGE_EMULATOR_HOST"]})
    return client.bucket(env["GCS_BUCKET"])


def test_reset_puts_the_first_up_state_back_in_place(sandbox_env, made_events, snapshot_name):
    """`sandbox reset` on a running sandbox, in place (sandbox/reset.py): everything made since
    first-up is gone from the database, the topics, the AWS emulator and GCS; the services and the
    analytics job work again. The session's data is kept in a snapshot and loaded back afterwards."""
    if "first-up" not in sandbox_cli("snapshot", "list").stdout:
        pytest.skip("this sandbox has no first-up snapshot (it was not started new or wiped)")
    env, uid = sandbox_env, uuid.uuid4().hex[:8]
    api, db, kafka = Api(env), Db(env), Kafka(env)
    sandbox_cli("snapshot", "save", snapshot_name, timeout=600)
    try:
        event = api.create_event(10, f"reset {uid}")
        made_events.append(event["id"])
        booking = _booking(api, event["id"], f"{uid}-since")
        _user(env, f"{uid}-since")
        _aws("s3", env).put_object(Bucket=env["RAW_DATA_BUCKET"], Key=f"reset-test/{uid}", Body=b"1")
        _gcs(env).blob(f"reset-test/{uid}").upload_from_string(b"1")
        admin = AdminClient({"bootstrap.servers": env["KAFKA_BROKERS"]})
        admin.create_topics([NewTopic(f"reset-test-{uid}", num_partitions=1)])[f"reset-test-{uid}"].result(15)
        kafka.produce(f"reset-test-{uid}", [(None, {"made": uid})])

        reset = json.loads(sandbox_cli("reset", "--json", timeout=600).stdout)
        assert reset["in_place"], reset["full_load_because"]
        assert {"kafka_s", "postgres_s", "aws_s", "data_s"} <= set(reset["timings"])

        assert db.query("SELECT 1 FROM events WHERE id = %s AND name = %s", (event["id"], f"reset {uid}")) == []
        assert db.query("SELECT 1 FROM bookings WHERE booking_id = %s", (booking,)) == []
        for topic in TOPICS:  # every record deleted: nothing to read from the log start on
            assert all(low == high for low, high in kafka.offset_ranges(topic).values()), topic
        assert not _has_user(env, f"{uid}-since")
        assert _keys(env, "reset-test/") == set()
        assert not _gcs(env).blob(f"reset-test/{uid}").exists()
        assert f"reset-test-{uid}" not in admin.list_topics(timeout=10).topics

        # the services and the job work on the reset state; the job resumed from first-up's savepoint
        again = api.create_event(10, f"reset {uid} again")
        made_events.append(again["id"])
        _booking(api, again["id"], f"{uid}-after")
        _assert_resumed_from_a_savepoint()
        status = sandbox_cli("status", check=False)
        assert status.returncode == 0, status.stdout
    finally:
        sandbox_cli("snapshot", "load", snapshot_name, timeout=600)


@pytest.mark.parametrize(("args", "says"), [
    (("save", "Bad Name"), "bad snapshot name"),
    (("load", "no-such-snapshot"), "no snapshot no-such-snapshot"),
    (("rm", "no-such-snapshot"), "no snapshot no-such-snapshot"),
    (("load", "/no/such/file.tar"), "no snapshot file"),
])
def test_bad_requests_name_the_fix(sandbox_env, args, says):
    result = sandbox_cli("snapshot", *args, check=False)
    assert result.returncode == 1 and says in result.stderr and "Traceback" not in result.stderr


def test_a_snapshot_of_another_format_is_refused(sandbox_env, snapshot_name):
    from sandbox.settings import settings

    folder = settings().state_dir / "snapshots" / snapshot_name
    (folder / "files").mkdir(parents=True)
    (folder / "snapshot.json").write_text(json.dumps({"format": 99, "runtime": "native", "components": {}}))
    result = sandbox_cli("snapshot", "load", snapshot_name, check=False)
    assert result.returncode == 1 and "format 99" in result.stderr


def test_an_emulator_state_of_another_moto_is_not_loaded(tmp_path):
    from sandbox import aws_state

    path = tmp_path / "state.pickle"
    path.write_bytes(pickle.dumps({"format": aws_state.FORMAT, "moto": "0.0.1", "id": "x", "services": {}}))
    with pytest.raises(aws_state.StateError, match="moto 0.0.1"):
        aws_state.header(path)
