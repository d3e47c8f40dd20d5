"""`make licenses`: the licence of every third-party package the project installs or builds, and
a gate that fails on licences this project may not use.

One collector per ecosystem, each with that ecosystem's own well-kept tool:
- python: pip-licenses over `.venv` (every service image and stand-in installs a subset of it);
- go: lichen over every binary `scripts/install-gitops-tools.sh` builds (it reads the modules
  compiled into the binary and classifies their licence files), and over the cluster and
  observability binaries `scripts/install-cluster-tools.sh` and `scripts/install-observability-tools.sh`
  built into the per-user cache, as far as they have built them;
- npm: license-checker-rseidelsohn on each package.json of the project (none today), and the npm
  packages bundled into the built Prometheus's web UI (the list its build writes for them);
- maven: license-maven-plugin (org.codehaus.mojo) `add-third-party` on each pom under sandbox/maven;
- debian: the packages the scripts and Dockerfiles install: their archive area (Debian's `main`
  holds only DFSG-free software) and the License fields of their machine-readable copyright file;
- machine: a CLI the machine provides that a setting makes the project run (`terraform.binary`);
- lambda: what the Lambda executor built into ~/.cache/cloud-sandbox/lambda-runtimes (awslambdaric + boto3 venvs by
  pip-licenses, aws-lambda-ric by license-checker), as far as it has built them.

Denied: AGPL, SSPL, BUSL/Business Source (BSL-1.1), Commons Clause, vendor-only terms, and no
licence at all. A denied package is reported with what pulled it in; an entry in
scripts/licenses-allow.toml, with a reason, is the only way past the gate.

    .venv/bin/python scripts/licenses.py --output reports/licenses.json
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ALLOW_FILE = ROOT / "scripts" / "licenses-allow.toml"
PIP_LICENSES = Path(sys.executable).with_name("pip-licenses")
GO_TOOLS_BIN = ROOT / ".cache" / "bin"
GO_BINARIES = ("kustomize", "kustomize-v5.4.2", "kube-score", "gitops-validate", "lichen", "tofu")
CLUSTER_TOOLS = ROOT / "scripts" / "install-cluster-tools.sh"  # `--paths`: where its binaries are
OBSERVABILITY_TOOLS = ROOT / "scripts" / "install-observability-tools.sh"  # the same for Prometheus & co
PERSES_TOOLS = ROOT / "scripts" / "install-perses.sh"  # and for Perses
OWN_GO_MODULES = ("github.com/ticketing/cloud-sandbox/", "local/")  # tools/*: this repository's modules
NPM_CHECKER = "license-checker-rseidelsohn@5.0.1"
MAVEN_PLUGIN = "org.codehaus.mojo:license-maven-plugin:2.5.0"
DEBIAN_SOURCES = [ROOT / "scripts" / "install-system-deps.sh", ROOT / "scripts" / "docker-engine.sh",
                  *sorted((ROOT / "docker").glob("*/Dockerfile")), *sorted((ROOT / "services").glob("*/Dockerfile"))]

DENIED = [
    (re.compile(r"\bAGPL|Affero", re.I), "AGPL"),
    (re.compile(r"\bSSPL|Server Side Public", re.I), "SSPL"),
    (re.compile(r"\bBUSL|Business Source|\bBSL-1\.1", re.I), "Business Source License"),
    (re.compile(r"Commons Clause", re.I), "Commons Clause"),
    (re.compile(r"Elastic License|Confluent Community|Amazon Software License|DynamoDB Local|Proprietary|"
                r"commercial licen", re.I), "vendor-only terms"),
]
NO_LICENCE = re.compile(r"^\s*(|UNKNOWN|NOASSERTION|none|Other/Unknown)\s*$", re.I)


@dataclass
class Package:
    ecosystem: str
    name: str
    version: str
    license: str
    pulled_in_by: str
    verdict: str = ""  # "ok", "allowed: <reason>", or "denied: <why>"


def judge(license_text: str) -> str:
    """"ok" or "denied: <why>" for one licence string (several licences may be joined by ';')."""
    if NO_LICENCE.match(license_text or ""):
        return "denied: no licence found"
    for pattern, name in DENIED:
        if pattern.search(license_text):
            return f"denied: {name}"
    return "ok"


def run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(command, capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        tail = " | ".join((result.stdout + result.stderr).strip().splitlines()[-3:])
        raise SystemExit(f"licenses: {' '.join(command[:3])} ... failed: {tail}")
    return result


# ------------------------------------------------------------------ python
def python_packages() -> list[Package]:
    rows = json.loads(run([str(PIP_LICENSES), "--python", sys.executable, "--from=mixed", "--format=json",
                             "--with-system"]).stdout)
    parents = _python_parents()
    own = {tomllib.loads(p.read_text())["project"]["name"]  # the project and its packages under services/
           for p in [ROOT / "pyproject.toml", *(ROOT / "services").glob("*/pyproject.toml")]}
    return [Package("python", row["Name"], row["Version"], row["License"],
                    ", ".join(sorted(parents.get(_norm(row["Name"]), []))) or "pyproject.toml / services/*/requirements")
            for row in rows if _norm(row["Name"]) not in {_norm(n) for n in own}]


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _python_parents() -> dict[str, set[str]]:
    """Reverse dependency edges of the venv (markers with extras are counted: an upper bound)."""
    from importlib import metadata

    from packaging.requirements import Requirement

    parents: dict[str, set[str]] = {}
    for dist in metadata.distributions():
        for line in dist.requires or []:
            requirement = Requirement(line)
            extras = ["", *(dist.metadata.get_all("Provides-Extra") or [])]
            if requirement.marker and not any(requirement.marker.evaluate({"extra": e}) for e in extras):
                continue
            parents.setdefault(_norm(requirement.name), set()).add(dist.metadata["Name"])
    return parents


# ------------------------------------------------------------------ go
def _go_on_path() -> None:
    """lichen runs `go version -m`, as _go_main_modules does: a shell without the login PATH
    (`env -i`, cron) lacks /usr/local/go/bin, where the official Go archive installs."""
    if shutil.which("go") is None:
        for folder in ("/usr/local/go/bin", "/usr/lib/go/bin"):
            if (Path(folder) / "go").exists():
                os.environ["PATH"] = f"{folder}{os.pathsep}{os.environ.get('PATH', '')}"
                return
        raise SystemExit("licenses: go not found (it reads the Go tools' modules; fix: install Go >= 1.24)")


def go_packages(lichen: Path = GO_TOOLS_BIN / "lichen") -> list[Package]:
    _go_on_path()
    binaries = [GO_TOOLS_BIN / name for name in GO_BINARIES]
    missing = [b.name for b in binaries if not b.exists()]
    if missing or not lichen.exists():
        raise SystemExit(f"licenses: {', '.join(missing or ['lichen'])} not built (fix: make tools)")
    binaries += built_binaries(CLUSTER_TOOLS) + built_binaries(OBSERVABILITY_TOOLS) + built_binaries(PERSES_TOOLS)
    env = _toolchain_env(binaries)  # `go mod download` refuses a module newer than the local Go (argo-cd: 1.27)
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "lichen.json"
        run([str(lichen), "--json", str(report), *map(str, binaries)], env=env)
        data = json.loads(report.read_text())
    users: dict[tuple[str, str], set[str]] = {}
    for binary in data["Binaries"]:
        for ref in binary["ModuleRefs"]:
            users.setdefault((ref["Path"], ref["Version"]), set()).add(Path(binary["Path"]).name)
    packages = [Package("go", m["Path"], m["Version"], "; ".join(sorted({lic["Name"] for lic in m["Licenses"]})),
                        ", ".join(sorted(users.get((m["Path"], m["Version"]), []))))
                for m in data["Modules"]]
    return packages + _go_main_modules(data["Binaries"], env)


def built_binaries(script: Path = CLUSTER_TOOLS) -> list[Path]:
    """The Go binaries an install script (`make cluster-tools`, `make observability-tools`) built into
    the per-user cache, as its `--paths` names them (none before it has run). pause is C, not Go: its
    source is part of k8s.io/kubernetes, which the kube-* binaries list."""
    return [path for name, path in _script_paths(script) if name != "pause" and path.is_file()]


def _script_paths(script: Path) -> list[tuple[str, Path]]:
    lines = run(["bash", str(script), "--paths"]).stdout.splitlines() if script.exists() else []
    return [(name, Path(path)) for name, _, path in (line.partition(" ") for line in lines)]


def _toolchain_env(binaries: list[Path]) -> dict[str, str] | None:
    """The environment with GOTOOLCHAIN set to the newest Go that built one of the binaries, if that is
    newer than the local Go; else None (the inherited environment)."""
    def release(version: str) -> tuple[int, ...]:
        return tuple(int(n) for n in re.findall(r"\d+", version)[:3])

    local = run(["go", "env", "GOVERSION"]).stdout.strip()
    built = re.findall(r": (go\S+)$", run(["go", "version", *map(str, binaries)]).stdout, re.M)
    newest = max(built, key=release, default=local)
    return {**os.environ, "GOTOOLCHAIN": newest} if release(newest) > release(local) else None


def _go_main_modules(binaries: list[dict], env: dict[str, str] | None = None) -> list[Package]:
    """lichen lists a binary's dependencies, not the module it is built from: classify that too
    (once per module and version: k8s.io/kubernetes is the main module of six cluster binaries)."""
    packages: dict[tuple[str, str], Package] = {}
    for binary in binaries:
        module = binary["ModulePath"]
        if module.startswith(OWN_GO_MODULES):
            continue  # this repository's own module
        version = _main_version(binary["Path"])
        if (module, version) in packages:
            packages[module, version].pulled_in_by += f", {Path(binary['Path']).name}"
            continue
        directory = json.loads(run(["go", "mod", "download", "-json", f"{module}@{version}"], env=env).stdout)["Dir"]
        texts = [p.read_text(errors="ignore") for p in Path(directory).glob("LICEN[CS]E*")
                 if p.is_file()]  # k8s.io/kubernetes also has a LICENSES folder
        packages[module, version] = Package("go", module, version, _spdx_guess(texts), Path(binary["Path"]).name)
    return list(packages.values())


def _main_version(binary: str) -> str:
    """The main module's version; for a tool built from its module's source (OpenTofu, Prometheus),
    where Go records "(devel)", the version its install script wrote in the tool's stamp."""
    version = ""
    for line in run(["go", "version", "-m", binary]).stdout.splitlines():
        fields = line.split()
        if len(fields) >= 3 and fields[0] == "mod":
            version = fields[2]
    stamp = Path(binary).with_name(f".{Path(binary).name}.version")
    if version in ("", "(devel)") and stamp.exists():
        version = stamp.read_text().split()[0].rpartition("@")[2]
    return version


def _spdx_guess(texts: list[str]) -> str:
    """The licence of a top-level LICENSE file by its well-known opening words."""
    marks = [("Apache License", "Apache-2.0"), ("MIT License", "MIT"), ("Permission is hereby granted", "MIT"),
             ("Redistribution and use in source and binary forms", "BSD"), ("Mozilla Public License", "MPL-2.0"),
             ("GNU AFFERO", "AGPL"), ("Business Source License", "BUSL")]
    found = {spdx for text in texts for mark, spdx in marks if mark in text}
    return "; ".join(sorted(found))


# ------------------------------------------------------------------ npm
def npm_packages(root: Path = ROOT) -> list[Package]:
    manifests = [p for p in root.rglob("package.json")
                 if not any(part in {"node_modules", ".venv", ".cache", ".git", ".sandbox"} for part in p.parts)]
    packages = []
    for manifest in manifests:
        if not (manifest.parent / "node_modules").is_dir():
            run(["npm", "ci" if (manifest.parent / "package-lock.json").exists() else "install", "--ignore-scripts",
                 "--no-audit", "--no-fund"], cwd=manifest.parent)
        rows = json.loads(run(["npx", "--yes", NPM_CHECKER, "--json", "--excludePrivatePackages",
                               "--start", str(manifest.parent)]).stdout)
        for key, row in rows.items():
            name, _, version = key.rpartition("@")
            licenses = row.get("licenses", "")
            packages.append(Package("npm", name, version, "; ".join(licenses) if isinstance(licenses, list) else licenses,
                                    str(manifest.relative_to(root))))
    return packages


UI_LICENSE_ENTRY = re.compile(r"^Name: (?P<name>.+)\nVersion: (?P<version>.*)\nLicense: (?P<license>.*)$", re.M)


def bundled_ui_packages(scripts: tuple[Path, ...] = (OBSERVABILITY_TOOLS, PERSES_TOOLS)) -> list[Package]:
    """The npm packages compiled into a built web UI: Prometheus's vite build lists each one
    (rollup-plugin-license: Name, Version, License, text) in third-party-licenses.txt; for Perses
    the install script writes the same listing from the UI build's node_modules. Each is kept as
    ui-third-party-licenses.txt beside the binary (none before it has built it)."""
    packages = []
    for name, path in (entry for script in scripts for entry in _script_paths(script)):
        listing = path.with_name("ui-third-party-licenses.txt")
        if path.is_file() and listing.is_file():
            packages += [Package("npm", m["name"], m["version"], "" if m["license"] == "null" else m["license"],
                                 f"{name} (web UI)") for m in UI_LICENSE_ENTRY.finditer(listing.read_text())]
    return packages


def all_npm_packages() -> list[Package]:
    return npm_packages() + bundled_ui_packages()


# ------------------------------------------------------------------ maven
THIRD_PARTY_LINE = re.compile(r"^\s*(?P<licenses>(\(.+?\) )+)(?P<title>.*?) \((?P<gav>[^ :]+:[^ :]+:[^ ]+)")


def maven_packages() -> list[Package]:
    packages = []
    for pom in sorted((ROOT / "sandbox" / "maven").glob("*/pom.xml")):
        with tempfile.TemporaryDirectory() as tmp:
            run(["mvn", "-q", "-B", "-f", str(pom), f"{MAVEN_PLUGIN}:add-third-party", f"-Dlicense.outputDirectory={tmp}",
                 "-Dlicense.thirdPartyFilename=third-party.txt", "-Dlicense.acceptPomPackaging=true",
                 "-Dlicense.excludedScopes=test,provided,system"])
            lines = (Path(tmp) / "third-party.txt").read_text().splitlines()
        for line in lines:
            match = THIRD_PARTY_LINE.match(line)
            if not match:
                continue
            group, artifact, version = match["gav"].split(":")[:3]
            licenses = re.findall(r"\((.+?)\)", match["licenses"])
            licenses = [] if licenses == ["Unknown license"] else licenses
            packages.append(Package("maven", f"{group}:{artifact}", version, "; ".join(licenses),
                                    f"sandbox/maven/{pom.parent.name}/pom.xml"))
    return packages


# ------------------------------------------------------------------ debian
def debian_names() -> dict[str, set[str]]:
    """Package name -> the files that install it."""
    names: dict[str, set[str]] = {}
    for source in DEBIAN_SOURCES:
        text = source.read_text().replace("\\\n", " ")
        chunks = re.findall(r"missing\+=\(([^)]*)\)", text)
        chunks += [m.split("&&")[0].split(">")[0] for m in re.findall(r"apt-get install ([^\n]*)", text)]
        for chunk in chunks:
            for token in chunk.split():
                if re.fullmatch(r"[a-z0-9][a-z0-9.+-]+", token) and token not in {"apt-get", "install"}:
                    names.setdefault(token, set()).add(str(source.relative_to(ROOT)))
    return names


def _apt_cache_show(names: list[str]) -> dict[str, str]:
    """Package name -> its `apt-cache show` record, for all names in one call (each call reads the
    whole package cache: seconds); a name apt knows no package of is absent."""
    out = subprocess.run(["apt-cache", "show", "--no-all-versions", *names], capture_output=True, text=True).stdout
    records = {}
    for record in re.split(r"\n\s*\n", out):
        name = re.search(r"^Package: (\S+)", record, re.M)
        if name:
            records.setdefault(name[1], record)
    return records


def debian_packages() -> list[Package]:
    packages = []
    names = debian_names()
    records = _apt_cache_show(sorted(names))
    for name, sources in sorted(names.items()):
        show = records.get(name, "")
        area = re.search(r"^Filename: pool/(?:updates/)?([^/]+)/", show, re.M)  # security updates: pool/updates/main
        version = re.search(r"^Version: (.+)$", show, re.M)
        copyright_file = Path("/usr/share/doc") / name / "copyright"
        fields = sorted(set(re.findall(r"^License: *(\S[^\n]*)$", copyright_file.read_text(errors="ignore"), re.M))
                        ) if copyright_file.exists() else []
        if area and area[1] == "main":
            summary = "DFSG-free (Debian main)" + (f": {'; '.join(fields)}" if fields else "")
        else:
            summary = f"not in Debian main ({area[1] if area else 'unknown package'})"
        package = Package("debian", name, version[1] if version else "", summary, ", ".join(sorted(sources)))
        # Debian main admits only DFSG-free licences, but AGPL is DFSG-free: the fields are judged too
        if not (area and area[1] == "main"):
            package.verdict = "denied: not from Debian main"
        else:
            package.verdict = judge("; ".join(fields) or "DFSG")
        packages.append(package)
    return packages


# ------------------------------------------------------------------ machine
# CLIs the project runs when a setting names one the machine provides instead of the one it builds:
# `terraform.binary` (default: OpenTofu from `make tools`, covered by the go collector).
MACHINE_TOOLS = {
    "terraform": (r"Terraform v(\S+)", "BUSL-1.1 (HashiCorp, since Terraform 1.6)"),
    "tofu": (r"OpenTofu v(\S+)", "MPL-2.0"),
}


def machine_packages() -> list[Package]:
    sys.path.insert(0, str(ROOT))
    from sandbox.settings import settings

    configured = settings().terraform.binary
    if not configured or not shutil.which(configured):
        return []
    pattern, license_text = MACHINE_TOOLS.get(Path(configured).name, (r"v(\S+)", ""))
    version = re.search(pattern, subprocess.run([configured, "version"], capture_output=True, text=True).stdout)
    return [Package("machine", Path(configured).name, version[1] if version else "", license_text,
                    "terraform.binary setting (sandbox.toml / SANDBOX_TERRAFORM__BINARY)")]


# ------------------------------------------------------------------ the gate
def lambda_runtime_packages(cache: Path | None = None) -> list[Package]:
    """What the Lambda executor installed for its runtimes (sandbox/lambda_runtimes.py), as far as built:
    each python venv (awslambdaric, boto3 and their dependencies) and each node folder (aws-lambda-ric)."""
    if cache is None:
        from sandbox.settings import settings

        cache = settings().user_cache_dir / "lambda-runtimes"
    packages = []
    for ready in sorted(cache.glob("*/ready.json")):
        folder = ready.parent
        if (folder / "bin" / "python").exists():
            rows = json.loads(run([str(PIP_LICENSES), "--python", str(folder / "bin" / "python"), "--from=mixed",
                                   "--format=json"]).stdout)
            packages += [Package("python", row["Name"], row["Version"], row["License"],
                                 f"Lambda runtime {folder.name}") for row in rows]
        elif (folder / "node_modules").is_dir():
            rows = json.loads(run(["npx", "--yes", NPM_CHECKER, "--json", "--excludePrivatePackages",
                                   "--start", str(folder)]).stdout)
            for key, row in rows.items():
                name, _, version = key.rpartition("@")
                licenses = row.get("licenses", "")
                packages.append(Package("npm", name, version,
                                        "; ".join(licenses) if isinstance(licenses, list) else licenses,
                                        f"Lambda runtime {folder.name}"))
    return packages


COLLECTORS = {"python": python_packages, "go": go_packages, "npm": all_npm_packages, "maven": maven_packages,
              "debian": debian_packages, "machine": machine_packages, "lambda": lambda_runtime_packages}


def load_allow_list(path: Path = ALLOW_FILE) -> dict[tuple[str, str], str]:
    entries = tomllib.loads(path.read_text()).get("allow", []) if path.exists() else []
    allowed = {}
    for entry in entries:
        if not str(entry.get("reason", "")).strip():
            raise SystemExit(f"licenses: {path.name}: the entry for {entry.get('name')} has no reason (fix: add reason = \"...\")")
        allowed[(entry["ecosystem"], _norm(entry["name"]))] = entry["reason"].strip()
    return allowed


def apply_gate(packages: list[Package], allowed: dict[tuple[str, str], str]) -> list[Package]:
    """Sets each verdict; returns the denied ones."""
    for package in packages:
        if not package.verdict:
            package.verdict = judge(package.license)
        reason = allowed.get((package.ecosystem, _norm(package.name)))
        if package.verdict != "ok" and reason:
            package.verdict = f"allowed: {reason}"
    return [p for p in packages if p.verdict.startswith("denied") or not p.verdict]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=ROOT / "reports" / "licenses.json")
    parser.add_argument("--only", action="append", choices=list(COLLECTORS), help="one ecosystem (repeatable)")
    args = parser.parse_args(argv)
    packages: list[Package] = []
    counts = {}
    for name in args.only or COLLECTORS:
        found = COLLECTORS[name]()
        counts[name] = len(found)
        packages += found
    denied = apply_gate(packages, load_allow_list())
    for package in denied:
        package.verdict = package.verdict or f"denied: {package.license}"
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps({"counts": counts, "denied": len(denied),
                                       "packages": [asdict(p) for p in packages]}, indent=2) + "\n")
    allowed = [p for p in packages if p.verdict.startswith("allowed")]
    print("licenses: " + ", ".join(f"{n} {c}" for n, c in counts.items())
          + f"; {len(allowed)} allowed by {ALLOW_FILE.name}; {len(denied)} denied -> {args.output}")
    for package in denied:
        print(f"  DENIED {package.ecosystem} {package.name} {package.version}: {package.license or 'no licence'} "
              f"({package.verdict}); pulled in by {package.pulled_in_by}", file=sys.stderr)
    if denied:
        print(f"fix: drop or replace these packages; only an entry with a reason in {ALLOW_FILE.relative_to(ROOT)} "
              "lets one through", file=sys.stderr)
    return 1 if denied else 0


if __name__ == "__main__":
    sys.exit(main())
