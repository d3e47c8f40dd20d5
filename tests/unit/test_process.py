import os
import socket
import sys

import psutil

from sandbox import process
from sandbox.state import ProcessRecord


def _spawn(tmp_path, owner="owner-x", script="import time; time.sleep(30)"):
    return process.spawn("sleeper", [sys.executable, "-c", script], tmp_path / "log.txt", owner, "test")


def test_spawned_process_leads_its_own_group_and_is_stopped_with_children(tmp_path):
    script = "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)']); time.sleep(30)"
    record = _spawn(tmp_path, script=script)
    assert os.getpgid(record.pid) == record.pid
    psutil.Process(record.pid).children()  # the child exists soon
    process.stop_group(record.pid, timeout=2)
    assert not process.is_running(record)
    assert not [p for p in process.group_members(record.pid) if p.status() != psutil.STATUS_ZOMBIE]


def test_is_running_rejects_a_reused_pid(tmp_path):
    record = _spawn(tmp_path)
    try:
        assert process.is_running(record)
        impostor = ProcessRecord(record.role, record.pid, record.create_time, since_boot=record.since_boot - 100)
        assert not process.is_running(impostor)
        older_record = ProcessRecord(record.role, record.pid, record.create_time - 100)  # no since_boot: wall clock
        assert not process.is_running(older_record)
    finally:
        process.stop_group(record.pid)


def test_a_wall_clock_step_leaves_a_running_process_running(tmp_path):
    """The wall-clock start a record keeps is off by the step (here 40 s); its start since boot is not."""
    record = _spawn(tmp_path)
    try:
        stepped = ProcessRecord(record.role, record.pid, record.create_time - 40, since_boot=record.since_boot)
        assert process.is_running(stepped)
    finally:
        process.stop_group(record.pid)


def test_owned_processes_are_found_by_environment_marker(tmp_path):
    record = _spawn(tmp_path, owner="owner-unique-1")
    try:
        found = process.owned_processes("owner-unique-1", "test")
        assert [p.pid for p in found] == [record.pid]
        assert process.owned_processes("owner-unique-1", "other") == []
    finally:
        process.kill_processes(found)
    assert process.owned_processes("owner-unique-1") == []


def test_log_file_receives_output(tmp_path):
    record = _spawn(tmp_path, script="print('hello from child', flush=True)")
    psutil.Process(record.pid).wait(5)
    assert "hello from child" in (tmp_path / "log.txt").read_text()


def test_port_in_use():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        assert process.port_in_use(port)
    assert not process.port_in_use(port)
