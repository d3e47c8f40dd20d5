"""A ticket-booking service as a container built from services/<svc>/Dockerfile (`make images` tags
it `sandbox-local/<svc>:dev`; setting `docker.images.<svc>` overrides). It gets the endpoints as
seen from inside the sandbox network (`kafka:9092`, `postgres:5432`, `http://aws:4566`, other
services by name) plus the Terraform outputs, listens on its native port, and the host reaches it
at 127.0.0.1:<same port>. Which services exist, their migrations and the env names they are
reached by come from the GitOps overlay, as natively; the migrations (the Deployment's
initContainers) run first, each in a one-off container. Health: its `/ready` endpoint."""

from __future__ import annotations

from sandbox.components.base import Component, Kind
from sandbox.components.docker.base import ContainerComponent, ContainerSpec, _remove, client, docker_settings
from sandbox.errors import SandboxError
from sandbox.health import Health, HttpProbe
from sandbox.manifests import Workload, service_port, url_names


class Service(ContainerComponent, Component):
    kind = Kind.SERVICE

    def __init__(self, workload: Workload, slot: int, settings, state, endpoints=None):
        super().__init__(settings, state, endpoints)
        self.workload = workload
        self.name = workload.name
        self.port_name = workload.name.replace("-", "_")  # key of Settings.ports
        self.image_key = workload.name

    @property
    def port(self) -> int:
        return service_port(self.workload, self.settings.ports)

    @property
    def ports(self) -> dict[str, int]:
        return {self.port_name: self.port}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def probe(self) -> HttpProbe:
        """The Deployment's readinessProbe, through the published port."""
        return HttpProbe(f"{self.url}{self.workload.readiness_path}")

    def health(self) -> Health:
        return self.probe()()

    def env(self) -> dict[str, str]:
        """<NAME>_URL and the names the other services read (EVENT_SERVICE_URL), as natively."""
        return {name: self.url for name in url_names(self.workload)}

    @property
    def image(self) -> str:
        return docker_settings(self.settings)["images"].get(self.name) or f"sandbox-local/{self.name}:dev"

    def _container_env(self) -> dict[str, str]:
        """Every component's endpoints as seen on the sandbox network, Terraform's outputs included."""
        return {**self.endpoints.network, "PORT": str(self.port), "HOST": "0.0.0.0"}

    def prepare(self) -> None:
        """Run the Deployment's initContainers (idempotent schema steps), each in a one-off
        container on the sandbox network."""
        for command in self.workload.init_commands:
            self._run_once(list(command))

    def _run_once(self, command: list[str]) -> None:
        network = self.ensure_network()
        container = client().containers.create(self.image, command, environment=self._container_env(),
                                               labels=self.labels("migrate"), network=network.name)
        try:
            container.start()
            result = container.wait(timeout=120)
            if result.get("StatusCode") != 0:
                last = container.logs(tail=3).decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
                raise SandboxError(f"{self.name} migration failed: {last[0][:300]}", f"see `sandbox logs {self.name}`")
        finally:
            _remove(container)

    def container_specs(self) -> list[ContainerSpec]:
        return [ContainerSpec(self.name, self.image, env=self._container_env(), ports={self.port: self.port})]

    def network_env(self) -> dict[str, str]:
        return {name: f"http://{self.name}:{self.port}" for name in url_names(self.workload)}

