"""The GitOps `sandbox` overlay as the single source of how services run natively.

`kustomize build gitops/overlays/sandbox` is rendered (cached by a digest of gitops/) and each
Deployment becomes a `Workload`: its container command, env (literals + ConfigMap/Secret refs),
`http` port, replicas (or its HPA's range and CPU target), probes and initContainers
(migrations). gitops/README.md documents the mapping. Deployments annotated
`ticketing.dev/native-runtime: component` (the Flink job) are run by a sandbox component instead.
"""

from __future__ import annotations

import base64
import hashlib
import shutil
import subprocess
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from sandbox.errors import SandboxError
from sandbox.paths import PROJECT_ROOT

GITOPS = PROJECT_ROOT / "gitops"
OVERLAY = GITOPS / "overlays" / "sandbox"
NATIVE_COMPONENT = "ticketing.dev/native-runtime"


@dataclass(frozen=True)
class Workload:
    name: str
    command: tuple[str, ...]
    env: dict[str, str]
    port: int
    min_replicas: int
    max_replicas: int
    cpu_target: int | None  # HPA average utilisation target in percent; None = no HPA
    cpu_request_millis: int
    readiness_path: str = "/ready"
    init_commands: tuple[tuple[str, ...], ...] = field(default_factory=tuple)


def service_port(workload: Workload, ports) -> int:
    """The port a service is reached on: the Deployment's own `http` containerPort, unless a
    `ports.<name>` setting (SANDBOX_PORTS__<NAME>) moves it; a new service needs no settings entry."""
    return ports.services().get(workload.name.replace("-", "_")) or workload.port


def url_names(workload: Workload) -> list[str]:
    """The env names other services read this one's URL from: <NAME>_URL, plus every *_URL key of
    the overlay's config that points at it in the cluster (e.g. EVENT_SERVICE_URL=http://event-catalog:8002)."""
    from urllib.parse import urlparse

    aliases = [key for key, value in workload.env.items()
               if key.endswith("_URL") and urlparse(value).hostname == workload.name]
    own = f"{workload.name.upper().replace('-', '_')}_URL"
    return [own, *[alias for alias in aliases if alias != own]]


def kustomize_binary() -> str:
    found = PROJECT_ROOT / ".cache" / "bin" / "kustomize"
    if found.exists():
        return str(found)
    on_path = shutil.which("kustomize")
    if on_path:
        return on_path
    raise SandboxError("kustomize not found (the services are rendered from gitops/overlays/sandbox)",
                       "make tools  (go install of the pinned kustomize into .cache/bin)")


def _digest() -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in GITOPS.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(GITOPS)).encode() + path.read_bytes())
    return digest.hexdigest()[:16]


def render(cache_dir: Path, overlay: Path = OVERLAY) -> list[dict]:
    """All objects of an overlay (default: sandbox's); kustomize runs only when gitops/ changed."""
    name = overlay.name
    cached = cache_dir / f"{name}-overlay-{_digest()}.yaml"
    if not cached.exists():
        result = subprocess.run([kustomize_binary(), "build", str(overlay)], capture_output=True, text=True)
        if result.returncode != 0:
            raise SandboxError(f"kustomize build gitops/overlays/{name} failed: {result.stderr.strip()[-300:]}",
                               "make gitops-check")
        cache_dir.mkdir(parents=True, exist_ok=True)
        for old in cache_dir.glob(f"{name}-overlay-*.yaml"):
            old.unlink()
        cached.write_text(result.stdout)
    return _parse(cached.read_text())


@lru_cache(maxsize=4)
def _parse(text: str) -> list[dict]:
    # libyaml's loader: the pure-Python one takes ~1 s of a warm `up` for the overlay's 44 objects
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return [doc for doc in yaml.load_all(text, Loader=loader) if doc]


def workloads(cache_dir: Path) -> list[Workload]:
    objects = render(cache_dir)
    config = {(o["kind"], o["metadata"]["name"]): o for o in objects if o["kind"] in ("ConfigMap", "Secret")}
    hpas = {o["spec"]["scaleTargetRef"]["name"]: o for o in objects if o["kind"] == "HorizontalPodAutoscaler"}
    result = []
    for obj in objects:
        annotations = obj["metadata"].get("annotations") or {}
        if obj["kind"] != "Deployment" or annotations.get(NATIVE_COMPONENT) == "component":
            continue
        result.append(_workload(obj, config, hpas.get(obj["metadata"]["name"])))
    return sorted(result, key=lambda w: w.name)


def _workload(deployment: dict, config: dict, hpa: dict | None) -> Workload:
    name = deployment["metadata"]["name"]
    pod = deployment["spec"]["template"]["spec"]
    container = next(c for c in pod["containers"] if c["name"] == name)
    port = next(p["containerPort"] for p in container.get("ports", []) if p.get("name") == "http")
    if hpa:
        low, high = hpa["spec"].get("minReplicas", 1), hpa["spec"]["maxReplicas"]
        cpu = next((m["resource"]["target"]["averageUtilization"] for m in hpa["spec"].get("metrics", [])
                    if m.get("type") == "Resource" and m["resource"]["name"] == "cpu"), None)
    else:
        low = high = deployment["spec"].get("replicas", 1)
        cpu = None
    readiness = container.get("readinessProbe", {}).get("httpGet", {})
    return Workload(
        name=name,
        command=tuple(container.get("command", [])) + tuple(container.get("args", [])),
        env=_env(container, config),
        port=port,
        min_replicas=low,
        max_replicas=high,
        cpu_target=cpu,
        cpu_request_millis=_millicores(container.get("resources", {}).get("requests", {}).get("cpu", "100m")),
        readiness_path=readiness.get("path", "/ready"),
        init_commands=tuple(tuple(c.get("command", [])) + tuple(c.get("args", []))
                            for c in pod.get("initContainers", [])),
    )


def _env(container: dict, config: dict) -> dict[str, str]:
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        for kind, ref in (("ConfigMap", source.get("configMapRef")), ("Secret", source.get("secretRef"))):
            if ref:
                obj = config.get((kind, ref["name"]))
                if obj is None and not ref.get("optional"):
                    raise SandboxError(f"{container['name']}: {kind} {ref['name']} missing from the overlay",
                                       "make gitops-check")
                env.update(_data(obj) if obj else {})
    for item in container.get("env", []):
        if "value" in item:
            env[item["name"]] = str(item["value"])
        elif "valueFrom" in item:
            ref = item["valueFrom"].get("configMapKeyRef") or item["valueFrom"].get("secretKeyRef")
            kind = "ConfigMap" if "configMapKeyRef" in item["valueFrom"] else "Secret"
            obj = config.get((kind, ref["name"])) if ref else None
            if obj is not None:
                env[item["name"]] = _data(obj).get(ref["key"], "")
    return env


def _data(obj: dict) -> dict[str, str]:
    values = {k: str(v) for k, v in (obj.get("data") or {}).items()}
    if obj["kind"] == "Secret":
        values = {k: base64.b64decode(v).decode() for k, v in values.items()}
        values.update({k: str(v) for k, v in (obj.get("stringData") or {}).items()})
    return values


def _millicores(value: str | int) -> int:
    text = str(value)
    return int(text[:-1]) if text.endswith("m") else int(float(text) * 1000)
