"""The HPA's decisions and every service's replica count, served by the monitor under
kube-state-metrics' names, so one dashboard reads the sandbox and a real cluster alike (here from
the HPA emulation's records)."""

from __future__ import annotations

from sandbox import hpa
from sandbox.components.base import Kind

NAMESPACE = "ticketing"


class HpaCollector:
    """Read at scrape time from what the monitor and `up` record: nothing to keep in step."""

    def __init__(self, sandbox):
        self.sandbox = sandbox

    def collect(self):
        from prometheus_client.core import GaugeMetricFamily

        replicas = GaugeMetricFamily("kube_deployment_status_replicas", "Replicas running per Deployment",
                                     labels=["namespace", "deployment"])
        desired = GaugeMetricFamily("kube_horizontalpodautoscaler_status_desired_replicas",
                                    "The HPA's last decision", labels=["namespace", "horizontalpodautoscaler"])
        current = GaugeMetricFamily("kube_horizontalpodautoscaler_status_current_replicas",
                                    "Replicas when the HPA decided", labels=["namespace", "horizontalpodautoscaler"])
        target = GaugeMetricFamily("kube_horizontalpodautoscaler_status_target_metric",
                                   "The CPU utilisation the HPA measured, percent of the request",
                                   labels=["namespace", "horizontalpodautoscaler", "metric_name", "metric_target_type"])
        deployments, autoscalers = self._emulated()
        for name, count in deployments.items():
            replicas.add_metric([NAMESPACE, name], count)
        for name, (want, now, cpu) in autoscalers.items():
            desired.add_metric([NAMESPACE, name], want)
            current.add_metric([NAMESPACE, name], now)
            if cpu is not None:
                target.add_metric([NAMESPACE, name, "cpu", "utilization"], cpu)
        yield from (replicas, desired, current, target)

    def _emulated(self) -> tuple[dict[str, int], dict[str, tuple]]:
        deployments = {}
        for name in self.sandbox.names():
            if self.sandbox.component(name).kind is Kind.SERVICE:
                record = self.sandbox.state.load(name)
                deployments[name] = len(record.processes) if record else 0
        autoscalers = {name: (d["desired"], d["current"], d["utilization"])
                       for name, d in hpa.load(self.sandbox.state).items()}
        return deployments, autoscalers


def serve(sandbox) -> None:
    """On the monitor's loopback port, with the consumer groups' lag (kafka_lag.py); a port in use
    (another monitor) only costs these metrics."""
    from prometheus_client import CollectorRegistry, start_http_server

    from sandbox.observability.kafka_lag import KafkaLagCollector

    registry = CollectorRegistry()
    registry.register(HpaCollector(sandbox))
    registry.register(KafkaLagCollector(f"127.0.0.1:{sandbox.settings.ports.kafka}"))
    try:
        start_http_server(sandbox.settings.observability.ports.hpa, addr="127.0.0.1", registry=registry)
    except OSError as exc:
        print(f"hpa metrics not served: {exc}", flush=True)
