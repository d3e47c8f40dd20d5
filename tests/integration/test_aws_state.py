"""The emulator's state file (sandbox/aws_state.py) against a private emulator: what was made
before a restart is there after it, under the same state id; a file it cannot read is refused
with a warning and kept, never half-loaded."""

from __future__ import annotations

import json
import pickle
import signal
import time
import urllib.error
import urllib.request

import pytest

from tests.integration.test_lambda_runtime import Emulator

HANDLER = "def handler(event, context):\n    return {'doubled': event['n'] * 2}\n"


def _state(emulator: Emulator) -> dict:
    with urllib.request.urlopen(f"{emulator.url}/_sandbox/state", timeout=5) as answer:
        return json.loads(answer.read())


def _post(emulator: Emulator, action: str, body: bytes = b"") -> tuple[int, dict]:
    request = urllib.request.Request(f"{emulator.url}/_sandbox/state/{action}", data=body, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def _save(emulator: Emulator, body: bytes = b"") -> tuple[int, dict]:
    return _post(emulator, "save", body)


def _load(emulator: Emulator, body: bytes) -> tuple[int, dict]:
    return _post(emulator, "load", body)


def _make_resources(emulator: Emulator) -> str:
    s3, ddb = emulator.client("s3"), emulator.client("dynamodb")
    s3.create_bucket(Bucket="kept-bucket")
    s3.put_object(Bucket="kept-bucket", Key="uploads/a.txt", Body=b"kept across restarts")
    ddb.create_table(TableName="kept-table", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST")
    ddb.put_item(TableName="kept-table", Item={"id": {"S": "u1"}, "name": {"S": "Ada"}})
    emulator.client("kms").create_key(Description="kept key")
    return emulator.create({"app.py": HANDLER})


def _assert_resources(emulator: Emulator, function: str) -> None:
    body = emulator.client("s3").get_object(Bucket="kept-bucket", Key="uploads/a.txt")["Body"].read()
    assert body == b"kept across restarts"
    item = emulator.client("dynamodb").get_item(TableName="kept-table", Key={"id": {"S": "u1"}})["Item"]
    assert item["name"] == {"S": "Ada"}
    kms = emulator.client("kms")
    descriptions = [kms.describe_key(KeyId=k["KeyId"])["KeyMetadata"]["Description"] for k in kms.list_keys()["Keys"]]
    assert descriptions == ["kept key"]
    _, answer = emulator.invoke(function, {"n": 21})
    assert answer == {"doubled": 42}  # the function's code came back with it, and runs


def test_a_clean_restart_keeps_every_resource_and_the_state_id(tmp_path):
    args = ("--state-file", str(tmp_path / "state.pickle"))
    first = Emulator(tmp_path, {}, args)
    function = _make_resources(first)
    state_id = _state(first)["id"]
    first.stop()  # SIGTERM: saved on the way out
    second = Emulator(tmp_path, {}, args)
    try:
        assert _state(second)["id"] == state_id
        assert "s3" in _state(second)["restored"]
        _assert_resources(second, function)
    finally:
        second.stop()


def test_a_save_survives_a_kill_and_a_bad_path_is_refused(tmp_path):
    args = ("--state-file", str(tmp_path / "state.pickle"))
    first = Emulator(tmp_path, {}, args)
    function = _make_resources(first)
    assert _save(first, b'{"path": "relative/file"}') == (400, {"error": "path must be an absolute file path",
                                                                "field": "path"})
    status, saved = _save(first)
    assert status == 200 and saved["bytes"] > 0
    copy = tmp_path / "copy.pickle"
    assert _save(first, json.dumps({"path": str(copy)}).encode())[0] == 200 and copy.stat().st_size > 0
    first.proc.send_signal(signal.SIGKILL)
    first.proc.wait(timeout=10)
    first.out.close()
    second = Emulator(tmp_path, {}, args)
    try:
        assert _state(second)["id"] == saved["id"]
        _assert_resources(second, function)
    finally:
        second.stop()


@pytest.mark.parametrize("header", [{"format": 1, "moto": "0.0.1", "id": "x", "services": {}},
                                    {"format": 99, "id": "x", "services": {}}])
def test_a_state_of_another_version_is_refused_and_kept(tmp_path, header):
    path = tmp_path / "state.pickle"
    path.write_bytes(pickle.dumps(header))
    emulator = Emulator(tmp_path, {}, ("--state-file", str(path)))
    try:
        assert _state(emulator)["restored"] == []
        assert emulator.client("s3").list_buckets()["Buckets"] == []
        assert (tmp_path / "state.pickle.refused").exists()
        assert "started empty" in emulator.log_text()
    finally:
        emulator.stop()


def test_reads_cost_no_save_and_a_change_is_saved_within_seconds(tmp_path):
    from sandbox.aws_server import SAVE_EVERY

    emulator = Emulator(tmp_path, {}, ("--state-file", str(tmp_path / "state.pickle")))
    try:
        time.sleep(SAVE_EVERY + 1)  # the set-up's IAM role is saved by now
        saved_at = _state(emulator)["saved_at"]
        assert saved_at is not None
        reads_until = time.monotonic() + SAVE_EVERY + 2
        while time.monotonic() < reads_until:  # the monitor's health call and the services' reads
            emulator.client("sts").get_caller_identity()
            emulator.client("s3").list_buckets()
            emulator.client("dynamodb").list_tables()
            emulator.client("iam").list_roles()
            time.sleep(0.5)
        assert _state(emulator)["saved_at"] == saved_at
        emulator.client("s3").create_bucket(Bucket="saved-soon")
        time.sleep(SAVE_EVERY + 1)
        assert _state(emulator)["saved_at"] > saved_at
    finally:
        emulator.stop()


def test_a_running_emulator_takes_a_saved_state_in_place(tmp_path):
    """`sandbox reset`'s route: what was made after the save is gone, what was there is back (its
    function runs again), under the saved state's id; a bad or foreign file changes nothing."""
    emulator = Emulator(tmp_path, {}, ("--state-file", str(tmp_path / "state.pickle")))
    try:
        function = _make_resources(emulator)
        saved = tmp_path / "saved.pickle"
        assert _save(emulator, json.dumps({"path": str(saved)}).encode())[0] == 200
        state_id = _state(emulator)["id"]
        s3 = emulator.client("s3")
        s3.put_object(Bucket="kept-bucket", Key="uploads/later.txt", Body=b"made after the save")
        s3.create_bucket(Bucket="later-bucket")
        emulator.client("sqs").create_queue(QueueName="later-queue")  # a service the save did not hold
        foreign = tmp_path / "foreign.pickle"
        foreign.write_bytes(pickle.dumps({"format": 1, "moto": "0.0.1", "id": "x", "services": {}}))
        for body in (b"{}", b'{"path": "relative"}', json.dumps({"path": str(foreign)}).encode()):
            status, answer = _load(emulator, body)
            assert status == 400 and answer["field"] == "path", answer
        assert {b["Name"] for b in s3.list_buckets()["Buckets"]} == {"kept-bucket", "later-bucket"}

        status, answer = _load(emulator, json.dumps({"path": str(saved)}).encode())
        assert status == 200 and answer["id"] == state_id == _state(emulator)["id"], answer
        assert {b["Name"] for b in s3.list_buckets()["Buckets"]} == {"kept-bucket"}
        assert [o["Key"] for o in s3.list_objects_v2(Bucket="kept-bucket")["Contents"]] == ["uploads/a.txt"]
        assert emulator.client("sqs").list_queues().get("QueueUrls", []) == []
        _assert_resources(emulator, function)
    finally:
        emulator.stop()
