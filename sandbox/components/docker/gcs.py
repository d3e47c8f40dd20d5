"""A GCS emulator as a container: fake-gcs-server (official) or the gcp-storage-emulator stand-in,
which accepts fake-gcs-server's flags. The default bucket is created by after_start."""

from __future__ import annotations

from sandbox.components import gcs as native
from sandbox.components.docker.base import ContainerComponent, ContainerSpec

CONTAINER_PORT = 4443


class Gcs(ContainerComponent, native.Gcs):
    image_key = "gcs"

    def prepare(self) -> None:
        """Data lives in the container."""

    def container_specs(self) -> list[ContainerSpec]:
        return [ContainerSpec(
            "gcs", self.image,
            command=["-scheme", "http", "-host", "0.0.0.0", "-port", str(CONTAINER_PORT),
                     "-public-host", f"127.0.0.1:{self.port}", "-backend", "memory"],
            env={"GCS_DEFAULT_BUCKET": self.settings.gcs.default_bucket},
            ports={CONTAINER_PORT: self.port},
        )]

    def after_start(self) -> None:
        from google.api_core.exceptions import Conflict

        client = self._client
        if client.lookup_bucket(self.settings.gcs.default_bucket) is None:
            try:
                client.create_bucket(self.settings.gcs.default_bucket)
            except Conflict:
                pass

    def network_env(self) -> dict[str, str]:
        return {**self.env(), "STORAGE_EMULATOR_HOST": f"http://gcs:{CONTAINER_PORT}"}
