"""Jars from Maven Central, resolved by the poms under sandbox/maven/ and cached in .cache/jars/."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

from sandbox.errors import SandboxError

POMS = Path(__file__).parent / "maven"


def resolve_jars(bundle: str, cache_dir: Path, transitive: bool = True) -> Path:
    """Copy the runtime classpath of `sandbox/maven/<bundle>/pom.xml` into `<cache>/jars/<bundle>`.

    A marker holding the pom's hash makes this a no-op once done; a changed pom re-resolves.
    """
    pom = POMS / bundle / "pom.xml"
    target = cache_dir / "jars" / bundle
    marker = target / ".resolved"
    digest = hashlib.sha256(pom.read_bytes()).hexdigest()
    if marker.exists() and marker.read_text() == digest:
        return target
    mvn = shutil.which("mvn")
    if not mvn:
        raise SandboxError("Maven (`mvn`) is needed to fetch the jars", "apt-get install -y maven")
    if target.exists():
        shutil.rmtree(target)
    command = [
        mvn, "-q", "-B", "-f", str(pom), "dependency:copy-dependencies",
        f"-DoutputDirectory={target}", "-DincludeScope=runtime",
        f"-DexcludeTransitive={'false' if transitive else 'true'}",
    ]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        last = (result.stdout + result.stderr).strip().splitlines()[-1:] or ["no output"]
        raise SandboxError(
            f"Maven could not resolve {bundle} jars: {last[0][:200]}",
            "check that Maven Central is reachable (mvn -B help:system) and rerun",
        )
    marker.write_text(digest)
    return target
