"""The Kubernetes Services of the sandbox overlay, emulated by one HAProxy (Debian's package).

For each Deployment, HAProxy listens on the Service port and balances requests over the
replicas' private ports. Every possible replica slot (up to the HPA's maximum) is configured and
health-checked on the readiness probe's path, so a replica receives traffic only once it is
ready and the emulated HPA scales by starting or stopping processes — no reload needed.
"""

from __future__ import annotations

import shutil
import socket

from sandbox.components.base import Component, Health, ProcessSpec
from sandbox.errors import SandboxError


class Gateway(Component):
    name = "gateway"

    def services(self):
        from sandbox import components

        return [components.load(n, self.settings.runtime)(self.settings, self.state)
                for n in components.component_names(self.settings.runtime)
                if components.tier(n, self.settings.runtime) == 3]

    @property
    def ports(self) -> dict[str, int]:
        return {s.port_name: s.port for s in self.services()}

    @property
    def port(self) -> int:
        return min(self.ports.values(), default=0)

    def check_prerequisites(self) -> None:
        if not shutil.which("haproxy"):
            raise SandboxError("haproxy not found (it plays the Kubernetes Services)", "apt-get install -y haproxy")

    def prepare(self) -> None:
        self.conf_dir.mkdir(parents=True, exist_ok=True)
        (self.conf_dir / "haproxy.cfg").write_text(self.config())

    def config(self) -> str:
        lines = [
            "global",
            "    maxconn 8192",
            "defaults",
            "    mode http",
            "    timeout connect 1s",
            "    timeout client 60s",
            "    timeout server 60s",
            "    timeout http-keep-alive 30s",
            "    retries 2",
            "    option redispatch",  # a connect failure (replica just died) is retried elsewhere
            "    default-server inter 1s fall 1 rise 1",
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
        return "\n".join(lines)

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
