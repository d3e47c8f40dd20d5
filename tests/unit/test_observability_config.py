"""What the observability components are configured from: every port distinct across the
instances that run side by side, and Prometheus's targets taken from the components themselves."""

import json
from pathlib import Path

import pytest

from sandbox.components.observability.prometheus import Prometheus
from sandbox.instances import shifted_env
from sandbox.observability import scrape
from sandbox.settings import ClusterPorts, ObservabilityPorts, Ports, load_settings
from sandbox.state import StateDir

SHIFTS = (0, 400, 600, 700, 800, 900)  # the default instance, docker, cluster, unit tests, dev, trace


def test_no_two_default_ports_collide_across_side_by_side_instances():
    seen: dict[int, str] = {}
    for shift in SHIFTS:
        for section in (Ports, ClusterPorts, ObservabilityPorts):
            for name, field in section.model_fields.items():
                if name == "replica_base":
                    continue
                port = field.default + shift
                assert port not in seen, f"{section.__name__}.{name}+{shift} = {port} is also {seen[port]}"
                seen[port] = f"{section.__name__}.{name}+{shift}"


@pytest.fixture
def instance(tmp_path, monkeypatch):
    for key, value in shifted_env(700, replica_base=18700).items():
        monkeypatch.setenv(key, value)
    settings = load_settings(state_dir=tmp_path / "state")
    state = StateDir(settings.state_dir)
    state.ensure()
    return settings, state


def _groups(settings, state):
    return scrape.target_groups(scrape.registered_components(settings, state), settings.observability.ports.hpa)


def test_every_replica_of_every_service_is_a_target_with_its_pod_name(instance):
    settings, state = instance
    sandbox_targets = _groups(settings, state)["sandbox"]
    assert all(g["labels"]["namespace"] == "ticketing" for g in sandbox_targets)
    replicas = [g for g in sandbox_targets if "deployment" in g["labels"]]
    by_deployment: dict[str, list[str]] = {}
    for group in replicas:
        by_deployment.setdefault(group["labels"]["deployment"], []).append(group["labels"]["pod"])
    assert set(by_deployment) >= {"booking-service", "booking-consumer", "frontend", "event-catalog", "user-service"}
    assert sorted(by_deployment["booking-service"]) == ["booking-service-0", "booking-service-1"]
    ports = [g["targets"][0] for g in sandbox_targets]
    assert len(ports) == len(set(ports)), "two targets on one address"


def test_the_infrastructure_is_scraped_through_its_agents_and_exporters(instance):
    settings, state = instance
    groups = _groups(settings, state)
    jobs = {g["labels"]["job"]: g for g in groups["sandbox"]}
    obs = settings.observability.ports
    assert jobs["kafka"]["targets"] == [f"127.0.0.1:{obs.kafka_jmx}"]
    assert jobs["aws"]["labels"]["__metrics_path__"] == "/_sandbox/metrics"
    assert jobs["gateway"]["targets"] == [f"127.0.0.1:{obs.gateway}"]
    assert {"postgres-exporter", "prometheus", "victoria-logs", "log-shipper", "hpa"} <= set(jobs)
    assert [g["labels"]["job"] for g in groups["pushed"]] == ["pushgateway"]


def test_prometheus_config_reads_one_file_per_job(instance):
    settings, state = instance
    prometheus = Prometheus(settings, state)
    prometheus.prepare()
    config = json.loads((prometheus.conf_dir / "prometheus.yml").read_text())
    jobs = {c["job_name"]: c for c in config["scrape_configs"]}
    assert jobs["pushed"]["honor_labels"] and not jobs["sandbox"]["honor_labels"]
    for job in jobs.values():
        (path,) = job["file_sd_configs"][0]["files"]
        assert json.loads(Path(path).read_text()), f"{path} is empty"


def test_perses_is_configured_from_the_gitops_templates(instance, tmp_path, monkeypatch):
    """Every placeholder of gitops/monitoring/perses/ filled in: this instance's folders, the
    dashboards folder itself (no copy) and this instance's Prometheus as the project's datasource."""
    import yaml

    from sandbox.components.observability.dashboards import DASHBOARDS, Perses

    settings, state = instance
    settings = settings.model_copy(update={"user_cache_dir": tmp_path / "cache"})
    from sandbox.observability.tools import OBSERVABILITY_TOOLS

    plugins = OBSERVABILITY_TOOLS.paths(settings.user_cache_dir)["plugins"]
    plugins.mkdir(parents=True)
    (plugins.parent / "perses").write_text("")
    perses = Perses(settings, state)
    perses.prepare()
    config = yaml.safe_load((perses.conf_dir / "config.yaml").read_text())
    assert config["provisioning"]["folders"] == [str(perses.provisioning_dir), str(DASHBOARDS)]
    assert config["plugin"] == {"path": str(plugins), "archive_path": str(plugins.parent / "plugins-archive"),
                                "enable_dev": False}
    assert config["database"]["file"]["folder"] == str(perses.data_dir)
    project, datasource = yaml.safe_load((perses.provisioning_dir / "ticketing.yaml").read_text())
    assert project["kind"] == "Project" and project["metadata"]["name"] == "ticketing"
    url = datasource["spec"]["plugin"]["spec"]["proxy"]["spec"]["url"]
    assert url == f"http://127.0.0.1:{settings.observability.ports.prometheus}"
    assert perses.env() == {"DASHBOARDS_URL": f"http://127.0.0.1:{settings.observability.ports.dashboards}"}
