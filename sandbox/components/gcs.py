"""Google Cloud Storage from the `gcp-storage-emulator` PyPI package, data kept on disk."""

from __future__ import annotations

import functools
import shutil
import sys
from pathlib import Path

from sandbox.components.base import Component, ProcessSpec
from sandbox.health import ClientProbe, Health
from sandbox.poll import NOT_YET


class Gcs(Component):
    name = "gcs"
    port_name = "gcs"
    cached_health = True  # its SDK takes ~0.3-0.7 s to import

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def prepare(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)

    def processes(self) -> list[ProcessSpec]:
        emulator = shutil.which("gcp-storage-emulator", path=str(Path(sys.executable).parent))
        command = [emulator or "gcp-storage-emulator", "start", "--host", "127.0.0.1", "--port", str(self.port),
                   "--default-bucket", self.settings.gcs.default_bucket]
        # the emulator keeps its files under ./.cloudstorage of its working directory
        return [ProcessSpec("emulator", command, cwd=self.data_dir)]

    @functools.cached_property
    def _client(self):
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import storage

        return storage.Client(project=self.settings.gcs.project, credentials=AnonymousCredentials(),
                              client_options={"api_endpoint": self.endpoint})

    def probe(self) -> ClientProbe:
        from google.api_core.exceptions import GoogleAPIError

        # the emulator answering 5xx or retries exhausted while it boots
        return ClientProbe(self.health, not_yet=(*NOT_YET, GoogleAPIError))

    def health(self) -> Health:
        buckets = [b.name for b in self._client.list_buckets(timeout=2)]
        return Health(True, f"{len(buckets)} bucket(s)")

    def snapshot_paths(self) -> list[Path]:
        return [self.data_dir]

    def env(self) -> dict[str, str]:
        return {"STORAGE_EMULATOR_HOST": self.endpoint, "GOOGLE_CLOUD_PROJECT": self.settings.gcs.project,
                "GCS_BUCKET": self.settings.gcs.default_bucket}
