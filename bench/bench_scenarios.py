"""The whole scenario suite from cold (`pytest -n 2 --dist loadgroup scenarios`, the plugin brings
the sandbox up and down), on a private state dir and shifted ports, so a sandbox you are using is
never touched. Issue 6's target: <= 120 s wall, sandbox start included.

Cold = nothing running, as for a developer's `make scenarios`: the state dir is first initialised
by one `up` + `down` (Terraform init, initdb, Kafka format, Lambda zip: one-off work, reported
apart as ``first_up_s``), then the suite is timed from the start of pytest to its exit.

    .venv/bin/python bench/bench_scenarios.py          # prints one JSON object
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def run_suite(timeout: float = 900) -> dict:
    """Run the suite once from cold; wall time measured outside pytest, the rest from its report."""
    sys.path.insert(0, str(PROJECT))
    from bench.bench_sandbox import private_env

    state = Path(tempfile.mkdtemp(prefix="bench-scen-", dir=PROJECT / ".cache"))  # its name keys the test locks
    state.chmod(0o755)
    report = Path(tempfile.gettempdir()) / f"{state.name}.json"
    env = {k: v for k, v in private_env(state).items() if k not in ("SCENARIO_KEEP", "SCENARIO_SKIP_UP")}
    env["SCENARIO_REPORT"] = str(report)
    try:
        t0 = time.perf_counter()
        subprocess.run([str(BIN / "sandbox"), "up"], cwd=PROJECT, env=env, capture_output=True, check=True)
        first_up = time.perf_counter() - t0
        subprocess.run([str(BIN / "sandbox"), "down"], cwd=PROJECT, env=env, capture_output=True, check=True)
        time.sleep(5)  # let the load of that settle a little
        load_before = os.getloadavg()
        started = time.perf_counter()
        run = subprocess.run([sys.executable, "-m", "pytest", "-n", "2", "--dist", "loadgroup", "scenarios",
                              "-q", "-p", "no:cacheprovider"], cwd=PROJECT, env=env, capture_output=True,
                             text=True, timeout=timeout)
        wall = time.perf_counter() - started
        doc = json.loads(report.read_text()) if report.exists() else {}
    finally:  # whatever happened, leave nothing running
        subprocess.run([str(BIN / "sandbox"), "down", "--wipe"], cwd=PROJECT, env=env, capture_output=True)
        shutil.rmtree(state, ignore_errors=True)
        report.unlink(missing_ok=True)
        for locks in Path(tempfile.gettempdir()).glob(f"scenario-locks-{os.getuid()}-*-{state.name}"):
            shutil.rmtree(locks, ignore_errors=True)
    return {
        "wall_s": round(wall, 1), "exit_code": run.returncode, "counts": doc.get("counts"),
        "up_s": doc.get("up_seconds"), "down_s": doc.get("down_seconds"), "first_up_s": round(first_up, 1),
        "load_avg_1m_before": round(load_before[0], 2), "load_avg_1m_after": round(os.getloadavg()[0], 2),
        "durations_s": {r["scenario"].split("::")[-1]: r["duration"] for r in doc.get("scenarios", [])},
        "failures": [r["scenario"] for r in doc.get("scenarios", []) if r["result"] not in ("passed", "skipped")]
        or ([] if run.returncode == 0 else [run.stdout[-1500:] + run.stderr[-1500:]]),
    }


if __name__ == "__main__":
    print(json.dumps(run_suite()))
