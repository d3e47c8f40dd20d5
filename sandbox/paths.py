"""Where the project lives (settings and the overlay renderer both need it, neither the other)."""

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
# builds that outlive a clone (Lambda runtime environments, cluster binaries), keyed by version
USER_CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "cloud-sandbox"
