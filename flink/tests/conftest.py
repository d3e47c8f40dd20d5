"""pytest setup for the analytics job tests.

``flink/`` is a folder of scripts (what Flink/Dataproc ship), not a package: put it on the
path so the tests import ``analytics_job`` / ``submit_dataproc`` as the cluster does.
"""

import sys
from pathlib import Path

FLINK_DIR = Path(__file__).resolve().parent.parent
if str(FLINK_DIR) not in sys.path:
    sys.path.insert(0, str(FLINK_DIR))

# Third-party noise under the repo's `filterwarnings = error` (pyproject): not ours to fix.
THIRD_PARTY_WARNINGS = [
    # PyFlink's launch_gateway() drops its Popen of the gateway JVM (pyflink_gateway_server.py)
    "ignore:subprocess .* is still running:ResourceWarning",
    "ignore:unclosed file <_io.Buffered:ResourceWarning",
    # apache-beam (a PyFlink dependency) imports pkg_resources
    "ignore:pkg_resources is deprecated:UserWarning",
    # httplib2 (via google-auth/apache-beam) calls old pyparsing names
    "ignore:.* deprecated - use .*:DeprecationWarning",
    # google-api-core: Python 3.11 support end notice
    "ignore::FutureWarning:google.api_core",
]


def pytest_configure(config):
    for line in THIRD_PARTY_WARNINGS:
        config.addinivalue_line("filterwarnings", line)
