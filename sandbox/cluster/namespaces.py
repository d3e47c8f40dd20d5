"""The cluster's own network and mount namespaces, one set per sandbox state dir.

Every daemon of cluster mode runs inside a **network namespace** of the sandbox's own (`command()`),
so the node address, pod and service addresses, the bridge and kube-proxy's iptables rules exist
only there; the host reaches them through the forwarder (sandbox/cluster/forward.py). Inside it:
`lo` is up and carries `node_address/32` (daemons advertise a non-loopback address that pods reach
through their default route, which ends at the bridge, in this namespace), and the per-namespace
sysctls the node needs are on: `net.ipv4.ip_forward` (pods <-> services) and, when br_netfilter is
loaded, `net.bridge.bridge-nf-call-ip{,6}tables` (kube-proxy's DNAT must see bridged pod-to-pod
traffic; on this kernel they are per namespace, a new one starting at 1: the host keeps its own).

containerd and the kubelet also get a **mount namespace** (`command(argv, mount=True)`), a slave of
the host's: what the host mounts or unmounts later reaches it where the host's mounts are shared
(systemd makes them so; here they are private), nothing mounted inside (overlay rootfs, volume
tmpfs, pod netns files) ever reaches the host. Inside it:

- the files of the machine-wide sysctls the kubelet rewrites at start (`KUBELET_SYSCTLS`:
  vm.overcommit_memory, kernel.panic, kernel.panic_on_oops, and the three it also sets, which
  this machine already has) are masked by a regular file bind-mounted over each, holding the value
  the kubelet wants, so it finds nothing to change and a write changes nothing on the host;
- `/run/containerd` is a tmpfs: containerd 1.6 puts its shims' sockets (`/run/containerd/s/`) and
  runc's state (`/run/containerd/runc`) there whatever its config says, and a Docker engine's
  containerd may use the host's. (The directory is created on the host if missing and left
  there, as `/run/netns` is by `ip netns`: removing a directory detaches every mount on it in
  every other namespace, another sandbox's included);
- `/var/log` is `var_log` of the state dir: the kubelet's `/var/log/containers` symlinks are at
  a fixed path (its pod logs go to `podLogsDir`);
- no namespace file of the host is mounted (the copies the new namespace inherited, another
  sandbox's among them, are detached at creation: they would keep those namespaces alive).

Everything else is configured with paths of the state dir, as sandbox/components/cluster does:
containerd's root and state (with `netns_mounts_under_state_dir`, so pod netns files are not under
`/run/netns`), its sockets in `run_dir` (seen at the same path from the host, for `ctr`), the CNI
IPAM dataDir, the kubelet's root dir. kube-proxy needs only the network namespace (its conntrack
settings must leave the machine-wide table alone: `maxPerCore: 0`).

Both namespaces persist with no process inside: /proc/<pid>/ns/{net,mnt} bind-mounted onto files
(`net`, `mnt`) in `/run/cloud-sandbox/<hash of the resolved state dir>/`, a private bind mount of
itself (a mount namespace file may only be mounted where the mount cannot propagate into that
namespace), so a restarted CLI finds them again. delete() kills what is inside or holds them
open, unmounts and unlinks the files; unlinking also detaches the copies that mount namespaces
made since (another sandbox's, a service's) still hold (Linux >= 3.18), and a sandbox's mount
namespace drops its copies at creation anyway. The caller holds the state dir's lock
(StateDir.lock) around ensure() and delete(). All of it needs root, util-linux (unshare, nsenter)
and iproute2 (ip). By hand (a set whose state dir is gone: `cat /run/cloud-sandbox/*/state_dir`):
`python -m sandbox.cluster.namespaces delete STATE_DIR`.
"""

from __future__ import annotations

import ctypes
import errno
import hashlib
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sandbox.errors import SandboxError

BASE_DIR = Path("/run/cloud-sandbox")
# the machine-wide sysctls the kubelet sets when it starts (pkg/kubelet/cm setupKernelTunables)
KUBELET_SYSCTLS = {
    "vm/overcommit_memory": "1",
    "vm/panic_on_oom": "0",
    "kernel/panic": "10",
    "kernel/panic_on_oops": "1",
    "kernel/keys/root_maxkeys": "1000000",
    "kernel/keys/root_maxbytes": "25000000",
}
# per network namespace; the bridge ones exist only while br_netfilter is loaded
NETNS_SYSCTLS = {
    "net/ipv4/ip_forward": "1",
    "net/bridge/bridge-nf-call-iptables": "1",
    "net/bridge/bridge-nf-call-ip6tables": "1",
}
TMPFS_DIRS = ("/run/containerd",)
TOOLS = {"unshare": "util-linux", "nsenter": "util-linux", "ip": "iproute2"}
SETUP_TIMEOUT = 30.0

MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 1 << 18
MS_NOSUID = 0x2
MS_NODEV = 0x4
MNT_DETACH = 0x2
_libc = ctypes.CDLL(None, use_errno=True)
_PACKAGE_ROOT = Path(__file__).resolve().parents[2]


class ClusterNamespaces:
    """The network + mount namespace pair of the cluster of the sandbox at `state_dir`."""

    def __init__(self, state_dir: Path, node_address: str, base_dir: Path = BASE_DIR):
        self.state_dir = Path(state_dir).resolve()
        self.node_address = node_address
        digest = hashlib.sha256(str(self.state_dir).encode()).hexdigest()[:16]
        self.dir = Path(os.path.realpath(base_dir)) / digest
        self.net = self.dir / "net"  # the network namespace file (nsenter --net, setns)
        self.mnt = self.dir / "mnt"  # the mount namespace file
        self.run_dir = self.dir / "run"  # sockets, at the same path outside and inside
        self.var_log = self.state_dir / "data" / "cluster-namespaces" / "var-log"  # /var/log inside
        self._masks = self.dir / "masks"
        self._ready = self.dir / "ready"

    # ------------------------------------------------------------------ queries
    def exists(self) -> bool:
        """Both namespaces are mounted and were set up completely."""
        mounts = {m.point: m.fstype for m in mount_table()}
        return (mounts.get(str(self.net)) == "nsfs" and mounts.get(str(self.mnt)) == "nsfs"
                and self._ready.is_file())

    def command(self, argv: Sequence[str], mount: bool = False) -> list[str]:
        """`argv` run inside the network namespace (and the mount namespace with `mount`). nsenter
        execs the program (it forks only to enter a PID namespace), so the spawned pid is the
        program's; the working directory is kept (`--wd=.`: nsenter opens it before entering)."""
        command = [_tool("nsenter"), f"--net={self.net}"]
        if mount:
            command += [f"--mount={self.mnt}", "--wd=."]
        return [*command, "--", *argv]

    def processes(self) -> list[int]:
        """Pids of every process in the network or mount namespace or in a pod network namespace
        made inside (the netns files mounted in the mount namespace), or holding one of them open
        (the forwarder does: a descriptor keeps a namespace alive as a mount does)."""
        mounts = {m.point: m.fstype for m in mount_table()}
        nets: set[int] = set()
        mnts: set[int] = set()
        if mounts.get(str(self.net)) == "nsfs":
            nets.add(os.stat(self.net).st_ino)
        if mounts.get(str(self.mnt)) == "nsfs":
            mnts.add(os.stat(self.mnt).st_ino)
            nets |= self._pod_netns()
        if not nets and not mnts:
            return []
        # an open namespace reads as "net:[<inode>]", or as the path it was opened by
        links = {f"net:[{inode}]" for inode in nets} | {f"mnt:[{inode}]" for inode in mnts} \
            | {str(self.net), str(self.mnt)}
        me, found = os.getpid(), []
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit() or int(entry.name) == me:
                continue
            if _ns_inode(entry.name, "net") in nets or _ns_inode(entry.name, "mnt") in mnts \
                    or _holds(entry.name, links):
                found.append(int(entry.name))
        return found

    def _pod_netns(self) -> set[int]:
        """Network namespaces bind-mounted inside the mount namespace (containerd's pod netns)."""
        result = subprocess.run([_tool("nsenter"), f"--mount={self.mnt}", "--", "cat", "/proc/self/mountinfo"],
                                capture_output=True, text=True, timeout=10)
        if result.returncode != 0:
            return set()
        found = set()
        for mount in parse_mount_table(result.stdout):
            match = re.fullmatch(r"net:\[(\d+)\]", mount.root)
            if mount.fstype == "nsfs" and match:
                found.add(int(match[1]))
        return found

    # ------------------------------------------------------------------ changes
    def ensure(self) -> bool:
        """Create the namespaces unless they exist; True if created. A half-made set (a CLI killed
        during ensure) is removed first."""
        _preflight()
        if self.exists():
            return False
        self._remove()
        self.dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        if str(self.dir) not in {m.point for m in mount_table()}:
            _mount(str(self.dir), str(self.dir), None, MS_BIND)
            _mount(None, str(self.dir), None, MS_PRIVATE)
        self.net.touch()
        self.mnt.touch()
        self.run_dir.mkdir(exist_ok=True)
        self._masks.mkdir(exist_ok=True)
        for name, value in KUBELET_SYSCTLS.items():
            (self._masks / name.replace("/", ".")).write_text(value + "\n")
        (self.dir / "state_dir").write_text(f"{self.state_dir}\n")  # whose set this is, for a human
        self.var_log.mkdir(parents=True, exist_ok=True)
        for path in TMPFS_DIRS:
            Path(path).mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(_PACKAGE_ROOT),
                                                                         os.environ.get("PYTHONPATH")]))}
        try:
            result = subprocess.run(
                [_tool("unshare"), f"--net={self.net}", f"--mount={self.mnt}", "--propagation=slave", "--",
                 sys.executable, "-m", "sandbox.cluster.namespaces", "inside",
                 self.node_address, str(self.dir), str(self.var_log)],
                capture_output=True, text=True, env=env, timeout=SETUP_TIMEOUT)
        except subprocess.TimeoutExpired:
            result = subprocess.CompletedProcess([], 1, "", f"no answer in {SETUP_TIMEOUT:.0f}s")
        if result.returncode != 0:
            self._remove()
            raise SandboxError(f"could not create the cluster's namespaces: {result.stderr.strip()[-500:]}",
                               "see the message; `ip netns add probe` (then `ip netns del probe`) shows "
                               "whether this machine allows network namespaces")
        self._ready.write_text(f"{time.time()}\n")
        return True

    def delete(self, timeout: float = 3.0) -> None:
        """Kill every process inside (SIGTERM, SIGKILL after `timeout`), then unmount and remove
        the namespace files and their folder: no mount, namespace or interface is left."""
        if not self.dir.exists() and not self._mounts_below():
            return
        _require_root()
        pids = self.processes()
        if pids:
            import psutil

            from sandbox.process import kill_processes

            procs = []
            for pid in pids:
                try:
                    procs.append(psutil.Process(pid))
                except psutil.Error:
                    continue
            kill_processes(procs, timeout)
            deadline = time.monotonic() + 3.0
            while (left := self.processes()) and time.monotonic() < deadline:
                time.sleep(0.05)
            if left:
                raise SandboxError(f"processes {left} inside the cluster's namespaces survived SIGKILL",
                                   "see `ps -o pid,stat,cmd -p " + ",".join(map(str, left)) + "` (state D: wait)")
        self._remove()

    def _remove(self) -> None:
        """Unmount everything under the folder (the namespace files, the folder itself) and remove
        the files this class made; a namespace dies when its last mount and process are gone."""
        if not self.dir.exists() and not self._mounts_below():
            return
        for point in reversed(self._mounts_below()):
            _umount(point)
        if left := self._mounts_below():
            raise SandboxError(f"could not unmount {', '.join(left)}", f"umount -l {' '.join(left)}")
        for name in ("net", "mnt", "ready", "state_dir"):
            (self.dir / name).unlink(missing_ok=True)
        shutil.rmtree(self.run_dir, ignore_errors=True)
        shutil.rmtree(self._masks, ignore_errors=True)
        try:
            self.dir.rmdir()
            self.dir.parent.rmdir()  # only when no other sandbox has a folder there
        except FileNotFoundError:
            pass
        except OSError as exc:
            if exc.errno != errno.ENOTEMPTY:  # another sandbox's folder
                raise

    def _mounts_below(self) -> list[str]:
        prefix = f"{self.dir}/"
        return [m.point for m in mount_table() if m.point == str(self.dir) or m.point.startswith(prefix)]


# ---------------------------------------------------------------------- mount table
@dataclass(frozen=True)
class Mount:
    point: str
    fstype: str
    root: str  # for nsfs: "net:[<inode>]"


def mount_table(path: str = "/proc/self/mountinfo") -> list[Mount]:
    with open(path) as handle:
        return parse_mount_table(handle.read())


def parse_mount_table(text: str) -> list[Mount]:
    """The lines of a mountinfo file, in order (a later mount is on top of an earlier one)."""
    mounts = []
    for line in text.splitlines():
        left, sep, right = line.partition(" - ")
        fields = left.split(" ")
        if not sep or len(fields) < 5:
            continue
        mounts.append(Mount(_unescape(fields[4]), right.split(" ", 1)[0], _unescape(fields[3])))
    return mounts


def _unescape(field: str) -> str:
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m[1], 8)), field)


def _holds(pid: str, links: set[str]) -> bool:
    """Whether process `pid` has a descriptor open on one of the namespaces `links` names."""
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return False
    for fd in fds:
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") in links:
                return True
        except OSError:
            continue
    return False


def _ns_inode(pid: str, kind: str) -> int | None:
    try:
        link = os.readlink(f"/proc/{pid}/ns/{kind}")  # "net:[4026532179]"
    except OSError:  # gone, or a zombie
        return None
    return int(link[link.index("[") + 1:-1])


# ---------------------------------------------------------------------- system calls
def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    def arg(value: str | None) -> bytes | None:
        return value.encode() if value is not None else None

    if _libc.mount(arg(source), arg(target), arg(fstype), ctypes.c_ulong(flags), arg(data)) != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"mount {source} on {target}: {os.strerror(code)}")


def _umount(target: str) -> None:
    if _libc.umount2(target.encode(), MNT_DETACH) != 0:
        code = ctypes.get_errno()
        if code not in (errno.EINVAL, errno.ENOENT):  # no longer a mount point, or gone
            raise OSError(code, f"umount {target}: {os.strerror(code)}")


def _require_root() -> None:
    if os.geteuid() != 0:
        raise SandboxError("the cluster's network and mount namespaces need root",
                           "run the sandbox as root (sudo) for cluster mode")


def _tool(name: str) -> str:
    path = shutil.which(name)
    if not path:
        raise SandboxError(f"`{name}` is missing: cluster mode runs its daemons in namespaces with it",
                           f"apt-get install {TOOLS[name]} (scripts/install-system-deps.sh installs it)")
    return path


def _preflight() -> None:
    _require_root()
    for name in TOOLS:
        _tool(name)


# ---------------------------------------------------------------------- inside, at creation
def _set_up_inside(node_address: str, ns_dir: str, var_log: str) -> None:
    """Run by `unshare` as the first process of both new namespaces (see the module docstring)."""
    for argv in (["ip", "link", "set", "lo", "up"], ["ip", "addr", "replace", f"{node_address}/32", "dev", "lo"]):
        subprocess.run(argv, check=True)
    for name, value in NETNS_SYSCTLS.items():
        sysctl = Path("/proc/sys") / name
        if sysctl.exists():
            sysctl.write_text(value)
    others = str(Path(ns_dir).parent) + "/"  # other sandboxes' folders (a copy holds their namespaces)
    for mount in reversed(mount_table()):  # innermost / topmost first
        if mount.fstype == "nsfs" or (mount.point.startswith(others) and mount.point != ns_dir):
            _umount(mount.point)
    for tmpfs in TMPFS_DIRS:
        _mount("tmpfs", tmpfs, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0711")
    for name in KUBELET_SYSCTLS:
        _mount(str(Path(ns_dir) / "masks" / name.replace("/", ".")), f"/proc/sys/{name}", None, MS_BIND)
    _mount(var_log, "/var/log", None, MS_BIND | MS_REC)


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "inside":
        _set_up_inside(*sys.argv[2:])
    elif len(sys.argv) == 3 and sys.argv[1] == "delete":  # by hand, e.g. after a killed test run
        ClusterNamespaces(Path(sys.argv[2]), "").delete()
    else:
        sys.exit("usage: python -m sandbox.cluster.namespaces delete STATE_DIR\n"
                 "       (inside NODE_ADDRESS NS_DIR VAR_LOG: run by ensure())")
