"""The booking-analytics Flink job on the sandbox's cluster, plus its event-time heartbeat.

`up` submits `flink/analytics_job.py` with `flink run -py` (the Kafka connector jar shipped with
`--jarfile`) unless a job of that name already runs; a job stopped with a savepoint is resumed
from it, so window totals survive restarts. The heartbeat process keeps event time moving when no
bookings arrive by writing ticks to the job's own clock topic, never to `ticket-bookings` (see
flink/heartbeat.py); the topic is in `kafka.topics` and ensured again before a submission, for a
Kafka that was already running when the topic was added.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

from sandbox import jobgraph
from sandbox.components.base import Component, Kind, ProcessSpec
from sandbox.components.flink import Flink, flink_home
from sandbox.errors import SandboxError
from sandbox.health import Health
from sandbox.settings import PROJECT_ROOT

JOB_NAME = "booking-analytics"
JOB_FILE = PROJECT_ROOT / "flink" / "analytics_job.py"
HEARTBEAT = PROJECT_ROOT / "flink" / "heartbeat.py"
CLOCK_TOPIC = "analytics-clock"  # the job's event-time ticks (flink/analytics_job.py DEFAULT_CLOCK_TOPIC)


class Analytics(Component):
    name = "analytics"
    kind = Kind.APP
    health_after_setup = True  # healthy means the job runs, which needs the submission first
    # not Flink's health either: `flink run` spends most of its time building the plan in its own
    # JVM and Python, which overlaps the JobManager's and TaskManager's boot (the client retries
    # its submission until the JobManager answers); not the Terraform apply: that overlaps too
    needs = ("kafka",)
    needed_by_later_tiers = False  # the services only read the job's output topic

    @property
    def flink(self) -> Flink:
        return Flink(self.settings, self.state)

    @property
    def host_brokers(self) -> str:
        """Kafka as this (host) process reaches it, in either runtime."""
        return f"127.0.0.1:{self.settings.ports.kafka}"

    @property
    def brokers(self) -> str:
        """Kafka as the job and the heartbeat reach it."""
        return self.host_brokers

    def processes(self) -> list[ProcessSpec]:
        command = [sys.executable, str(HEARTBEAT), "--brokers", self.brokers, "--topic", CLOCK_TOPIC]
        return [ProcessSpec("heartbeat", command)]

    # ------------------------------------------------------------ job control
    def jobs(self) -> list[dict]:
        import requests

        response = requests.get(f"{self.flink.rest_url}/jobs/overview", timeout=3)
        response.raise_for_status()  # a 503 {"errors": [...]} during a leader election is "not yet"
        return response.json()["jobs"]

    def flink_answers(self) -> bool:
        import requests

        try:
            requests.get(f"{self.flink.rest_url}/overview", timeout=2)
        except requests.ConnectionError:
            return False
        return True

    def running_job(self) -> dict | None:
        return next((j for j in self.jobs() if j["name"] == JOB_NAME and j["state"] in ("RUNNING", "CREATED",
                                                                                        "RESTARTING")), None)

    def health(self) -> Health:
        job = self.running_job()
        if not job:
            return Health(False, f"no {JOB_NAME} job running")
        return Health(job["state"] == "RUNNING", f"job {job['jid'][:8]} {job['state']}")

    def after_start(self) -> None:
        if not self.flink_answers() or not self.running_job():  # a JobManager still booting runs no job
            self.ensure_clock_topic()  # the job fails at start if a topic it reads is missing
            self.submit()

    def ensure_clock_topic(self) -> None:
        from confluent_kafka.admin import AdminClient

        from sandbox.components.kafka import Kafka

        admin = AdminClient({"bootstrap.servers": self.host_brokers, "log_level": 0})
        if CLOCK_TOPIC not in admin.list_topics(timeout=10).topics:
            Kafka._create_topics(admin, [CLOCK_TOPIC], self.settings.kafka.partitions)

    def _run(self, command: list[str], shown: str, extra_env: dict[str, str] | None = None,
             timeout: float = 120) -> subprocess.CompletedProcess:
        env = {"FLINK_CONF_DIR": str(self.flink.conf_dir), "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
               "JAVA_HOME": _java_home(), **(extra_env or {})}
        result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout)
        with open(self.log_file, "a") as log:
            log.write(f"$ {shown}\n{result.stdout}{result.stderr}\n")
        return result

    def _flink_cli(self, *args: str, extra_env: dict[str, str] | None = None, timeout: float = 120) -> str:
        result = self._run(["bash", str(flink_home() / "bin" / "flink"), *args], f"flink {' '.join(args)}",
                           extra_env, timeout)
        if result.returncode != 0:
            raise SandboxError(f"flink {args[0]} failed (exit {result.returncode})", f"see `sandbox logs {self.name}`")
        return result.stdout

    def submit(self, resume: bool = True) -> str:
        """Submit the job, resuming from the newest savepoint or retained checkpoint if any: its kept
        graph when there is one (sandbox/jobgraph.py), else through `flink run`, keeping the graph."""
        savepoint = self.resume_point() if resume else None
        port = self.settings.ports.flink_rest
        job = []
        for jar in self.flink.connector_jars:
            job += ["--jarfile", str(jar)]
        job += ["-pyclientexec", sys.executable, "-py", str(JOB_FILE), "--",
                "--brokers", self.brokers, "--clock-topic", CLOCK_TOPIC,
                "--window-seconds", str(self.settings.analytics.window_seconds), "--no-wait"]
        try:
            helper = jobgraph.helper_jar(self.settings.user_cache_dir, flink_home())
        except (subprocess.CalledProcessError, OSError) as exc:
            self._log(f"the job graph is not kept: its helper did not build ({exc})")
            helper = None
        graph = jobgraph.graph_file(self.conf_dir, job, [JOB_FILE, self.flink.conf_dir / "config.yaml",
                                                         *self.flink.connector_jars])
        if helper and graph.exists():
            command = jobgraph.submit_command(helper, flink_home(), graph, port, savepoint)
            result = self._run(command, f"submit the kept job graph {graph.name}" + (f" -s {savepoint}" if savepoint
                                                                                       else ""))
            found = re.search(r"JOB_ID (\w+)", result.stdout)
            if result.returncode == 0 and found:
                return found.group(1)
            graph.unlink(missing_ok=True)  # planned again below
            running = self.running_job() if self.flink_answers() else None
            if running:  # it was submitted after all (the answer got lost): no second one
                return running["jid"]
        # a JobManager still booting: retry the submission every 0.5 s for up to 90 s
        args = ["run", *(jobgraph.capture_args(graph, port) if helper else ["-m", f"127.0.0.1:{port}"]), "-d",
                "-Drest.retry.delay=500", "-Drest.retry.max-attempts=180"]
        if savepoint:
            args += ["-s", savepoint]
        self.conf_dir.mkdir(parents=True, exist_ok=True)
        output = self._flink_cli(*args, *job, extra_env={"HADOOP_CLASSPATH": str(helper)} if helper else None)
        match = re.search(r"JOB_ID (\w+)", output) or re.search(r"JobID ([0-9a-f]{32})", output)
        if not match:
            raise SandboxError("flink run printed no job id", f"see `sandbox logs {self.name}`")
        return match.group(1)

    def cancel(self, savepoint: bool = True) -> str | None:
        """Stop the job, with a savepoint by default. Through the REST API, as `flink stop` does,
        without starting a client JVM (seconds on a busy machine)."""
        import requests

        job = self.running_job()
        if not job:
            return None
        url = f"{self.flink.rest_url}/jobs/{job['jid']}"
        if not savepoint:
            requests.patch(f"{url}?mode=cancel", timeout=10).raise_for_status()
            self._log(f"cancelled job {job['jid']}")
            return None
        target = self.flink.data_dir / "savepoints"
        r = requests.post(f"{url}/stop", json={"targetDirectory": f"file://{target}", "drain": False}, timeout=10)
        r.raise_for_status()
        trigger = r.json()["request-id"]
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            info = requests.get(f"{url}/savepoints/{trigger}", timeout=10).json()
            if info.get("status", {}).get("id") == "COMPLETED":
                operation = info.get("operation", {})
                if "location" not in operation:
                    self._log(f"stop of job {job['jid']} failed: {operation.get('failure-cause')}")
                    raise SandboxError("stopping the analytics job with a savepoint failed",
                                       f"see `sandbox logs {self.name}`")
                self._log(f"stopped job {job['jid']} with savepoint {operation['location']}")
                while self.running_job() and time.monotonic() < deadline:  # as `flink stop`: gone
                    time.sleep(0.2)
                return operation["location"]
            time.sleep(0.2)
        raise SandboxError("the savepoint did not complete in 120 s", f"see `sandbox logs {self.name}`")

    def stop_job(self, savepoint: bool, attempts: int = 5) -> None:
        """Stop the job, with a savepoint when saving (sandbox/snapshots.py). A job submitted moments
        ago (by the previous load, say) refuses a savepoint until all its tasks run: tried again."""
        for attempt in range(attempts):
            try:
                self.cancel(savepoint=savepoint)
                return
            except (SandboxError, OSError) as exc:
                if not savepoint:
                    return  # a load replaces the job's state anyway; `up` submits it again
                if attempt == attempts - 1:
                    raise SandboxError(f"could not stop the analytics job with a savepoint ({exc})",
                                       "the sandbox was left running; see `sandbox logs analytics`") from None
                time.sleep(3)

    def _log(self, line: str) -> None:
        with open(self.log_file, "a") as log:
            log.write(f"{line}\n")

    def resume_point(self) -> str | None:
        """The newest complete savepoint or retained checkpoint: exactly-once sinks make both exact."""
        roots = [self.flink.data_dir / "savepoints", self.flink.data_dir / "checkpoints"]
        snapshots = [m for root in roots if root.exists() for m in root.glob("**/_metadata")]
        if not snapshots:
            return None
        return str(max(snapshots, key=lambda m: m.stat().st_mtime).parent)

    def env(self) -> dict[str, str]:
        return {"ANALYTICS_WINDOW_SECONDS": str(self.settings.analytics.window_seconds)}


def _java_home() -> str:
    import shutil

    java = shutil.which("java")
    return str(Path(java).resolve().parents[1]) if java else ""
