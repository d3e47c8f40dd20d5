"""The booking-analytics Flink job on the docker runtime, plus its event-time heartbeat.

The same job control as the native component (`flink run -py`, resume from the newest savepoint or
retained checkpoint, `stop --savepointPath`), but the Flink CLI runs in the jobmanager container
(`docker exec`: the Flink stand-in carries Python and PyFlink), the job file is copied in, the job
reads Kafka as `kafka:9092`, and snapshots live on the Flink data volume. The heartbeat is a
container from the Flink image (it has confluent-kafka), running flink/heartbeat.py against the
clock topic (`analytics-clock`, never `ticket-bookings`).

The official flink image has no Python: with it the job cannot be submitted (one-line error).
"""

from __future__ import annotations

import io
import re
import tarfile
import time

from sandbox.components import analytics as native
from sandbox.components.docker.base import ROLE_LABEL, ContainerComponent, ContainerSpec
from sandbox.components.docker.flink import DATA_DIR, Flink
from sandbox.components.docker.kafka import INTERNAL_PORT
from sandbox.errors import SandboxError

JOB_PATH = "/tmp/analytics_job.py"


class Analytics(ContainerComponent, native.Analytics):
    image_key = "flink"
    extra_port_names = ()

    @property
    def flink(self) -> Flink:
        return Flink(self.settings, self.state)

    @property
    def brokers(self) -> str:
        return f"kafka:{INTERNAL_PORT}"  # as the job and the heartbeat see it on the sandbox network

    def container_specs(self) -> list[ContainerSpec]:
        source = native.HEARTBEAT.read_text()
        return [ContainerSpec("analytics-heartbeat", self.image,
                              ["python3", "-c", source, "--brokers", self.brokers, "--topic", native.CLOCK_TOPIC])]

    def _jobmanager(self):
        found = [c for c in self.flink._containers(all_states=False) if c.labels.get(ROLE_LABEL) == "flink-jobmanager"]
        if not found:
            raise SandboxError("the Flink jobmanager container is not running", "sandbox up --only flink")
        return found[0]

    def _flink_cli(self, *args: str, extra_env: dict[str, str] | None = None, timeout: float = 120) -> str:
        """`flink <args>` in the jobmanager container (its REST endpoint is localhost there)."""
        container = self._jobmanager()
        started = time.monotonic()
        result = container.exec_run(["/opt/flink/bin/flink", *args], demux=False)
        output = (result.output or b"").decode(errors="replace")
        with open(self.log_file, "a") as log:
            log.write(f"$ flink {' '.join(args)}  ({time.monotonic() - started:.1f}s)\n{output}\n")
        if result.exit_code != 0:
            if "python" in output.lower() and "not found" in output.lower():
                raise SandboxError(f"{container.image.tags[:1]} has no Python for `flink run -py`",
                                   "use the Flink stand-in (make images) or an image with PyFlink")
            raise SandboxError(f"flink {args[0]} failed (exit {result.exit_code})", f"see `sandbox logs {self.name}`")
        return output

    def submit(self, resume: bool = True) -> str:
        container = self._jobmanager()
        archive = io.BytesIO()
        with tarfile.open(fileobj=archive, mode="w") as tar:
            data = native.JOB_FILE.read_bytes()
            info = tarfile.TarInfo(JOB_PATH.rsplit("/", 1)[1])
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
        container.put_archive("/tmp", archive.getvalue())
        savepoint = self.resume_point() if resume else None
        args = ["run", "-d"]
        if savepoint:
            args += ["-s", savepoint]
        for jar in self._connector_jars(container):
            args += ["--jarfile", jar]
        args += ["-pyclientexec", "python3", "-pyexec", "python3", "-py", JOB_PATH, "--",
                 "--brokers", self.brokers, "--clock-topic", native.CLOCK_TOPIC,
                 "--window-seconds", str(self.settings.analytics.window_seconds), "--no-wait"]
        output = self._flink_cli(*args)
        match = re.search(r"JOB_ID (\w+)", output) or re.search(r"JobID ([0-9a-f]{32})", output)
        if not match:
            raise SandboxError("flink run printed no job id", f"see `sandbox logs {self.name}`")
        return match.group(1)

    @staticmethod
    def _connector_jars(container) -> list[str]:
        listing = container.exec_run(["sh", "-c", "ls /opt/flink/connectors/*.jar"]).output.decode()
        return [line.strip() for line in listing.splitlines() if line.strip().endswith(".jar")]

    def cancel(self, savepoint: bool = True) -> str | None:
        job = self.running_job()
        if not job:
            return None
        if not savepoint:
            self._flink_cli("cancel", job["jid"])
            return None
        output = self._flink_cli("stop", "--savepointPath", f"file://{DATA_DIR}/savepoints", job["jid"])
        match = re.search(r"Savepoint completed\. Path: (\S+)", output)
        return match.group(1) if match else None

    def resume_point(self) -> str | None:
        """The newest complete savepoint or retained checkpoint on the Flink data volume."""
        result = self._jobmanager().exec_run(
            ["sh", "-c", f"find {DATA_DIR}/savepoints {DATA_DIR}/checkpoints -name _metadata -printf '%T@ %h\\n' "
                         "2>/dev/null | sort -n | tail -1"])
        line = result.output.decode().strip()
        return line.split(" ", 1)[1] if line else None

    def log_files(self):
        return [self.log_file]  # the flink CLI's output; the heartbeat's is in its container
