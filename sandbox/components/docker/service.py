"""A ticket-booking service as a container built from services/<svc>/Dockerfile (`make images` tags
it `sandbox-local/<svc>:dev`; setting `docker.images.<svc>` overrides). It gets the endpoints as
seen from inside the sandbox network (`kafka:9092`, `postgres:5432`, `http://aws:4566`, other
services by name) plus the Terraform outputs, listens on its native port, and the host reaches it
at 127.0.0.1:<same port>. Which services exist, their migrations and the env names they are
reached by come from the GitOps overlay, as natively; the migrations (the Deployment's
initContainers) run first, each in a one-off container. Health: its `/ready` endpoint."""

from __future__ import annotations

from importlib import import_module

from sandbox.components.base import Component
from sandbox.components.docker.base import ContainerComponent, ContainerSpec, _remove, client, docker_settings
from sandbox.errors import SandboxError
from sandbox.health import Health
from sandbox.manifests import Workload, service_port, url_names


class Service(ContainerComponent, Component):
    def __init__(self, workload: Workload, settings, state):
        super().__init__(settings, state)
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

    def health(self) -> Health:
        import requests

        response = requests.get(f"{self.url}/ready", timeout=2)
        return Health(response.ok, f"/ready {response.status_code}")

    def env(self) -> dict[str, str]:
        """<NAME>_URL and the names the other services read (EVENT_SERVICE_URL), as natively."""
        return {name: self.url for name in url_names(self.workload)}

    @property
    def image(self) -> str:
        return docker_settings(self.settings)["images"].get(self.name) or f"sandbox-local/{self.name}:dev"

    def _container_env(self) -> dict[str, str]:
        from sandbox.components import DOCKER_INFRA, overlay_workloads

        env: dict[str, str] = {}
        try:  # Terraform outputs (table, bucket and function names), if a Terraform apply ran
            from sandbox.components.terraform import Terraform

            env.update(Terraform(self.settings, self.state).env())
        except Exception:
            pass
        for target in DOCKER_INFRA.values():
            module, _, cls = target.partition(":")
            env.update(getattr(import_module(module), cls)(self.settings, self.state).network_env())
        for workload in overlay_workloads():
            port = service_port(workload, self.settings.ports)
            env.update({name: f"http://{workload.name}:{port}" for name in url_names(workload)})
        return {**env, "PORT": str(self.port), "HOST": "0.0.0.0"}

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


def service(name: str):
    """A factory (settings, state) -> Service for the Deployment called `name` in the overlay."""
    from functools import partial

    from sandbox.components import overlay_workloads

    return partial(Service, next(w for w in overlay_workloads() if w.name == name))
