"""Spawning and stopping supervised processes, each in its own process group.

Every spawned process carries SANDBOX_OWNER=<state dir> in its environment, so processes whose
record was lost (CLI killed between spawn and save) are still found and stopped.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterable
from pathlib import Path

import psutil

from sandbox.state import ProcessRecord

OWNER_ENV = "SANDBOX_OWNER"
COMPONENT_ENV = "SANDBOX_COMPONENT"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

# Spawned processes outlive the CLI on purpose. Their Popen handles are kept referenced so Python
# neither warns about them being "still running" nor tries to reap them when a handle is collected.
_detached: list[subprocess.Popen] = []


def spawn(
    role: str,
    command: list[str],
    log_file: Path,
    owner: str,
    component: str,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    user: str | None = None,
) -> ProcessRecord:
    """Start `command` detached in a new session, stdout+stderr appended to `log_file`."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    full_env = {**os.environ, **(env or {}), OWNER_ENV: owner, COMPONENT_ENV: component}
    with open(log_file, "ab") as log:
        log.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} starting {role}: {' '.join(command)}\n".encode())
        log.flush()
        proc = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=full_env,
            cwd=cwd,
            start_new_session=True,
            **as_user(user),
        )
    _detached.append(proc)
    return ProcessRecord(role=role, pid=proc.pid, create_time=psutil.Process(proc.pid).create_time(), command=command,
                         since_boot=since_boot(proc.pid))


def since_boot(pid: int) -> float:
    """When the process started, in seconds after boot (/proc/PID/stat's starttime): unlike
    psutil's create_time (that plus the boot time the wall clock gives) no clock change moves it."""
    with open(f"/proc/{pid}/stat", "rb") as stat:
        fields = stat.read().rsplit(b")", 1)[1].split()  # after the command name, which may hold spaces
    return int(fields[19]) / CLOCK_TICKS


def as_user(user: str | None) -> dict:
    """subprocess arguments that drop to `user` completely: uid, gid and no inherited root groups."""
    if not user:
        return {}
    import pwd

    return {"user": user, "group": pwd.getpwnam(user).pw_gid, "extra_groups": []}


def is_running(record: ProcessRecord) -> bool:
    """True if the recorded process still exists (same pid *and* start time) and is not a zombie.
    The start is compared in time since boot: a wall-clock start moves when the clock is set (seen
    here: a VM stalled for 32 s and its clock was stepped, and every process "exited" at once)."""
    try:
        proc = psutil.Process(record.pid)
        if record.since_boot is not None:
            same = since_boot(record.pid) == record.since_boot
        else:
            same = abs(proc.create_time() - record.create_time) < 1.0
        return same and proc.status() != psutil.STATUS_ZOMBIE
    except (psutil.Error, OSError):
        return False


def group_members(pgid: int) -> list[psutil.Process]:
    members = []
    for proc in psutil.process_iter(["pid"]):
        try:
            if os.getpgid(proc.pid) == pgid:
                members.append(proc)
        except (ProcessLookupError, psutil.Error, OSError):
            continue
    return members


def owned_processes(owner: str, component: str | None = None) -> list[psutil.Process]:
    """Every live process spawned for this state dir (and component), found by its environment marker."""
    found = []
    me = os.getpid()
    for proc in psutil.process_iter(["pid"]):
        if proc.pid == me:
            continue
        try:
            environ = proc.environ()
            if environ.get(OWNER_ENV) == owner and component in (None, environ.get(COMPONENT_ENV)):
                found.append(proc)
        except (psutil.Error, OSError):
            continue
    return found


def stop_group(pgid: int, timeout: float = 4.0, sig: int = signal.SIGTERM) -> None:
    """Signal the whole process group, then SIGKILL whatever is left after `timeout`."""
    stop_groups([pgid], timeout, sig)


def stop_groups(pgids: list[int], timeout: float = 4.0, sig: int = signal.SIGTERM) -> None:
    """Stop several process groups at once: one grace period for all, not one each."""
    for pgid in pgids:
        _signal_group(pgid, sig)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive_groups(pgids):
            return
        time.sleep(0.05)
    for pgid in _alive_groups(pgids):
        _signal_group(pgid, signal.SIGKILL)
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline and _alive_groups(pgids):
        time.sleep(0.05)


def kill_processes(processes: Iterable[psutil.Process], timeout: float = 3.0) -> None:
    """SIGTERM, then SIGKILL after `timeout`. Zombies count as gone: they are not ours to reap."""
    processes = list(processes)
    for proc in processes:
        try:
            proc.terminate()
        except psutil.Error:
            pass
    deadline = time.monotonic() + timeout
    while (alive := [p for p in processes if _alive(p)]) and time.monotonic() < deadline:
        time.sleep(0.05)
    for proc in alive:
        try:
            proc.kill()
        except psutil.Error:
            pass


def _alive(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _alive_groups(pgids: list[int]) -> set[int]:
    """Which of `pgids` still have a live (non-zombie) member; one scan of the process table."""
    wanted, alive = set(pgids), set()
    for proc in psutil.process_iter(["status"]):
        try:
            pgid = os.getpgid(proc.pid)
        except (ProcessLookupError, OSError):
            continue
        if pgid in wanted and proc.info["status"] != psutil.STATUS_ZOMBIE:
            alive.add(pgid)
    return alive


def group_rss(pid: int) -> int:
    """Resident memory in bytes of the process group led by `pid` (the process and its children)."""
    total = 0
    for proc in group_members(pid):
        try:
            total += proc.memory_info().rss
        except psutil.Error:
            continue
    return total


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) so far of `pid` and all its descendants, for the HPA's
    utilisation and the bench's CPU per booking. A tree, not the process group: postgres backends
    are children of a postmaster that leads a session of its own."""
    try:
        root = psutil.Process(pid)
        tree = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0.0
    total = 0.0
    for proc in tree:
        try:
            times = proc.cpu_times()
            total += times.user + times.system
        except psutil.Error:
            continue
    return total


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False
