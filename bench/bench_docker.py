"""Benchmark of the docker runtime's components: cold start, warm start, down, RSS. Prints JSON.

Cold: no container of this state dir exists; all components start in parallel (as `up` does) and
each is timed to healthy through its real client (after_start included). Warm: everything runs;
each component is checked (`running()` + health), which is what a warm `up` does. Down:
`cleanup(owner)`. RSS per component, measured like the native runtime (process-tree RSS seen from
the host) and as `docker stats` shows it (cgroup usage minus inactive page cache).

`--full`: the whole docker sandbox through the orchestrator (what `sandbox up --runtime docker`
runs: infra, the Terraform apply, the analytics job, the five services): cold `up` (after `down`),
warm `up` (everything reused), RSS per component as `sandbox status` shows it, `down`.

Private state dir and ports +400 (native sandbox: defaults; another checkout: +200):
    .venv/bin/python bench/bench_docker.py [--only kafka,postgres | --full] [--output reports/bench-docker.json]
Images must be built first: python -m sandbox.images.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))


def bench_full(keep: bool) -> dict:
    """Cold and warm `up` of the whole docker sandbox, status RSS, `down`."""
    os.environ["SANDBOX_RUNTIME"] = "docker"
    from sandbox.orchestrator import Sandbox
    from sandbox.settings import load_settings

    sandbox = Sandbox(load_settings())
    sandbox.down()
    report = {"runtime": "docker", "mode": "full"}
    started = time.perf_counter()
    results = sandbox.up()
    report["cold_up_s"] = round(time.perf_counter() - started, 2)
    report["cold_s"] = {r.name: round(r.seconds, 2) for r in results}
    started = time.perf_counter()
    results = sandbox.up()
    report["warm_up_s"] = round(time.perf_counter() - started, 2)
    report["warm_actions"] = sorted({r.action for r in results})
    time.sleep(2)
    rows = sandbox.status()
    report["rss_mib"] = {r.name: round(r.rss / 2**20) for r in rows}
    report["rss_total_mib"] = sum(report["rss_mib"].values())
    report["healthy"] = all(r.healthy for r in rows if r.counts)
    if not keep:
        started = time.perf_counter()
        sandbox.down()
        report["down_s"] = round(time.perf_counter() - started, 2)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated components (default: all docker infra)")
    parser.add_argument("--output", type=Path, help="also write the JSON here")
    parser.add_argument("--keep", action="store_true", help="leave the containers running at the end")
    parser.add_argument("--full", action="store_true", help="the whole sandbox through the orchestrator")
    args = parser.parse_args()
    os.environ.setdefault("SANDBOX_STATE_DIR", str(PROJECT / ".sandbox-docker-bench"))
    from sandbox.instances import docker_test_env

    for key, port in docker_test_env().items():  # as `make test-docker`
        os.environ.setdefault(key, port)
    if args.full:
        text = json.dumps(bench_full(args.keep), indent=2)
        print(text)
        if args.output:
            args.output.parent.mkdir(parents=True, exist_ok=True)
            args.output.write_text(text + "\n")
        return

    from sandbox import components
    from sandbox.components.base import Kind
    from sandbox.components.docker import base
    from sandbox.settings import load_settings
    from sandbox.state import StateDir

    settings = load_settings()
    state = StateDir(settings.state_dir)
    state.ensure()
    names = [n.strip() for n in args.only.split(",")] if args.only else components.names_of(Kind.INFRA, "docker")
    comps = []
    for name in names:
        comps.append(components.load(name, "docker")(settings, state))
    owner = base.owner_of(state)
    base.cleanup(owner)

    def cold(comp):
        started = time.perf_counter()
        comp.preflight()
        comp.prepare()
        comp.start()
        comp.wait_healthy(settings.start_timeout)
        return time.perf_counter() - started

    def warm(comp):
        started = time.perf_counter()
        assert comp.running(), f"{comp.name} is not running"
        health = comp.health()
        assert health.ok, f"{comp.name}: {health.detail}"
        return time.perf_counter() - started

    report = {"runtime": "docker", "images": {c.name: c.image for c in comps}}
    try:
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=len(comps)) as pool:
            cold_each = dict(zip(names, pool.map(cold, comps), strict=True))
        report["cold_up_s"] = round(time.perf_counter() - started, 2)
        report["cold_s"] = {k: round(v, 2) for k, v in cold_each.items()}
        time.sleep(2)  # let start-up spikes settle before measuring memory
        report["rss_mib"] = {c.name: round(c.rss() / 2**20) for c in comps}
        report["rss_cgroup_mib"] = {c.name: round(c.rss_cgroup() / 2**20) for c in comps}
        report["rss_total_mib"] = sum(report["rss_mib"].values())
        report["rss_cgroup_total_mib"] = sum(report["rss_cgroup_mib"].values())
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=len(comps)) as pool:
            warm_each = dict(zip(names, pool.map(warm, comps), strict=True))
        report["warm_up_s"] = round(time.perf_counter() - started, 2)
        report["warm_s"] = {k: round(v, 3) for k, v in warm_each.items()}
    finally:
        if not args.keep:
            started = time.perf_counter()
            report["removed"] = base.cleanup(owner)
            report["down_s"] = round(time.perf_counter() - started, 2)
    text = json.dumps(report, indent=2)
    print(text)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text + "\n")


if __name__ == "__main__":
    main()
