"""What the unit tests of the install scripts share: scripts/licenses.py as a module (the licence
gate's view of what the scripts build), a script's `--paths` answer for a given cache, and the
version a wrapper module pins."""

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

if "licenses" not in sys.modules:
    _spec = importlib.util.spec_from_file_location("licenses", ROOT / "scripts" / "licenses.py")
    sys.modules["licenses"] = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(sys.modules["licenses"])
licenses = sys.modules["licenses"]


def script_paths(script: Path, cache: Path) -> dict[str, Path]:
    """name -> path, as `script --paths` answers with cache as the user cache (builds nothing)."""
    out = subprocess.run(["bash", str(script), "--paths"], capture_output=True, text=True, check=True,
                         env={"PATH": "/usr/bin:/bin", "HOME": str(cache), "SANDBOX_USER_CACHE_DIR": str(cache)})
    return {name: Path(path) for name, path in (line.split(" ", 1) for line in out.stdout.splitlines())}


def required(go_mod: Path, main: str) -> str:
    """The version of module `main` that a wrapper module's go.mod requires."""
    return re.search(rf"^\s*(?:require\s+)?{re.escape(main)} (v\S+)", go_mod.read_text(), re.M)[1]
