"""The Dataproc request is built (and printed) without credentials or network."""

import json

import submit_dataproc as sd

ARGV = [
    "--project", "demo-project", "--region", "europe-west1", "--cluster", "analytics",
    "--main-python-file", "gs://bucket/flink/analytics_job.py",
    "--connector-jar", "gs://bucket/jars/flink-sql-connector-kafka-3.2.0-1.19.jar",
    "--job-id", "booking-analytics-1",
    "--dry-run", "--",
    "--brokers", "b-1.msk:9092", "--window-seconds", "60", "--group-id", "analytics",
]


def test_request_runs_the_same_job_file_and_args_through_python_driver():
    args = sd.parse_args(ARGV)
    req = sd.build_submit_job_request(
        project_id=args.project, region=args.region, cluster=args.cluster,
        main_python_file_uri=args.main_python_file, connector_jar_uris=args.connector_jar,
        job_args=args.job_args, job_id=args.job_id, request_id="r1")
    assert (req.project_id, req.region, req.request_id) == ("demo-project", "europe-west1", "r1")
    job = req.job
    assert job.placement.cluster_name == "analytics"
    assert job.reference.job_id == "booking-analytics-1"
    fj = job.flink_job
    assert fj.main_class == "org.apache.flink.client.python.PythonDriver"
    assert list(fj.args) == ["-pym", "analytics_job", "--brokers", "b-1.msk:9092",
                             "--window-seconds", "60", "--group-id", "analytics"]
    assert "gs://bucket/jars/flink-sql-connector-kafka-3.2.0-1.19.jar" in fj.jar_file_uris
    assert any("flink-python" in j for j in fj.jar_file_uris)
    assert fj.properties["python.files"] == "gs://bucket/flink/analytics_job.py"


def test_dry_run_prints_request_json(capsys, monkeypatch):
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    assert sd.main(ARGV) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["job"]["flinkJob"]["mainClass"] == "org.apache.flink.client.python.PythonDriver"
    assert doc["job"]["flinkJob"]["properties"]["python.files"].startswith("gs://")
    assert doc["region"] == "europe-west1"


def test_savepoint_is_passed_through():
    req = sd.build_submit_job_request(
        project_id="p", region="r", cluster="c", main_python_file_uri="gs://b/analytics_job.py",
        connector_jar_uris=["gs://b/k.jar"], savepoint_uri="gs://b/savepoints/sp-1")
    assert req.job.flink_job.savepoint_uri == "gs://b/savepoints/sp-1"
