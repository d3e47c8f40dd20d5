"""HorizontalPodAutoscaler emulation for the native runtime (an emulation, documented as such).

Every `period` seconds the monitor measures the CPU used by each autoscaled service's replica
process groups, expresses it as a percentage of the Deployment's CPU request per replica (what
the metrics server reports to a real HPA), and applies the HPA algorithm: desired =
ceil(current * utilisation / target), no change within a 10 % tolerance, clamped to
min..max, scale-up at once, scale-down only to the highest recommendation of the last
`stabilization` seconds (Kubernetes waits 300 s; the sandbox defaults to 30 s).
"""

from __future__ import annotations

import json
import math
import time
from collections import deque
from dataclasses import asdict, dataclass

from sandbox import process

TOLERANCE = 0.1
INITIALIZATION = 15.0


def desired_replicas(current: int, utilization: float, target: float, low: int, high: int) -> int:
    """The HPA formula for one CPU metric."""
    ratio = utilization / target
    wanted = current if abs(ratio - 1) <= TOLERANCE else math.ceil(current * ratio)
    return max(low, min(high, wanted))


@dataclass
class Decision:
    service: str
    current: int
    recommended: int
    desired: int
    utilization: float
    target: int
    low: int
    high: int
    at: float


class Autoscaler:
    def __init__(self, stabilization: float = 30.0):
        self.stabilization = stabilization
        self._cpu: dict[str, tuple[dict[int, float], float]] = {}  # service -> ({pid: cpu s}, time)
        self._recommendations: dict[str, deque] = {}

    def evaluate(self, service, record) -> Decision | None:
        workload = service.workload
        if not workload.cpu_target or not record:
            return None
        now = time.monotonic()
        # like the HPA's CPU initialization period: a replica's start-up (imports, forking its
        # workers) is not load, so replicas younger than INITIALIZATION seconds are not measured
        settled = [p for p in record.processes if time.time() - p.create_time >= INITIALIZATION]
        sample = {p.pid: process.tree_cpu_seconds(p.pid) for p in settled if process.is_running(p)}
        previous, since = self._cpu.get(service.name, ({}, now))
        self._cpu[service.name] = (sample, now)
        measured = [pid for pid in sample if pid in previous]
        if not measured or now <= since:
            return None
        used = sum(max(0.0, sample[pid] - previous[pid]) for pid in measured)
        cores_per_replica = workload.cpu_request_millis / 1000
        utilization = used / (now - since) / (len(measured) * cores_per_replica) * 100
        current = len(record.processes)
        recommended = desired_replicas(current, utilization, workload.cpu_target, workload.min_replicas,
                                       workload.max_replicas)
        history = self._recommendations.setdefault(service.name, deque())
        history.append((now, recommended))
        while history and history[0][0] < now - self.stabilization:
            history.popleft()
        # scale up at once; scale down no further than the highest recent recommendation
        desired = recommended if recommended >= current else min(current, max(r for _, r in history))
        return Decision(service.name, current, recommended, desired, round(utilization, 1), workload.cpu_target,
                        workload.min_replicas, workload.max_replicas, time.time())


def save(state, decisions: list[Decision]) -> None:
    path = state.records_dir / "hpa.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({d.service: asdict(d) for d in decisions}, indent=2))
    tmp.replace(path)


def load(state) -> dict:
    try:
        return json.loads((state.records_dir / "hpa.json").read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}
