"""The AWS emulator's memory as one file: moto's backends pickled, so a restart or a snapshot keeps
every resource and object, Lambda code included (what LocalStack's PERSISTENCE=1 does).

moto keeps everything in Python objects; they pickle once a few members are taught how: locks
are made anew, a defaultdict of a lambda gets the type the lambda makes, a WeakValueDictionary becomes the dict it holds (its values live on elsewhere in
the same pickle), private keys travel as DER. A file records the moto version it was written by
and a format number; a file of another version is refused, never half-loaded. Each state has an
id that lives as long as its resources do, so the Terraform task can tell "the emulator still
holds what I applied" from "this is an emptied emulator" (sandbox/components/terraform.py).
"""

from __future__ import annotations

import io
import os
import pickle
import sys
import threading
import uuid
import weakref
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

FORMAT = 1
_LOCK_TYPES = (type(threading.Lock()), type(threading.RLock()))


class StateError(Exception):
    """A state file this emulator cannot load (another moto or format version, or corrupt)."""


@dataclass
class Loaded:
    state_id: str
    services: list[str]


def _moto_version() -> str:
    import moto

    return moto.__version__


def _load_der(der: bytes):
    from cryptography.hazmat.primitives.serialization import load_der_private_key

    return load_der_private_key(der, None)


class _Pickler(pickle.Pickler):
    def reducer_override(self, obj):
        if isinstance(obj, _LOCK_TYPES):
            return (threading.RLock if "RLock" in type(obj).__name__ else threading.Lock), ()
        if isinstance(obj, defaultdict) and "<locals>" in getattr(obj.default_factory, "__qualname__", ""):
            made = obj.default_factory()  # `defaultdict(lambda: {})`: a lambda cannot be pickled
            if type(made) in (dict, list, set) and not made:
                return defaultdict, (type(made),), None, None, iter(obj.items())
        if isinstance(obj, weakref.WeakValueDictionary):
            return weakref.WeakValueDictionary, (dict(obj),)
        private_bytes = getattr(obj, "private_bytes", None)
        if private_bytes is not None and type(obj).__module__.startswith("cryptography"):
            from cryptography.hazmat.primitives import serialization

            der = private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
            return _load_der, (der,)
        return NotImplemented


def _in_use() -> dict:
    """Every moto BackendDict that holds an account (the services that were called), by the
    module defining its backend and its service name: what finds the live one again on load."""
    from moto.core.base_backend import BackendDict

    return {(b.backend.__module__, b.service_name): b for b in BackendDict._instances if len(b)}  # type: ignore[misc]


def _live(module: str, service: str):
    import importlib

    from moto.core.base_backend import BackendDict

    found = [v for v in vars(importlib.import_module(module)).values()
             if isinstance(v, BackendDict) and v.service_name == service]
    if len(found) != 1:
        raise StateError(f"moto's {module} has no single backend for {service}")
    return found[0]


def dumps(state_id: str) -> bytes:
    """The whole emulator as bytes. Called while requests may still run: a dict changing size
    under the pickler is retried."""
    for attempt in range(5):
        try:
            services = {name: dict(backends) for name, backends in _in_use().items()}
            buffer = io.BytesIO()
            _Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(
                {"format": FORMAT, "moto": _moto_version(), "id": state_id, "services": services})
            return buffer.getvalue()
        except RuntimeError:  # "dictionary changed size during iteration"
            if attempt == 4:
                raise
    raise AssertionError("unreachable")


def save(path: Path, state_id: str) -> None:
    """Write atomically: a crash mid-write leaves the previous file."""
    data = dumps(state_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def header(path: Path) -> dict:
    """What a state file says of itself, refused with the reason when this emulator cannot load it."""
    try:
        with open(path, "rb") as handle:
            raw = pickle.load(handle)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError) as exc:
        raise StateError(f"{path} is not a readable emulator state ({exc})") from exc
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise StateError(f"{path} has state format {raw.get('format') if isinstance(raw, dict) else '?'}, "
                         f"this emulator reads format {FORMAT}")
    if raw.get("moto") != _moto_version():
        raise StateError(f"{path} was written by moto {raw.get('moto')}, this emulator runs moto {_moto_version()}")
    return raw


def load(path: Path) -> Loaded:
    """Put a saved state in place of moto's (empty) backends; before the server takes requests."""
    return _put(header(path))


def replace(path: Path) -> Loaded:
    """Put a saved state in place of what a running emulator holds (`sandbox reset`): the file is
    checked first, then every service it does not name is emptied and the others replaced."""
    raw = header(path)
    for key, backends in _in_use().items():
        if key not in raw["services"]:
            backends.clear()
    return _put(raw)


def _put(raw: dict) -> Loaded:
    from moto.core.base_backend import BackendDict

    for (module, service), accounts in raw["services"].items():
        live = _live(module, service)
        live.clear()
        live.update(accounts)
        instances = BackendDict._instances  # type: ignore[misc]  # moto's own registry of used services
        if live not in instances:
            instances.append(live)
    return Loaded(raw["id"], sorted(service for _, service in raw["services"]))


def new_id() -> str:
    return uuid.uuid4().hex


if __name__ == "__main__":  # `python -m sandbox.aws_state FILE`: what a state file holds
    info = header(Path(sys.argv[1]))
    print(info["id"], info["moto"], " ".join(sorted(service for _, service in info["services"])))
