"""Metrics, logs and traces of the sandbox: what the observability components
(sandbox/components/observability) are configured from, and `sandbox trace`."""

# the runtimes whose components are scraped and shipped (the docker and cluster ones not yet)
OBSERVED_RUNTIMES = ("native",)


def active(settings) -> bool:
    """Whether this instance runs the observability components (and its agents feed them)."""
    return settings.observability.enabled and settings.runtime in OBSERVED_RUNTIMES
