"""TCP port forwarding between the host's loopback and the cluster's network namespace.

`python -m sandbox.cluster.forward CONFIG.json` runs one asyncio process (root: it enters the
namespace) that forwards both ways:

- an **in** rule listens on the host (`"listen": 16443` is 127.0.0.1:16443) and connects inside
  the namespace (`"connect": "10.200.0.1:6443"`): the host reaching the apiserver, a Service's
  ClusterIP, ArgoCD;
- an **out** rule listens inside the namespace (`"listen": "10.200.0.1:19094"`) and connects on the
  host (`"connect": 19094` is 127.0.0.1:19094): pods reaching Kafka, Postgres, the AWS emulator.

    {"netns": "/run/cloud-sandbox/<hash>/net",
     "in":  [{"listen": 16443, "connect": "10.200.0.1:6443"}],
     "out": [{"listen": "10.200.0.1:19094", "connect": 19094}],
     "ready_file": "/path/forward.ready.json"}

An endpoint is a port, "ADDRESS:PORT" or {"address": ..., "port": ...}, the address an IP literal;
`Forwarder.resolve()` is where a Service name would be turned into its ClusterIP.

A socket's network namespace is fixed when it is created: the process keeps a descriptor of the
host's namespace and of the cluster's, and creates each socket on the cluster's side between two
setns() calls on the event-loop thread (a namespace is per thread; nothing awaits in between).
Bytes are copied by asyncio protocols, transport to transport (256 KiB reads, 1 MiB write
buffers with back-pressure, TCP_NODELAY as asyncio sets it), and each direction is half-closed on
its own (an EOF is passed on with shutdown(SHUT_WR), the connection closes once both ways have
ended), so HTTP keep-alive, Kafka and Postgres see what they would see directly. A reset is
passed on as a reset; a failed connect resets the client at once.

SIGHUP re-reads the config: listeners of removed rules close, new ones open, a changed target
applies to new connections, open connections are kept (if the netns file now names another
namespace, the "out" listeners move to it). SIGTERM closes everything and exits 0.

Readiness: after every (re)load the process writes `ready_file` (JSON: pid, generation, the
listeners, the rules that failed to listen); `read_ready()` is the probe. Probing a TCP connect to
an "in" listener instead would open a connection to the target (and log a failed connect while
the target is down). stderr gets one line per listener started or stopped and per failed connect,
none per connection.
"""

from __future__ import annotations

import asyncio
import ctypes
import ipaddress
import json
import os
import signal
import socket
import struct
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

CLONE_NEWNET = 0x40000000
CONNECT_TIMEOUT = 5.0
WRITE_HIGH = 1 << 20  # pause reading the other side when this much waits to be sent
WRITE_LOW = 256 << 10
BACKLOG = 1024
Direction = Literal["in", "out"]
_libc = ctypes.CDLL(None, use_errno=True)


# ---------------------------------------------------------------------- configuration
@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int

    @property
    def family(self) -> socket.AddressFamily:
        return socket.AF_INET6 if ipaddress.ip_address(self.host).version == 6 else socket.AF_INET

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


@dataclass(frozen=True)
class Rule:
    direction: Direction
    listen: Endpoint
    connect: Endpoint

    @property
    def key(self) -> tuple[str, Endpoint]:
        return (self.direction, self.listen)

    def __str__(self) -> str:
        return f"{self.direction} {self.listen} -> {self.connect}"


@dataclass(frozen=True)
class Config:
    netns: Path
    rules: tuple[Rule, ...]
    ready_file: Path | None = None


def parse_endpoint(value: Any, default_host: str | None, where: str) -> Endpoint:
    """A port (on `default_host`), "ADDRESS:PORT" or {"address": ..., "port": ...}."""
    host: Any
    if isinstance(value, dict):
        host, port = value.get("address", default_host), value.get("port")
    elif isinstance(value, int) and not isinstance(value, bool):
        host, port = default_host, value
    elif isinstance(value, str):
        host, sep, port_text = value.rpartition(":")
        if not sep:
            host, port_text = default_host, value
        host = host.strip("[]") if isinstance(host, str) else host
        port = int(port_text) if port_text.isdigit() else port_text
    else:
        raise ValueError(f"{where}: expected a port, 'ADDRESS:PORT' or an object, got {value!r}")
    if host is None:
        raise ValueError(f"{where}: needs an address ('ADDRESS:PORT'), got {value!r}")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"{where}: {host!r} is not an IP address (names are not resolved)") from None
    if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
        raise ValueError(f"{where}: bad port in {value!r}")
    return Endpoint(str(host), port)


def parse_config(raw: Any) -> Config:
    if not isinstance(raw, dict):
        raise ValueError("the config must be a JSON object")
    unknown = set(raw) - {"netns", "in", "out", "ready_file"}
    if unknown:
        raise ValueError(f"unknown config keys: {', '.join(sorted(unknown))}")
    if not isinstance(raw.get("netns"), str) or not raw["netns"]:
        raise ValueError("'netns' (the cluster's network namespace file) is required")
    rules: list[Rule] = []
    defaults: dict[Direction, tuple[str | None, str | None]] = {"in": ("127.0.0.1", None), "out": (None, "127.0.0.1")}
    for direction, (listen_host, connect_host) in defaults.items():
        items = raw.get(direction, [])
        if not isinstance(items, list):
            raise ValueError(f"'{direction}' must be a list of rules")
        for i, item in enumerate(items):
            where = f"{direction}[{i}]"
            if not isinstance(item, dict) or set(item) != {"listen", "connect"}:
                raise ValueError(f"{where}: a rule is {{\"listen\": ..., \"connect\": ...}}, got {item!r}")
            rules.append(Rule(direction, parse_endpoint(item["listen"], listen_host, f"{where}.listen"),
                              parse_endpoint(item["connect"], connect_host, f"{where}.connect")))
    keys = [rule.key for rule in rules]
    for key in keys:
        if keys.count(key) > 1:
            raise ValueError(f"two '{key[0]}' rules listen on {key[1]}")
    ready = raw.get("ready_file")
    return Config(Path(raw["netns"]), tuple(rules), Path(ready) if ready else None)


def load_config(path: Path) -> Config:
    try:
        return parse_config(json.loads(Path(path).read_text()))
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"cannot read {path}: {exc}") from None


def read_ready(path: Path) -> dict | None:
    """The forwarder's ready file if the process that wrote it still runs, else None."""
    try:
        ready = json.loads(Path(path).read_text())
        os.kill(int(ready["pid"]), 0)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return ready if isinstance(ready, dict) else None


# ---------------------------------------------------------------------- namespaces
def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"setns: {os.strerror(code)}")


class NetNs:
    """Descriptors of the host's network namespace and the cluster's; sockets made in either."""

    def __init__(self, path: Path):
        self.path = path
        self.host_fd = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        self.fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        st = os.fstat(self.fd)
        self.identity = (st.st_dev, st.st_ino)

    def names_same_namespace(self, path: Path) -> bool:
        st = os.stat(path)
        return (st.st_dev, st.st_ino) == self.identity

    def socket(self, family: int, inside: bool) -> socket.socket:
        """A non-blocking TCP socket of the cluster's namespace (`inside`) or the host's."""
        if inside:
            _setns(self.fd)
            try:
                sock = socket.socket(family, socket.SOCK_STREAM)
            finally:
                try:
                    _setns(self.host_fd)
                except OSError as exc:  # this thread would make every later socket in the wrong place
                    _log(f"fatal: cannot return to the host's network namespace: {exc}")
                    os._exit(70)
        else:
            sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setblocking(False)
        return sock

    def close(self) -> None:
        for fd in (self.fd, self.host_fd):
            os.close(fd)


# ---------------------------------------------------------------------- connections
class _Side(asyncio.Protocol):
    """One of a forwarded connection's two sockets: what it reads is written to the other."""

    def __init__(self, conn: _Connection):
        self.conn = conn
        self.transport: asyncio.Transport | None = None
        self.peer: _Side | None = None
        self.eof = False
        self.lost = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.set_write_buffer_limits(high=WRITE_HIGH, low=WRITE_LOW)

    def data_received(self, data: bytes) -> None:
        if self.peer and self.peer.transport and not self.peer.transport.is_closing():
            self.peer.transport.write(data)

    def eof_received(self) -> bool:
        if not self.eof:
            self.eof = True
            self.conn.half_closed(self)
        return True  # keep the socket open: the other way may still carry data

    def pause_writing(self) -> None:  # our send buffer is full: stop reading what fills it
        if self.peer:
            self.peer.pause()

    def resume_writing(self) -> None:
        if self.peer:
            self.peer.resume()

    def pause(self) -> None:
        if self.transport and not self.eof:
            self.transport.pause_reading()

    def resume(self) -> None:
        if self.transport and not self.eof:  # resuming after EOF would report it twice
            self.transport.resume_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self.conn.side_lost(self, exc)


class _Client(_Side):
    """The accepted socket: it is not read until the target has answered."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        assert self.transport is not None
        self.transport.pause_reading()
        self.conn.start()


class _Connection:
    def __init__(self, forwarder: Forwarder, listener: _Listener):
        self.forwarder = forwarder
        self.listener = listener
        self.client = _Client(self)
        self.upstream = _Side(self)
        self.task: asyncio.Task | None = None

    def start(self) -> None:
        self.forwarder.connections.add(self)
        self.task = asyncio.get_running_loop().create_task(self.forwarder.connect(self, self.listener.rule))

    def link(self) -> None:
        self.client.peer, self.upstream.peer = self.upstream, self.client

    def half_closed(self, side: _Side) -> None:
        peer = side.peer
        if peer is None or peer.transport is None or peer.transport.is_closing():
            return
        if peer.eof:  # both ways have ended
            peer.transport.close()
            if side.transport:
                side.transport.close()
        else:
            peer.transport.write_eof()  # once what is buffered is sent

    def side_lost(self, side: _Side, exc: Exception | None) -> None:
        if self.task and not self.task.done():
            self.task.cancel()
        other = self.upstream if side is self.client else self.client
        if other.transport and not other.transport.is_closing():
            if exc is not None:
                _reset(other.transport)
            else:
                other.transport.close()
        if other.lost or other.transport is None:
            self.forwarder.connections.discard(self)

    def abort(self) -> None:
        if self.task and not self.task.done():
            self.task.cancel()
        for side in (self.client, self.upstream):
            if side.transport:
                side.transport.abort()


def _reset(transport: asyncio.Transport) -> None:
    """Close with an RST (SO_LINGER 0), as an unreachable or reset peer would."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
    transport.abort()


# ---------------------------------------------------------------------- the forwarder
class _Listener:
    def __init__(self, rule: Rule):
        self.rule = rule  # replaced in place when a reload changes only the target
        self.server: asyncio.Server | None = None


class Forwarder:
    def __init__(self, config_path: Path):
        self.config_path = Path(config_path)
        self.config: Config | None = None
        self.ns: NetNs | None = None
        self.listeners: dict[tuple[str, Endpoint], _Listener] = {}
        self.connections: set[_Connection] = set()
        self.generation = 0
        self.errors: list[str] = []
        self._tasks: set[asyncio.Task] = set()
        self._reload_lock = asyncio.Lock()
        self._stopped = asyncio.Event()

    def resolve(self, rule: Rule) -> Endpoint:
        """Where a new connection of `rule` goes (the hook for a Service name's ClusterIP)."""
        return rule.connect

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        try:
            config = load_config(self.config_path)
            self.ns = NetNs(config.netns)
        except (ValueError, OSError) as exc:
            _log(f"cannot start: {exc}")
            return 2
        errors = await self.apply(config)
        if errors:
            _log("cannot start: " + "; ".join(errors))
            await self.shutdown()
            return 1
        loop.add_signal_handler(signal.SIGHUP, self._reload_soon)
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._stopped.set)
        await self._stopped.wait()
        await self.shutdown()
        return 0

    def _reload_soon(self) -> None:
        task = asyncio.get_running_loop().create_task(self.reload())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def reload(self) -> None:
        try:
            config = load_config(self.config_path)
        except ValueError as exc:
            _log(f"reload: config kept: {exc}")
            return
        await self.apply(config)

    async def apply(self, config: Config) -> list[str]:
        """Make the listeners those of `config`; returns the rules that could not listen."""
        async with self._reload_lock:
            assert self.ns is not None
            try:
                same = config.netns == self.ns.path and self.ns.names_same_namespace(config.netns)
            except OSError:
                same = False
            if not same:
                try:
                    fresh = NetNs(config.netns)
                except OSError as exc:
                    _log(f"reload: config kept: {exc}")
                    return [str(exc)]
                if fresh.identity != self.ns.identity:  # out listeners were bound in the old one
                    for key in [k for k in self.listeners if k[0] == "out"]:
                        self._stop_listener(key)
                self.ns.close()
                self.ns = fresh
            wanted = {rule.key: rule for rule in config.rules}
            for key in [k for k in self.listeners if k not in wanted]:
                self._stop_listener(key)
            errors = []
            for key, rule in wanted.items():
                if key in self.listeners:
                    if self.listeners[key].rule != rule:
                        _log(f"target now {rule}")
                    self.listeners[key].rule = rule
                    continue
                try:
                    await self._start_listener(rule)
                except OSError as exc:
                    errors.append(f"{rule}: {exc.strerror or exc}")
                    _log(f"cannot listen: {rule}: {exc.strerror or exc}")
            self.config, self.errors = config, errors
            self.generation += 1
            self._write_ready()
            _log(f"ready: {len(self.listeners)} listener(s), generation {self.generation}"
                 + (f", {len(errors)} failed" if errors else ""))
            return errors

    async def _start_listener(self, rule: Rule) -> None:
        assert self.ns is not None
        sock = self.ns.socket(rule.listen.family, inside=rule.direction == "out")
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((rule.listen.host, rule.listen.port))
            sock.listen(BACKLOG)
        except OSError:
            sock.close()
            raise
        listener = _Listener(rule)
        listener.server = await asyncio.get_running_loop().create_server(
            lambda: _Connection(self, listener).client, sock=sock, backlog=BACKLOG)
        self.listeners[rule.key] = listener
        _log(f"listening {rule}")

    def _stop_listener(self, key: tuple[str, Endpoint]) -> None:
        listener = self.listeners.pop(key)
        if listener.server:
            listener.server.close()  # open connections stay
        _log(f"stopped listening {listener.rule}")

    async def connect(self, conn: _Connection, rule: Rule) -> None:
        """Connect `conn`'s upstream side to the rule's target, then let bytes flow."""
        assert self.ns is not None and conn.client.transport is not None
        loop = asyncio.get_running_loop()
        target = self.resolve(rule)
        try:
            sock = self.ns.socket(target.family, inside=rule.direction == "in")
        except OSError as exc:
            _log(f"connect failed: {rule}: {exc}")
            _reset(conn.client.transport)
            return
        try:
            await asyncio.wait_for(loop.sock_connect(sock, (target.host, target.port)), CONNECT_TIMEOUT)
            conn.link()  # before the transport exists: a server that speaks first is read at once
            await loop.create_connection(lambda: conn.upstream, sock=sock)
        except asyncio.CancelledError:  # the client went away first
            sock.close()
            raise
        except (OSError, TimeoutError) as exc:
            sock.close()
            reason = os.strerror(exc.errno) if exc.errno else f"no answer in {CONNECT_TIMEOUT:.0f}s"
            _log(f"connect failed: {rule}: {reason}")
            if not conn.client.lost:
                _reset(conn.client.transport)
            return
        if conn.client.lost and conn.upstream.transport:
            conn.upstream.transport.close()
        else:
            conn.client.resume()

    async def shutdown(self) -> None:
        for key in list(self.listeners):
            self._stop_listener(key)
        for conn in list(self.connections):
            conn.abort()
        self.connections.clear()
        await asyncio.sleep(0)  # let the transports' closing callbacks run
        if self.config and self.config.ready_file:
            self.config.ready_file.unlink(missing_ok=True)
        if self.ns:
            self.ns.close()
            self.ns = None

    def _write_ready(self) -> None:
        if not self.config or not self.config.ready_file:
            return
        path = self.config.ready_file
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({
            "pid": os.getpid(), "generation": self.generation, "time": time.time(),
            "listening": [str(listener.rule) for listener in self.listeners.values()],
            "errors": self.errors,
        }, indent=2))
        os.replace(tmp, path)


def _log(message: str) -> None:
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S')} forward: {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m sandbox.cluster.forward CONFIG.json", file=sys.stderr)
        return 2

    async def run() -> int:
        return await Forwarder(Path(args[0])).run()

    return asyncio.run(run())


if __name__ == "__main__":
    sys.exit(main())
