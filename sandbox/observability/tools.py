"""The observability binaries (Prometheus, Perses and its plugins, VictoriaLogs, the log shipper,
the exporters), built from the registries by their install scripts into the per-user cache, keyed
by version."""

from __future__ import annotations

from sandbox.built_tools import BuiltTools
from sandbox.paths import PROJECT_ROOT

OBSERVABILITY_TOOLS = BuiltTools(
    (PROJECT_ROOT / "scripts" / "install-observability-tools.sh", PROJECT_ROOT / "scripts" / "install-perses.sh"),
    "make observability-tools (about 20 min on 2 cores, once)",
)
