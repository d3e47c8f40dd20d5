"""The `init` task runs the user's ready.d hooks once, with the sandbox's endpoints, and the AWS
emulator serves what ran as LocalStack's /_localstack/init (and its /_localstack/health)."""

import json

from werkzeug.test import Client
from werkzeug.wrappers import Response

from sandbox.aws_server import LocalStackSurface, PersistentState
from sandbox.components.init_hooks import InitHooks
from sandbox.settings import load_settings
from sandbox.state import StateDir


def hooks_in(tmp_path, files: dict[str, str]) -> InitHooks:
    init_dir = tmp_path / "init"
    (init_dir / "ready.d").mkdir(parents=True)
    for name, text in files.items():
        (init_dir / "ready.d" / name).write_text(text)
    settings = load_settings(state_dir=tmp_path / "state", init_dir=init_dir)
    state = StateDir(settings.state_dir)
    state.ensure()
    return InitHooks(settings, state)


def test_hooks_run_in_name_order_with_the_endpoints_and_a_failure_is_named(tmp_path):
    out = tmp_path / "out.txt"
    task = hooks_in(tmp_path, {
        "01-first.sh": f'echo "sh $AWS_ENDPOINT_URL" >> {out}\n',
        "02-second.py": f'import os\nopen("{out}", "a").write("py " + os.environ["KAFKA_BROKERS"] + "\\n")\n',
        "03-broken.sh": "echo going wrong; exit 3\n",
        "notes.txt": "not a hook",
    })
    assert not task.health().ok  # not run yet
    task.after_start()
    assert out.read_text().splitlines() == [f"sh {task.endpoints.host['AWS_ENDPOINT_URL']}",
                                            f"py {task.endpoints.host['KAFKA_BROKERS']}"]
    report = json.loads(task.report_file.read_text())
    assert [(s["name"], s["state"]) for s in report["scripts"]] == [
        ("01-first.sh", "SUCCESSFUL"), ("02-second.py", "SUCCESSFUL"), ("03-broken.sh", "ERROR")]
    health = task.health()
    assert not health.ok and "03-broken.sh" in health.detail
    assert "going wrong" in task.log_file.read_text()


def test_no_hooks_is_done_once_run(tmp_path):
    task = hooks_in(tmp_path, {})
    task.after_start()
    assert task.health().ok and "no hooks" in task.health().detail


def surface(tmp_path, report: dict | None = None):
    status = tmp_path / "init-status.json"
    status.write_text("stale")  # what an earlier emulator process left
    app = LocalStackSurface(lambda environ, start: Response("moto")(environ, start), status, PersistentState(None, print))
    assert not status.exists()  # a new emulator has not run its READY stage
    if report is not None:
        status.write_text(json.dumps(report))
    return Client(app)


def test_localstack_health_and_init_in_localstacks_shapes(tmp_path):
    client = surface(tmp_path)
    health = client.get("/_localstack/health")
    assert health.status_code == 200
    assert {"s3", "lambda", "dynamodb", "sqs"} <= set(health.json["services"])
    assert set(health.json["services"].values()) == {"running"}
    assert '"s3": "running"' in health.get_data(as_text=True)  # what shell scripts grep for
    init = client.get("/_localstack/init").json
    assert init["completed"] == {"BOOT": True, "START": True, "READY": False, "SHUTDOWN": False}
    assert client.get("/_localstack/nope").status_code == 404
    assert client.get("/my-bucket").get_data(as_text=True) == "moto"  # everything else is moto's


def test_init_reports_what_the_task_ran(tmp_path):
    scripts = [{"stage": "READY", "name": "01-seed.sh", "state": "SUCCESSFUL"}]
    client = surface(tmp_path, {"scripts": scripts})
    assert client.get("/_localstack/init").json["completed"]["READY"] is True
    assert client.get("/_localstack/init/ready").json == {"completed": True, "scripts": scripts}
    assert client.get("/_localstack/init/boot").json == {"completed": True, "scripts": []}
