"""Metrics, dashboards, logs and traces of the sandbox: what the observability components
(sandbox/components/observability) are configured from, and `sandbox trace`."""
