"""Cluster mode's figures (`sandbox up --cluster`, binaries cached): cold start of the whole system
to every ArgoCD Application Synced/Healthy from an empty state dir, the same with its data kept
(after `down`), warm `up`, and the RSS and idle CPU of the cluster's parts (and, apart, of the
pods and their shims). Own state dir and ports (+1000), so it runs beside any other sandbox.

    python bench/bench_cluster.py [--output reports/bench-cluster.json]

Commit-to-synced latency and the HPA's reaction under `make load` are measured by hand (they
need a commit to the served branch, and minutes of load): the README has the last figures.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))
BIN = Path(sys.executable).parent
PARTS = ("cluster-network", "etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "containerd",
         "kubelet", "kube-proxy", "coredns", "metrics-server", "git-daemon", "argocd-redis", "argocd-repo-server",
         "argocd-application-controller", "argocd-server")
TARGETS = {"cold_up_s": 45.0, "rss_parts_gib": 1.5, "idle_cpu_parts_pct": 10.0}


def sandbox(*args: str, env: dict, timeout: float = 900) -> tuple[float, subprocess.CompletedProcess]:
    started = time.perf_counter()
    result = subprocess.run([str(BIN / "sandbox"), *args], env=env, cwd=PROJECT, capture_output=True, text=True,
                            timeout=timeout)
    if result.returncode != 0:
        raise SystemExit(f"sandbox {' '.join(args)} failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    return round(time.perf_counter() - started, 2), result


def phases(result: subprocess.CompletedProcess) -> dict[str, float]:
    return {c["component"]: c["seconds"] for c in json.loads(result.stdout)["components"]}


def part_processes(env: dict) -> tuple[list[psutil.Process], list[psutil.Process]]:
    """The parts' processes (with their children), and the pods' processes with their shims."""
    rows = json.loads(subprocess.run([str(BIN / "sandbox"), "status", "--json"], env=env, cwd=PROJECT,
                                     capture_output=True, text=True).stdout)
    parts: list[psutil.Process] = []
    for row in rows:
        if row["component"] in PARTS:
            for pid in row["pids"]:
                try:
                    proc = psutil.Process(pid)
                    parts += [proc, *proc.children(recursive=True)]
                except psutil.NoSuchProcess:
                    pass
    from sandbox.cluster.namespaces import ClusterNamespaces

    run_dir = str(ClusterNamespaces(Path(env["SANDBOX_STATE_DIR"]), "10.200.0.1").run_dir)  # the shims' -address
    shims = [p for p in psutil.process_iter(["name", "cmdline"]) if (p.info["name"] or "").startswith("containerd-shim")
             and run_dir in " ".join(p.info["cmdline"] or [])]
    pods = [q for s in shims for q in [s, *s.children(recursive=True)]]
    part_pids = {p.pid for p in parts}
    return [p for p in parts if p.pid not in {q.pid for q in pods}], [q for q in pods if q.pid not in part_pids]


def cpu(procs: list[psutil.Process]) -> float:
    total = 0.0
    for proc in procs:
        try:
            times = proc.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


def rss(procs: list[psutil.Process]) -> int:
    total = 0
    for proc in procs:
        try:
            total += proc.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=PROJECT / "reports" / "bench-cluster.json")
    parser.add_argument("--idle-seconds", type=float, default=30)
    args = parser.parse_args()
    from sandbox.instances import shifted_env

    state = Path(tempfile.mkdtemp(prefix="bench-cluster-", dir=PROJECT / ".cache"))
    state.chmod(0o755)  # postgres runs as its own OS user
    env = {**os.environ, "SANDBOX_STATE_DIR": str(state / "state"), "SANDBOX_RUNTIME": "cluster",
           "SANDBOX_SNAPSHOTS__FIRST_UP": "false",  # the figures are of `up` itself
           **shifted_env(1000, replica_base=29000)}
    results: dict = {}
    try:
        results["cold_up_s"], cold = sandbox("up", "--cluster", "--json", env=env)
        results["cold_phases_s"] = phases(cold)
        results["warm_up_s"], _ = sandbox("up", "--json", env=env)
        time.sleep(10)  # past the start-up work (first scrapes, first reconciliations)
        parts, pods = part_processes(env)
        before = (cpu(parts), cpu(pods))
        time.sleep(args.idle_seconds)
        after = (cpu(parts), cpu(pods))
        results["idle_cpu_parts_pct"] = round((after[0] - before[0]) / args.idle_seconds * 100, 1)
        results["idle_cpu_pods_pct"] = round((after[1] - before[1]) / args.idle_seconds * 100, 1)
        results["rss_parts_gib"] = round(rss(parts) / 2**30, 3)
        results["rss_pods_gib"] = round(rss(pods) / 2**30, 3)
        results["down_s"], _ = sandbox("down", env=env)
        results["cold_up_data_kept_s"], kept = sandbox("up", "--json", env=env)
        results["data_kept_phases_s"] = phases(kept)
    finally:
        subprocess.run([str(BIN / "sandbox"), "down", "--wipe"], env=env, cwd=PROJECT, capture_output=True)
        shutil.rmtree(state, ignore_errors=True)
    results["machine"] = {"cpus": os.cpu_count(), "load_avg_1m": round(os.getloadavg()[0], 2)}
    results["targets"] = {key: f"<= {value}" for key, value in TARGETS.items()}
    results["met"] = {key: results[key] <= value for key, value in TARGETS.items()}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
