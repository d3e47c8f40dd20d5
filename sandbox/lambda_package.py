"""Builds a Lambda deployment zip from a service folder: its top-level modules plus its
requirements installed for Lambda's platform (manylinux x86_64, CPython 3.11).

The zip is byte-for-byte reproducible (sorted entries, fixed timestamps), so Terraform's
`source_code_hash` only changes when the code or its requirements do; builds are cached by
a digest of their inputs.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from sandbox.errors import SandboxError

FIXED_TIME = (2020, 1, 1, 0, 0, 0)


def _inputs_digest(source: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(source.glob("*.py")) + [source / "requirements.txt"]:
        if path.exists():
            digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:16]


def build(source: Path, out_dir: Path) -> Path:
    """Return the path of `<out_dir>/<name>-<digest>.zip`, building it if needed."""
    name = source.name
    target = out_dir / f"{name}-{_inputs_digest(source)}.zip"
    if target.exists():
        return target
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"{name}-build-") as tmp:
        staging = Path(tmp)
        requirements = source / "requirements.txt"
        if requirements.exists():
            _install(requirements, staging)
        for module in sorted(source.glob("*.py")):
            shutil.copy(module, staging / module.name)
        partial = target.with_suffix(".zip.tmp")
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(p for p in staging.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
                info = zipfile.ZipInfo(str(path.relative_to(staging)), FIXED_TIME)
                info.external_attr = 0o644 << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, path.read_bytes())
        partial.replace(target)
    for old in out_dir.glob(f"{name}-*.zip"):
        if old != target:
            old.unlink()
    return target


def _install(requirements: Path, target: Path) -> None:
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    platform = ["--python-platform", "x86_64-manylinux2014", "--python-version", "3.11"]
    if uv:
        command = [uv, "pip", "install", "-q", "--target", str(target), "-r", str(requirements), *platform,
                   "--only-binary", ":all:"]
    else:
        command = [sys.executable, "-m", "pip", "install", "-q", "--target", str(target), "-r", str(requirements),
                   "--platform", "manylinux2014_x86_64", "--implementation", "cp", "--python-version", "3.11",
                   "--only-binary=:all:"]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise SandboxError(f"could not install {requirements} for the Lambda zip: {result.stderr.strip()[-300:]}",
                           "check that PyPI is reachable")
