"""The docker runtime's engine: a component whose processes are containers.

A `ContainerComponent` is mixed in front of the native component class, so health checks, one-time
set-up (`after_start`) and endpoint env are the native ones, run through the same real clients
against the container's published port (`class Kafka(ContainerComponent, native.Kafka)`).

What the docker runtime (sandbox/runtimes/docker.py) calls: `preflight()`, `start()`, `running()`,
`wait_healthy()`, `stop()`, `container_state()`, `container_ids()`, `rss()`, `logs_text(lines)`;
module-level `cleanup(owner)` removes everything a state dir owns.

- Containers live on the user-defined network `sandbox-<hash of the state dir>`; each has the
  network alias of its role (`kafka`, `postgres`, `flink-jobmanager` ...) so the service containers
  reach it by name (`network_env()`), while the host reaches it on 127.0.0.1 at the native ports.
- Labels `sandbox.owner=<resolved state dir>`, `sandbox.component=<name>`, `sandbox.role=<role>`
  are the record: there is no state file, so a killed CLI leaves nothing unknown behind.
- Containers outlive the CLI; `stop()`/`cleanup()` remove them (with anonymous volumes).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path

from sandbox.components.base import Component
from sandbox.endpoints import Endpoints
from sandbox.errors import SandboxError
from sandbox.health import Health
from sandbox.poll import ProcessExited, wait_for

OWNER_LABEL = "sandbox.owner"
COMPONENT_LABEL = "sandbox.component"
ROLE_LABEL = "sandbox.role"
STAND_IN_PREFIX = "sandbox-local/"

# official images (defaults of the `docker.images` settings) -> local stand-ins from `make images`
IMAGES: dict[str, tuple[str, str]] = {
    "aws": ("localstack/localstack:4.14.0", "sandbox-local/aws-emulator:moto-5.2.5"),
    "kafka": ("redpandadata/redpanda:v24.2.18", "sandbox-local/redpanda:kafka-3.9.1"),
    "postgres": ("postgres:15.13", "sandbox-local/postgres:15"),
    "flink": ("flink:1.19.3-scala_2.12-java17", "sandbox-local/flink:1.19.3"),
    "gcs": ("fsouza/fake-gcs-server:1.52.2", "sandbox-local/fake-gcs-server:gcp-storage-emulator"),
}


@dataclass
class ContainerSpec:
    """One container of a component."""

    role: str  # also its network alias
    image: str
    command: list[str] | None = None
    env: dict[str, str] = field(default_factory=dict)
    ports: dict[int, int] = field(default_factory=dict)  # container port -> host port (127.0.0.1)
    mem_limit: str | None = None
    volumes: dict[str, dict] = field(default_factory=dict)  # docker SDK form: host path -> {bind, mode}


# ------------------------------------------------------------------ settings and engine
def docker_settings(settings) -> dict:
    """`[docker]` settings: images.<component> (image reference), local_images ("auto" | "always" | "never")."""
    return settings.docker.model_dump()


def network_name(owner: str) -> str:
    return "sandbox-" + hashlib.sha256(owner.encode()).hexdigest()[:12]


def owner_of(state) -> str:
    return str(Path(state.root).resolve())


_client = None
_network_lock = threading.Lock()


def client():
    """A docker SDK client; SandboxError with the fix when there is no engine or it is down."""
    global _client
    if _client is not None:
        return _client
    import docker
    from docker.errors import DockerException

    try:
        candidate = docker.from_env(timeout=30)
        candidate.ping()
    except DockerException as exc:
        raise engine_error(exc) from None
    _client = candidate
    return _client


def engine_error(exc: Exception | None = None) -> SandboxError:
    installed = (shutil.which("dockerd") or shutil.which("docker") or os.environ.get("DOCKER_HOST")
                 or Path("/var/run/docker.sock").exists())
    if not installed:
        return SandboxError("Docker is not installed (the docker runtime needs an engine)",
                            "apt-get install -y docker.io, or use the native runtime: SANDBOX_RUNTIME=native")
    return SandboxError("the Docker engine is not running" + (f" ({type(exc).__name__})" if exc else ""),
                        "start it: dockerd & / systemctl start docker")


def image_present(image: str) -> bool:
    from docker.errors import ImageNotFound

    try:
        client().images.get(image)
        return True
    except ImageNotFound:
        return False


def resolve_image(key: str, settings, present=image_present) -> str:
    """The configured image (official by default); its local stand-in when the configured one is
    absent and `docker.local_images` is "auto", or always when it is "always"."""
    conf = docker_settings(settings)
    official, stand_in = IMAGES.get(key, (f"{STAND_IN_PREFIX}{key}:dev", f"{STAND_IN_PREFIX}{key}:dev"))
    configured = conf["images"].get(key) or official
    mode = conf["local_images"]
    if mode == "always" or (mode == "auto" and not present(configured) and present(stand_in)):
        return stand_in
    return configured


# ------------------------------------------------------------------ the component base
class ContainerComponent(Component):
    """Placed before a native component class (`class Kafka(ContainerComponent, native.Kafka)`):
    containers instead of processes, the native class's probe, set-up and env."""

    image_key: str = ""

    def __init__(self, settings, state, endpoints: Endpoints | None = None):
        # built on its own (tests, the bench) it still gets the docker components' endpoints
        super().__init__(settings, state, endpoints or Endpoints(settings, state, runtime="docker"))

    # -- to implement per component
    def container_specs(self) -> list[ContainerSpec]:
        raise NotImplementedError

    # -- the contract
    @property
    def owner(self) -> str:
        return owner_of(self.state)

    @property
    def network(self) -> str:
        return network_name(self.owner)

    @property
    def image(self) -> str:
        return resolve_image(self.image_key or self.name, self.settings)

    def labels(self, role: str) -> dict[str, str]:
        return {OWNER_LABEL: self.owner, COMPONENT_LABEL: self.name, ROLE_LABEL: role}

    def _containers(self, all_states: bool = True) -> list:
        return client().containers.list(all=all_states, filters={"label": [
            f"{OWNER_LABEL}={self.owner}", f"{COMPONENT_LABEL}={self.name}"]})

    def preflight(self) -> None:
        """Engine reachable, image present, ports free (unless held by this component's containers)."""
        from sandbox.process import port_in_use

        client()
        image = self.image
        if not image_present(image):
            raise SandboxError(f"image {image} for {self.name} is not present in the Docker engine",
                               "make images (builds local stand-ins), or docker pull " + image)
        if self._containers():
            return  # its own containers may hold the ports; start() restarts or replaces them
        for port_name, port in self.ports.items():
            if port_in_use(port):
                raise SandboxError(f"port {port} for {self.name} is already in use",
                                   f"stop what listens there or change {self.settings.port_setting(port_name)}")

    def running(self) -> bool:
        wanted = {s.role for s in self.container_specs()}
        live = {c.labels.get(ROLE_LABEL) for c in self._containers(all_states=False)}
        return bool(wanted) and wanted <= live

    def ensure_network(self):
        """The owner's network; one per name even when components start in parallel threads (the
        engine accepts duplicate network names, which then make `start` ambiguous)."""
        with _network_lock:
            found = [n for n in client().networks.list(names=[self.network]) if n.name == self.network]
            if found:
                return found[0]
            return client().networks.create(self.network, driver="bridge", check_duplicate=True,
                                            labels={OWNER_LABEL: self.owner})

    def on_create(self) -> None:
        """Hook: a fresh container set is about to start (reset markers of the old one)."""

    def start(self) -> list[str]:
        """Create and start the missing containers; reuse running ones. Returns the new ids.

        If anything fails, the containers this call created are removed before the error is raised.
        """
        import docker.errors

        if self.running():
            return []
        if self._restart_exited():
            return []
        self.stop()  # a partial set: start clean
        self.on_create()
        network = self.ensure_network()
        created = []
        try:
            for spec in self.container_specs():
                container = client().containers.create(
                    spec.image, spec.command, name=self.container_name(spec.role),
                    environment=spec.env, labels=self.labels(spec.role), network=network.name,
                    ports={f"{cport}/tcp": ("127.0.0.1", hport) for cport, hport in spec.ports.items()},
                    mem_limit=spec.mem_limit, hostname=spec.role, volumes=spec.volumes or None,
                )
                created.append(container)
                # the role is the DNS name other containers on the network use
                network.disconnect(container)
                network.connect(container, aliases=[spec.role])
                container.start()
        except docker.errors.DockerException as exc:
            for container in created:
                _remove(container)
            raise SandboxError(f"{self.name}: could not start its container: {str(exc)[:300]}",
                               f"see `docker logs` / `sandbox logs {self.name}`") from None
        return [c.id for c in created]

    def _restart_exited(self) -> bool:
        """When every container exists and some exited (killed, OOM, engine restart), start them
        again: their writable layer is the component's data, as a data dir is natively."""
        import docker.errors

        existing = {c.labels.get(ROLE_LABEL): c for c in self._containers()}
        if set(existing) != {s.role for s in self.container_specs()}:
            return False
        try:
            for container in existing.values():
                if container.status != "running":
                    container.start()
        except docker.errors.DockerException:
            return False
        return True

    def container_state(self) -> str:
        """"running", "degraded" (some containers not running), "stopped" or "not started"."""
        found = self._containers()
        if not found:
            return "not started"
        if self.running():
            return "running"
        return "degraded" if any(c.status == "running" for c in found) else "stopped"

    def container_name(self, role: str) -> str:
        return f"{self.network}-{role}"

    def wait_healthy(self, timeout: float | None = None) -> Health:
        """start() + health through the real client + after_start(); on failure remove the containers
        and raise with the last log lines (what the orchestrator does, for tests and the bench)."""
        timeout = timeout or self.settings.start_timeout

        def check():
            exited = [c.labels.get(ROLE_LABEL) for c in self._containers() if c.status in ("exited", "dead")]
            if exited:

                raise ProcessExited(f"container {', '.join(exited)} exited")
            return Health(True, "containers started") if self.health_after_setup else self.probe()()

        health = wait_for(check, timeout=timeout, interval=0.3, not_yet=self.probe().not_yet)
        if health.ok:
            try:
                self.after_start()
            except Exception:
                self.stop()  # nothing half-started: a failed set-up (job submission...) removes them
                raise
            if self.health_after_setup:
                health = wait_for(self.probe(), timeout=timeout, not_yet=self.probe().not_yet)
        if not health.ok:
            logs = self.logs_text(20)
            self.stop()
            raise SandboxError(f"{self.name} did not become healthy in {timeout:.0f}s: {health.detail}\n"
                               f"--- last lines of its container logs ---\n{logs}",
                               f"see `sandbox logs {self.name}`")
        return health

    def stop(self) -> bool:
        """Remove this component's containers and their anonymous volumes. True if any existed."""
        found = self._containers()
        for container in found:
            _remove(container)
        return bool(found)

    def container_ids(self) -> list[str]:
        return [c.id for c in self._containers()]

    def rss(self) -> int:
        """Resident memory of the containers' processes, in bytes, measured like the native runtime
        (sum of the RSS of each container's process tree, seen from the host); falls back to
        `rss_cgroup()` when the processes are not visible (a remote or VM-hosted engine)."""
        import psutil

        total = 0
        for container in self._containers(all_states=False):
            try:
                root = psutil.Process(container.attrs["State"]["Pid"])
                total += sum(p.memory_info().rss for p in [root, *root.children(recursive=True)])
            except (psutil.Error, KeyError, TypeError):
                return self.rss_cgroup()
        return total

    def rss_cgroup(self) -> int:
        """What `docker stats` shows: cgroup memory usage minus inactive page cache, in bytes."""
        total = 0
        for container in self._containers(all_states=False):
            try:
                stats = container.stats(stream=False, one_shot=True)
            except Exception:
                continue
            memory = stats.get("memory_stats") or {}
            extra = memory.get("stats") or {}
            cache = extra.get("total_inactive_file", extra.get("inactive_file", extra.get("cache", 0)))
            total += max(0, memory.get("usage", 0) - cache)
        return total

    def logs_text(self, lines: int = 50) -> str:
        parts = []
        for container in sorted(self._containers(), key=lambda c: c.labels.get(ROLE_LABEL, "")):
            text = container.logs(tail=lines, timestamps=False).decode(errors="replace").rstrip()
            parts.append(f"--- {self.name}/{container.labels.get(ROLE_LABEL)} ({container.short_id}) ---\n{text}")
        return "\n".join(parts) or "(no container)"

    def log_files(self):
        return []  # logs live in the engine: logs_text()


def _remove(container) -> None:
    from docker.errors import NotFound

    try:
        container.remove(force=True, v=True)
    except NotFound:
        pass


def cleanup(owner: str) -> dict[str, int]:
    """Remove every container, network and volume labelled with this owner (`down`, crash recovery)."""
    from docker.errors import APIError, NotFound

    engine = client()
    label = {"label": f"{OWNER_LABEL}={owner}"}
    containers = engine.containers.list(all=True, filters=label)
    for container in containers:
        _remove(container)
    networks = engine.networks.list(filters=label)
    for network in networks:
        try:
            network.remove()
        except (NotFound, APIError):
            pass
    volumes = engine.volumes.list(filters=label)
    for volume in volumes:
        try:
            volume.remove(force=True)
        except (NotFound, APIError):
            pass
    return {"containers": len(containers), "networks": len(networks), "volumes": len(volumes)}
