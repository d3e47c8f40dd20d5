"""Summary of a scenario run: a rich table on the terminal and `reports/scenarios.json`."""

from __future__ import annotations

import io
import json
import os
import time

_RESULTS: dict[str, dict] = {}


def collect(report) -> None:
    """Called for every setup/call/teardown report (on the xdist controller too)."""
    nodeid = report.nodeid.split("@lane-")[0]  # without the xdist group suffix (conftest._lane)
    entry = _RESULTS.setdefault(nodeid, {"scenario": nodeid, "result": "passed", "duration": 0.0,
                                                "worker": getattr(report, "node", None) and
                                                getattr(report.node, "gateway", None) and report.node.gateway.id,
                                                "properties": {}})
    entry["duration"] = round(entry["duration"] + report.duration, 2)
    for key, value in report.user_properties:
        entry["properties"][key] = value
    if report.failed:
        entry["result"] = "failed" if report.when == "call" else "error"
        entry["message"] = str(report.longrepr)[-2000:]
    elif report.skipped and entry["result"] == "passed":
        entry["result"] = "skipped"
        entry["message"] = str(report.longrepr)[-500:]


def finish(terminalreporter, config, target: str, path) -> None:
    from rich.console import Console
    from rich.table import Table

    info = dict(getattr(config, "_scenario", {}))
    if "wall_seconds" not in info and "started_at" in info:
        info["wall_seconds"] = round(time.time() - info["started_at"], 1)
    rows = sorted(_RESULTS.values(), key=lambda r: r["scenario"])
    for r in rows:  # the first test on each worker waited for the bring-up: not its own time
        r["duration"] = round(r["duration"] - r["properties"].get("up_wait_s", 0), 2)
    for r in rows:  # when each test started (before its lock wait), seconds after the run began
        if "started_at" in r["properties"] and "started_at" in info:
            r["properties"]["start_s"] = round(r["properties"].pop("started_at") - info["started_at"], 1)
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["result"]] = counts.get(r["result"], 0) + 1
    table = Table(title=f"scenarios on {target}", title_justify="left")
    for column in ("scenario", "result", "duration", "of which lock wait"):
        table.add_column(column, justify="left" if column in ("scenario", "result") else "right")
    for r in rows:
        style = {"passed": "green", "skipped": "yellow"}.get(r["result"], "red")
        table.add_row(r["scenario"].split("::", 1)[-1] if "::" in r["scenario"] else r["scenario"],
                      f"[{style}]{r['result']}[/]", f"{r['duration']:.1f}s",
                      f"{r['properties'].get('lock_wait_s', 0):.1f}s")
    buf = io.StringIO()
    console = Console(file=buf, width=110, force_terminal=terminalreporter.isatty)
    console.print(table)
    console.print(f"{counts} · target up/reuse {info.get('up_seconds')}s · wall {info.get('wall_seconds')}s · "
                  f"load {os.getloadavg()[0]:.2f}")
    terminalreporter.write(buf.getvalue())
    if info.get("teardown_error"):
        terminalreporter.write_line(f"TEARDOWN FAILED (target left running): {info['teardown_error']}", red=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {"target": target, "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
           "wall_seconds": info.get("wall_seconds"), "up_seconds": info.get("up_seconds"),
           "down_seconds": info.get("down_seconds"), "teardown_error": info.get("teardown_error"),
           "started_target": info.get("started_target"),
           "loadavg": [round(x, 2) for x in os.getloadavg()], "cpus": os.cpu_count(),
           "counts": counts, "scenarios": rows}
    path.write_text(json.dumps(doc, indent=2, default=str) + "\n")
    terminalreporter.write_line(f"scenario report: {path}")
