"""VictoriaLogs, the logs store (queried in LogsQL, with its own web UI at /select/vmui), and the
log shipper feeding it: an OpenTelemetry Collector built with only the filelog receiver, which
tails every component's log file under the state dir (those files stay as they are) and sends
each line with its labels: component, replica (pod), level, request id, booking id."""

from __future__ import annotations

import json

from sandbox.components.base import ProcessSpec
from sandbox.components.observability.base import ObservabilityPart
from sandbox.health import Health


class VictoriaLogs(ObservabilityPart):
    name = "victoria-logs"
    port_name = "logs"
    binaries = ("victoria-logs",)

    def processes(self) -> list[ProcessSpec]:
        return [ProcessSpec("server", [
            self.binary(), f"-httpListenAddr=127.0.0.1:{self.port}", f"-storageDataPath={self.data_dir}",
            f"-retentionPeriod={self.settings.observability.retention}", "-loggerFormat=json",
            # its caches are sized from the machine's RAM (60 % by default): a sandbox's logs need little
            "-memory.allowedBytes=64MiB",
        ])]

    def health(self) -> Health:
        import requests

        response = requests.get(f"{self.url}/select/logsql/hits", params={"query": "*", "start": "5m", "step": "5m"},
                                timeout=3)
        if not response.ok:
            return Health(False, f"LogsQL {response.status_code}")
        hits = sum(h.get("total", 0) for h in response.json().get("hits", []))
        return Health(True, f"{hits} lines in the last 5 min")

    def env(self) -> dict[str, str]:
        return {"LOGS_URL": self.url}


class LogShipper(ObservabilityPart):
    name = "log-shipper"
    port_name = "log_shipper"
    binaries = ("otelcol",)

    def config(self) -> dict:
        logs_dir = self.state.log_file(self.name).parent
        logs_url = f"http://127.0.0.1:{self.settings.observability.ports.logs}"
        return {
            "extensions": {"file_storage": {"directory": str(self.data_dir)}},
            "receivers": {"file_log": {
                "include": [str(logs_dir / "*.log")],
                "exclude": [str(self.log_file)],  # its own lines would feed themselves
                "start_at": "beginning",
                "poll_interval": "1s",
                "storage": "file_storage",
                "include_file_name": True,
                "operators": OPERATORS,
            }},
            "processors": {"batch": {"timeout": "1s"}},
            "exporters": {"otlp_http/victorialogs": {
                "logs_endpoint": f"{logs_url}/insert/opentelemetry/v1/logs",
                "headers": {"VL-Stream-Fields": "component,pod"},
                "retry_on_failure": {"enabled": True, "max_elapsed_time": "0s"},  # never drop: wait for the store
            }},
            "service": {
                "extensions": ["file_storage"],
                "telemetry": {"logs": {"encoding": "json"}, "metrics": {"level": "basic", "readers": [
                    {"pull": {"exporter": {"prometheus": {"host": "127.0.0.1", "port": self.port}}}}]}},
                "pipelines": {"logs": {"receivers": ["file_log"], "processors": ["batch"],
                                       "exporters": ["otlp_http/victorialogs"]}},
            },
        }

    def prepare(self) -> None:
        super().prepare()
        (self.conf_dir / "config.yaml").write_text(json.dumps(self.config(), indent=1))  # JSON is YAML

    def processes(self) -> list[ProcessSpec]:
        return [ProcessSpec("collector", [self.binary(), f"--config={self.conf_dir / 'config.yaml'}"])]

    def health(self) -> Health:
        import requests

        text = requests.get(f"{self.url}/metrics", timeout=3).text
        sent = sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                   if line.startswith("otelcol_exporter_sent_log_records"))
        return Health(True, f"{sent:.0f} lines shipped")


# filelog operators: the component from the file's name; a JSON line (the services') parsed into
# fields, its `ts` as the time and its message as the body; a plain line (the infrastructure's)
# kept as it is, timed when the shipper read it
OPERATORS: list[dict] = [
    {"type": "regex_parser", "parse_from": 'attributes["log.file.name"]', "regex": r"^(?P<component>.+)\.log$"},
    {"type": "json_parser", "if": r'body matches "^\\{"', "parse_from": "body", "parse_to": "attributes",
     "on_error": "send_quiet",
     "timestamp": {"parse_from": "attributes.ts", "layout_type": "gotime", "layout": "2006-01-02T15:04:05.000-07:00"}},
    {"type": "move", "if": "attributes.message != nil", "from": "attributes.message", "to": "body"},
    {"type": "remove", "if": 'attributes["log.file.name"] != nil', "field": 'attributes["log.file.name"]'},
]
