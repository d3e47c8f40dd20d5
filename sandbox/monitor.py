"""Background health monitor: re-checks the running components whose client is slow to import
(`cached_health`: the AWS and GCS SDKs, Kafka's, Postgres's) through that client every few
seconds and keeps the results in `<state>/state/health.json`.

Warm `sandbox up` and `sandbox status` read these results instead of importing the SDKs, which is
what keeps them well under a second; every other component they probe themselves, so the monitor
does not (on an idle sandbox its ~20 probes every 2 s were 5 % of a core).

It restarts crashed *services* (as a Deployment would) and runs the HPA emulation (sandbox/hpa.py),
but never restarts infrastructure: a dead broker or database stays visible as dead until
`sandbox up` heals it, so fault tests can observe it. It exits when nothing is running.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from sandbox import health_cache, hpa, observability, process
from sandbox.components.base import Kind
from sandbox.orchestrator import Sandbox
from sandbox.runtimes import quick

INTERVAL = 2.0


def _check(sandbox, comp) -> dict | None:
    record = sandbox.state.load(comp.name)
    if not record:
        return None
    alive = [p for p in record.processes if process.is_running(p)]
    if len(alive) != len(record.processes):
        return {"ok": False, "detail": "process exited", "checked_at": time.time()}
    started = time.time()
    health = quick(comp.probe())
    return {"ok": health.ok, "detail": health.detail, "checked_at": started}


def autoscale(sandbox, autoscaler) -> None:
    """One HPA round over the autoscaled services (see sandbox/hpa.py)."""
    decisions = []
    for name in sandbox.names():
        comp = sandbox.component(name)
        if comp.kind is not Kind.SERVICE:
            continue
        decision = autoscaler.evaluate(comp, sandbox.state.load(name))
        if not decision:
            continue
        decisions.append(decision)
        if decision.desired != decision.current and sandbox.scale(name, decision.desired):
            print(f"{time.strftime('%H:%M:%S')} hpa {name}: {decision.current} -> {decision.desired} replicas "
                  f"(cpu {decision.utilization}% of request, target {decision.target}%)", flush=True)
    if decisions:
        hpa.save(sandbox.state, decisions)


class _CommitWatch:
    """Cluster mode: a commit to the served branch is synced by ArgoCD within seconds."""

    def __init__(self, sandbox):
        from sandbox.cluster.context import ClusterContext

        self.ctx = ClusterContext(sandbox.settings, sandbox.state)
        self.head: str | None = None

    def check(self) -> None:
        from sandbox.components.cluster.argocd import refresh_on_commit

        try:
            seen = refresh_on_commit(self.ctx, self.head)
        except OSError as exc:  # the apiserver or ArgoCD restarting: the next round tries again
            print(f"{time.strftime('%H:%M:%S')} argocd refresh: {exc}", flush=True)
            return
        if seen != self.head and self.head:
            print(f"{time.strftime('%H:%M:%S')} new commit {seen[:12] if seen else '?'}: ArgoCD refreshing", flush=True)
        self.head = seen


def run() -> None:
    sandbox = Sandbox()
    autoscaler = hpa.Autoscaler(sandbox.settings.hpa.stabilization_seconds)
    last_autoscale = 0.0
    commits = _CommitWatch(sandbox) if sandbox.settings.runtime == "cluster" else None
    if observability.active(sandbox.settings):
        from sandbox.observability import hpa_metrics

        hpa_metrics.serve(sandbox)
    # kept across rounds, with the clients they make (a new SDK client each round cost more
    # CPU than the call it makes)
    probed = {n: c for n in sandbox.names() if (c := sandbox.component(n)).cached_health}
    with ThreadPoolExecutor(max_workers=8) as pool:
        while True:
            names = [n for n in sandbox.names() if sandbox.state.load(n)]
            if not names:
                return
            cached = [n for n in names if n in probed]
            sandbox.endpoints.refresh()  # a Terraform apply since the last round changes outputs
            for name in sandbox.restart_crashed_services():
                print(f"{time.strftime('%H:%M:%S')} restarted crashed service {name}", flush=True)
            if time.monotonic() - last_autoscale >= sandbox.settings.hpa.period_seconds:
                last_autoscale = time.monotonic()
                autoscale(sandbox, autoscaler)
            if commits:
                commits.check()
            results = dict(zip(cached, pool.map(lambda n: _check(sandbox, probed[n]), cached), strict=True))
            health_cache.write(sandbox.state, {k: v for k, v in results.items() if v})
            time.sleep(INTERVAL)


if __name__ == "__main__":
    run()
