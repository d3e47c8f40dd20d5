"""CPU seconds each sandbox component spends while a load runs, from /proc (Linux only).

Why: on 2 cores throughput is bounded by CPU per booking summed over every process on the path
(two Flask services, Kafka, the consumer, Postgres, HAProxy, Flink), so the bench reports where the
milliseconds go instead of only the resulting rate. A component's processes are the pids
`sandbox status --json` lists plus all their descendants (server workers, postgres backends).
"""
from __future__ import annotations

import os
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: str) -> tuple[int, float] | None:
    """(parent pid, CPU seconds so far) of one process, or None once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / TICKS


def snapshot(status_rows: list[dict]) -> dict[str, dict[int, float]]:
    """CPU seconds so far of every process, per component: {component: {pid: seconds}}."""
    procs = {int(p): s for p in os.listdir("/proc") if p.isdigit() and (s := _stat(p)) is not None}
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in procs.items():
        children.setdefault(ppid, []).append(pid)
    result = {}
    for row in status_rows:
        todo, seen = list(row.get("pids") or []), {}
        while todo:
            pid = todo.pop()
            if pid in procs and pid not in seen:
                seen[pid] = procs[pid][1]
                todo.extend(children.get(pid, []))
        result[row["component"]] = seen
    return result


def cpu_seconds_between(before: dict[str, dict[int, float]], after: dict[str, dict[int, float]]) -> dict[str, float]:
    """CPU seconds per component from ``before`` to ``after`` (processes that started meanwhile
    count from zero; processes that ended meanwhile are missed, which only under-reports)."""
    return {name: round(sum(t - before.get(name, {}).get(pid, 0.0) for pid, t in pids.items()), 2)
            for name, pids in after.items()}
