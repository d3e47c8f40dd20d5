"""Background health monitor: re-checks every running component through its real client every
few seconds and keeps the results in `<state>/state/health.json`.

Warm `sandbox up` and `sandbox status` read these results instead of importing five cloud SDKs,
which is what keeps them well under a second. It restarts crashed *services* (as a
Deployment would) and runs the HPA emulation (sandbox/hpa.py), but never restarts infrastructure: a dead broker or database stays visible as dead until
`sandbox up` heals it, so fault tests can observe it. It exits when nothing is running.
"""

from __future__ import annotations

import json
import os
import time
from concurrent.futures import ThreadPoolExecutor

from sandbox import process

INTERVAL = 2.0
FRESH_FOR = 15.0  # seconds a result counts as current
NAME = "monitor"


def health_file(state):
    return state.records_dir / "health.json"


def read_cached(state, name: str, not_before: float):
    """The monitor's last result for `name` if it is recent and newer than `not_before`."""
    try:
        entry = json.loads(health_file(state).read_text())[name]
    except (FileNotFoundError, KeyError, json.JSONDecodeError):
        return None
    checked = entry["checked_at"]
    if checked < not_before or time.time() - checked > FRESH_FOR:
        return None
    from sandbox.health import Health

    return Health(entry["ok"], entry["detail"])


def _check(sandbox, name: str) -> dict:
    record = sandbox.state.load(name)
    if not record:
        return None
    alive = [p for p in record.processes if process.is_running(p)]
    if len(alive) != len(record.processes):
        return {"ok": False, "detail": "process exited", "checked_at": time.time()}
    started = time.time()
    try:
        health = sandbox.component(name).health()
        ok, detail = health.ok, health.detail
    except Exception as exc:
        ok, detail = False, f"{type(exc).__name__}: {exc}"[:200]
    return {"ok": ok, "detail": detail, "checked_at": started}


def autoscale(sandbox, autoscaler) -> None:
    """One HPA round over the autoscaled services (see sandbox/hpa.py)."""
    from sandbox import hpa

    decisions = []
    for name in sandbox.names():
        comp = sandbox.component(name)
        if getattr(comp, "workload", None) is None:
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


def run() -> None:
    from sandbox.hpa import Autoscaler
    from sandbox.orchestrator import Sandbox

    sandbox = Sandbox()
    autoscaler = Autoscaler(sandbox.settings.hpa.stabilization_seconds)
    last_autoscale = 0.0
    with ThreadPoolExecutor(max_workers=8) as pool:
        while True:
            names = [n for n in sandbox.names() if sandbox.state.load(n)]
            if not names:
                return
            for name in sandbox.restart_crashed_services():
                print(f"{time.strftime('%H:%M:%S')} restarted crashed service {name}", flush=True)
            if time.monotonic() - last_autoscale >= sandbox.settings.hpa.period_seconds:
                last_autoscale = time.monotonic()
                autoscale(sandbox, autoscaler)
            results = dict(zip(names, pool.map(lambda n: _check(sandbox, n), names), strict=True))
            target = health_file(sandbox.state)
            tmp = target.with_suffix(f".tmp{os.getpid()}")
            tmp.write_text(json.dumps({k: v for k, v in results.items() if v}))
            os.replace(tmp, target)
            time.sleep(INTERVAL)


if __name__ == "__main__":
    run()
