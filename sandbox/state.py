"""On-disk state of the sandbox: one JSON record per component under `<state_dir>/state/`.

Records are written right after each process is spawned and replaced atomically, so a CLI killed
with `kill -9` leaves a truthful picture for the next `up`, `status` or `down`.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from sandbox.errors import SandboxError


@dataclass
class ProcessRecord:
    """One OS process the sandbox started (its own process group: pgid == pid)."""

    role: str
    pid: int
    create_time: float  # wall clock, for ages; moves when the clock is set
    command: list[str] = field(default_factory=list)
    revision: str | None = None  # Component.revision() when spawned (a change triggers a rollout)
    since_boot: float | None = None  # its start in seconds after boot: what identifies it (None: older record)


@dataclass
class ComponentRecord:
    name: str
    port: int
    started_at: float
    processes: list[ProcessRecord] = field(default_factory=list)

    def process(self, role: str) -> ProcessRecord | None:
        return next((p for p in self.processes if p.role == role), None)


class StateDir:
    """The git-ignored folder holding state/, logs/, data/ and the lock."""

    def __init__(self, root: Path):
        self.root = Path(root)

    @property
    def records_dir(self) -> Path:
        return self.root / "state"

    def log_file(self, name: str) -> Path:
        return self.root / "logs" / f"{name}.log"

    def data_dir(self, name: str) -> Path:
        return self.root / "data" / name

    def conf_dir(self, name: str) -> Path:
        return self.root / "conf" / name

    def ensure(self) -> None:
        for sub in ("state", "logs", "data", "conf"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)

    def save(self, record: ComponentRecord) -> None:
        self.ensure()
        target = self.records_dir / f"{record.name}.json"
        tmp = target.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(asdict(record), indent=2))
        os.replace(tmp, target)

    def load(self, name: str) -> ComponentRecord | None:
        path = self.records_dir / f"{name}.json"
        try:
            raw = json.loads(path.read_text())
        except FileNotFoundError:
            return None
        except (json.JSONDecodeError, OSError):
            path.unlink(missing_ok=True)  # a torn write: treat as no record
            return None
        try:
            raw["processes"] = [ProcessRecord(**p) for p in raw.get("processes", [])]
            return ComponentRecord(**raw)
        except TypeError:  # not a component record (written by an older or other version)
            return None

    def remove(self, name: str) -> None:
        (self.records_dir / f"{name}.json").unlink(missing_ok=True)

    def wipe(self) -> None:
        """Delete data, logs and records (used by `down --wipe`)."""
        for sub in ("state", "data", "logs", "conf"):
            shutil.rmtree(self.root / sub, ignore_errors=True)

    @contextmanager
    def lock(self, wait: float = 0.0):
        """Exclusive lock for commands that start or stop things; the kernel frees it if we die.
        Waits up to `wait` seconds for another holder (the monitor's short reconciles, say)."""
        import time

        self.ensure()
        deadline = time.monotonic() + wait
        with open(self.root / "lock", "w") as handle:
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise SandboxError(
                            "another `sandbox up`/`down` is running on this project",
                            "wait for it to finish, or stop it",
                        ) from None
                    time.sleep(0.1)
            yield
