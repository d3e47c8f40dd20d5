"""Postgres as a container (official `postgres` image or the Debian-built stand-in)."""

from __future__ import annotations

from sandbox.components import postgres as native
from sandbox.components.docker.base import ContainerComponent, ContainerSpec

CONTAINER_PORT = 5432


class Postgres(ContainerComponent, native.Postgres):
    image_key = "postgres"

    def check_prerequisites(self) -> None:
        """No host binaries needed."""

    def install(self) -> None:
        """Nothing to fetch: the image holds the server."""

    def prepare(self) -> None:
        self.conf_dir.mkdir(parents=True, exist_ok=True)

    def on_create(self) -> None:
        # a new container has a fresh data volume: the app role must be created again
        (self.conf_dir / "app-role-created").unlink(missing_ok=True)

    def container_specs(self) -> list[ContainerSpec]:
        pg = self.settings.postgres
        return [ContainerSpec(
            "postgres", self.image,
            command=["postgres", "-c", "fsync=off", "-c", "full_page_writes=off", "-c", "max_connections=200"],
            env={"POSTGRES_USER": native.SUPERUSER, "POSTGRES_PASSWORD": pg.password, "POSTGRES_DB": "postgres"},
            ports={CONTAINER_PORT: self.port},
        )]

    def network_env(self) -> dict[str, str]:
        pg = self.settings.postgres
        return {**self.env(), "DB_HOST": "postgres", "DB_PORT": str(CONTAINER_PORT),
                "DATABASE_URL": f"postgresql://{pg.user}:{pg.password}@postgres:{CONTAINER_PORT}/{pg.database}"}
