"""The `sandbox` command line: up, down, status, env, logs, snapshot, reset, doctor."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import time
from pathlib import Path

import click
from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.table import Table

from sandbox.errors import SandboxError

console = Console()
err_console = Console(stderr=True)


class SandboxGroup(click.Group):
    """Turns every SandboxError into one red line and exit code 1, never a traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except SandboxError as exc:
            err_console.print(f"[bold red]error:[/] {exc}", markup=True, highlight=False, soft_wrap=True)
            sys.exit(1)


def _sandbox(runtime: str | None = None):
    """The sandbox for this project. The runtime is the one `up --runtime` chose last (kept in the
    state dir), unless given or set in the environment."""
    import os

    from sandbox.orchestrator import Sandbox
    from sandbox.settings import load_settings, settings

    base = settings()
    marker = base.state_dir / "state" / "runtime"
    if runtime is None and "SANDBOX_RUNTIME" not in os.environ and marker.exists():
        runtime = marker.read_text().strip()
    if runtime and runtime != base.runtime:
        base = load_settings(runtime=runtime)
    if runtime:
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(runtime)
    return Sandbox(base)


def _join_names(_ctx, _param, values: tuple[str, ...]) -> str | None:
    """`--only a,b --only c` means a,b,c (a repeated option must not silently keep only the last)."""
    return ",".join(values) if values else None


def only_option(help_text: str):
    return click.option("--only", metavar="NAMES", multiple=True, callback=_join_names, help=help_text)


@click.group(cls=SandboxGroup, context_settings={"help_option_names": ["-h", "--help"]})
def main():
    """Local-first emulated cloud for the ticket-booking system."""


@main.command()
@only_option("Comma-separated subset, e.g. kafka,postgres (repeatable).")
@click.option("--runtime", type=click.Choice(["native", "docker", "cluster"]), default=None,
              help="native processes (default), containers, or services in a Kubernetes cluster; "
                   "remembered for the next commands.")
@click.option("--cluster", is_flag=True,
              help="Same as --runtime cluster: a one-node Kubernetes built from source runs the services.")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON (no live progress).")
def up(only, runtime, cluster, as_json):
    """Start (or heal) the sandbox; healthy components are reused."""
    if cluster and runtime not in (None, "cluster"):
        raise SandboxError(f"--cluster and --runtime {runtime} contradict each other", "give one of them")
    sandbox = _sandbox("cluster" if cluster else runtime)
    if as_json:
        started = time.monotonic()
        results = sandbox.up(only)
        snapshot_s = sandbox.first_up_snapshot_s
        click.echo(json.dumps({"seconds": round(time.monotonic() - started, 3),
                               "first_up_snapshot_seconds": None if snapshot_s is None else round(snapshot_s, 3),
                               "components": [
            {"component": r.name, "action": r.action, "seconds": round(r.seconds, 3), "health": r.health.detail}
            for r in results]}, indent=2))
        return
    names = sandbox.names(only)
    phases = {n: ("queued", time.monotonic()) for n in names}
    started = time.monotonic()

    def render() -> Table:
        table = Table(title="sandbox up", title_justify="left")
        table.add_column("component")
        table.add_column("phase")
        table.add_column("time", justify="right")
        for name, (phase, since) in phases.items():
            style = {"healthy": "green", "reused": "green", "failed": "red"}.get(phase, "yellow")
            table.add_row(name, f"[{style}]{phase}[/]", f"{time.monotonic() - since:.1f}s")
        return table

    def progress(name: str, phase: str) -> None:
        _, since = phases.get(name, (phase, time.monotonic()))  # a new row: the first-up snapshot
        phases[name] = (phase, since)

    with Live(render(), console=console, refresh_per_second=8, transient=True) as live:
        import threading

        done = threading.Event()

        def refresh():
            while not done.wait(0.125):
                live.update(render())

        ticker = threading.Thread(target=refresh, daemon=True)
        ticker.start()
        try:
            results = sandbox.up(only, progress)
        finally:
            done.set()
            ticker.join()
    table = Table(title=f"sandbox up: {len(results)} component(s) healthy in {time.monotonic() - started:.1f}s",
                  title_justify="left")
    table.add_column("component", no_wrap=True)
    for column in ("action", "time", "endpoint", "health"):
        table.add_column(column)
    for result in results:
        comp = sandbox.component(result.name)
        table.add_row(result.name, result.action, f"{result.seconds:.1f}s", _endpoint(comp), result.health.detail)
    console.print(table)
    if sandbox.first_up_snapshot_s is not None:
        console.print(f"took the first-up snapshot (what `sandbox reset` returns to) in {sandbox.first_up_snapshot_s:.1f}s")


def _endpoint(comp) -> str:
    if getattr(comp, "url", None) and comp.port:
        return comp.url
    return ", ".join(f"127.0.0.1:{port}" for port in comp.ports.values())


@main.command()
@only_option("Comma-separated subset to stop (repeatable).")
@click.option("--wipe", is_flag=True, help="Also delete data, logs and state.")
def down(only, wipe):
    """Stop everything the sandbox started (no orphans); --wipe deletes data too."""
    started = time.monotonic()
    stopped = _sandbox().down(only, wipe)
    what = ", ".join(stopped) if stopped else "nothing was running"
    console.print(f"stopped: {what}{' (data wiped)' if wipe else ''} in {time.monotonic() - started:.1f}s")


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def status(as_json):
    """State, pid, port, uptime, health and memory per component; exit 1 if something is unhealthy."""
    rows = _sandbox().status()
    if as_json:
        click.echo(json.dumps([
            {"component": r.name, "state": r.state, "pids": r.pids, "port": r.port, "uptime_s": r.uptime,
             "healthy": r.healthy, "health": r.health.detail, "rss_bytes": r.rss, "kind": r.kind} for r in rows
        ], indent=2))
    else:
        table = Table(title="sandbox status", title_justify="left")
        table.add_column("component", no_wrap=True)
        for column in ("state", "pid", "port", "uptime", "health", "rss"):
            table.add_column(column)
        for r in rows:
            color = "green" if r.healthy else ("red" if r.counts else "dim")
            table.add_row(r.name, f"[{color}]{r.state}[/]", ",".join(map(str, r.pids)) or "-", str(r.port),
                          _duration(r.uptime), r.health.detail, f"{r.rss / 2**20:.0f} MiB" if r.rss else "-")
        console.print(table)
    counted = [r for r in rows if r.counts]
    if not counted or any(not r.healthy for r in counted):
        sys.exit(1)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


@main.command()
@click.option("--format", "fmt", type=click.Choice(["export", "dotenv", "json"]), default="export",
              show_default=True)
def env(fmt):
    """Endpoint env vars with the names the real clouds use: eval "$(sandbox env)"."""
    values = _sandbox().env()
    if fmt == "json":
        click.echo(json.dumps(values, indent=2, sort_keys=True))
        return
    prefix = "export " if fmt == "export" else ""
    for key in sorted(values):
        click.echo(f"{prefix}{key}={shlex.quote(values[key])}")


@main.command()
@click.argument("component", required=False)
@click.option("-f", "--follow", is_flag=True, help="Keep printing new lines.")
@click.option("-n", "--lines", default=50, show_default=True, help="Lines to show per log file.")
def logs(component, follow, lines):
    """Show a component's log file (all components when none is named)."""
    sandbox = _sandbox()
    files, texts = [], []
    if component == "lambda":
        files = [sandbox.state.log_file("lambda")]
    else:
        for name in sandbox.names(component):
            more_files, text = sandbox.logs(name, lines)
            files += more_files
            texts += [text] if text else []
    existing = [str(f) for f in files if f.exists()]
    for text in texts:  # a container's logs live in the engine
        click.echo(text)
    if not existing:
        if texts:
            return
        raise SandboxError(f"no logs yet for {component or 'any component'}", "run `sandbox up` first")
    command = ["tail", "-n", str(lines), *(["-F"] if follow else []), *existing]
    try:
        subprocess.run(command, check=False)
    except KeyboardInterrupt:
        pass


@main.command()
@click.argument("ident", metavar="ID")
@click.option("--json", "as_json", is_flag=True, help="Print the trace as JSON (for tools).")
@click.option("--wait", "wait_s", type=click.FloatRange(min=0), default=3.0, show_default=True,
              help="Seconds to wait for late log lines while the path looks incomplete.")
def trace(ident, as_json, wait_s):
    """The path of one booking id, request id or S3 key across the components, as a timeline.

    Exit code 0 when the path is complete, 1 when it stopped (the last log lines of the component
    that should have acted are shown), 2 when the logs store is not running or the id is unknown."""
    from sandbox.observability.logsql import FIX, LogsStore, LogsStoreUnavailable
    from sandbox.observability.records import Records
    from sandbox.observability.trace import Tracer, UnknownId, clock

    def fail(message: str, fix: str) -> None:
        err_console.print(f"[bold red]error:[/] {message} (fix: {fix})", markup=True, highlight=False, soft_wrap=True)
        sys.exit(2)

    env = _sandbox().env()
    if "LOGS_URL" not in env:
        fail("this sandbox has no logs store", "set [observability] enabled = true in sandbox.toml, then `sandbox up`")
    window = env.get("ANALYTICS_WINDOW_SECONDS")
    tracer = Tracer(LogsStore(env["LOGS_URL"]), Records(env), int(window) if window else None, wait_s)
    try:
        result = tracer.trace(ident)
    except LogsStoreUnavailable as exc:
        fail(str(exc), FIX)
    except (UnknownId, ValueError) as exc:
        fail(str(exc), "give a booking id, request id or S3 key of this sandbox; log lines reach the store "
                       "a second or two after they are written")
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=2))
        sys.exit(0 if result.complete else 1)
    table = Table(title=f"trace {result.id} ({result.kind.replace('_', ' ')})", title_justify="left")
    table.add_column("component", no_wrap=True)
    table.add_column("time", no_wrap=True)
    table.add_column("+ms", justify="right", no_wrap=True)
    table.add_column("what happened")
    table.add_column("status", no_wrap=True)
    for hop in result.hops:
        offset = result.offset_ms(hop)
        who = hop.component + (f" [dim]{hop.pod}[/]" if hop.pod and hop.pod != hop.component else "")
        table.add_row(who, clock(hop.time), "-" if offset is None else f"{offset:.0f}", escape(hop.what),
                      f"[{'green' if hop.ok else 'red'}]{escape(hop.status)}[/]")
    console.print(table)
    stopped = result.stopped_at
    if stopped is None:
        span = result.offset_ms(result.hops[-1]) if result.hops else None
        console.print(f"[green]complete[/]: {len(result.hops)} hops" + (f" in {span:.0f} ms" if span else ""))
        return
    said = "failed" if stopped.reason == "failed" else "expected"
    console.print(f"[bold red]stopped at {stopped.component}[/]: {said} {escape(stopped.expected)}", soft_wrap=True)
    for more in result.missing[1:]:
        console.print(f"  [dim]also missing ({more.component}): {escape(more.expected)}[/]", soft_wrap=True)
    console.print(f"last lines of {stopped.component} in the logs store:")
    for line in result.last_lines or ["(none)"]:
        console.print(f"  {escape(line)}", highlight=False, soft_wrap=True)
    sys.exit(1)


@main.group()
def flink():
    """The analytics job on the sandbox's Flink cluster: submit, list, cancel."""


def _analytics():
    return _sandbox().component("analytics")


@flink.command("list")
def flink_list():
    """Jobs on the cluster with their state."""
    table = Table(title="flink jobs", title_justify="left")
    for column in ("job id", "name", "state", "started"):
        table.add_column(column)
    for job in _analytics().jobs():
        started = time.strftime("%H:%M:%S", time.localtime(job["start-time"] / 1000))
        table.add_row(job["jid"], job["name"], job["state"], started)
    console.print(table)


@flink.command("submit")
@click.option("--fresh", is_flag=True, help="Do not resume from the last savepoint/checkpoint.")
def flink_submit(fresh):
    """Submit the analytics job (resuming from its last savepoint or checkpoint)."""
    analytics = _analytics()
    if analytics.running_job():
        raise SandboxError("the analytics job is already running", "`sandbox flink cancel` first")
    console.print(f"submitted job {analytics.submit(resume=not fresh)}")


@flink.command("cancel")
@click.option("--no-savepoint", is_flag=True, help="Cancel without taking a savepoint.")
def flink_cancel(no_savepoint):
    """Stop the analytics job, with a savepoint by default (the next submit resumes from it)."""
    analytics = _analytics()
    if not analytics.running_job():
        raise SandboxError("no analytics job is running", "`sandbox flink submit` or `sandbox up`")
    path = analytics.cancel(savepoint=not no_savepoint)
    console.print(f"stopped; savepoint: {path}" if path else "cancelled")


@main.group()
def snapshot():
    """Save and load one consistent point in time of every stateful component (sandbox/snapshots.py)."""


def _snapshots():
    from sandbox.snapshots import Snapshots

    return Snapshots(_sandbox())


def _size(count: int) -> str:
    return f"{count / 2**20:.1f} MiB"


@snapshot.command("save")
@click.argument("name")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write it as a tarball (.tar, or .tar.gz compressed) another machine can load.")
@click.option("--replace", is_flag=True, help="Overwrite a snapshot of that name.")
def snapshot_save(name, output, replace):
    """Stop, copy every stateful component's files, start again (when it was running)."""
    started = time.monotonic()
    info = _snapshots().save(name, output, replace)
    where = f", written to {output}" if output else ""
    console.print(f"saved snapshot {info.name} ({', '.join(info.components)}; {_size(info.bytes)}) "
                  f"in {time.monotonic() - started:.1f}s{where}")


@snapshot.command("load")
@click.argument("source", metavar="NAME|FILE")
def snapshot_load(source):
    """Bring every stateful component back to a snapshot (a name, or a file from --output)."""
    started = time.monotonic()
    info = _snapshots().load(source)
    console.print(f"loaded snapshot {info.name} of {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(info.created))} "
                  f"in {time.monotonic() - started:.1f}s")


@snapshot.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def snapshot_list(as_json):
    """The snapshots of this sandbox, oldest first."""
    found = _snapshots().saved()
    if as_json:
        click.echo(json.dumps([{"name": i.name, "created": i.created, "runtime": i.runtime, "bytes": i.bytes,
                                "components": i.components} for i in found], indent=2))
        return
    table = Table(title="sandbox snapshots", title_justify="left")
    for column in ("name", "created", "runtime", "size", "components"):
        table.add_column(column)
    for i in found:
        table.add_row(i.name, time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(i.created)), i.runtime,
                      _size(i.bytes), ", ".join(i.components))
    console.print(table)


@snapshot.command("rm")
@click.argument("name")
def snapshot_rm(name):
    """Delete a snapshot."""
    _snapshots().remove(name)
    console.print(f"removed snapshot {name}")


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output (the in-place reset's timings).")
def reset(as_json):
    """Back to the state right after the first healthy `up` (the automatic first-up snapshot): in
    place while the sandbox runs (sandbox/reset.py), else the snapshot's full load."""
    started = time.monotonic()
    info, timings, why = _snapshots().reset()
    total = time.monotonic() - started
    if as_json:
        click.echo(json.dumps({"snapshot": info.name, "in_place": timings is not None, "seconds": round(total, 3),
                               "timings": timings, "full_load_because": why}, indent=2))
        return
    if timings is None:
        console.print(f"reset to the first-up snapshot in {total:.1f}s (its full load: {why})")
        return
    stores = ", ".join(f"{n} {timings[n + '_s']:.2f}s" for n in ("kafka", "postgres", "aws"))
    console.print(f"reset to the first-up snapshot in place in {total:.1f}s: the stores' data in "
                  f"{timings['data_s']:.2f}s ({stores}, files {timings['files_s']:.2f}s); services and the "
                  f"analytics job stopped in {timings['stop_s']:.1f}s and started again in {timings['start_s']:.1f}s")


@main.command(context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def tf(args):
    """Run terraform in terraform/aws against the emulator (what tflocal does), e.g. `sandbox tf plan`."""
    terraform = _sandbox().component("terraform")
    sys.exit(terraform.run(*args, check=False, capture=False).returncode)


@main.command()
@click.option("--plan", "target", type=click.Choice(["aws", "gcp"]), required=True,
              help="Cloud whose full stack is validated and planned.")
def promote(target):
    """Promotion rehearsal: validate and plan the full cloud workspace against the emulator."""
    from sandbox.promote import plan_summary

    summary = plan_summary(_sandbox(), target)
    table = Table(title=f"terraform plan, workspace {target} ({summary.total} resources to add)", title_justify="left")
    for column in ("resource type", "create", "update", "delete"):
        table.add_column(column)
    for kind, counts in sorted(summary.by_type.items()):
        table.add_row(kind, *(str(counts.get(a, 0) or "") for a in ("create", "update", "delete")))
    console.print(table)
    console.print(f"validate: ok; plan: {summary.total} to add, {summary.changes} to change, "
                  f"{summary.deletes} to destroy; saved to {summary.plan_file}")


@main.command()
def doctor():
    """Check prerequisites (java, mvn, postgres, terraform, free ports, disk) and print the fix for each."""
    from sandbox.doctor import run_checks

    checks = run_checks(_sandbox())
    table = Table(title="sandbox doctor", title_justify="left")
    for column in ("check", "result", "detail / fix"):
        table.add_column(column)
    for check in checks:
        mark = "[green]ok[/]" if check.ok else ("[yellow]warn[/]" if check.optional else "[red]missing[/]")
        table.add_row(check.name, mark, check.detail if check.ok else check.fix)
    console.print(table)
    if any(not c.ok and not c.optional for c in checks):
        sys.exit(1)


if __name__ == "__main__":
    main()
