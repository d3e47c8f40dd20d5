"""Images without a registry: a static binary as a one-layer image archive (`docker save`'s format,
which `ctr images import` reads), and imports into the cluster's containerd."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import tarfile
from pathlib import Path


def binary_image(binary: Path, ref: str, out: Path, entrypoint: str) -> Path:
    """`out`: an image archive holding only `binary` at `entrypoint`; rewritten when either changed."""
    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo(entrypoint.lstrip("/"))
        data = binary.read_bytes()
        info.size, info.mode, info.mtime = len(data), 0o755, 0
        tar.addfile(info, io.BytesIO(data))
    layer_bytes = layer.getvalue()
    diff_id = "sha256:" + hashlib.sha256(layer_bytes).hexdigest()
    config = json.dumps({
        "architecture": "amd64", "os": "linux",
        "config": {"Entrypoint": [entrypoint], "User": "65535:65535"},
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created_by": f"sandbox: {binary.name}"}],
    }, sort_keys=True).encode()
    config_name = hashlib.sha256(config).hexdigest() + ".json"
    stamp = out.with_suffix(".id")
    if out.exists() and stamp.exists() and stamp.read_text() == f"{ref} {config_name}":
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    manifest = json.dumps([{"Config": config_name, "RepoTags": [ref], "Layers": ["layer.tar"]}]).encode()
    tmp = out.with_suffix(".tmp")
    with tarfile.open(tmp, mode="w") as tar:
        for name, payload in (("layer.tar", layer_bytes), (config_name, config), ("manifest.json", manifest)):
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    tmp.replace(out)
    stamp.write_text(f"{ref} {config_name}")
    return out


def image_ids(ctr: list[str]) -> dict[str, str]:
    """ref -> digest of the images containerd's k8s.io namespace holds."""
    out = subprocess.run([*ctr, "-n", "k8s.io", "images", "ls"], capture_output=True, text=True, check=True).stdout
    lines = out.splitlines()[1:]
    return {parts[0]: parts[2] for parts in (line.split() for line in lines) if len(parts) > 2}


def import_archive(ctr: list[str], archive: Path) -> None:
    subprocess.run([*ctr, "-n", "k8s.io", "images", "import", "--no-unpack=false", str(archive)],
                   capture_output=True, text=True, check=True)
