"""Prerequisite checks for `sandbox doctor`: each failed check carries the command that fixes it."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass

from sandbox import process
from sandbox.errors import SandboxError


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""
    optional: bool = False


def _binary(name: str, fix: str, version_args: list[str], optional: bool = False, path: str | None = None) -> Check:
    path = path or shutil.which(name)
    if not path:
        return Check(name, False, "", fix, optional)
    result = subprocess.run([path, *version_args], capture_output=True, text=True)
    first = (result.stdout or result.stderr).strip().splitlines()[:1]
    return Check(name, True, f"{path}: {first[0] if first else 'present'}")


def run_checks(sandbox) -> list[Check]:
    checks = [
        _binary("java", "apt-get install -y openjdk-17-jre-headless", ["-version"]),
        _binary("mvn", "apt-get install -y maven", ["-B", "-v"]),
        _binary("javac", "apt-get install -y openjdk-17-jdk-headless (without it the analytics job is planned by "
                "`flink run` at every submission: ~10 s instead of ~3)", ["-version"], optional=True),
        _binary("tofu", "make tools (builds OpenTofu into .cache/bin)", ["version"], optional=True,
                path=sandbox.component("terraform").binary()),
    ]
    try:
        pg = sandbox.component("postgres")
        checks.append(Check("postgres", True, str(pg.bin_dir)))
    except SandboxError as exc:
        checks.append(Check("postgres", False, "", exc.fix or str(exc)))
    records = {n: sandbox.state.load(n) for n in sandbox.names()}
    for name in sandbox.names():
        comp = sandbox.component(name)
        for port_name, port in comp.ports.items():
            ours = records[name] is not None
            busy = process.port_in_use(port)
            label = f"port {port} ({port_name})"
            if busy and not ours:
                checks.append(Check(label, False, "", f"in use: free it or change {sandbox.settings.port_setting(port_name)}"))
            else:
                checks.append(Check(label, True, "used by the sandbox" if busy else "free"))
    checks += _cluster_checks(sandbox.settings)
    checks.append(_observability_check(sandbox.settings))
    usage = shutil.disk_usage(sandbox.state.root.parent)
    free_gib = usage.free / 2**30
    checks.append(Check("disk", free_gib >= 3, f"{free_gib:.1f} GiB free", "free at least 3 GiB for jars and data"))
    return checks


def _observability_check(settings) -> Check:
    """The metrics, dashboards and logs binaries; `up` builds what is missing, so only a warning."""
    from sandbox.observability.tools import OBSERVABILITY_TOOLS

    if not settings.observability.enabled:
        return Check("observability binaries", True, "not used ([observability] enabled = false)")
    missing = OBSERVABILITY_TOOLS.missing(settings.user_cache_dir)
    return Check("observability binaries", not missing,
                 "all built in " + str(settings.user_cache_dir / "observability") if not missing
                 else f"not built: {', '.join(missing)} (`sandbox up` builds them)",
                 OBSERVABILITY_TOOLS.fix, optional=True)


def _cluster_checks(settings) -> list[Check]:
    """What `up --cluster` needs: the built binaries (named when missing) and Debian's packages;
    optional unless cluster mode is the chosen runtime."""
    from sandbox.cluster import tools

    optional = settings.runtime != "cluster"
    missing = tools.missing(settings.user_cache_dir)
    checks = [Check("cluster binaries", not missing,
                    "all built in " + str(settings.user_cache_dir / "cluster") if not missing
                    else f"not built: {', '.join(missing)}",
                    "make cluster-tools (about 50 min on 2 cores from an empty Go cache, once per user)", optional)]
    packages = tools.missing_packages()
    checks.append(Check("cluster packages", not packages, "containerd, runc, CNI plugins, iptables, conntrack, git, redis"
                        if not packages else f"missing: {' '.join(packages)}",
                        "scripts/install-system-deps.sh --cluster", optional))
    return checks
