"""A real PostgreSQL server on a throwaway data dir, as an unprivileged OS user when we are root."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
from pathlib import Path

from sandbox.components.base import Component, ProcessSpec
from sandbox.errors import SandboxError
from sandbox.health import ClientProbe, Health
from sandbox.poll import NOT_YET
from sandbox.process import as_user

SUPERUSER = "postgres"


class Postgres(Component):
    name = "postgres"
    port_name = "postgres"
    cached_health = True  # its SDK takes ~0.3-0.7 s to import
    stop_signal = signal.SIGINT  # "fast" shutdown: SIGTERM would wait for clients to disconnect

    @property
    def bin_dir(self) -> Path:
        configured = self.settings.postgres.bin_dir
        if configured:
            return Path(configured)
        versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"), key=lambda p: int(p.parts[-3]))
        if versions:
            return versions[-1].parent
        found = shutil.which("postgres")
        if found:
            return Path(found).resolve().parent
        raise SandboxError("PostgreSQL server binaries not found", "apt-get install -y postgresql (or set postgres.bin_dir)")

    @property
    def os_user(self) -> str | None:
        """Postgres refuses to run as root, so root runs it as a dedicated system user."""
        return self.settings.postgres.os_user if os.geteuid() == 0 else None

    def check_prerequisites(self) -> None:
        self.bin_dir  # noqa: B018 - raises with the fix when missing

    def install(self) -> None:
        user = self.os_user
        if user:
            try:
                pwd.getpwnam(user)
            except KeyError:
                subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", user],
                               check=True, capture_output=True)

    def prepare(self) -> None:
        data = self.data_dir
        if self.os_user:
            _check_traversable(data.parent, self.os_user)
        for lock_file in [data / "postmaster.pid", *data.glob(".s.PGSQL.*.lock")]:  # socket locks too
            _remove_stale_pid_file(lock_file)
        if (data / "PG_VERSION").exists():
            data.chmod(0o700)  # the server refuses a data dir others can read (a copied one)
            if self.os_user:
                _own(data, self.os_user)  # restored from a snapshot by root: files of root's
            return
        data.mkdir(parents=True, exist_ok=True)
        data.chmod(0o700)
        if self.os_user:
            shutil.chown(data, self.os_user, self.os_user)
        pwfile = self.conf_dir / "pwfile"
        self.conf_dir.mkdir(parents=True, exist_ok=True)
        pwfile.write_text(self.settings.postgres.password + "\n")
        if self.os_user:
            shutil.chown(pwfile, self.os_user, self.os_user)
        result = subprocess.run(
            [str(self.bin_dir / "initdb"), "-D", str(data), "-U", SUPERUSER, "--pwfile", str(pwfile),
             "--auth-local=trust", "--auth-host=scram-sha-256", "--no-sync", "-E", "UTF8", "--locale=C.UTF-8"],
            capture_output=True, text=True, **as_user(self.os_user),
        )
        pwfile.unlink(missing_ok=True)
        if result.returncode != 0:
            shutil.rmtree(data, ignore_errors=True)
            raise SandboxError(f"initdb failed: {result.stderr.strip().splitlines()[-1:]}", "see `sandbox logs postgres`")

    def processes(self) -> list[ProcessSpec]:
        command = [
            str(self.bin_dir / "postgres"), "-D", str(self.data_dir),
            "-c", "listen_addresses=127.0.0.1", "-c", f"port={self.port}",
            "-c", f"unix_socket_directories={self.data_dir}",
            # A sandbox survives process crashes, not power loss: skip fsync, keep commit durability
            # against a killed server (WAL reaches the OS before COMMIT returns).
            "-c", "fsync=off", "-c", "full_page_writes=off",
            "-c", "max_connections=200", "-c", "shared_buffers=128MB",
        ]
        return [ProcessSpec("server", command, user=self.os_user)]

    def _url(self, user: str, password: str, database: str) -> str:
        return f"postgresql+psycopg://{user}:{password}@127.0.0.1:{self.port}/{database}"

    def probe(self) -> ClientProbe:
        import psycopg

        # refused, "the database system is starting up"
        return ClientProbe(self.health, not_yet=(*NOT_YET, psycopg.OperationalError))

    def connect(self, superuser: bool = False, database: str | None = None, timeout: int = 2):
        """A psycopg connection over loopback: as the application role, or as the superuser."""
        import psycopg

        pg = self.settings.postgres
        return psycopg.connect(host="127.0.0.1", port=self.port, user=SUPERUSER if superuser else pg.user,
                               password=pg.password, dbname=database or pg.database, connect_timeout=timeout)

    def health(self) -> Health:
        pg = self.settings.postgres
        ready = self._app_role_ready
        with self.connect(superuser=not ready, database=None if ready else "postgres") as conn:
            conn.execute("SELECT 1").fetchone()
        return Health(True, "SELECT 1 ok" + (f" as {pg.user}@{pg.database}" if ready else ""))

    @property
    def _app_role_ready(self) -> bool:
        return (self.conf_dir / "app-role-created").exists()

    def after_start(self) -> None:
        """Create the application role and database (idempotent)."""
        import sqlalchemy

        pg = self.settings.postgres
        engine = sqlalchemy.create_engine(self._url(SUPERUSER, pg.password, "postgres"),
                                          isolation_level="AUTOCOMMIT", poolclass=sqlalchemy.pool.NullPool)
        with engine.connect() as conn:
            role = conn.execute(sqlalchemy.text("SELECT 1 FROM pg_roles WHERE rolname=:r"), {"r": pg.user}).first()
            if not role:
                literal = pg.password.replace("'", "''")  # DDL takes no bind parameters
                conn.execute(sqlalchemy.text(f"CREATE ROLE \"{pg.user}\" LOGIN PASSWORD '{literal}'"))
            db = conn.execute(sqlalchemy.text("SELECT 1 FROM pg_database WHERE datname=:d"), {"d": pg.database}).first()
            if not db:
                conn.execute(sqlalchemy.text(f'CREATE DATABASE "{pg.database}" OWNER "{pg.user}"'))
        (self.conf_dir / "app-role-created").touch()

    def snapshot_paths(self) -> list[Path]:
        return [self.data_dir]

    def env(self) -> dict[str, str]:
        pg = self.settings.postgres
        return {
            "DB_HOST": "127.0.0.1",
            "DB_PORT": str(self.port),
            "DB_NAME": pg.database,
            "DB_USER": pg.user,
            "DB_PASSWORD": pg.password,
            "DATABASE_URL": f"postgresql://{pg.user}:{pg.password}@127.0.0.1:{self.port}/{pg.database}",
        }


def _check_traversable(folder: Path, user: str) -> None:
    """The postgres OS user must be able to reach the data dir through every parent folder."""
    uid = pwd.getpwnam(user).pw_uid
    for parent in [folder, *folder.parents]:
        stat = parent.stat()
        if stat.st_uid != uid and not stat.st_mode & 0o001:
            raise SandboxError(
                f"postgres runs as OS user {user!r}, which cannot enter {parent}",
                f"chmod o+x {parent}, or set state_dir (SANDBOX_STATE_DIR) to a folder it can reach",
            )


def _remove_stale_pid_file(pid_file: Path) -> None:
    """After a kill -9 the dead postmaster can linger as a zombie until PID 1 reaps it; postgres
    then takes its lock files (data dir, socket) for a live server's and refuses to start. A lock
    file whose PID is gone or a zombie is stale."""
    import psutil

    try:
        pid = int(pid_file.read_text().splitlines()[0])
    except (FileNotFoundError, ValueError, IndexError):
        return
    try:
        alive = psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        alive = False
    if not alive:
        pid_file.unlink(missing_ok=True)


def _own(data: Path, user: str) -> None:
    """Give the data dir to the server's user when root copied it there (a snapshot load makes the
    folder anew, so a folder already the user's needs no walk of its thousand files)."""
    entry = pwd.getpwnam(user)
    if data.lstat().st_uid == entry.pw_uid:
        return
    for path in [data, *data.rglob("*")]:
        if path.lstat().st_uid != entry.pw_uid:
            os.chown(path, entry.pw_uid, entry.pw_gid, follow_symlinks=False)

