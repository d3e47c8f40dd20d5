"""sandbox/cluster/forward.py with real namespaces and sockets (root): "in" rules reach servers
inside the cluster's network namespace from the host's 127.0.0.1, "out" rules reach the host's
127.0.0.1 from inside; half-closes, resets, keep-alive, throughput and latency; SIGHUP changes the
listeners without dropping open connections; SIGTERM stops cleanly. The config parser is tested
without any of that."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from sandbox.cluster.forward import Endpoint, parse_config, read_ready
from sandbox.cluster.namespaces import ClusterNamespaces

NODE = "10.200.0.1"
needs_root = pytest.mark.skipif(
    os.geteuid() != 0 or not all(shutil.which(tool) for tool in ("unshare", "nsenter", "ip")),
    reason="needs root, util-linux and iproute2 (network namespaces)")

# A test server, run inside the namespace (or on the host for a baseline): prints its port, then
# serves each connection in a thread: "echo" (until EOF, then half-closes), "source N" (sends N
# bytes, closes), "sink" (reads to EOF, answers the byte count); prints "reset" on a reset.
SERVER = r"""
import socket, sys, threading
host, mode = sys.argv[1], sys.argv[2]
listener = socket.create_server((host, 0), backlog=128)
print(listener.getsockname()[1], flush=True)

def serve(conn):
    try:
        answer(conn)
    except ConnectionResetError:
        print("reset", flush=True)

def answer(conn):
    with conn:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if mode == "echo":
            while data := conn.recv(1 << 18):
                conn.sendall(data)
            conn.shutdown(socket.SHUT_WR)
        elif mode == "source":
            block, left = b"x" * (1 << 20), int(sys.argv[3])
            while left > 0:
                left -= conn.send(block[:left])
        elif mode == "sink":
            total = 0
            while data := conn.recv(1 << 18):
                total += len(data)
            conn.sendall(str(total).encode())

while True:
    conn, _ = listener.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
"""

# a client run inside the namespace: connects, sends argv[3], half-closes, prints what comes back
CLIENT = r"""
import socket, sys
with socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10) as sock:
    sock.sendall(sys.argv[3].encode())
    sock.shutdown(socket.SHUT_WR)
    answer = b""
    while data := sock.recv(65536):
        answer += data
print(answer.decode())
"""


@pytest.fixture(scope="module")
def ns(tmp_path_factory):
    if os.geteuid() != 0 or not all(shutil.which(tool) for tool in ("unshare", "nsenter", "ip")):
        pytest.skip("needs root, util-linux and iproute2 (network namespaces)")
    namespaces = ClusterNamespaces(tmp_path_factory.mktemp("forward") / "state", NODE)
    namespaces.ensure()
    yield namespaces
    namespaces.delete(timeout=1.0)


@pytest.fixture
def server(ns, processes, tmp_path):
    """server(mode, *args, inside=True) -> its port, listening on the node address inside the
    namespace (or 127.0.0.1 on the host)."""
    script = tmp_path / "server.py"
    script.write_text(SERVER)

    def start(mode: str, *args: str, inside: bool = True) -> int:
        argv = [sys.executable, str(script), NODE if inside else "127.0.0.1", mode, *args]
        proc = processes(ns.command(argv) if inside else argv, stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        start.output[port] = proc.stdout  # type: ignore[attr-defined]
        return port

    start.output = {}  # type: ignore[attr-defined]
    return start


class Forwarder:
    def __init__(self, proc: subprocess.Popen, config: Path, ready: Path, log: Path):
        self.proc, self.config, self.ready, self.log_file = proc, config, ready, log

    def log(self) -> str:
        return self.log_file.read_text()

    def wait_ready(self, generation: int, timeout: float = 10.0) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = read_ready(self.ready)
            if state and state["pid"] == self.proc.pid and state["generation"] >= generation:
                return state
            assert self.proc.poll() is None, f"the forwarder exited: {self.log()}"
            time.sleep(0.02)
        raise AssertionError(f"the forwarder did not get ready: {self.log()}")

    def reload(self, rules: dict) -> dict:
        generation = read_ready(self.ready)["generation"]
        self.config.write_text(json.dumps({**json.loads(self.config.read_text()), **rules}))
        self.proc.send_signal(signal.SIGHUP)
        return self.wait_ready(generation + 1)


@pytest.fixture
def forwarder(ns, processes, tmp_path):
    """forwarder(in=[...], out=[...]) -> a started, ready forwarder process; stopped at the end."""
    count = iter(range(100))

    def start(wait: bool = True, **rules) -> Forwarder:
        n = next(count)
        config, ready, log = tmp_path / f"forward{n}.json", tmp_path / f"forward{n}.ready", tmp_path / f"forward{n}.log"
        config.write_text(json.dumps({"netns": str(ns.net), "ready_file": str(ready), **rules}))
        with open(log, "w") as stderr:
            proc = processes([sys.executable, "-m", "sandbox.cluster.forward", str(config)], stderr=stderr)
        fwd = Forwarder(proc, config, ready, log)
        if wait:
            fwd.wait_ready(1)
        return fwd

    return start


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def round_trip(port: int, payload: bytes, host: str = "127.0.0.1") -> bytes:
    """Send, half-close, read to EOF: what an echo server sends back."""
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(payload)
        sock.shutdown(socket.SHUT_WR)
        chunks = []
        while data := sock.recv(1 << 20):
            chunks.append(data)
    return b"".join(chunks)


def listens(endpoint: str, proc_net_tcp: str) -> bool:
    """Whether a /proc/net/tcp text has a listening socket on "A.B.C.D:PORT"."""
    host, port = endpoint.rsplit(":", 1)
    local = f"{socket.inet_aton(host)[::-1].hex().upper()}:{int(port):04X}"
    return any(line.split()[1] == local and line.split()[3] == "0A" for line in proc_net_tcp.splitlines()[1:])


def echo_on_host() -> tuple[int, socket.socket, list[OSError]]:
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                try:
                    while data := conn.recv(65536):
                        conn.sendall(data)
                    conn.shutdown(socket.SHUT_WR)
                except OSError as exc:
                    errors.append(exc)

    errors: list[OSError] = []
    threading.Thread(target=serve, daemon=True).start()
    return listener.getsockname()[1], listener, errors


# ---------------------------------------------------------------------- in / out
@needs_root
def test_an_in_rule_serves_http_from_inside_the_namespace_with_keep_alive(ns, processes, forwarder, tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    body = os.urandom(1 << 20)
    (site / "blob").write_bytes(body)
    port = 28080
    processes(ns.command([sys.executable, "-m", "http.server", "--bind", NODE, "--directory", str(site),
                          "--protocol", "HTTP/1.1", str(port)]), stderr=subprocess.DEVNULL)
    host_port = free_port()
    forwarder(**{"in": [{"listen": host_port, "connect": f"{NODE}:{port}"}]})
    deadline = time.monotonic() + 10
    while True:  # until http.server listens
        conn = http.client.HTTPConnection("127.0.0.1", host_port, timeout=5)
        try:
            conn.request("GET", "/blob")
            first = conn.getresponse()
            break
        except (ConnectionError, http.client.RemoteDisconnected):
            conn.close()
            assert time.monotonic() < deadline
            time.sleep(0.1)
    try:
        assert first.status == 200 and first.read() == body
        local = conn.sock.getsockname()
        conn.request("GET", "/blob")  # the same connection: keep-alive through the forwarder
        second = conn.getresponse()
        assert second.status == 200 and second.read() == body
        assert conn.sock.getsockname() == local
    finally:
        conn.close()


@needs_root
def test_an_out_rule_lets_the_namespace_reach_the_host(ns, forwarder):
    host_port, listener, errors = echo_on_host()
    with listener:
        forwarder(out=[{"listen": f"{NODE}:19094", "connect": host_port}])
        answer = subprocess.run(ns.command([sys.executable, "-c", CLIENT, NODE, "19094", "ping from a pod"]),
                                capture_output=True, text=True, timeout=20, check=True)
        assert answer.stdout.strip() == "ping from a pod"
        assert errors == []
    # the listener is in the namespace, not on the host (a connect from the host proves nothing
    # here: this machine's gateway accepts any outbound connection)
    assert listens(f"{NODE}:19094", subprocess.run(ns.command(["cat", "/proc/net/tcp"]), capture_output=True,
                                                   text=True, check=True).stdout)
    assert not listens(f"{NODE}:19094", Path("/proc/net/tcp").read_text())


@needs_root
def test_half_closes_and_large_payloads_pass_unchanged_both_ways(server, forwarder):
    echo = server("echo")
    host_port = free_port()
    forwarder(**{"in": [{"listen": host_port, "connect": f"{NODE}:{echo}"}]})
    payload = os.urandom(8 << 20)
    assert round_trip(host_port, payload) == payload
    assert round_trip(host_port, b"") == b""


# ---------------------------------------------------------------------- figures
@needs_root
def test_throughput(server, forwarder):
    size = 50 << 20
    source, sink = server("source", str(size)), server("sink")
    source_port, sink_port = free_port(), free_port()
    forwarder(**{"in": [{"listen": source_port, "connect": f"{NODE}:{source}"},
                        {"listen": sink_port, "connect": f"{NODE}:{sink}"}]})
    started = time.perf_counter()
    with socket.create_connection(("127.0.0.1", source_port), timeout=10) as sock:
        got = 0
        while data := sock.recv(1 << 20):
            got += len(data)
    download = time.perf_counter() - started
    assert got == size
    block = b"y" * (1 << 20)
    started = time.perf_counter()
    with socket.create_connection(("127.0.0.1", sink_port), timeout=10) as sock:
        for _ in range(size // len(block)):
            sock.sendall(block)
        sock.shutdown(socket.SHUT_WR)
        assert sock.recv(100) == str(size).encode()
    upload = time.perf_counter() - started
    print(f"\nforward throughput: 50 MiB from the namespace in {download * 1000:.0f} ms "
          f"({size / download / 1e6:.0f} MB/s), to it in {upload * 1000:.0f} ms ({size / upload / 1e6:.0f} MB/s)")
    assert download < 2.0 and upload < 2.0


@needs_root
def test_latency_overhead(server, forwarder):
    inside, direct = server("echo"), server("echo", inside=False)
    host_port = free_port()
    forwarder(**{"in": [{"listen": host_port, "connect": f"{NODE}:{inside}"}]})

    def per_round_trip(port: int, n: int = 2000) -> float:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for _ in range(50):  # warm up
                sock.sendall(b"x")
                sock.recv(1)
            started = time.perf_counter()
            for _ in range(n):
                sock.sendall(b"x")
                assert sock.recv(1) == b"x"
            return (time.perf_counter() - started) / n

    base, forwarded = per_round_trip(direct), per_round_trip(host_port)
    print(f"\nforward latency: {base * 1e6:.0f} us per round trip direct, {forwarded * 1e6:.0f} us forwarded "
          f"(+{(forwarded - base) * 1e6:.0f} us)")
    assert forwarded - base < 0.005


# ---------------------------------------------------------------------- life cycle
@needs_root
def test_sighup_changes_listeners_and_keeps_open_connections(server, forwarder):
    echo = server("echo")
    first, second = free_port(), free_port()
    fwd = forwarder(**{"in": [{"listen": first, "connect": f"{NODE}:{echo}"}]})
    with socket.create_connection(("127.0.0.1", first), timeout=5) as open_conn:
        open_conn.sendall(b"before")
        assert open_conn.recv(100) == b"before"
        state = fwd.reload({"in": [{"listen": second, "connect": f"{NODE}:{echo}"}]})
        assert state["listening"] == [f"in 127.0.0.1:{second} -> {NODE}:{echo}"] and state["errors"] == []
        assert round_trip(second, b"new rule") == b"new rule"
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", first), timeout=2).close()
        open_conn.sendall(b"after")  # the connection of the removed rule still works
        assert open_conn.recv(100) == b"after"
    log = fwd.log()
    assert f"listening in 127.0.0.1:{second}" in log and f"stopped listening in 127.0.0.1:{first}" in log
    # a bad config is refused and the running one kept
    fwd.config.write_text("{not json")
    fwd.proc.send_signal(signal.SIGHUP)
    time.sleep(0.3)
    assert round_trip(second, b"still") == b"still"
    assert "config kept" in fwd.log()


@needs_root
def test_a_failed_connect_resets_the_client_at_once_and_logs_one_line(forwarder):
    host_port = free_port()
    fwd = forwarder(**{"in": [{"listen": host_port, "connect": f"{NODE}:1"}]})  # nothing listens there
    started = time.perf_counter()
    with socket.create_connection(("127.0.0.1", host_port), timeout=5) as sock:
        with pytest.raises(ConnectionResetError):
            sock.recv(10)
    assert time.perf_counter() - started < 1.0
    time.sleep(0.1)
    failures = [line for line in fwd.log().splitlines() if "connect failed" in line]
    assert len(failures) == 1 and f"{NODE}:1" in failures[0] and "refused" in failures[0]


@needs_root
def test_a_reset_is_passed_on(server, forwarder, ns):
    echo = server("echo")
    host_port = free_port()
    forwarder(**{"in": [{"listen": host_port, "connect": f"{NODE}:{echo}"}]})
    before = set(ns.processes())
    with socket.create_connection(("127.0.0.1", host_port), timeout=5) as sock:
        sock.sendall(b"x")
        assert sock.recv(1) == b"x"
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    assert server.output[echo].readline().strip() == "reset"  # the server inside saw the reset
    assert round_trip(host_port, b"again") == b"again"
    assert set(ns.processes()) == before


@needs_root
def test_sigterm_stops_cleanly(server, forwarder):
    echo = server("echo")
    host_port = free_port()
    fwd = forwarder(**{"in": [{"listen": host_port, "connect": f"{NODE}:{echo}"}]})
    with socket.create_connection(("127.0.0.1", host_port), timeout=5) as open_conn:
        open_conn.sendall(b"x")
        assert open_conn.recv(1) == b"x"
        fwd.proc.terminate()
        assert fwd.proc.wait(timeout=5) == 0
        assert open_conn.recv(10) == b""  # closed, not left hanging
    assert not fwd.ready.exists()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", host_port), timeout=2).close()


@needs_root
def test_a_listen_port_in_use_fails_the_start(forwarder):
    with socket.create_server(("127.0.0.1", 0)) as taken:
        fwd = forwarder(wait=False, **{"in": [{"listen": taken.getsockname()[1], "connect": f"{NODE}:80"}]})
        assert fwd.proc.wait(timeout=10) == 1
    assert "cannot start" in fwd.log() and "Address already in use" in fwd.log()
    assert not fwd.ready.exists()


# ---------------------------------------------------------------------- the config
def test_the_config_format():
    config = parse_config({
        "netns": "/run/cloud-sandbox/x/net", "ready_file": "/tmp/r",
        "in": [{"listen": 16443, "connect": "10.200.0.1:6443"},
               {"listen": "127.0.0.2:8080", "connect": {"address": "10.96.0.20", "port": 80}}],
        "out": [{"listen": "10.200.0.1:19094", "connect": 19094}, {"listen": "[::1]:5432", "connect": "::1:15432"}],
    })
    assert [str(rule) for rule in config.rules] == [
        "in 127.0.0.1:16443 -> 10.200.0.1:6443", "in 127.0.0.2:8080 -> 10.96.0.20:80",
        "out 10.200.0.1:19094 -> 127.0.0.1:19094", "out [::1]:5432 -> [::1]:15432"]
    assert config.rules[3].listen == Endpoint("::1", 5432) and config.ready_file == Path("/tmp/r")


@pytest.mark.parametrize("raw, message", [
    ({}, "'netns'"),
    ({"netns": "/x", "in": [{"listen": 1, "connect": 6443}]}, r"in\[0\].connect: needs an address"),
    ({"netns": "/x", "out": [{"listen": 19094, "connect": 1}]}, r"out\[0\].listen: needs an address"),
    ({"netns": "/x", "in": [{"listen": 1, "connect": "kubernetes.default:443"}]}, "not an IP address"),
    ({"netns": "/x", "in": [{"listen": 70000, "connect": "10.0.0.1:1"}]}, "bad port"),
    ({"netns": "/x", "in": [{"listen": 1, "connect": "10.0.0.1:1", "via": 2}]}, "a rule is"),
    ({"netns": "/x", "in": [{"listen": 1, "connect": "10.0.0.1:1"}, {"listen": 1, "connect": "10.0.0.1:2"}]},
     "two 'in' rules listen on 127.0.0.1:1"),
    ({"netns": "/x", "inn": []}, "unknown config keys: inn"),
])
def test_a_bad_config_says_what_is_wrong(raw, message):
    with pytest.raises(ValueError, match=message):
        parse_config(raw)
