"""sandbox/cluster/namespaces.py against the real kernel (root): the namespaces persist with no
process inside and are found again, the node address and forwarding exist only inside, the
kubelet's machine-wide sysctls are masked in the mount namespace, one sandbox's mount namespace
never keeps another's namespaces alive, and delete() kills what runs inside and leaves no mount,
file, namespace or interface behind."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from sandbox.cluster import namespaces as namespaces_module
from sandbox.cluster.namespaces import KUBELET_SYSCTLS, ClusterNamespaces, mount_table
from sandbox.errors import SandboxError

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not all(shutil.which(tool) for tool in ("unshare", "nsenter", "ip")),
    reason="needs root, util-linux and iproute2 (network and mount namespaces)")

NODE = "10.200.0.1"


def host_sysctls() -> dict[str, str]:
    return {name: Path("/proc/sys", name).read_text() for name in KUBELET_SYSCTLS}


def out(argv: list[str], **kwargs) -> str:
    return subprocess.run(argv, check=True, capture_output=True, text=True, timeout=20, **kwargs).stdout


def host_links() -> set[str]:
    return {line.split(":")[1].strip().split("@")[0] for line in out(["ip", "-o", "link"]).splitlines()}


def wait_until(predicate, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


@pytest.fixture
def make_ns(tmp_path):
    """ClusterNamespaces on private state dirs, deleted however the test ends."""
    made: list[ClusterNamespaces] = []

    def make(name: str = "state") -> ClusterNamespaces:
        ns = ClusterNamespaces(tmp_path / name, NODE)
        made.append(ns)
        return ns

    yield make
    for ns in made:
        ns.delete(timeout=1.0)


@pytest.fixture
def host_values():
    """The host's values of the masked sysctls; restored (and the test failed) if one changed."""
    before = host_sysctls()
    yield before
    after = host_sysctls()
    for name, value in before.items():
        if after[name] != value:
            Path("/proc/sys", name).write_text(value)
    assert after == before, "a machine-wide sysctl changed"


def test_the_network_namespace_has_the_node_address_and_forwarding_and_the_host_not(make_ns):
    ip_forward, bridge = Path("/proc/sys/net/ipv4/ip_forward"), Path("/proc/sys/net/bridge/bridge-nf-call-iptables")
    host_forward, host_bridge = ip_forward.read_text(), bridge.exists() and bridge.read_text()
    ns = make_ns()
    assert not ns.exists()
    assert ns.ensure() is True
    assert ns.exists()
    lo = out(ns.command(["ip", "-o", "-4", "addr", "show", "dev", "lo"]))
    assert f"{NODE}/32" in lo and "127.0.0.1/8" in lo
    assert "UP" in out(ns.command(["ip", "-o", "link", "show", "dev", "lo"]))
    assert out(ns.command(["cat", str(ip_forward)])).strip() == "1"
    if bridge.exists():
        assert out(ns.command(["cat", str(bridge)])).strip() == "1"
        assert bridge.read_text() == host_bridge
    assert ip_forward.read_text() == host_forward
    assert f"{NODE}/" not in out(["ip", "-o", "-4", "addr"])


def test_ensure_is_idempotent_and_a_restarted_cli_finds_the_same_namespaces(make_ns, tmp_path):
    ns = make_ns()
    ns.ensure()
    inode = os.stat(ns.net).st_ino
    (tmp_path / "link").symlink_to(tmp_path / "state")
    again = ClusterNamespaces(tmp_path / "link", NODE)  # the same state dir, spelt differently
    assert again.dir == ns.dir and again.exists()
    assert again.ensure() is False
    assert os.stat(again.net).st_ino == inode


def test_the_namespaces_persist_with_no_process_inside(make_ns):
    ns = make_ns()
    ns.ensure()
    subprocess.run(ns.command(["ip", "link", "add", "probe0", "type", "veth", "peer", "name", "probe1"]), check=True, timeout=10)
    assert ns.processes() == []
    assert "probe0" in out(ns.command(["ip", "-o", "link"]))
    assert "probe0" not in host_links()


def test_a_half_made_set_is_made_again(make_ns):
    ns = make_ns()
    ns.ensure()
    subprocess.run(ns.command(["ip", "link", "add", "old0", "type", "veth", "peer", "name", "old1"]), check=True)
    (ns.dir / "ready").unlink()  # as a CLI killed during ensure() leaves it
    assert not ns.exists()
    assert ns.ensure() is True
    assert ns.exists() and "old0" not in out(ns.command(["ip", "-o", "link"]))  # a new namespace


def test_command_execs_the_program_inside_keeping_the_working_directory(make_ns, processes, tmp_path):
    ns = make_ns()
    ns.ensure()
    both = processes(ns.command(["sleep", "30"], mount=True), cwd=tmp_path)
    net_only = processes(ns.command(["sleep", "30"]))
    for proc in (both, net_only):  # the spawned pid is the program's: nsenter execs it
        assert wait_until(lambda proc=proc: Path(f"/proc/{proc.pid}/comm").read_text().strip() == "sleep")
        assert os.readlink(f"/proc/{proc.pid}/ns/net") == f"net:[{os.stat(ns.net).st_ino}]"
    assert os.readlink(f"/proc/{both.pid}/ns/mnt") == f"mnt:[{os.stat(ns.mnt).st_ino}]"
    assert os.readlink(f"/proc/{net_only.pid}/ns/mnt") == os.readlink("/proc/self/ns/mnt")
    assert os.readlink(f"/proc/{both.pid}/cwd") == str(tmp_path)
    assert sorted(ns.processes()) == sorted([both.pid, net_only.pid])


def test_the_kubelets_machine_wide_sysctls_are_masked_in_the_mount_namespace(make_ns, host_values):
    ns = make_ns()
    ns.ensure()
    read = "for f in " + " ".join(f"/proc/sys/{name}" for name in KUBELET_SYSCTLS) + "; do cat $f; done"
    assert out(ns.command(["sh", "-c", read], mount=True)).split() == list(KUBELET_SYSCTLS.values())
    # what the kubelet would do: the writes succeed and stay inside
    write = "echo 1 > /proc/sys/vm/overcommit_memory; echo 10 > /proc/sys/kernel/panic; " \
            "echo 1 > /proc/sys/kernel/panic_on_oops; echo 2 > /proc/sys/vm/overcommit_memory; " \
            "cat /proc/sys/vm/overcommit_memory"
    assert out(ns.command(["sh", "-c", write], mount=True)).strip() == "2"
    assert host_sysctls() == host_values
    assert out(ns.command(["sh", "-c", read])).split() == [v.strip() for v in host_values.values()]


def test_the_mount_namespace_holds_no_namespace_files_and_has_its_own_run_containerd(make_ns):
    first, second = make_ns("first"), make_ns("second")
    first.ensure()
    second.ensure()
    inside = namespaces_module.parse_mount_table(out(second.command(["cat", "/proc/self/mountinfo"], mount=True)))
    assert [m for m in inside if m.fstype == "nsfs"] == []
    assert not [m for m in inside if m.point.startswith(str(first.dir))]
    assert ("/run/containerd", "tmpfs") in {(m.point, m.fstype) for m in inside}
    assert "/run/containerd" not in {m.point for m in mount_table()}
    assert [m.root for m in inside if m.point == "/var/log"] == [str(second.var_log)]
    # run_dir is the same folder inside and outside (containerd's socket, reached by ctr from the host)
    subprocess.run(second.command(["touch", str(second.run_dir / "made-inside")], mount=True), check=True)
    assert (second.run_dir / "made-inside").is_file()


def test_delete_kills_what_runs_inside_and_leaves_nothing_behind(make_ns, processes):
    ns = make_ns()
    ns.ensure()
    # a veth pair with one end on the host: it disappears only when the namespace is really gone
    host_end = "cst" + uuid.uuid4().hex[:8]
    subprocess.run(ns.command(["ip", "link", "add", "ceth0", "type", "veth", "peer", "name", host_end,
                               "netns", "1"]), check=True, timeout=10)
    try:
        assert host_end in host_links()
        later = make_ns("later")  # made while ns's files are mounted: its mount namespace copied them
        later.ensure()
        polite = processes(ns.command(["sleep", "60"]))
        stubborn = processes(ns.command(["sh", "-c", "trap '' TERM; while :; do sleep 0.1; done"], mount=True))
        holder = processes([sys.executable, "-c", f"import os, time; os.open({str(ns.net)!r}, os.O_RDONLY); "
                                                  "time.sleep(60)"])  # on the host, as the forwarder is
        assert wait_until(lambda: {polite.pid, stubborn.pid, holder.pid} <= set(ns.processes()))
        started = time.monotonic()
        ns.delete(timeout=1.0)
        took = time.monotonic() - started
        assert polite.wait(timeout=5) == -signal.SIGTERM
        assert stubborn.wait(timeout=5) == -signal.SIGKILL
        assert holder.wait(timeout=5) == -signal.SIGTERM
        assert 0.9 < took < 5
        assert not ns.exists() and not ns.dir.exists()
        assert not [m for m in mount_table() if str(ns.dir) in m.point]
        assert wait_until(lambda: host_end not in host_links()), "the network namespace outlived delete()"
        assert later.exists()
        ns.delete()  # twice is fine
    finally:
        if host_end in host_links():
            subprocess.run(["ip", "link", "del", host_end], check=False)


def test_without_root_or_tools_the_error_names_the_fix(make_ns, monkeypatch):
    ns = make_ns()
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(SandboxError, match="need root") as error:
        ns.ensure()
    assert error.value.fix and "root" in error.value.fix
    monkeypatch.undo()
    real_which = shutil.which
    monkeypatch.setattr(shutil, "which", lambda name: None if name == "nsenter" else real_which(name))
    with pytest.raises(SandboxError, match="nsenter") as error:
        ns.command(["true"])
    assert error.value.fix and "util-linux" in error.value.fix
    with pytest.raises(SandboxError, match="nsenter"):
        ns.ensure()
    assert not ns.dir.exists()
