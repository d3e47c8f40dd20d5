"""The language runtimes the Lambda executor starts execution environments on.

A runtime is what AWS puts under /var/lang and /var/runtime: an interpreter plus the runtime
interface client that speaks the Lambda Runtime API, plus what AWS bundles with it.

- `python3.X`: the machine's CPython 3.X (or the nearest minor version present, with a warning)
  and a venv of its own, cached under the cache dir, holding only `awslambdaric` (AWS's runtime
  interface client, from PyPI) and `boto3` (AWS bundles it; the emulator's own version). The
  venv excludes the system site-packages, so neither the project's .venv nor the interpreter's
  global packages are importable by handlers. When awslambdaric cannot be installed, the
  environment runs `sandbox/lambda_runtime.py`, a pure-Python Runtime API client, with a warning.
- `nodejs*.x`: the machine's `node` and `aws-lambda-ric` from npm (it builds a native addon with
  autotools and cmake), cached; when it cannot be installed, `sandbox/lambda_runtime.mjs`, a
  plain-Node Runtime API client, with a warning. No AWS SDK for JavaScript is bundled.
- `provided`, `provided.al2`, `provided.al2023`: nothing; the zip's (or a layer's) `bootstrap`.

`python -m sandbox.lambda_runtimes prepare --cache-dir DIR RUNTIME...` builds them ahead (the
docker stand-in image does, so it needs no registry at run time).
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
PY_CLIENT = HERE / "lambda_runtime.py"
NODE_CLIENT = HERE / "lambda_runtime.mjs"
AWSLAMBDARIC = "awslambdaric<=4.2.2"  # the newest release the interpreter supports, up to this one
NODE_RIC = "aws-lambda-ric@3.3.0"  # 4.x needs Node >= 22
PYTHONS_ENV = "SANDBOX_LAMBDA_PYTHONS"  # colon-separated interpreters; replaces discovery (tests, users)
NODE_ENV = "SANDBOX_LAMBDA_NODE"  # the node binary; "" = none
BUILD_TIMEOUT = 900.0


class RuntimeUnavailable(Exception):
    """The runtime cannot be had on this machine; the message says why."""


@dataclass
class Runtime:
    """How to start one execution environment of a runtime."""

    name: str  # the function's Runtime, e.g. python3.12
    command: list[str]  # run in the task root; the handler comes from _HANDLER
    env: dict[str, str] = field(default_factory=dict)
    path: list[str] = field(default_factory=list)  # prepended to PATH
    warnings: list[str] = field(default_factory=list)
    kind: str = ""  # python | node | provided


def boto3_version() -> str:
    return importlib.metadata.version("boto3")


# ------------------------------------------------------------------ interpreters
_interpreters: dict[str, tuple[tuple[int, ...], str] | None] = {}
_lock = threading.Lock()
_PROBE = "import os, sys; print('.'.join(map(str, sys.version_info[:3])), os.path.realpath(sys.executable))"


def interpreter(binary: str) -> tuple[tuple[int, ...], str] | None:
    """(version, real path) of a Python binary, or None when it does not run (a pyenv shim of a
    version not selected, say). The real path is the interpreter itself, outside any venv."""
    if binary not in _interpreters:
        found = None
        try:
            out = subprocess.run([binary, "-c", _PROBE], capture_output=True, text=True, timeout=20)
            version, _, path = out.stdout.strip().partition(" ")
            if out.returncode == 0 and path and re.fullmatch(r"\d+\.\d+\.\d+", version):
                found = (tuple(int(p) for p in version.split(".")), path)
        except (OSError, subprocess.SubprocessError):
            pass
        _interpreters[binary] = found
    return _interpreters[binary]


def _base_python() -> str:
    """The interpreter the emulator runs on, without its venv."""
    return getattr(sys, "_base_executable", None) or sys.executable


def _candidates(minor: int | None = None) -> list[str]:
    """Python binaries that may be CPython 3.`minor` (any 3.x when None): PATH, then pyenv's versions."""
    if os.environ.get(PYTHONS_ENV) is not None:
        return [p for p in os.environ[PYTHONS_ENV].split(":") if p]
    minors = range(6, 16) if minor is None else [minor]
    found = [b for b in (shutil.which(f"python3.{m}") for m in minors) if b]
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    for m in minors:
        found += sorted(str(p) for p in pyenv.glob(f"3.{m}.*/bin/python3.{m}"))
    return found


def pythons(wanted: tuple[int, int] | None = None) -> dict[tuple[int, int], str]:
    """CPython interpreters on this machine by (major, minor): PATH, pyenv's versions, the emulator's own.

    With `wanted`, the binaries named for that version are probed first and, when one runs, the
    others are not (each probe starts an interpreter).
    """
    found: dict[tuple[int, int], str] = {}

    def probe(binaries: list[str]) -> None:
        for binary in binaries:
            probed = interpreter(binary)
            if probed:
                found.setdefault((probed[0][0], probed[0][1]), probed[1])

    if wanted is not None and os.environ.get(PYTHONS_ENV) is None:
        probe(_candidates(wanted[1]))
        if wanted in found:
            return found
    probe([*_candidates(), _base_python()])
    return found


def nearest(wanted: tuple[int, int], present: list[tuple[int, int]]) -> tuple[int, int] | None:
    """The same version if present, else the closest minor of the same major (the newer on a tie)."""
    same_major = [v for v in present if v[0] == wanted[0]]
    if not same_major:
        return None
    return min(same_major, key=lambda v: (abs(v[1] - wanted[1]), -v[1]))


def node_binary() -> str | None:
    configured = os.environ.get(NODE_ENV)
    if configured is not None:
        return configured or None
    return shutil.which("node")


# ------------------------------------------------------------------ cached runtime folders
def _built(target: Path, retry_incomplete: bool) -> bool:
    try:
        manifest = json.loads((target / "ready.json").read_text())
    except (OSError, ValueError):
        return False
    return not (retry_incomplete and manifest.get("notes"))


def _locked_build(target: Path, build) -> None:
    """Build `target` once, across threads and processes: staged, then renamed into place. A build
    that fell short (its manifest has notes: a registry unreachable, no compiler) is tried again
    the first time each process needs it (runtimes are resolved once per emulator process)."""
    retry = target not in _retried
    _retried.add(target)
    if _built(target, retry):
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    with _lock, open(target.parent / f".{target.name}.lock", "w") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        if _built(target, retry):  # built meanwhile by another process
            return
        staging = target.with_name(target.name + ".build")
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(target, ignore_errors=True)
        staging.mkdir()
        try:
            manifest = build(staging)
            (staging / "ready.json").write_text(json.dumps(manifest, indent=1))
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        staging.rename(target)


_retried: set[Path] = set()


def _run(command: list[str], what: str, **kwargs) -> None:
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=BUILD_TIMEOUT, **kwargs)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RuntimeUnavailable(f"{what}: {exc}") from exc
    if result.returncode != 0:
        tail = (result.stderr or result.stdout).strip()[-600:]
        raise RuntimeUnavailable(f"{what} failed ({result.returncode}): {tail}")


def _uv() -> str | None:
    return shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")


def python_env(cache_dir: Path, interpreter: str, version: tuple[int, ...]) -> tuple[Path, dict]:
    """A venv of `interpreter` holding awslambdaric and boto3 only; (its folder, its manifest)."""
    requirements = [AWSLAMBDARIC, f"boto3<={boto3_version()}"]
    digest = hashlib.sha256(json.dumps([interpreter, requirements]).encode()).hexdigest()[:12]
    target = cache_dir / f"python{'.'.join(map(str, version))}-{digest}"

    def build(staging: Path) -> dict:
        uv = _uv()
        python = staging / "bin" / "python"
        if uv:
            _run([uv, "venv", "-q", "--python", interpreter, str(staging)], "uv venv")
            install = [uv, "pip", "install", "-q", "--python", str(python)]
        else:
            _run([interpreter, "-m", "venv", str(staging)], "python -m venv")
            install = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
        notes = []
        try:
            _run([*install, *requirements], "installing " + " ".join(requirements))
        except RuntimeUnavailable as exc:
            # awslambdaric alone may be what fails (no wheel for this interpreter, no compiler): keep boto3
            notes.append(str(exc))
            try:
                _run([*install, requirements[1]], "installing boto3")
            except RuntimeUnavailable as again:
                notes.append(str(again))
        probe = ("import importlib.metadata as m, json\nout = {}\nfor name in ('awslambdaric', 'boto3'):\n"
                 "    try: out[name] = m.version(name)\n    except m.PackageNotFoundError: pass\nprint(json.dumps(out))")
        packages = json.loads(subprocess.run([str(python), "-c", probe], capture_output=True, text=True,
                                             check=True).stdout)
        return {"interpreter": interpreter, "packages": packages, "notes": notes}

    _locked_build(target, build)
    return target, json.loads((target / "ready.json").read_text())


def node_env(cache_dir: Path, node: str, version: tuple[int, ...]) -> tuple[Path, dict]:
    """aws-lambda-ric installed with npm for this node; (its folder, its manifest)."""
    digest = hashlib.sha256(json.dumps([node, NODE_RIC]).encode()).hexdigest()[:12]
    target = cache_dir / f"node{'.'.join(map(str, version))}-{digest}"

    def build(staging: Path) -> dict:
        (staging / "package.json").write_text(json.dumps({"name": "lambda-node-runtime", "private": True}))
        npm = shutil.which("npm", path=str(Path(node).parent)) or shutil.which("npm")
        notes = []
        if not npm:
            notes.append("npm not found")
        else:
            try:
                _run([npm, "install", "--no-audit", "--no-fund", "--loglevel=error", NODE_RIC], f"npm install {NODE_RIC}",
                     cwd=staging, env={**os.environ, "PATH": f"{Path(node).parent}:{os.environ.get('PATH', '')}"})
            except RuntimeUnavailable as exc:
                notes.append(str(exc))
                shutil.rmtree(staging / "node_modules", ignore_errors=True)
        package = staging / "node_modules" / "aws-lambda-ric"
        built = (package / "bin" / "index.mjs").exists() and (package / "dist" / "rapid-client.node").exists()
        if package.exists() and not built and not notes:  # an npm that skips install scripts
            notes.append("its native addon (dist/rapid-client.node) was not built")
        return {"node": node, "ric": NODE_RIC if built else None, "notes": notes}

    _locked_build(target, build)
    return target, json.loads((target / "ready.json").read_text())


# ------------------------------------------------------------------ resolving a function's runtime
PYTHON_RUNTIME = re.compile(r"python(\d+)\.(\d+)")
NODE_RUNTIME = re.compile(r"nodejs(\d+)\.x")
PROVIDED = {"provided", "provided.al2", "provided.al2023"}


def resolve(runtime: str, cache_dir: Path) -> Runtime:
    """How to start an environment of `runtime` here; raises RuntimeUnavailable."""
    runtime, cache_dir = runtime or "", cache_dir.resolve()
    if match := PYTHON_RUNTIME.fullmatch(runtime):
        return _python(runtime, (int(match[1]), int(match[2])), cache_dir)
    if match := NODE_RUNTIME.fullmatch(runtime):
        return _node(runtime, int(match[1]), cache_dir)
    if runtime in PROVIDED:
        return Runtime(runtime, [], kind="provided")
    raise RuntimeUnavailable(f"runtime {runtime!r} is not supported by the sandbox's Lambda executor "
                             "(python3.x, nodejs*.x and provided.* are)")


def _python(runtime: str, wanted: tuple[int, int], cache_dir: Path) -> Runtime:
    present = pythons(wanted)
    chosen = nearest(wanted, list(present))
    if chosen is None:
        raise RuntimeUnavailable(f"{runtime}: no CPython 3 interpreter found on this machine")
    warnings = []
    if chosen != wanted:
        warnings.append(f"runtime {runtime}: python{wanted[0]}.{wanted[1]} is not on this machine; "
                        f"running on the nearest, python{chosen[0]}.{chosen[1]} ({present[chosen]})")
    binary = present[chosen]
    version = (interpreter(binary) or (chosen, binary))[0]
    env_dir, manifest = python_env(cache_dir, binary, version)
    python = str(env_dir / "bin" / "python")
    packages = manifest.get("packages", {})
    if "awslambdaric" in packages:
        command = [python, "-s", "-m", "awslambdaric"]
    else:
        warnings.append(f"runtime {runtime}: awslambdaric could not be installed ({'; '.join(manifest['notes'])[:300]}); "
                        "running on the sandbox's own Runtime API client (sandbox/lambda_runtime.py)")
        command = [python, "-s", str(PY_CLIENT)]
    if "boto3" not in packages:
        warnings.append(f"runtime {runtime}: boto3 could not be installed; handlers cannot import it")
    site = next((env_dir / "lib").glob("python3*/site-packages"), env_dir)
    return Runtime(runtime, command, env={"LAMBDA_RUNTIME_DIR": str(site)}, path=[str(env_dir / "bin")],
                   warnings=warnings, kind="python")


def _node(runtime: str, wanted_major: int, cache_dir: Path) -> Runtime:
    node = node_binary()
    version = None
    if node:
        try:
            out = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=20).stdout.strip()
            version = tuple(int(p) for p in out.lstrip("v").split("."))
        except (OSError, ValueError, subprocess.SubprocessError):
            version = None
    if not node or not version:
        raise RuntimeUnavailable(f"{runtime}: no `node` found on this machine")
    warnings = []
    if version[0] != wanted_major:
        warnings.append(f"runtime {runtime}: Node.js {wanted_major} is not on this machine; "
                        f"running on the nearest, Node.js {'.'.join(map(str, version))} ({node})")
    env_dir, manifest = node_env(cache_dir, node, version)
    if manifest.get("ric"):
        command = [node, str(env_dir / "node_modules" / "aws-lambda-ric" / "bin" / "index.mjs")]
    else:
        warnings.append(f"runtime {runtime}: {NODE_RIC} could not be installed ({'; '.join(manifest['notes'])[:300]}); "
                        "running on the sandbox's own Runtime API client (sandbox/lambda_runtime.mjs)")
        command = [node, str(NODE_CLIENT)]
    return Runtime(runtime, command, env={"LAMBDA_RUNTIME_DIR": str(env_dir)}, path=[str(Path(node).parent)],
                   warnings=warnings, kind="node")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Builds the Lambda runtimes' cached folders ahead of use.")
    sub = parser.add_subparsers(dest="command", required=True)
    prepare = sub.add_parser("prepare")
    prepare.add_argument("--cache-dir", type=Path, required=True)
    prepare.add_argument("runtimes", nargs="+")
    args = parser.parse_args(argv)
    for name in args.runtimes:
        runtime = resolve(name, args.cache_dir)
        print(f"{name}: {' '.join(runtime.command) or 'bootstrap'}")
        for warning in runtime.warnings:
            print(f"  warning: {warning}")


if __name__ == "__main__":
    main()
