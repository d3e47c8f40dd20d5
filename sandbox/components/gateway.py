"""The Kubernetes Services of the sandbox overlay, emulated by one HAProxy (Debian's package).

For each Deployment, HAProxy listens on the Service port and balances requests over the
replicas' private ports. Every possible replica slot (up to the HPA's maximum) is configured and
health-checked on the readiness probe's path, so a replica receives traffic only once it is
ready and the emulated HPA scales by starting or stopping processes — no reload needed.
A replica that is scaled down first leaves the balancer through HAProxy's runtime API (like a
Pod leaving its Service's endpoints) and stops once its in-flight requests are done. What HAProxy
answers itself (no ready replica, a timeout) is JSON of the services' error shape, never its
HTML pages (`errorfile`).

Readiness is each replica's own (`svc_common.readiness`): a replica answers `/ready` 200 while
Kafka or Postgres is down and answers what needs them with 503 JSON itself, so an outage of a
downstream never empties a balancer (which would turn every route into "no ready replica").
"""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
import socket
import time
from pathlib import Path

from sandbox import observability
from sandbox.components.base import Component, Kind, MetricsTarget, ProcessSpec
from sandbox.errors import SandboxError
from sandbox.health import Health

# what HAProxy answers itself, as the services would: {"error", "field": null, "retryable"}, for
# every error status HAProxy 2.6 knows (each one `errorfile` takes). This config makes it answer
# 503 (no ready replica), 504 (`timeout server`), 502 (an invalid or no response) and 500; the
# others come from rules it has none of yet (deny, tarpit, auth, return) or from the HTTP/1 layer
# before a request is parsed: 400 unparsable, 408 not received in `timeout client`, 422/501 a
# Transfer-Encoding it refuses. HAProxy before 3.3 answers those early ones with its built-in HTML
# whatever the errorfiles say (haproxy/haproxy#3032, fixed by d252ec2 in 3.3 and marked for a 3.2
# backport): Debian 12's 2.6 does, only ever to a client that does not speak HTTP/1.1 properly.
GATEWAY_ERRORS = {
    400: ("Bad Request", "bad request: the gateway could not parse it", False),
    401: ("Unauthorized", "authentication required by the gateway", False),
    403: ("Forbidden", "forbidden by the gateway", False),
    404: ("Not Found", "not found at the gateway", False),
    405: ("Method Not Allowed", "method not allowed by the gateway", False),
    407: ("Proxy Authentication Required", "proxy authentication required by the gateway", False),
    408: ("Request Timeout", "the request was not received in time, retry", True),
    410: ("Gone", "gone", False),
    413: ("Payload Too Large", "request too large for the gateway", False),
    421: ("Misdirected Request", "misdirected request, retry on a new connection", True),
    422: ("Unprocessable Content", "the gateway could not process the request's framing (Transfer-Encoding)", False),
    425: ("Too Early", "too early, retry", True),
    429: ("Too Many Requests", "too many requests, retry later", True),
    500: ("Internal Server Error", "gateway error, retry", True),
    501: ("Not Implemented", "not implemented by the gateway", False),
    502: ("Bad Gateway", "the service answered with an invalid response, retry", True),
    503: ("Service Unavailable", "no ready replica of the service, retry", True),
    504: ("Gateway Timeout", "the service did not answer in time, retry", True),
}


def error_response(code: int, reason: str, message: str, retryable: bool) -> bytes:
    """A whole HTTP response for HAProxy's `errorfile`: status line, headers, JSON body."""
    body = json.dumps({"error": message, "field": None, "retryable": retryable}).encode()
    head = (f"HTTP/1.1 {code} {reason}\r\nContent-Type: application/json\r\nCache-Control: no-store\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n")
    return head.encode() + body


class Gateway(Component):
    name = "gateway"
    kind = Kind.APP

    def services(self):
        from sandbox import components

        runtime = self.settings.runtime
        return [components.load(n, runtime)(self.settings, self.state, self.endpoints)
                for n in components.names_of(Kind.SERVICE, runtime)]

    @property
    def ports(self) -> dict[str, int]:
        return {s.port_name: s.port for s in self.services()}

    @property
    def metrics_port(self) -> int | None:
        return self.settings.observability.ports.gateway if observability.active(self.settings) else None

    def metrics_targets(self) -> list[MetricsTarget]:
        return [MetricsTarget(f"127.0.0.1:{self.metrics_port}")] if self.metrics_port else []

    @property
    def port(self) -> int:
        return min(self.ports.values(), default=0)

    def check_prerequisites(self) -> None:
        if not shutil.which("haproxy"):
            raise SandboxError("haproxy not found (it plays the Kubernetes Services)", "apt-get install -y haproxy")

    def prepare(self) -> None:
        self.conf_dir.mkdir(parents=True, exist_ok=True)
        self.errors_dir.mkdir(exist_ok=True)
        for code, (reason, message, retryable) in GATEWAY_ERRORS.items():
            (self.errors_dir / f"{code}.http").write_bytes(error_response(code, reason, message, retryable))
        (self.conf_dir / "haproxy.cfg").write_text(self.config())

    @property
    def errors_dir(self) -> Path:
        return self.conf_dir / "errors"

    def config(self) -> str:
        lines = [
            "global",
            "    maxconn 8192",
            f"    stats socket {self.admin_socket} mode 600 level admin",
            "defaults",
            "    mode http",
            "    timeout connect 1s",
            "    timeout client 60s",
            "    timeout server 60s",
            "    timeout http-keep-alive 30s",
            "    timeout check 2s",  # the readinessProbes' timeoutSeconds
            "    retries 2",
            "    option redispatch",  # a connect failure (replica just died) is retried elsewhere
            # a ready replica is checked every 2 s (a dead one's requests are redispatched at once
            # anyway), a replica not ready yet (starting, scaled up, restarted) every second
            "    default-server inter 2s downinter 1s fall 1 rise 1",
            # HAProxy's own answers (no ready replica, timeouts) in the services' JSON error shape
            *[f"    errorfile {code} {self.errors_dir / f'{code}.http'}" for code in GATEWAY_ERRORS],
            "",
        ]
        for service in self.services():
            workload = service.workload
            lines += [
                f"frontend {service.name}",
                f"    bind 127.0.0.1:{service.port}",
                f"    default_backend {service.name}-replicas",
                f"backend {service.name}-replicas",
                "    balance roundrobin",
                "    http-reuse safe",
                f"    option httpchk GET {workload.readiness_path}",
                "    http-check expect status 200",
            ]
            lines += [f"    server replica-{i} 127.0.0.1:{service.replica_port(i)} check"
                      for i in range(workload.max_replicas)]
            lines.append("")
        if self.metrics_port:  # HAProxy's own Prometheus exporter (compiled in: haproxy -vv shows PROMEX)
            lines += ["frontend metrics", f"    bind 127.0.0.1:{self.metrics_port}",
                      "    http-request use-service prometheus-exporter if { path /metrics }", ""]
        return "\n".join(lines)

    @property
    def admin_socket(self) -> Path:
        """In the conf dir, unless that path is longer than HAProxy takes (97 bytes, of a unix
        socket's 108): then a name in /tmp derived from it, so a deep state dir still works."""
        path = self.conf_dir / "admin.sock"
        if len(str(path)) <= 97:
            return path
        return Path("/tmp") / f"sandbox-haproxy-{hashlib.sha256(str(path).encode()).hexdigest()[:16]}.sock"

    def _admin(self, command: str) -> str:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(2)
            sock.connect(str(self.admin_socket))
            sock.sendall(command.encode() + b"\n")
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks).decode()

    def drain(self, service: str, replica: int, timeout_s: float = 5.0) -> None:
        """Take a replica out of the balancer and wait until it has no request in flight."""
        backend, server = f"{service}-replicas", f"replica-{replica}"
        try:
            self._admin(f"set server {backend}/{server} state maint")
            deadline = time.monotonic() + timeout_s
            while time.monotonic() < deadline:
                rows = csv.DictReader(self._admin("show stat").lstrip("# ").splitlines())
                if all(r["scur"] in ("", "0") for r in rows if r["pxname"] == backend and r["svname"] == server):
                    return
                time.sleep(0.05)
        except OSError:
            return  # no gateway running: nothing routes to the replica anyway

    def enable(self, service: str, replica: int) -> None:
        """Let a (re)started replica back into the balancer; its health check decides when."""
        try:
            self._admin(f"set server {service}-replicas/replica-{replica} state ready")
        except OSError:
            pass

    def processes(self) -> list[ProcessSpec]:
        return [ProcessSpec("haproxy", ["haproxy", "-W", "-db", "-f", str(self.conf_dir / "haproxy.cfg")])]

    def health(self) -> Health:
        closed = []
        for name, port in self.ports.items():
            with socket.socket() as sock:
                sock.settimeout(1)
                if sock.connect_ex(("127.0.0.1", port)) != 0:
                    closed.append(name)
        if closed:
            return Health(False, f"not listening for {', '.join(closed)}")
        return Health(True, f"{len(self.ports)} services")

    def env(self) -> dict[str, str]:
        return {}
