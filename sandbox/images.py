"""Build the docker runtime's local stand-in images (`make images`): `python -m sandbox.images`.

No registry can be pulled from on these machines, so every image the docker runtime needs is built
here from Debian packages and from the same wheels and jars the native runtime uses:

| stand-in tag                          | replaces (the setting's default)          | built from |
|---------------------------------------|-------------------------------------------|------------|
| sandbox-local/debian:bookworm         | (base)                                    | debootstrap --variant=minbase, imported |
| sandbox-local/python:3.11-slim        | python:3.11-slim (services' base)         | Debian's python3 (3.11) + pip |
| sandbox-local/java:17                 | (base)                                    | Debian's openjdk-17-jre-headless |
| sandbox-local/aws-emulator:moto-5.2.5 | localstack/localstack:4.14.0              | the native AWS emulator (moto server + Lambda executor) |
| sandbox-local/redpanda:kafka-3.9.1    | redpandadata/redpanda:v24.2.18            | Apache Kafka 3.9.1 jars (.cache/jars/kafka), KRaft |
| sandbox-local/postgres:15             | postgres:15.13                            | Debian's postgresql-15 |
| sandbox-local/flink:1.19.3            | flink:1.19.3-scala_2.12-java17            | the Flink distribution inside the PyFlink 1.19.3 wheel, + Python/PyFlink |
| sandbox-local/fake-gcs-server:gcp-storage-emulator | fsouza/fake-gcs-server:1.52.2 | gcp-storage-emulator from PyPI |
| sandbox-local/<service>:dev           | (the project's own images)                | services/<svc>/Dockerfile, context: that folder + wheels/ |

Stand-ins are tagged `sandbox-local/...` and never with the official names, so a user's real
images are never shadowed; `sandbox.components.docker.base.resolve_image` picks the stand-in when
the official image is absent. Each image carries the label `sandbox.input-hash`: an image whose
inputs (Dockerfile, context files, base image id) did not change is not rebuilt.

A service's build context is its own folder, copied to `.cache/docker-context/<svc>/` without its
tests and caches, plus `wheels/`: a wheel of each sibling package its pyproject.toml depends on
(`ticketing-svc-common` from services/common), built here from a copy of that folder. Its
Dockerfile references only paths inside that context. Its input hash covers the copied files and
the wheels' source folders (a wheel's bytes are not reproducible, its sources are).
"""

from __future__ import annotations

import argparse
import fnmatch
import hashlib
import json
import re
import shutil
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from sandbox.errors import SandboxError
from sandbox.settings import PROJECT_ROOT

DOCKER_DIR = PROJECT_ROOT / "docker"
SERVICES_DIR = PROJECT_ROOT / "services"
# what a service's context (and a wheel's source) leaves out of the folder: names at any depth, as in
# shutil.ignore_patterns; docker then applies the folder's .dockerignore too (wheels/ is the context's own)
SERVICE_CONTEXT_SKIP = ("tests", "bench", "__pycache__", ".pytest_cache", ".ruff_cache", ".mypy_cache", "*.egg-info",
                        "build", "dist", "wheels", "*.md")
CONTEXT_DIR = PROJECT_ROOT / ".cache" / "docker-context"
HASH_LABEL = "sandbox.input-hash"
SUITE = "bookworm"
HOST_SOURCES = Path("/etc/apt/sources.list.d/debian.sources")
DEFAULT_MIRROR = "http://deb.debian.org/debian"
EXTRA_CA_DIR = Path("/usr/local/share/ca-certificates")


@dataclass
class ImageSpec:
    name: str  # folder under docker/ (or service name)
    tag: str
    base: str | None = None  # a stand-in tag this one builds FROM
    extras: dict[str, Path] = field(default_factory=dict)  # context subfolder -> source folder
    files: dict[str, Path] = field(default_factory=dict)  # context path -> source file
    context: Path | None = None  # a service's folder, the context's source; None = docker/<name>
    wheels: list[Path] = field(default_factory=list)  # package folders built into the context's wheels/
    build_args: dict[str, str] = field(default_factory=dict)


def _pyflink_home() -> Path:
    import pyflink

    return Path(pyflink.__file__).parent


BASE_TAG = "sandbox-local/debian:bookworm"
PYTHON_TAG = "sandbox-local/python:3.11-slim"
OFFICIAL_PYTHON = "python:3.11-slim"
JAVA_TAG = "sandbox-local/java:17"


def _service_names() -> list[str]:
    """The Deployments of the GitOps overlay: the same list every runtime runs."""
    from sandbox.components import overlay_workloads

    return [workload.name for workload in overlay_workloads()]


def specs(cache_dir: Path = PROJECT_ROOT / ".cache") -> dict[str, ImageSpec]:
    jars = cache_dir / "jars"
    infra = [
        ImageSpec("python", PYTHON_TAG, BASE_TAG),
        ImageSpec("java", JAVA_TAG, BASE_TAG),
        ImageSpec("postgres", "sandbox-local/postgres:15", BASE_TAG),
        ImageSpec("kafka", "sandbox-local/redpanda:kafka-3.9.1", JAVA_TAG, {"jars": jars / "kafka"}),
        ImageSpec("gcs", "sandbox-local/fake-gcs-server:gcp-storage-emulator", PYTHON_TAG),
        ImageSpec("aws-emulator", "sandbox-local/aws-emulator:moto-5.2.5", PYTHON_TAG,
                  files={f"sandbox/{name}": PROJECT_ROOT / "sandbox" / name
                         for name in ("__init__.py", "aws_server.py", "aws_state.py", "lambda_executor.py", "lambda_runtimes.py",
                                      "lambda_runtime.py", "lambda_runtime.mjs")}),
        ImageSpec("flink", "sandbox-local/flink:1.19.3", JAVA_TAG, {"connectors": jars / "flink"}),
    ]
    services = [
        ImageSpec(svc, f"sandbox-local/{svc}:dev", PYTHON_TAG, context=SERVICES_DIR / svc,
                  wheels=local_dependencies(SERVICES_DIR / svc))
        for svc in _service_names()
    ]
    return {s.name: s for s in [*infra, *services]}


def _project(folder: Path) -> dict:
    return tomllib.loads((folder / "pyproject.toml").read_text())["project"]


def _dist_name(requirement: str) -> str:
    """The normalized distribution name of a requirement or project name ("SQLAlchemy==2" -> "sqlalchemy")."""
    return re.sub(r"[-_.]+", "-", re.split(r"[^A-Za-z0-9_.-]", requirement.strip(), maxsplit=1)[0]).lower()


def local_dependencies(folder: Path) -> list[Path]:
    """The package folders under services/ that `folder`'s pyproject.toml depends on at run time, and
    theirs (for every service: services/common, svc_common): what its image gets as wheels."""
    if not (folder / "pyproject.toml").is_file():
        return []
    siblings = {_dist_name(_project(p.parent)["name"]): p.parent for p in sorted(SERVICES_DIR.glob("*/pyproject.toml"))}
    found: list[Path] = []
    pending = [folder]
    while pending:
        for requirement in _project(pending.pop()).get("dependencies", []):
            sibling = siblings.get(_dist_name(requirement))
            if sibling and sibling not in found:
                found += [sibling]
                pending += [sibling]
    return found


# ------------------------------------------------------------------ docker helpers
def _docker(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *args], text=True, capture_output=True, **kwargs)


def image_label(tag: str, label: str = HASH_LABEL) -> str | None:
    result = _docker("image", "inspect", "--format", "{{json .Config.Labels}}", tag)
    if result.returncode != 0:
        return None
    return (json.loads(result.stdout.strip() or "null") or {}).get(label, "")


def image_id(tag: str) -> str:
    result = _docker("image", "inspect", "--format", "{{.Id}}", tag)
    return result.stdout.strip() if result.returncode == 0 else ""


def _skipped(rel: Path, skip: tuple[str, ...]) -> bool:
    """Whether a name on the path matches a pattern of `skip` (as shutil.ignore_patterns matches)."""
    return any(fnmatch.fnmatch(part, pattern) for part in rel.parts for pattern in skip)


def _hash_tree(digest, root: Path, deep: bool = True, skip: tuple[str, ...] = ()) -> None:
    """Names, sizes and (when deep) contents of every file under root (but `skip`), in a stable order."""
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        if "__pycache__" in rel or _skipped(path.relative_to(root), skip):
            continue
        stat = path.stat()
        digest.update(f"{rel}\0{stat.st_size}\0{stat.st_mode & 0o111}\0".encode())
        if deep:
            digest.update(path.read_bytes())


# ------------------------------------------------------------------ the base image
def _mirror() -> str:
    try:
        for line in HOST_SOURCES.read_text().splitlines():
            if line.startswith("URIs:") and "security" not in line:
                return line.split()[1]
    except OSError:
        pass
    return DEFAULT_MIRROR


def base_hash() -> str:
    digest = hashlib.sha256(f"{SUITE}\0{_mirror()}\0minbase".encode())
    if HOST_SOURCES.exists():
        digest.update(HOST_SOURCES.read_bytes())
    return digest.hexdigest()[:16]


def build_base(force: bool = False) -> str:
    wanted = base_hash()
    if not force and image_label(BASE_TAG) == wanted:
        return "cached"
    if not shutil.which("debootstrap"):
        raise SandboxError("debootstrap not found", "apt-get install -y debootstrap")
    rootfs = CONTEXT_DIR / f"rootfs-{SUITE}"
    if not (rootfs / "usr" / "bin" / "apt-get").exists():
        shutil.rmtree(rootfs, ignore_errors=True)
        rootfs.parent.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(["debootstrap", "--variant=minbase", SUITE, str(rootfs), _mirror()],
                                capture_output=True, text=True)
        if result.returncode != 0:
            raise SandboxError(f"debootstrap failed: {result.stdout.strip().splitlines()[-1:]}",
                               "check that the Debian mirror is reachable")
    # containers use the host's Debian sources (same mirror, updates and security suites)
    if HOST_SOURCES.exists():
        (rootfs / "etc/apt/sources.list.d").mkdir(parents=True, exist_ok=True)
        shutil.copy(HOST_SOURCES, rootfs / "etc/apt/sources.list.d/debian.sources")
        (rootfs / "etc/apt/sources.list").unlink(missing_ok=True)
    tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
    assert tar.stdout is not None  # stdout=PIPE
    result = subprocess.run(["docker", "import", "--change", f"LABEL {HASH_LABEL}={wanted}",
                             "--change", 'CMD ["bash"]', "-", BASE_TAG],
                            stdin=tar.stdout, capture_output=True, text=True)
    tar.stdout.close()
    tar.wait()
    if result.returncode != 0:
        raise SandboxError(f"docker import failed: {result.stderr.strip()}", "see the docker engine's log")
    return "built"


# ------------------------------------------------------------------ Dockerfile images
def _prepare_context(spec: ImageSpec) -> Path:
    ctx = CONTEXT_DIR / spec.name
    shutil.rmtree(ctx, ignore_errors=True)
    if spec.context:
        return _prepare_service_context(spec.context, spec.wheels, ctx)
    shutil.copytree(DOCKER_DIR / spec.name, ctx)
    for sub, source in spec.extras.items():
        if not source.is_dir() or not any(source.iterdir()):
            raise SandboxError(f"{source} is missing or empty (needed by the {spec.name} image)",
                               "run `sandbox up` once with the native runtime (it caches the jars) or `make sandbox`")
        shutil.copytree(source, ctx / sub, symlinks=False)
    if spec.name in ("python", "flink"):  # the host's extra CAs (a TLS-intercepting proxy to PyPI, if any)
        (ctx / "extra-ca").mkdir()
        for cert in sorted(EXTRA_CA_DIR.glob("*.crt")):
            shutil.copy(cert, ctx / "extra-ca" / cert.name)
    for rel, source in spec.files.items():
        (ctx / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, ctx / rel)
    if spec.name == "flink":
        home = _pyflink_home()
        for sub in ("bin", "lib", "opt", "plugins", "conf"):
            shutil.copytree(home / sub, ctx / "pyflink" / sub)
        (ctx / "pyflink" / "conf" / "config.base.yaml").write_text(_flat_flink_conf(home / "conf" / "config.yaml"))
    return ctx


def _flat_flink_conf(path: Path) -> str:
    """PyFlink's nested config.yaml as flat `key: value` lines (the entrypoint merges on keys)."""
    import yaml

    def flatten(prefix: str, node) -> list[str]:
        if isinstance(node, dict):
            return [line for k, v in node.items() for line in flatten(f"{prefix}{k}.", v)]
        value = ",".join(map(str, node)) if isinstance(node, list) else node
        return [f"{prefix[:-1]}: {value}"]

    lines = [ln for ln in flatten("", yaml.safe_load(path.read_text()) or {})
             if not ln.split(":")[0].endswith((".bind-host", ".address", ".host"))]
    return "\n".join(lines) + "\n"


def _prepare_service_context(folder: Path, wheels: list[Path], ctx: Path) -> Path:
    """The service's folder (less SERVICE_CONTEXT_SKIP) and wheels/ with its sibling packages. The
    copied Dockerfile keeps `FROM python:3.11-slim` when that image is present and names the local
    stand-in otherwise (the file in services/ keeps the official base, which its layout test checks)."""
    shutil.copytree(folder, ctx, ignore=shutil.ignore_patterns(*SERVICE_CONTEXT_SKIP))
    (ctx / "wheels").mkdir()
    for package in wheels:
        _build_wheel(package, ctx / "wheels")
    if not image_id(OFFICIAL_PYTHON):
        dockerfile = ctx / "Dockerfile"
        dockerfile.write_text(dockerfile.read_text().replace(f"FROM {OFFICIAL_PYTHON}", f"FROM {PYTHON_TAG}"))
    return ctx


def _build_wheel(package: Path, out: Path) -> None:
    """A wheel of one of the project's packages, built from a copy of its folder (the build leaves
    build/ and *.egg-info behind, which services/ should not get)."""
    source = CONTEXT_DIR / "wheel-sources" / package.name
    shutil.rmtree(source, ignore_errors=True)
    shutil.copytree(package, source, ignore=shutil.ignore_patterns(*SERVICE_CONTEXT_SKIP))
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if uv:
        command = [uv, "build", "-q", "--wheel", "--python", sys.executable, "--out-dir", str(out), str(source)]
    else:
        command = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--wheel-dir", str(out), str(source)]
    result = subprocess.run(command, capture_output=True, text=True)
    shutil.rmtree(source, ignore_errors=True)
    if result.returncode != 0:
        raise SandboxError(f"building the wheel of {package.name} failed: {result.stderr.strip()[-300:]}",
                           "check that PyPI is reachable (the build fetches setuptools)")


def input_hash(spec: ImageSpec) -> str:
    digest = hashlib.sha256(spec.tag.encode())
    if spec.base:
        digest.update(image_id(spec.base).encode())
    for key, value in sorted(spec.build_args.items()):
        digest.update(f"{key}={value}".encode())
    if spec.context:  # a service: the files its context copies, and the sources of its wheels
        _hash_tree(digest, spec.context, skip=SERVICE_CONTEXT_SKIP)
        for package in spec.wheels:
            digest.update(package.name.encode() + b"\0")
            _hash_tree(digest, package, skip=SERVICE_CONTEXT_SKIP)
    else:
        _hash_tree(digest, DOCKER_DIR / spec.name)
        for sub, source in sorted(spec.extras.items()):
            digest.update(sub.encode())
            _hash_tree(digest, source, deep=False)  # jars are versioned by name and size
        for rel, source in sorted(spec.files.items()):
            digest.update(rel.encode() + b"\0" + source.read_bytes())
        if spec.name in ("python", "flink"):
            for cert in sorted(EXTRA_CA_DIR.glob("*.crt")):
                digest.update(cert.read_bytes())
        if spec.name == "flink":
            import pyflink.version

            digest.update(pyflink.version.__version__.encode())
    return digest.hexdigest()[:16]


def build_image(spec: ImageSpec, force: bool = False, log=print) -> str:
    if spec.base and not image_id(spec.base):
        raise SandboxError(f"base image {spec.base} of {spec.tag} is missing", "python -m sandbox.images")
    wanted = input_hash(spec)
    if not force and image_label(spec.tag) == wanted:
        return "cached"
    ctx = _prepare_context(spec)
    command = ["docker", "build", "--force-rm", "-f", str(ctx / "Dockerfile"), "-t", spec.tag,
               "--label", f"{HASH_LABEL}={wanted}", "--label", "sandbox.stand-in=true"]
    for key, value in spec.build_args.items():
        command += ["--build-arg", f"{key}={value}"]
    log_file = CONTEXT_DIR / f"build-{spec.name}.log"
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with open(log_file, "w") as out:
        result = subprocess.run([*command, str(ctx)], stdout=out, stderr=subprocess.STDOUT,
                                env={"DOCKER_BUILDKIT": "0", "PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"})
    if result.returncode != 0:
        last = log_file.read_text(errors="replace").strip().splitlines()[-5:]
        raise SandboxError(f"building {spec.tag} failed: {' | '.join(last)}", f"see {log_file}")
    return "built"


def image_size(tag: str) -> int:
    result = _docker("image", "inspect", "--format", "{{.Size}}", tag)
    return int(result.stdout.strip() or 0) if result.returncode == 0 else 0


def build_all(names: list[str] | None = None, force: bool = False, log=print) -> list[dict]:
    """Build the base and the chosen images (default: all) in dependency order; skip unchanged."""
    table = specs()
    chosen = names or list(table)
    unknown = [n for n in chosen if n not in table and n != "debian"]
    if unknown:
        raise SandboxError(f"unknown image {', '.join(unknown)}", f"choose from debian, {', '.join(table)}")
    report: list[dict] = []
    started = time.monotonic()
    outcome = build_base(force and "debian" in chosen)
    report.append({"image": "debian", "tag": BASE_TAG, "result": outcome,
                   "seconds": round(time.monotonic() - started, 1), "size": image_size(BASE_TAG)})
    log(f"{BASE_TAG:55} {outcome:7} {report[-1]['seconds']:7.1f}s")
    needed = set()
    for name in chosen:  # add base images of the chosen ones
        spec = table.get(name)
        while spec:
            needed.add(spec.name)
            spec = next((s for s in table.values() if s.tag == spec.base), None)
    for name in [n for n in table if n in needed]:
        spec = table[name]
        started = time.monotonic()
        outcome = build_image(spec, force, log)
        report.append({"image": name, "tag": spec.tag, "result": outcome,
                       "seconds": round(time.monotonic() - started, 1), "size": image_size(spec.tag)})
        log(f"{spec.tag:55} {outcome:7} {report[-1]['seconds']:7.1f}s {report[-1]['size'] / 2**20:8.0f} MiB")
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="images to build (default: all); bases are built as needed")
    parser.add_argument("--force", action="store_true", help="rebuild even when the inputs are unchanged")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    if not shutil.which("docker"):
        print("error: docker CLI not found (fix: apt-get install -y docker.io)", file=sys.stderr)
        return 1
    try:
        report = build_all(args.names or None, args.force, log=(lambda s: None) if args.json else print)
    except SandboxError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
