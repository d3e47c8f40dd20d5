"""A ticket-booking service as a container built from services/<svc>/Dockerfile (`make images` tags
it `sandbox-local/<svc>:dev`; setting `docker.images.<svc>` overrides). It gets the endpoints as
seen from inside the sandbox network (`kafka:9092`, `postgres:5432`, `http://aws:4566`, other
services by name) plus the Terraform outputs, listens on its native port, and the host reaches it
at 127.0.0.1:<same port>. The schema step (`migrate`) runs first in a one-off container. Health:
its `/ready` endpoint, as for the native services."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module

from sandbox.components.base import Component, Health
from sandbox.components.docker.base import ContainerComponent, ContainerSpec, _remove, client, docker_settings
from sandbox.errors import SandboxError


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    port_name: str  # key of Settings.ports
    url_env: str | None = None
    migrate: tuple[str, ...] | None = None


SERVICES = [
    ServiceSpec("event-catalog", "event_catalog", "EVENT_SERVICE_URL", ("python", "-m", "event_catalog.migrate")),
    ServiceSpec("booking-service", "booking_service", "BOOKING_SERVICE_URL", ("python", "-m", "booking_service.migrate")),
    ServiceSpec("booking-consumer", "booking_consumer", None, ("python", "-m", "booking_consumer.migrate")),
    # these two use the users table and raw-data bucket of the Terraform apply (tier 1)
    ServiceSpec("user-service", "user_service", "USER_SERVICE_URL"),
    ServiceSpec("frontend", "frontend", "FRONTEND_URL"),
]


class Service(ContainerComponent, Component):
    def __init__(self, spec: ServiceSpec, settings, state):
        super().__init__(settings, state)
        self.spec = spec
        self.name = spec.name
        self.port_name = spec.port_name
        self.image_key = spec.name

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def health(self) -> Health:
        import requests

        response = requests.get(f"{self.url}/ready", timeout=2)
        return Health(response.ok, f"/ready {response.status_code}")

    def env(self) -> dict[str, str]:
        """<NAME>_URL and the name the other services read (EVENT_SERVICE_URL), as natively."""
        names = {f"{self.name.upper().replace('-', '_')}_URL", *([self.spec.url_env] if self.spec.url_env else [])}
        return {name: self.url for name in sorted(names)}

    @property
    def image(self) -> str:
        return docker_settings(self.settings)["images"].get(self.spec.name) or f"sandbox-local/{self.spec.name}:dev"

    def _container_env(self) -> dict[str, str]:
        from sandbox.components.docker import DOCKER_INFRA

        env: dict[str, str] = {}
        try:  # Terraform outputs (table, bucket and function names), if a Terraform apply ran
            from sandbox.components.terraform import Terraform

            env.update(Terraform(self.settings, self.state).env())
        except Exception:
            pass
        for target in DOCKER_INFRA.values():
            module, _, cls = target.partition(":")
            env.update(getattr(import_module(module), cls)(self.settings, self.state).network_env())
        for spec in SERVICES:
            if spec.url_env:
                env[spec.url_env] = f"http://{spec.name}:{getattr(self.settings.ports, spec.port_name)}"
        return {**env, "PORT": str(self.port), "HOST": "0.0.0.0"}

    def prepare(self) -> None:
        """Run the idempotent schema step in a one-off container on the sandbox network."""
        if not self.spec.migrate:
            return
        network = self.ensure_network()
        container = client().containers.create(self.image, list(self.spec.migrate), environment=self._container_env(),
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
        return [ContainerSpec(self.spec.name, self.image, env=self._container_env(), ports={self.port: self.port})]

    def network_env(self) -> dict[str, str]:
        return {self.spec.url_env: f"http://{self.spec.name}:{self.port}"} if self.spec.url_env else {}


def service(name: str):
    """A factory (settings, state) -> Service for the service called `name`."""
    from functools import partial

    spec = next(s for s in SERVICES if s.name == name)
    return partial(Service, spec)
