"""AWS APIs (S3, DynamoDB, Lambda, IAM, STS, Logs, Secrets Manager) from one moto server.

The server is started through `sandbox.aws_server`, which adds a Lambda executor that really runs
function code (moto without Docker only returns a canned answer) on warm execution environments;
the runtimes' folders (awslambdaric + boto3 venvs, aws-lambda-ric) are kept in the cache dir.
Every resource and object is kept in `data/aws/state.pickle` across `down`/`up` (sandbox/aws_state.py);
`down --wipe` deletes it with the rest of the data.
"""

from __future__ import annotations

import functools
import json
import sys

from sandbox.components.base import Component, MetricsTarget, ProcessSpec
from sandbox.health import ClientProbe, Health
from sandbox.poll import NOT_YET

TEST_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}


class Aws(Component):
    name = "aws"
    port_name = "aws"
    cached_health = True  # its SDK takes ~0.3-0.7 s to import

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def state_file(self):
        return self.data_dir / "state.pickle"

    def state_id(self) -> str | None:
        """The id of what the running emulator holds (sandbox/aws_server.py), None when not up."""
        import urllib.error
        import urllib.request

        try:  # a generous timeout: a busy emulator (saving its state) answers late, not differently
            with urllib.request.urlopen(f"{self.endpoint}/_sandbox/state", timeout=10) as answer:
                return json.loads(answer.read())["id"]
        except (OSError, urllib.error.URLError, ValueError, KeyError):
            return None

    def save_state(self, to=None) -> dict:
        """Save what the emulator holds now: to its state file, or to `to` (a snapshot)."""
        import urllib.request

        body = json.dumps({"path": str(to)} if to else {}).encode()
        request = urllib.request.Request(f"{self.endpoint}/_sandbox/state/save", data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as answer:
            return json.loads(answer.read())

    def processes(self) -> list[ProcessSpec]:
        command = [sys.executable, "-m", "sandbox.aws_server", "--host", "127.0.0.1", "--port", str(self.port),
                   "--lambda-log", str(self.state.log_file("lambda")),
                   "--lambda-work-dir", str(self.data_dir / "lambda"),
                   "--lambda-cache-dir", str(self.settings.user_cache_dir / "lambda-runtimes"),
                   "--init-status", str(self.state.log_file("lambda").parent / "init-status.json"),
                   "--state-file", str(self.state_file)]
        return [ProcessSpec("moto", command, env={**self.env(), "MOTO_PORT": str(self.port)})]

    def probe(self) -> ClientProbe:
        from botocore.exceptions import BotoCoreError, ClientError

        # connection errors; a 5xx while moto boots
        return ClientProbe(self.health, not_yet=(*NOT_YET, BotoCoreError, ClientError))

    def metrics_targets(self) -> list[MetricsTarget]:
        from sandbox.aws_server import METRICS_PATH

        return [MetricsTarget(f"127.0.0.1:{self.port}", METRICS_PATH)]

    @functools.cached_property
    def _sts(self):
        """Made once per instance: a boto3 client costs ~10 ms of CPU, the call itself ~1 (the
        monitor asks every 2 s)."""
        import boto3

        return boto3.client("sts", endpoint_url=self.endpoint, region_name=self.settings.region, **_boto_creds())

    def health(self) -> Health:
        account = self._sts.get_caller_identity()["Account"]
        return Health(True, f"sts ok, account {account}")

    def env(self) -> dict[str, str]:
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_DEFAULT_REGION": self.settings.region,
            "AWS_REGION": self.settings.region,
            **TEST_CREDENTIALS,
        }

    def snapshot_paths(self):
        return [self.state_file]  # not the Lambda work dir: code unpacked again from the state

    def log_files(self):
        return [self.log_file, self.state.log_file("lambda")]


def _boto_creds() -> dict[str, str]:
    return {"aws_access_key_id": "test", "aws_secret_access_key": "test"}
