import os
import subprocess
import sys
import time

from sandbox.components.postgres import _remove_stale_pid_file


def test_lock_file_of_a_zombie_postmaster_is_removed(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    time.sleep(0.5)  # exited, not reaped: a zombie, as a kill -9'd postmaster until PID 1 reaps it
    pid_file = tmp_path / "postmaster.pid"
    pid_file.write_text(f"{dead.pid}\n/data\n")
    _remove_stale_pid_file(pid_file)
    dead.wait()
    assert not pid_file.exists()


def test_lock_file_of_a_live_server_is_kept(tmp_path):
    pid_file = tmp_path / "postmaster.pid"
    pid_file.write_text(f"{os.getpid()}\n/data\n")
    _remove_stale_pid_file(pid_file)
    assert pid_file.exists()
