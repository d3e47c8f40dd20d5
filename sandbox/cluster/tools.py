"""The cluster's binaries, built from the registries by scripts/install-cluster-tools.sh (which
owns the pins) into the per-user cache, and the Debian packages the node needs besides them."""

from __future__ import annotations

import shutil
from pathlib import Path

from sandbox.built_tools import BuiltTools
from sandbox.paths import PROJECT_ROOT

SCRIPT = PROJECT_ROOT / "scripts" / "install-cluster-tools.sh"
CLUSTER_TOOLS = BuiltTools((SCRIPT,), "make cluster-tools (about 50 min on 2 cores, once)")
paths, binary, missing, build = CLUSTER_TOOLS.paths, CLUSTER_TOOLS.binary, CLUSTER_TOOLS.missing, CLUSTER_TOOLS.build
# Debian packages the node needs besides the built binaries (scripts/install-system-deps.sh --cluster)
DEBIAN = {"containerd": "containerd", "runc": "runc", "iptables": "iptables", "conntrack": "conntrack",
          "nsenter": "util-linux", "git": "git", "redis-server": "redis-server"}
CNI_DIR = Path("/usr/lib/cni")  # Debian's containernetworking-plugins


def missing_packages() -> list[str]:
    absent = sorted({pkg for tool, pkg in DEBIAN.items() if not shutil.which(tool)})
    if not (CNI_DIR / "bridge").exists():
        absent.append("containernetworking-plugins")
    return absent
