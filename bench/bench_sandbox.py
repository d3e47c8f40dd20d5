"""Benchmark of the native sandbox: cold `up` to all-healthy, warm `up`, `down`, total RSS.

Runs on a private state dir and shifted ports, so a sandbox you are using is never touched.
Prints a table and writes JSON (default reports/bench.json).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

PROJECT = Path(__file__).resolve().parents[1]
SANDBOX = str(Path(sys.executable).parent / "sandbox")
TARGETS = {"cold_up_s": 20.0, "warm_up_s": 1.0, "down_s": 5.0, "rss_gib": 2.5}
PORT_SHIFT = {"AWS": 5566, "KAFKA": 20092, "KAFKA_CONTROLLER": 20093, "POSTGRES": 16432, "GCS": 10023,
              "FLINK_REST": 9081, "FLINK_RPC": 17123}


def run(args: list[str], env: dict) -> float:
    started = time.perf_counter()
    result = subprocess.run([SANDBOX, *args], env=env, cwd=PROJECT, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"sandbox {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=PROJECT / "reports" / "bench.json")
    parser.add_argument("--warm-runs", type=int, default=5)
    args = parser.parse_args()

    state = Path(tempfile.mkdtemp(prefix="sandbox-bench-", dir=PROJECT / ".cache"))
    state.chmod(0o755)
    env = {**os.environ, "SANDBOX_STATE_DIR": str(state / "state"),
           **{f"SANDBOX_PORTS__{k}": str(v) for k, v in PORT_SHIFT.items()}}
    try:
        cold = run(["up"], env)
        time.sleep(3)  # let the monitor take one round of real-client checks
        warm = [run(["up"], env) for _ in range(args.warm_runs)]
        status = json.loads(subprocess.run([SANDBOX, "status", "--json"], env=env, capture_output=True, text=True).stdout)
        rss = {row["component"]: row["rss_bytes"] for row in status}
        down = run(["down"], env)
        restart = run(["up"], env)  # stopped, data kept
        run(["down", "--wipe"], env)
    finally:
        subprocess.run([SANDBOX, "down", "--wipe"], env=env, capture_output=True)
        subprocess.run(["rm", "-rf", str(state)])

    results = {
        "cold_up_s": round(cold, 2),
        "warm_up_s": round(statistics.median(warm), 3),
        "warm_up_runs_s": [round(w, 3) for w in warm],
        "restart_up_s": round(restart, 2),
        "down_s": round(down, 2),
        "rss_gib": round(sum(rss.values()) / 2**30, 3),
        "rss_mib_by_component": {k: round(v / 2**20) for k, v in rss.items()},
        "targets": TARGETS,
        "machine": {"cpus": os.cpu_count(), "load_avg_1m": round(os.getloadavg()[0], 2)},
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2))

    table = Table(title="sandbox bench (native runtime)", title_justify="left")
    for column in ("metric", "value", "target", "ok"):
        table.add_column(column)
    for key, target in TARGETS.items():
        value = results[key]
        table.add_row(key, str(value), f"<= {target}", "yes" if value <= target else "NO")
    table.add_row("restart_up_s (data kept)", str(results["restart_up_s"]), "-", "-")
    for name, mib in results["rss_mib_by_component"].items():
        table.add_row(f"rss {name}", f"{mib} MiB", "-", "-")
    Console().print(table)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
