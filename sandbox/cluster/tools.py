"""The cluster's binaries: built from the registries by scripts/install-cluster-tools.sh into the
per-user cache (keyed by version), found here by asking that script, which owns the pins."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from sandbox.errors import SandboxError
from sandbox.paths import PROJECT_ROOT

SCRIPT = PROJECT_ROOT / "scripts" / "install-cluster-tools.sh"
# Debian packages the node needs besides the built binaries (scripts/install-system-deps.sh --cluster)
DEBIAN = {"containerd": "containerd", "runc": "runc", "iptables": "iptables", "conntrack": "conntrack",
          "nsenter": "util-linux", "git": "git", "redis-server": "redis-server"}
CNI_DIR = Path("/usr/lib/cni")  # Debian's containernetworking-plugins


def _env(user_cache_dir: Path) -> dict[str, str]:
    return {**os.environ, "SANDBOX_USER_CACHE_DIR": str(user_cache_dir)}


@lru_cache(maxsize=4)
def paths(user_cache_dir: Path) -> dict[str, Path]:
    """name -> where its pinned build lives (present or not)."""
    out = subprocess.run(["bash", str(SCRIPT), "--paths"], capture_output=True, text=True, check=True,
                         env=_env(user_cache_dir)).stdout
    return {name: Path(path) for name, path in (line.split(" ", 1) for line in out.splitlines())}


def binary(user_cache_dir: Path, name: str) -> str:
    path = paths(user_cache_dir)[name]
    if not path.exists():
        raise SandboxError(f"{name} is not built ({path} missing)", "make cluster-tools (about 50 min on 2 cores, once)")
    return str(path)


def missing(user_cache_dir: Path) -> list[str]:
    return [name for name, path in paths(user_cache_dir).items() if not path.exists()]


def missing_packages() -> list[str]:
    import shutil

    absent = sorted({pkg for tool, pkg in DEBIAN.items() if not shutil.which(tool)})
    if not (CNI_DIR / "bridge").exists():
        absent.append("containernetworking-plugins")
    return absent


def build(user_cache_dir: Path, names: list[str], progress: Callable[[str], None]) -> None:
    """Build what is missing, one line per binary with its time (the first `up --cluster`)."""
    started = time.monotonic()
    proc = subprocess.Popen(["bash", str(SCRIPT), *names], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env=_env(user_cache_dir))
    assert proc.stdout is not None
    tail: list[str] = []
    for line in proc.stdout:
        line = line.rstrip()
        tail = [*tail[-20:], line]
        if line.startswith(("built ", "ok ", "building ")):
            progress(line)
    if proc.wait() != 0:
        raise SandboxError(f"building {', '.join(names)} failed after {time.monotonic() - started:.0f}s:\n"
                           + "\n".join(tail), "see the lines above; `make cluster-tools` retries")
    paths.cache_clear()
