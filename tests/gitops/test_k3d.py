"""sandbox/k3d.py: what can be tested without Docker, k3d or a k3s image."""

import json

import pytest
import yaml

from sandbox import k3d
from tests.gitops.conftest import ROOT, render

CFG = k3d.K3dConfig(cluster="t", timeout_s=10, poll_s=1)


def test_cluster_create_binds_api_to_loopback_and_pins_k3s():
    cmd = k3d.cluster_create_cmd(CFG)
    assert cmd[:4] == ["k3d", "cluster", "create", "t"]
    assert cmd[cmd.index("--api-port") + 1] == "127.0.0.1:6550"
    assert cmd[cmd.index("--image") + 1] == k3d.K3S_IMAGE and ":latest" not in k3d.K3S_IMAGE


def test_images_from_sandbox_overlay_all_have_a_dockerfile():
    text = yaml.safe_dump_all(render(ROOT / "gitops/overlays/sandbox"))
    images = k3d.images_from_rendered(text)
    assert images == sorted(f"ticketing/{n}:0.1.0" for n in
                            ["analytics-job", "booking-consumer", "booking-service", "event-catalog",
                             "frontend", "user-service"])
    builds = k3d.image_builds(images)
    for b in builds:
        assert (ROOT / b.dockerfile).is_file(), b
    assert k3d.build_cmd(builds[1]) == ["docker", "build", "-f", "services/booking-consumer/Dockerfile",
                                        "-t", "ticketing/booking-consumer:0.1.0", "services"]


def test_unknown_image_is_an_error():
    with pytest.raises(k3d.K3dError, match="no Dockerfile"):
        k3d.image_builds(["ticketing/nope:1"])


def test_argocd_manifest_is_pinned():
    url = k3d.argocd_install_cmds(CFG)[2][-1]
    assert url.endswith(f"/{k3d.ARGOCD_VERSION}/manifests/install.yaml") and k3d.ARGOCD_VERSION.startswith("v")


def test_git_daemon_listens_on_given_address_only(tmp_path):
    cmd = k3d.git_daemon_cmd(CFG, "172.18.0.1", tmp_path)
    assert "--listen=172.18.0.1" in cmd and "--port=9418" in cmd
    assert not any("receive-pack" in c for c in cmd)  # read-only


def test_root_application_points_at_the_daemon():
    doc = yaml.safe_load(k3d.root_application(CFG, "git://h:9418/x.git"))
    assert doc["kind"] == "Application" and doc["spec"]["source"]["repoURL"] == "git://h:9418/x.git"
    assert doc["spec"]["source"]["path"] == "gitops/argocd/overlays/sandbox"
    children = render(ROOT / doc["spec"]["source"]["path"])
    ours = [a for a in children if a["spec"]["source"]["repoURL"].startswith("git://")]
    assert {a["metadata"]["name"] for a in ours} == {"ticketing", "ticketing-dashboards"}
    assert all(a["spec"]["source"]["repoURL"] == k3d.repo_url() for a in ours)


def test_unready_applications():
    apps = {"items": [
        {"metadata": {"name": "a"}, "status": {"sync": {"status": "Synced"}, "health": {"status": "Healthy"}}},
        {"metadata": {"name": "b"}, "status": {"sync": {"status": "OutOfSync"}, "health": {"status": "Progressing"}}},
        {"metadata": {"name": "c"}},
    ]}
    assert k3d.unready_applications(json.dumps(apps)) == {"b": "OutOfSync/Progressing", "c": "Unknown/Unknown"}


class Recorder:
    def __init__(self, answers):
        self.calls, self.answers = [], answers

    def __call__(self, cmd):
        self.calls.append(list(cmd))
        for prefix, answer in self.answers:
            if list(cmd[: len(prefix)]) == prefix:
                return answer() if callable(answer) else answer
        return ""


def test_up_runs_the_steps_in_order(tmp_path):
    synced = json.dumps({"items": [{"metadata": {"name": "root"},
                                    "status": {"sync": {"status": "Synced"}, "health": {"status": "Healthy"}}}]})
    rendered = yaml.safe_dump_all(render(ROOT / "gitops/overlays/sandbox"))
    rec = Recorder([(["k3d", "cluster", "list"], "[]"), (["docker", "network"], "172.18.0.1\n"),
                    (["kubectl", "--context", "k3d-t", "get"], synced)])
    rt = k3d.K3dRuntime(CFG, runner=rec, state_dir=tmp_path)
    rt.render = lambda: rendered
    rt.check_tools = lambda: None
    rt.up()
    firsts = [" ".join(c[:3]) for c in rec.calls]
    assert firsts.index("k3d cluster create") < firsts.index("docker build -f") < firsts.index("k3d image import")
    assert any(c[:2] == ["git", "daemon"] and "--listen=172.18.0.1" in c for c in rec.calls)
    assert rec.calls[-1][-3:] == ["argocd", "-o", "json"]


def test_wait_synced_times_out_with_the_unready_apps(tmp_path):
    now = [0.0]
    out = json.dumps({"items": [{"metadata": {"name": "loki"}, "status": {"sync": {"status": "Synced"},
                                                                          "health": {"status": "Degraded"}}}]})
    rt = k3d.K3dRuntime(CFG, runner=Recorder([(["kubectl"], out)]), state_dir=tmp_path,
                        clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s))
    with pytest.raises(k3d.K3dError, match="loki=Synced/Degraded"):
        rt.wait_synced()
