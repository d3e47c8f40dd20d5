"""Submit the booking-analytics PyFlink job to a Dataproc cluster with the Flink component.

The same ``analytics_job.py`` and the same job arguments as on the sandbox's Flink cluster;
only where the files live (GCS) and the brokers (MSK/Kafka reachable from GCP) change.

How a *Python* Flink job goes through the Dataproc Jobs API
    ``google.cloud.dataproc_v1.FlinkJob`` (library version installed here: 5.25.0) only has a
    jar driver: ``main_jar_file_uri`` or ``main_class`` (+ ``jar_file_uris``), ``args``,
    ``properties``, ``savepoint_uri``. There is no ``main_python_file_uri`` as in
    ``PySparkJob``. A PyFlink program is run by Flink's own Java entry point
    ``org.apache.flink.client.python.PythonDriver`` -- that is exactly what ``flink run -py``
    does -- so the request is:

    * ``main_class = org.apache.flink.client.python.PythonDriver``, with the flink-python jar
      (``/usr/lib/flink/opt/flink-python-<version>.jar`` on the cluster image) and the Kafka
      SQL connector jar in ``jar_file_uris``;
    * ``args = ["-pym", "analytics_job", <job args>...]`` and the property
      ``python.files = gs://.../analytics_job.py``. ``-pym`` + ``python.files`` rather than
      ``-py gs://...``: PythonDriver hands a ``-py`` path straight to the Python interpreter,
      which cannot open a ``gs://`` URI, while ``python.files`` is fetched through Flink's
      file systems (GCS on Dataproc) and put on the PYTHONPATH of the client and the workers.
    * ``pipeline.jars`` is not needed on Dataproc: ``jar_file_uris`` already puts the connector
      on the classpath of driver and tasks.

Only the Kafka connector jar version must match the cluster's Flink version (the sandbox uses
Flink 1.19 with flink-sql-connector-kafka 3.2.0-1.19); pass ``--connector-jar`` accordingly.

``--dry-run`` prints the ``SubmitJobRequest`` as JSON and needs no credentials; without it,
Application Default Credentials are used.
"""

from __future__ import annotations

import argparse
import os
import sys
import uuid
from collections.abc import Sequence

PYTHON_DRIVER_CLASS = "org.apache.flink.client.python.PythonDriver"
DEFAULT_FLINK_PYTHON_JAR = "file:///usr/lib/flink/opt/flink-python-1.19.3.jar"
JOB_MODULE = "analytics_job"


def build_submit_job_request(
    *,
    project_id: str,
    region: str,
    cluster: str,
    main_python_file_uri: str,
    connector_jar_uris: Sequence[str],
    job_args: Sequence[str] = (),
    flink_python_jar_uri: str = DEFAULT_FLINK_PYTHON_JAR,
    python_executable: str = "python3",
    savepoint_uri: str | None = None,
    properties: dict[str, str] | None = None,
    job_id: str | None = None,
    request_id: str | None = None,
):
    """A ``dataproc_v1.SubmitJobRequest`` that runs ``analytics_job.py`` on ``cluster``."""
    from google.cloud import dataproc_v1

    if not main_python_file_uri.endswith(".py"):
        raise ValueError(f"main python file must be a .py URI, got {main_python_file_uri!r}")
    module = main_python_file_uri.rsplit("/", 1)[-1][: -len(".py")]
    props = {
        "python.files": main_python_file_uri,
        "python.client.executable": python_executable,
        "python.executable": python_executable,
    }
    props.update(properties or {})
    flink_job = dataproc_v1.FlinkJob(
        main_class=PYTHON_DRIVER_CLASS,
        jar_file_uris=[flink_python_jar_uri, *connector_jar_uris],
        args=["-pym", module, *job_args],
        properties=props,
    )
    if savepoint_uri:
        flink_job.savepoint_uri = savepoint_uri
    job_id = job_id or f"booking-analytics-{uuid.uuid4().hex[:12]}"
    job = dataproc_v1.Job(
        reference=dataproc_v1.JobReference(project_id=project_id, job_id=job_id),
        placement=dataproc_v1.JobPlacement(cluster_name=cluster),
        flink_job=flink_job,
        labels={"app": "ticket-booking", "component": "analytics"},
    )
    return dataproc_v1.SubmitJobRequest(
        project_id=project_id,
        region=region,
        job=job,
        # idempotent retries: the API ignores a second request with the same id
        request_id=request_id or uuid.uuid4().hex,
    )


def request_to_json(request) -> str:
    from google.cloud import dataproc_v1

    return dataproc_v1.SubmitJobRequest.to_json(request, indent=2)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    e = os.environ.get
    p = argparse.ArgumentParser(
        description="Submit flink/analytics_job.py to Dataproc. Job args go after '--'.",
        epilog="example: %(prog)s --project p --cluster c --main-python-file "
        "gs://b/flink/analytics_job.py --connector-jar gs://b/jars/kafka.jar --dry-run -- "
        "--brokers b-1.msk:9092 --window-seconds 60",
    )
    p.add_argument(
        "--project", default=e("GOOGLE_CLOUD_PROJECT"), required=not e("GOOGLE_CLOUD_PROJECT")
    )
    p.add_argument("--region", default=e("DATAPROC_REGION") or "us-central1")
    p.add_argument("--cluster", default=e("DATAPROC_CLUSTER"), required=not e("DATAPROC_CLUSTER"))
    p.add_argument("--main-python-file", required=True, help="gs:// URI of analytics_job.py")
    p.add_argument(
        "--connector-jar", action="append", required=True,
        help="gs:// URI of flink-sql-connector-kafka (repeatable)",
    )
    p.add_argument("--flink-python-jar", default=DEFAULT_FLINK_PYTHON_JAR)
    p.add_argument("--python-executable", default="python3")
    p.add_argument("--savepoint", default=None, help="resume from this savepoint URI")
    p.add_argument("--job-id", default=None)
    p.add_argument(
        "--dry-run", action="store_true", help="print the request as JSON, do not call the API"
    )
    p.add_argument("job_args", nargs=argparse.REMAINDER, help="arguments for analytics_job.py")
    args = p.parse_args(argv)
    if args.job_args and args.job_args[0] == "--":
        args.job_args = args.job_args[1:]
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    request = build_submit_job_request(
        project_id=args.project,
        region=args.region,
        cluster=args.cluster,
        main_python_file_uri=args.main_python_file,
        connector_jar_uris=args.connector_jar,
        job_args=args.job_args,
        flink_python_jar_uri=args.flink_python_jar,
        python_executable=args.python_executable,
        savepoint_uri=args.savepoint,
        job_id=args.job_id,
    )
    if args.dry_run:
        print(request_to_json(request))
        return 0
    from google.cloud import dataproc_v1

    client = dataproc_v1.JobControllerClient(
        client_options={"api_endpoint": f"{args.region}-dataproc.googleapis.com:443"}
    )
    job = client.submit_job(request=request)
    print(f"submitted {job.reference.job_id} state={job.status.state.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
