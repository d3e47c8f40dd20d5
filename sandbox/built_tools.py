"""Binaries built from the registries by an install script into the per-user cache, keyed by
version. The script owns the pins and answers `--paths`; this finds, reports and builds them, so a
component names a binary and never a path or a version."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from sandbox.errors import SandboxError


@lru_cache(maxsize=8)
def _paths(script: Path, user_cache_dir: Path) -> dict[str, Path]:
    out = subprocess.run(["bash", str(script), "--paths"], capture_output=True, text=True, check=True,
                         env={**os.environ, "SANDBOX_USER_CACHE_DIR": str(user_cache_dir)}).stdout
    return {name: Path(path) for name, path in (line.split(" ", 1) for line in out.splitlines())}


@dataclass(frozen=True)
class BuiltTools:
    scripts: tuple[Path, ...]  # each answers `--paths` and builds the names it is given
    fix: str  # how a user builds them all, e.g. "make cluster-tools (about 50 min on 2 cores, once)"

    def paths(self, user_cache_dir: Path) -> dict[str, Path]:
        """name -> where its pinned build lives (present or not)."""
        return {name: path for script in self.scripts for name, path in _paths(script, user_cache_dir).items()}

    def binary(self, user_cache_dir: Path, name: str) -> str:
        path = self.paths(user_cache_dir)[name]
        if not path.exists():
            raise SandboxError(f"{name} is not built ({path} missing)", self.fix)
        return str(path)

    def missing(self, user_cache_dir: Path) -> list[str]:
        return [name for name, path in self.paths(user_cache_dir).items() if not path.exists()]

    def build(self, user_cache_dir: Path, names: list[str], progress: Callable[[str], None]) -> None:
        """Build what is missing, one line per binary with its time (a first `up` prints them)."""
        for script in self.scripts:
            wanted = [n for n in names if n in _paths(script, user_cache_dir)]
            if wanted:
                self._run(script, user_cache_dir, wanted, progress)
        _paths.cache_clear()

    def _run(self, script: Path, user_cache_dir: Path, names: list[str], progress: Callable[[str], None]) -> None:
        started = time.monotonic()
        proc = subprocess.Popen(["bash", str(script), *names], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, env={**os.environ, "SANDBOX_USER_CACHE_DIR": str(user_cache_dir)})
        assert proc.stdout is not None
        tail: list[str] = []
        for line in proc.stdout:
            line = line.rstrip()
            tail = [*tail[-20:], line]
            if line.startswith(("built ", "ok ", "building ")):
                progress(line)
        if proc.wait() != 0:
            raise SandboxError(f"building {', '.join(names)} failed after {time.monotonic() - started:.0f}s:\n"
                               + "\n".join(tail), f"see the lines above; {self.fix.split(' (')[0]} retries")
