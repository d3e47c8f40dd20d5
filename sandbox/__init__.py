"""Local-first emulated cloud sandbox."""

import warnings

# google-api-core warns on every import that Python 3.11 support ends in 2027; not actionable here.
warnings.filterwarnings("ignore", category=FutureWarning, module="google.api_core")
