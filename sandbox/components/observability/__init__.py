"""The observability components: Prometheus (metrics; its UI graphs them), VictoriaLogs (logs) with
an OpenTelemetry Collector shipping every log file to it, and the exporters of the pieces
that have no /metrics of their own (Postgres, Kafka's consumer groups). Plain loopback processes
in every mode, as the infrastructure is; they start beside it and nothing waits for them."""
