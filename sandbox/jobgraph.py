"""The analytics job's compiled graph, kept so that submitting it again skips PyFlink's planning.

`flink run -py` spends ~10 s here (a client JVM, a Python process driving it, the SQL planner in a
cold JVM) to produce a JobGraph that is the same every time for the same job file, arguments and
Flink configuration. The first submission goes through `flink run` as always, with
`execution.target: sandbox-capture` (sandbox/java/sandbox/flink/CaptureExecutorFactory.java):
it submits as the `remote` target does and also writes the JobGraph to a file named by a hash of
everything it was made from. Later submissions of the same job (a restart, `up` after `down`,
`snapshot load`, `reset`) send that file under a new job id, resumed from a savepoint or not
(SubmitJobGraph.java): ~2.5 s. A changed job file, argument, connector jar or Flink configuration
is another hash, so it is planned again. Dataproc and the docker runtime still run `flink run`.

The two classes are compiled with `javac` against PyFlink's own flink-dist jar into the user cache,
keyed by their source and Flink's version; without a JDK the job is submitted by `flink run` only.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

SOURCES = Path(__file__).parent / "java"
TARGET = "sandbox-capture"


def _flink_lib(flink_home: Path) -> Path:
    return flink_home / "lib"


def _dist_jar(flink_home: Path) -> Path:
    return next(_flink_lib(flink_home).glob("flink-dist-*.jar"))


def _sources() -> list[Path]:
    return sorted(p for p in SOURCES.rglob("*") if p.is_file())


def helper_jar(cache_dir: Path, flink_home: Path) -> Path | None:
    """The two classes as a jar, built once per source and Flink version; None without `javac`."""
    javac, jar = shutil.which("javac"), shutil.which("jar")
    if not javac or not jar:
        return None
    digest = hashlib.sha256(_dist_jar(flink_home).name.encode())
    for path in _sources():
        digest.update(str(path.relative_to(SOURCES)).encode() + path.read_bytes())
    built = cache_dir / "flink-submit" / digest.hexdigest()[:16] / "sandbox-flink.jar"
    if built.exists():
        return built
    classes = built.parent / "classes"
    shutil.rmtree(classes, ignore_errors=True)
    classes.mkdir(parents=True)
    java_files = [str(p) for p in _sources() if p.suffix == ".java"]
    subprocess.run([javac, "--release", "11", "-cp", str(_dist_jar(flink_home)), "-d", str(classes), *java_files],
                   check=True, capture_output=True, text=True)
    shutil.copytree(SOURCES / "META-INF", classes / "META-INF")
    partial = built.with_suffix(".partial")
    subprocess.run([jar, "cf", str(partial), "-C", str(classes), "."], check=True, capture_output=True)
    partial.rename(built)
    return built


def graph_file(folder: Path, run_args: list[str], made_from: list[Path]) -> Path:
    """Where the graph made by these `flink run` arguments (without `-s`) and files is kept."""
    digest = hashlib.sha256("\0".join(run_args).encode())
    for path in made_from:
        digest.update(str(path).encode() + b"\0" + path.read_bytes())
    return folder / f"jobgraph-{digest.hexdigest()[:16]}.bin"


def capture_args(graph: Path, rest_port: int) -> list[str]:
    """`flink run` options that submit to the sandbox's JobManager and keep the graph in `graph`
    (`-t` instead of `-m`: the generic executor option reads the target from the configuration)."""
    return ["-t", TARGET, "-Drest.address=127.0.0.1", f"-Drest.port={rest_port}", f"-Dsandbox.jobgraph.file={graph}"]


def submit_command(helper: Path, flink_home: Path, graph: Path, rest_port: int, savepoint: str | None) -> list[str]:
    """A JVM that submits the kept graph (small and quick to start: it only talks REST)."""
    lib = _flink_lib(flink_home)
    classpath = [helper, _dist_jar(flink_home), *sorted(lib.glob("log4j-*.jar"))]
    return ["java", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xmx256m",
            "-cp", ":".join(str(p) for p in classpath), "sandbox.flink.SubmitJobGraph",
            str(graph), "127.0.0.1", str(rest_port), *([savepoint] if savepoint else [])]
