"""The cloud side's observability (what ArgoCD deploys on EKS): the same three projects as the
sandbox, all Apache-2.0 (Grafana, Loki, Promtail and Tempo are AGPL and must not be used):
Prometheus through kube-prometheus-stack with Grafana off, Perses provisioned with the dashboards
of gitops/monitoring/dashboards, VictoriaLogs with its vlagent collector. The charts cannot be
fetched here, so these tests hold the Application objects and the ConfigMaps together: names,
namespaces, labels and URLs that have to agree."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from tests.gitops.conftest import ROOT, render

ARGOCD = ROOT / "gitops" / "argocd"
MONITORING = ROOT / "gitops" / "monitoring"
DASHBOARDS = MONITORING / "dashboards"
SANDBOX_PROVISIONING = MONITORING / "perses" / "provisioning" / "ticketing.yaml"
AGPL = re.compile(r"grafana|loki|promtail|tempo|mimir|pyroscope", re.I)


@pytest.fixture(scope="module")
def apps() -> dict[str, dict]:
    """The Applications of the aws app-of-apps (the EKS side; sandbox has the same set)."""
    return {a["metadata"]["name"]: a for a in render(ARGOCD / "overlays" / "aws") if a["kind"] == "Application"}


@pytest.fixture(scope="module")
def monitoring_objects() -> list[dict]:
    return render(MONITORING)


def values(app: dict) -> dict:
    return app["spec"]["source"].get("helm", {}).get("valuesObject", {})


def test_platform_charts_are_the_licence_clean_ones_pinned(apps):
    charts = {name: app["spec"]["source"] for name, app in apps.items() if "chart" in app["spec"]["source"]}
    assert {name: (s["repoURL"], s["chart"]) for name, s in charts.items()} == {
        "kube-prometheus-stack": ("https://prometheus-community.github.io/helm-charts", "kube-prometheus-stack"),
        "perses": ("https://perses.github.io/helm-charts", "perses"),
        "victoria-logs": ("https://victoriametrics.github.io/helm-charts/", "victoria-logs-single"),
        "victoria-logs-collector": ("https://victoriametrics.github.io/helm-charts/", "victoria-logs-collector"),
    }
    for name, source in charts.items():
        assert re.fullmatch(r"\d+\.\d+\.\d+", source["targetRevision"]), f"{name}: pin an exact chart version"
        assert source["helm"]["releaseName"] == name


def test_no_agpl_component_anywhere(apps):
    """No Application names or configures Grafana, Loki, Promtail, Tempo: the one mention allowed
    is kube-prometheus-stack's switch that turns its Grafana subchart off."""
    kps = json.loads(json.dumps(apps["kube-prometheus-stack"]))
    grafana = values(kps).pop("grafana")
    assert grafana == {"enabled": False, "forceDeployDashboards": False, "forceDeployDatasources": False}
    rest = json.dumps([a for n, a in apps.items() if n != "kube-prometheus-stack"] + [kps])
    assert not AGPL.search(rest), AGPL.search(rest).group(0)


def _prometheus_url(kps: dict) -> str:
    """The Service kube-prometheus-stack creates for Prometheus: `<fullname>-prometheus`, fullname =
    the release name when it contains the chart's name (else release-chart), cut at 26 characters."""
    source, release = kps["spec"]["source"], kps["spec"]["source"]["helm"]["releaseName"]
    fullname = (release if source["chart"] in release else f"{release}-{source['chart']}")[:26].rstrip("-")
    port = values(kps).get("prometheus", {}).get("service", {}).get("port", 9090)
    return f"http://{fullname}-prometheus.{kps['spec']['destination']['namespace']}.svc:{port}"


def entities(text: str) -> list[dict]:
    """The Perses objects of one provisioning file: one object, or a list of them."""
    data = yaml.safe_load(text)
    return data if isinstance(data, list) else [data]


def _perses_configmaps(apps, monitoring_objects) -> list[dict]:
    sidecar = values(apps["perses"])["sidecar"]
    assert sidecar["enabled"] is True
    labelled = [o for o in monitoring_objects if o["kind"] == "ConfigMap"
                and o["metadata"].get("labels", {}).get(sidecar["label"]) == sidecar["labelValue"]]
    assert labelled, f"no ConfigMap labelled {sidecar['label']}={sidecar['labelValue']}"
    if not sidecar.get("allNamespaces", True):  # a Role: the sidecar sees its own namespace only
        assert {o["metadata"]["namespace"] for o in labelled} == {apps["perses"]["spec"]["destination"]["namespace"]}
    return labelled


def test_dashboards_application_ships_every_perses_dashboard(apps, monitoring_objects):
    dashboards = sorted(DASHBOARDS.glob("*.yaml"))
    assert dashboards, "no Perses dashboard in gitops/monitoring/dashboards"
    app = apps["ticketing-dashboards"]
    assert app["spec"]["source"]["path"] == "gitops/monitoring"
    assert app["spec"]["destination"]["namespace"] == apps["perses"]["spec"]["destination"]["namespace"]
    shipped = {key: text for cm in _perses_configmaps(apps, monitoring_objects) for key, text in cm["data"].items()}
    for path in dashboards:
        assert shipped.get(path.name) == path.read_text(), f"{path.name}: list it in gitops/monitoring/kustomization.yaml"
        dashboard = yaml.safe_load(path.read_text())
        assert (dashboard["kind"], dashboard["metadata"]["project"]) == ("Dashboard", "ticketing"), path.name
    assert not [k for k in shipped if k.endswith(".json")], "Grafana JSON is not a Perses resource"
    assert not [o for o in monitoring_objects if "grafana_dashboard" in o["metadata"].get("labels", {})]


def test_perses_reads_the_project_first_and_opens_existing_dashboards(apps, monitoring_objects):
    """Perses provisions the files of its folder in name order, and a Dashboard needs its Project:
    the key holding the Project sorts before every other key the sidecar writes."""
    keys = sorted(k for cm in _perses_configmaps(apps, monitoring_objects) for k in cm["data"])
    first = next(entities(cm["data"][keys[0]]) for cm in _perses_configmaps(apps, monitoring_objects)
                 if keys[0] in cm["data"])
    assert first[0]["kind"] == "Project" and first[0]["metadata"]["name"] == "ticketing", keys
    names = {yaml.safe_load(p.read_text())["metadata"]["name"] for p in DASHBOARDS.glob("*.yaml")}
    config = values(apps["perses"])["config"]
    for ref in config["frontend"]["important_dashboards"]:
        assert ref["project"] == "ticketing" and ref["dashboard"] in names, ref
    assert config["provisioning"]["folders"] == ["/etc/perses/provisioning"]  # the sidecar's folder


def test_datasource_is_the_sandboxs_pointed_at_the_stacks_prometheus(apps, monitoring_objects):
    """The in-cluster Project + datasource equal the sandbox's template but for ${PROMETHEUS_URL},
    which is the Service of the kube-prometheus-stack release."""
    url = _prometheus_url(apps["kube-prometheus-stack"])
    cluster = next(entities(cm["data"][k]) for cm in _perses_configmaps(apps, monitoring_objects)
                   for k in cm["data"] if entities(cm["data"][k])[0]["kind"] == "Project")
    (datasource,) = [o for o in cluster if o["kind"] == "Datasource"]
    assert datasource["spec"]["default"] is True
    assert datasource["spec"]["plugin"]["kind"] == "PrometheusDatasource"
    assert datasource["spec"]["plugin"]["spec"]["proxy"]["spec"]["url"] == url
    assert SANDBOX_PROVISIONING.exists(), f"the sandbox's template moved: {SANDBOX_PROVISIONING}"
    template = yaml.safe_load(SANDBOX_PROVISIONING.read_text().replace("${PROMETHEUS_URL}", url))
    assert cluster == template


def test_collector_ships_every_pods_logs_to_victorialogs(apps):
    store, collector = apps["victoria-logs"], apps["victoria-logs-collector"]
    assert store["spec"]["destination"]["namespace"] == collector["spec"]["destination"]["namespace"] == "logging"
    server = values(store)["server"]
    listen = server.get("http", [{"value": ":9428"}])[0]["value"]
    service = f"http://{server['fullnameOverride']}.logging.svc:{listen.rsplit(':', 1)[1]}"
    assert [rw["url"] for rw in values(collector)["remoteWrite"]] == [service]
    assert values(store).get("vector", {}).get("enabled") is False  # vlagent collects, not Vector
    fields = values(collector)["collector"]
    assert not fields.get("excludeFilter"), "every pod's logs"
    # svc_common/logs.py writes `ts` and `message`: the first field found wins
    assert fields["timeField"][0] == "ts" and fields["msgField"][0] == "message"
    assert {"operator": "Exists"} in values(collector).get("tolerations", [])
