"""A standalone Flink cluster (JobManager + TaskManager) from the PyFlink distribution's scripts.

The Kafka SQL connector jar matching the PyFlink version comes from Maven Central and is exposed
to jobs through FLINK_CONNECTOR_JARS.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from sandbox import observability
from sandbox.components.base import Component, ProcessSpec, require_binary
from sandbox.health import Health
from sandbox.maven import resolve_jars


def flink_home() -> Path:
    import pyflink

    return Path(pyflink.__file__).parent


class Flink(Component):
    name = "flink"
    port_name = "flink_rest"
    extra_port_names = ("flink_rpc",)
    needed_by_later_tiers = False  # only the analytics job runs on it (and waits for its REST itself)

    @property
    def rest_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def check_prerequisites(self) -> None:
        require_binary("java", "apt-get install -y openjdk-17-jre-headless")

    def install(self) -> None:
        resolve_jars("flink", self.settings.cache_dir, transitive=False)

    @property
    def connector_jars(self) -> list[Path]:
        return sorted((self.settings.cache_dir / "jars" / "flink").glob("*.jar"))

    def prepare(self) -> None:
        conf = self.conf_dir
        conf.mkdir(parents=True, exist_ok=True)
        (self.data_dir / "checkpoints").mkdir(parents=True, exist_ok=True)
        (self.data_dir / "savepoints").mkdir(parents=True, exist_ok=True)
        for name in ("log4j-console.properties", "log4j.properties"):
            shutil.copy(flink_home() / "conf" / name, conf / name)
        f = self.settings.flink
        settings = {
            "jobmanager.rpc.address": "127.0.0.1",
            "jobmanager.rpc.port": self.settings.ports.flink_rpc,
            "jobmanager.bind-host": "127.0.0.1",
            "taskmanager.bind-host": "127.0.0.1",
            "taskmanager.host": "127.0.0.1",
            "rest.address": "127.0.0.1",
            "rest.bind-address": "127.0.0.1",
            "rest.port": self.port,
            "jobmanager.memory.process.size": f.jobmanager_memory,
            "taskmanager.memory.process.size": f.taskmanager_memory,
            "taskmanager.numberOfTaskSlots": f.task_slots,
            "parallelism.default": 1,
            "python.executable": sys.executable,
            "python.client.executable": sys.executable,
            "state.checkpoints.dir": f"file://{self.data_dir / 'checkpoints'}",
            "state.savepoints.dir": f"file://{self.data_dir / 'savepoints'}",
            "io.tmp.dirs": str(self.data_dir / "tmp"),
            # per-process options: env.java.opts.all would replace Flink's --add-opens defaults
            "env.java.opts.jobmanager": "-XX:TieredStopAtLevel=1 -Xshare:auto",
            "env.java.opts.taskmanager": "-XX:TieredStopAtLevel=1 -Xshare:auto",
            "env.java.opts.client": "-XX:TieredStopAtLevel=1 -Xshare:auto",  # `flink run`: a short-lived JVM
            **self._metrics_reporter(),
            "heartbeat.timeout": 20000,
            "resourcemanager.taskmanager-timeout": 10000,
        }
        (self.data_dir / "tmp").mkdir(exist_ok=True)
        (conf / "config.yaml").write_text("".join(f"{k}: {v}\n" for k, v in settings.items()))

    def _metrics_reporter(self) -> dict[str, object]:
        """Flink's own Prometheus metrics, pushed to the Pushgateway: its scrape reporter has no
        bind-address setting and would listen on every interface."""
        if not observability.active(self.settings):
            return {}
        prefix = "metrics.reporter.promgateway"
        return {
            f"{prefix}.factory.class": "org.apache.flink.metrics.prometheus.PrometheusPushGatewayReporterFactory",
            f"{prefix}.hostUrl": f"http://127.0.0.1:{self.settings.observability.ports.pushgateway}",
            f"{prefix}.jobName": "flink",
            f"{prefix}.randomJobNameSuffix": "true",
            f"{prefix}.deleteOnShutdown": "true",
            f"{prefix}.interval": f"{self.settings.observability.scrape_interval_seconds} SECONDS",
        }

    def _env(self) -> dict[str, str]:
        return {
            "FLINK_CONF_DIR": str(self.conf_dir),
            "FLINK_LOG_DIR": str(self.state.root / "logs" / "flink-daemon"),
            "PATH": f"{Path(sys.executable).parent}:{_path()}",
        }

    def processes(self) -> list[ProcessSpec]:
        bin_dir = flink_home() / "bin"
        return [
            ProcessSpec("jobmanager", ["bash", str(bin_dir / "jobmanager.sh"), "start-foreground"], env=self._env()),
            ProcessSpec("taskmanager", ["bash", str(bin_dir / "taskmanager.sh"), "start-foreground"], env=self._env()),
        ]

    def health(self) -> Health:
        import requests

        overview = requests.get(f"{self.rest_url}/overview", timeout=2).json()
        if overview.get("taskmanagers", 0) < 1 or overview.get("slots-available", 0) + overview.get("jobs-running", 0) < 1:
            return Health(False, f"{overview.get('taskmanagers', 0)} TaskManager(s), no free slot")
        return Health(True, f"{overview['taskmanagers']} TaskManager, {overview['slots-available']}/"
                            f"{overview['slots-total']} slots free, {overview['jobs-running']} job(s) running")

    def snapshot_paths(self) -> list[Path]:
        """The job's savepoints and checkpoints; not the running cluster's scratch space (tmp)."""
        return [self.data_dir / "savepoints", self.data_dir / "checkpoints"]

    def env(self) -> dict[str, str]:
        return {
            "FLINK_REST_URL": self.rest_url,
            "FLINK_CONNECTOR_JARS": ";".join(str(p) for p in self.connector_jars),
        }

    def log_files(self) -> list[Path]:
        return [self.log_file, *sorted((self.state.root / "logs" / "flink-daemon").glob("*.log"))]


def _path() -> str:
    import os

    return os.environ.get("PATH", "/usr/bin:/bin")
