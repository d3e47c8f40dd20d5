"""Component registry: name -> implementation, per runtime. Imports are lazy so that
`sandbox env` does not pay for clients it does not use."""

from __future__ import annotations

from importlib import import_module

from sandbox.errors import SandboxError

# start order is also display order; components start in parallel
NATIVE = {
    "aws": "sandbox.components.aws:Aws",
    "kafka": "sandbox.components.kafka:Kafka",
    "postgres": "sandbox.components.postgres:Postgres",
    "gcs": "sandbox.components.gcs:Gcs",
    "flink": "sandbox.components.flink:Flink",
}

RUNTIMES = {"native": NATIVE}


def component_names(runtime: str = "native") -> list[str]:
    return list(_registry(runtime))


def select(names: str | None, runtime: str = "native") -> list[str]:
    """Parse `--only kafka,postgres`; unknown names give an error listing the valid ones."""
    valid = component_names(runtime)
    if not names:
        return valid
    chosen = [n.strip() for n in names.split(",") if n.strip()]
    unknown = [n for n in chosen if n not in valid]
    if unknown:
        raise SandboxError(f"unknown component {', '.join(unknown)}", f"choose from {', '.join(valid)}")
    return [n for n in valid if n in chosen]


def load(name: str, runtime: str = "native"):
    module_name, _, class_name = _registry(runtime)[name].partition(":")
    return getattr(import_module(module_name), class_name)


def _registry(runtime: str) -> dict[str, str]:
    try:
        return RUNTIMES[runtime]
    except KeyError:
        raise SandboxError(f"unknown runtime {runtime!r}", f"choose from {', '.join(RUNTIMES)}") from None
