"""Settings: one source for ports and credentials, `sandbox.toml` overridden by SANDBOX_* env vars."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource

from sandbox.errors import SandboxError
from sandbox.paths import PROJECT_ROOT, USER_CACHE

SETTINGS_FILE_ENV = "SANDBOX_SETTINGS_FILE"


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt key is an error, not silently ignored


class PortSection(Section):
    """Every field a port number a user process may bind."""

    @field_validator("*")
    @classmethod
    def _valid_port(cls, value: int) -> int:
        if not 1024 <= value <= 65535:
            raise ValueError("must be between 1024 and 65535")
        return value


class Ports(PortSection):
    """The infrastructure's ports. A service listens on its Deployment's `http` containerPort
    (gitops/, the one list of workloads); `ports.<service>` (e.g. `ports.frontend`,
    SANDBOX_PORTS__FRONTEND) moves one, and a key that names no service is refused at `up`."""

    model_config = ConfigDict(extra="allow")
    aws: int = 4566
    kafka: int = 19092
    kafka_controller: int = 19093
    postgres: int = 15432
    gcs: int = 9023
    flink_rest: int = 8081
    flink_rpc: int = 16123
    replica_base: int = 18000  # private ports of service replicas, 20 per service

    @model_validator(mode="after")
    def _valid_service_ports(self) -> Ports:
        """`ports.<service>` keys (from toml or env, where they arrive as text) as checked ints."""
        for name, value in (self.model_extra or {}).items():
            try:
                port = int(value)
            except (TypeError, ValueError):
                raise ValueError(f"ports.{name} must be a port number, got {value!r}") from None
            if not 1024 <= port <= 65535:
                raise ValueError(f"ports.{name} must be between 1024 and 65535")
            setattr(self, name, port)
        return self

    def services(self) -> dict[str, int]:
        """The `ports.<service>` overrides that are set."""
        return {name: int(value) for name, value in (self.model_extra or {}).items()}


class PostgresSettings(Section):
    database: str = "tickets"
    user: str = "tickets"
    password: str = "tickets"
    os_user: str = "sandbox-pg"
    bin_dir: str | None = None


class KafkaSettings(Section):
    heap: str = "512m"
    partitions: int = Field(3, ge=1, le=64)
    topics: list[str] = ["ticket-bookings", "analytics-results", "booking-status", "ticket-bookings-dlq",
                         "analytics-clock"]


class FlinkSettings(Section):
    jobmanager_memory: str = "768m"
    taskmanager_memory: str = "1024m"
    task_slots: int = Field(2, ge=1, le=16)


class TerraformSettings(Section):
    binary: str | None = None  # default: OpenTofu built by make tools (.cache/bin/tofu), else tofu on PATH
    plugin_mirror: str = "/opt/tf-plugins"


class DockerSettings(Section):
    # image references per component/service; defaults are the official images (see docker/README.md)
    images: dict[str, str] = {}
    # "auto": the configured image if present locally, else the `make images` stand-in
    local_images: Literal["auto", "always", "never"] = "auto"


class HpaSettings(Section):
    period_seconds: float = Field(5, gt=0)
    stabilization_seconds: float = Field(30, ge=0)


class AnalyticsSettings(Section):
    window_seconds: int = Field(10, ge=1, le=3600)


class GcsSettings(Section):
    project: str = "ticketing-sandbox"
    default_bucket: str = "ticketing-sandbox-dataproc"


class ClusterPorts(PortSection):
    """Host ports of cluster mode, all on 127.0.0.1 (the cluster's own addresses exist only inside
    its network namespace; these are forwarded to them)."""

    apiserver: int = 16443
    argocd: int = 18443
    kafka_pods: int = 19094  # the broker's listener for pods, advertised as node_address:19094


class ClusterSettings(Section):
    """`sandbox up --cluster`: a one-node Kubernetes built from source (make cluster-tools; its
    versions are pinned by the wrapper modules in tools/cluster/, where a bump goes with its go.sum).
    Addresses below exist only inside the cluster's network namespace, so every instance uses the
    same ones; pods reach the infrastructure at node_address on its default ports."""

    node_address: str = "10.200.0.1"
    pod_cidr: str = "10.244.0.0/24"
    service_cidr: str = "10.96.0.0/16"
    dns_address: str = "10.96.0.10"
    max_pods: int = Field(60, ge=10, le=250)
    ports: ClusterPorts = ClusterPorts()


class ObservabilityPorts(PortSection):
    """Loopback ports of the metrics, dashboards and logs components and of what they scrape."""

    prometheus: int = 9090
    dashboards: int = 3000  # Perses
    logs: int = 9428  # VictoriaLogs
    log_shipper: int = 8889  # the OpenTelemetry Collector's own metrics
    postgres_exporter: int = 9187
    kafka_jmx: int = 9404  # the JMX exporter agent inside the broker's JVM
    pushgateway: int = 9091  # where Flink's JVMs push their metrics
    gateway: int = 8405  # HAProxy's built-in Prometheus exporter
    hpa: int = 9099  # the monitor's HPA decisions and replica counts (kube-state-metrics names)


class ObservabilitySettings(Section):
    """Prometheus (metrics), Perses (dashboards) and VictoriaLogs (logs, shipped by an
    OpenTelemetry Collector), built by make observability-tools; `enabled = false` leaves them all out (as
    `--only` can) for a lighter start."""

    enabled: bool = True
    scrape_interval_seconds: int = Field(15, ge=1, le=300)
    retention: str = "7d"
    ports: ObservabilityPorts = ObservabilityPorts()


class SnapshotSettings(Section):
    """`first_up`: take the `first-up` snapshot (what `sandbox reset` loads) after the first healthy
    full `up` of a new or wiped sandbox; it costs a stop and a start then."""

    first_up: bool = True


class Settings(BaseSettings):
    """Everything configurable about the sandbox. Paths default to folders of this project."""

    model_config = SettingsConfigDict(env_prefix="SANDBOX_", env_nested_delimiter="__", extra="forbid")

    runtime: Literal["native", "docker", "cluster"] = "native"
    region: str = "us-east-1"
    start_timeout: float = Field(90, gt=0)
    state_dir: Path = PROJECT_ROOT / ".sandbox"
    cache_dir: Path = PROJECT_ROOT / ".cache"
    user_cache_dir: Path = USER_CACHE  # shared by every clone of this user: builds keyed by version
    init_dir: Path = PROJECT_ROOT / "sandbox" / "init"  # its ready.d/ holds the init hooks
    ports: Ports = Ports()
    postgres: PostgresSettings = PostgresSettings()
    kafka: KafkaSettings = KafkaSettings()
    flink: FlinkSettings = FlinkSettings()
    gcs: GcsSettings = GcsSettings()
    analytics: AnalyticsSettings = AnalyticsSettings()
    terraform: TerraformSettings = TerraformSettings()
    hpa: HpaSettings = HpaSettings()
    docker: DockerSettings = DockerSettings()
    cluster: ClusterSettings = ClusterSettings()
    observability: ObservabilitySettings = ObservabilitySettings()
    snapshots: SnapshotSettings = SnapshotSettings()

    @classmethod
    def settings_customise_sources(
        cls, settings_cls, init_settings, env_settings, dotenv_settings, file_secret_settings
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = Path(os.environ.get(SETTINGS_FILE_ENV, PROJECT_ROOT / "sandbox.toml"))
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_file=toml_file))

    @model_validator(mode="after")
    def _service_ports_name_services(self) -> Settings:
        """A `ports.<key>` that is neither an infrastructure port nor a Deployment is a typo."""
        overrides = self.ports.services()
        if overrides:
            from sandbox.manifests import workloads

            services = {w.name.replace("-", "_") for w in workloads(self.cache_dir / "gitops")}
            unknown = sorted(set(overrides) - services)
            if unknown:
                raise SandboxError(f"bad setting ports.{unknown[0]}: not a port setting and no Deployment of gitops/",
                                   f"fix or remove it in sandbox.toml / SANDBOX_PORTS__{unknown[0].upper()}; "
                                   f"services: {', '.join(sorted(services))}")
        return self

    def port_setting(self, port_name: str) -> str:
        """How a user changes a port: the toml key and the env var."""
        for section in ("cluster", "observability"):
            if port_name.startswith(f"{section}.ports."):
                key = port_name.rsplit(".", 1)[1]
                return (f"{key} under [{section}.ports] in sandbox.toml or "
                        f"SANDBOX_{section.upper()}__PORTS__{key.upper()}")
        if port_name.startswith("replica_"):
            port_name = "replica_base"
        if port_name not in Ports.model_fields:  # a service: its containerPort, or the override
            return (f"ports.{port_name} in sandbox.toml or SANDBOX_PORTS__{port_name.upper()} (default: the "
                    f"http containerPort of gitops/base/{port_name.replace('_', '-')}/deployment.yaml)")
        return f"ports.{port_name} in sandbox.toml or SANDBOX_PORTS__{port_name.upper()}"


def load_settings(**overrides) -> Settings:
    """Load and validate settings; a bad value becomes one line naming the key."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(part) for part in first["loc"])
        raise SandboxError(
            f"bad setting {key}: {first['msg']}",
            f"correct {key} in sandbox.toml or SANDBOX_{key.upper().replace('.', '__')}",
        ) from None


@lru_cache(maxsize=1)
def settings() -> Settings:
    return load_settings()
