"""Snapshots: one consistent point in time of every stateful component, as plain files.

A snapshot is `<state_dir>/snapshots/<name>/`: `snapshot.json` (format, when, runtime, and per
component the paths it kept, relative to the state dir) beside `files/`, a copy of those paths
(each component names them: `Component.snapshot_paths()`). Consistent because nothing that writes
them runs while they are copied: a running sandbox stops the analytics job with a savepoint (kept
with Flink's data, so the job resumes from it), stops the stores and everything holding their
state (Postgres and Kafka shut down cleanly, the AWS emulator writes its state file; the
services), copies, and starts them again. Loading is the same with the copy
going the other way, so after it a booking made after the save is gone from the topic, the
database and the analytics, and one made before is in all three. Metrics and logs are not part
of it: they observe the sandbox, and a load must not rewrite their history.

`first-up` is taken by itself after the first healthy `up` of a new (or wiped) state dir and is
what `sandbox reset` loads. `--output FILE` writes a snapshot as a tarball; `load FILE` takes one.
"""

from __future__ import annotations

import functools
import json
import re
import shutil
import tarfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sandbox import process
from sandbox.errors import SandboxError

FORMAT = 1
FIRST_UP = "first-up"
NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")
RUNTIMES = ("native", "cluster")  # the docker runtime keeps data inside its containers


@dataclass
class Info:
    name: str
    created: float
    runtime: str
    bytes: int
    components: list[str]


class Snapshots:
    def __init__(self, sandbox):
        self.sandbox = sandbox
        self.root = sandbox.state.root
        self.dir = self.root / "snapshots"

    # ---------------------------------------------------------------- what is kept
    @functools.cached_property
    def kept(self) -> dict[str, list[Path]]:
        """Per stateful component, the paths a snapshot keeps (absolute)."""
        found = {name: self.sandbox.component(name).snapshot_paths() for name in self.sandbox.names()}
        return {name: paths for name, paths in found.items() if paths}

    def _running(self) -> bool:
        return bool(process.owned_processes(self.sandbox.owner))

    def supported(self) -> bool:
        return self.sandbox.settings.runtime in RUNTIMES

    def _check_runtime(self) -> None:
        runtime = self.sandbox.settings.runtime
        if not self.supported():
            raise SandboxError(f"snapshots are not available with the {runtime} runtime (its data lives inside "
                               "its containers)", "use the default runtime: sandbox up --runtime native")

    @staticmethod
    def check_name(name: str) -> None:
        if not NAME.match(name):
            raise SandboxError(f"bad snapshot name {name!r}",
                               "use 1-63 characters: lower-case letters, digits, '.', '_' or '-', starting "
                               "with a letter or digit")

    def path(self, name: str) -> Path:
        self.check_name(name)
        return self.dir / name

    # ---------------------------------------------------------------- save
    def save(self, name: str, output: Path | None = None, replace: bool = False) -> Info:
        self._check_runtime()
        target = self.path(name)
        if target.exists() and not replace:
            raise SandboxError(f"snapshot {name} exists", f"sandbox snapshot rm {name} first, or choose another name")
        partial = target.with_name(f".{name}.partial")
        shutil.rmtree(partial, ignore_errors=True)
        running = self._running()
        quiet = None
        if name == FIRST_UP and self.supported() and self.sandbox.settings.runtime == "native":
            from sandbox import reset

            def quiet():  # what `sandbox reset` puts back in place; without it, it does the full load
                reset.capture(self.sandbox, partial / reset.LIVE)
        with self._stopped(running, quiet=quiet):
            info = self._copy_out(name, target, partial)
        if output:
            self.export(name, output)
        return info

    def _copy_out(self, name: str, target: Path, partial: Path) -> Info:
        components = {}
        for comp, paths in self.kept.items():
            kept = []
            for path in paths:
                if not path.exists():
                    continue
                relative = path.relative_to(self.root)
                destination = partial / "files" / relative
                destination.parent.mkdir(parents=True, exist_ok=True)
                if path.is_dir():
                    shutil.copytree(path, destination, symlinks=True)
                else:
                    shutil.copy2(path, destination)
                kept.append(str(relative))
            components[comp] = kept
        created = time.time()
        (partial / "snapshot.json").write_text(json.dumps({
            "format": FORMAT, "name": name, "created": created, "runtime": self.sandbox.settings.runtime,
            "components": components}, indent=2))
        shutil.rmtree(target, ignore_errors=True)
        partial.rename(target)
        return self.info(name)

    # ---------------------------------------------------------------- load
    def load(self, source: str) -> Info:
        """Load a snapshot by name, or a tarball written by `--output`."""
        self._check_runtime()
        if source.endswith((".tar", ".tar.gz", ".tgz")) or "/" in source:
            name = self.import_tarball(Path(source))
        else:
            name = source
        manifest = self.manifest(name)
        if manifest["runtime"] != self.sandbox.settings.runtime:
            raise SandboxError(f"snapshot {name} was saved in {manifest['runtime']} mode, this sandbox runs "
                               f"{self.sandbox.settings.runtime}",
                               f"sandbox down, then sandbox up --runtime {manifest['runtime']} and load it there")
        running = self._running()
        with self._stopped(running, savepoint=False):
            self.copy_back(manifest)
        return self.info(name)

    def copy_back(self, manifest: dict, components: list[str] | None = None) -> None:
        """Replace the components' files (all by default) with the snapshot's: what is there now
        goes, also what the snapshot lacks."""
        chosen = [c for c in self.kept if components is None or c in components]
        for comp in chosen:
            for path in self.kept[comp]:
                _remove(path)
        files = self.path(manifest["name"]) / "files"
        for relative in (r for comp, kept in manifest["components"].items() if comp in chosen for r in kept):
            source_path, destination = files / relative, self.root / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            if source_path.is_dir():
                shutil.copytree(source_path, destination, symlinks=True)
            else:
                shutil.copy2(source_path, destination)

    def reset(self) -> tuple[Info, dict[str, float] | None, str | None]:
        """Back to first-up: in place while the sandbox runs (sandbox/reset.py), else, or when
        that cannot be done, the full load. Answers the timings of an in-place reset, or why not."""
        from sandbox.reset import InPlace, NotInPlace

        if FIRST_UP not in {i.name for i in self.saved()}:
            raise SandboxError("no first-up snapshot to reset to",
                               "it is taken after the first healthy full `sandbox up` of a new or wiped sandbox "
                               "(with snapshots.first_up on); `sandbox up` now takes it")
        why = "the sandbox is not running"
        if self._running():
            try:
                return self.info(FIRST_UP), InPlace(self, FIRST_UP).run(), None
            except NotInPlace as exc:
                why = str(exc)
            except Exception as exc:  # noqa: BLE001 - whatever failed, the full load puts every file back
                why = f"the in-place reset failed: {exc}"
        return self.load(FIRST_UP), None, why

    # ---------------------------------------------------------------- list, rm, export
    def manifest(self, name: str) -> dict:
        return _check_manifest(self.path(name) / "snapshot.json", name)

    def info(self, name: str) -> Info:
        manifest = self.manifest(name)
        size = sum(p.stat().st_size for p in (self.path(name) / "files").rglob("*") if p.is_file())
        return Info(name, manifest["created"], manifest["runtime"], size, sorted(manifest["components"]))

    def saved(self) -> list[Info]:
        if not self.dir.exists():
            return []
        found = []
        for path in sorted(self.dir.iterdir()):
            if path.is_dir() and NAME.match(path.name) and (path / "snapshot.json").exists():
                try:
                    found.append(self.info(path.name))
                except SandboxError:
                    continue  # an unreadable one is listed by nothing; `rm` still removes it
        return sorted(found, key=lambda i: i.created)

    def remove(self, name: str) -> None:
        target = self.path(name)
        if not target.exists():
            raise SandboxError(f"no snapshot {name}", "sandbox snapshot list shows the snapshots")
        shutil.rmtree(target)

    def drop(self, name: str) -> None:
        shutil.rmtree(self.path(name), ignore_errors=True)

    def export(self, name: str, output: Path) -> Path:
        self.manifest(name)
        output.parent.mkdir(parents=True, exist_ok=True)
        compressed = output.name.endswith((".tar.gz", ".tgz"))
        with tarfile.open(output, "w:gz" if compressed else "w") as archive:
            archive.add(self.path(name), arcname=name)
        return output

    def import_tarball(self, tarball: Path) -> str:
        """A tarball written by `--output`: unpacked under its own name (replacing a same-named one)."""
        if not tarball.is_file():
            raise SandboxError(f"no snapshot file {tarball}", "give a snapshot's name or a file written by --output")
        try:
            with tarfile.open(tarball) as archive:
                names = {m.name.split("/", 1)[0] for m in archive.getmembers()}
                if len(names) != 1 or not NAME.match(next(iter(names))):
                    raise SandboxError(f"{tarball} is not a snapshot file", "give a file written by "
                                       "`sandbox snapshot save NAME --output FILE`")
                name = names.pop()
                staging = self.dir / f".{name}.import"
                shutil.rmtree(staging, ignore_errors=True)
                archive.extractall(staging, filter="tar")  # "data" would reset the modes Postgres checks
        except (tarfile.TarError, OSError) as exc:
            raise SandboxError(f"{tarball} is not a readable snapshot file ({exc})",
                               "give a file written by --output") from None
        try:
            _check_manifest(staging / name / "snapshot.json", name)  # before it replaces a same-named one
        except SandboxError:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        shutil.rmtree(self.dir / name, ignore_errors=True)
        (staging / name).rename(self.dir / name)
        shutil.rmtree(staging, ignore_errors=True)
        return name

    # ---------------------------------------------------------------- stop and start around a copy
    def restarted(self) -> list[str] | None:
        """What must stop while files are copied: the stateful stores, the analytics job's heartbeat
        and every service (their connections and consumer positions are of the old state); the
        Flink cluster, the gateway and the observers keep running. None: everything (cluster mode,
        whose pods cannot be restarted one component at a time from here)."""
        from sandbox.components.base import Kind

        if self.sandbox.settings.runtime != "native":
            return None
        names = self.sandbox.names()
        stores = [n for n in self.kept if n != "flink"]  # Flink's files are the job's, not the cluster's
        wanted = {*stores, "analytics", *(n for n in names if self.sandbox.component(n).kind is Kind.SERVICE)}
        return [n for n in names if n in wanted]

    @contextmanager
    def _stopped(self, running: bool, savepoint: bool = True, quiet=None) -> Iterator[None]:
        """Stop what the copy needs stopped (the analytics job first, with a savepoint when saving;
        then the services; `quiet` is called once nothing but the stores runs; then the stores),
        and start the whole sandbox again afterwards, also when the copy failed."""
        if not running:
            yield
            return
        sandbox = self.sandbox
        if "analytics" in sandbox.names():
            sandbox.component("analytics").stop_job(savepoint)
        restarted = self.restarted()
        try:
            if restarted is None:
                sandbox.down()
            else:
                writers = [n for n in restarted if n not in self.kept]
                if writers:
                    sandbox.down(",".join(writers))
                if quiet:
                    quiet()
                sandbox.down(",".join(n for n in restarted if n in self.kept))
            yield
        finally:
            sandbox.up()


def _check_manifest(path: Path, name: str) -> dict:
    try:
        manifest = json.loads(path.read_text())
    except FileNotFoundError:
        raise SandboxError(f"no snapshot {name}", "sandbox snapshot list shows the snapshots") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise SandboxError(f"snapshot {name} is unreadable ({exc})", f"sandbox snapshot rm {name}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        found = manifest.get("format") if isinstance(manifest, dict) else "?"
        raise SandboxError(f"snapshot {name} has format {found}; this sandbox reads format {FORMAT}",
                           "load it with the version of the sandbox that saved it")
    return manifest


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)
