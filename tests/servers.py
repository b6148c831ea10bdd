"""Throwaway engines for the engine tests and the benchmark, each started and stopped by its
user: a PostgreSQL cluster (initdb, pg_ctl) on a free local port under a temporary folder,
and the settings of a local Spark session that dbt-spark's `session` method starts in this
process. When an engine cannot start, `Unavailable` says why in one line."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "PostgresCluster",
    "Unavailable",
    "spark_settings",
    "spark_unavailable",
    "start_postgres",
    "start_spark",
]


class Unavailable(Exception):
    """An engine cannot start here; the message says why, in one line."""


def _pg_bin(name: str) -> str | None:
    """A PostgreSQL server program: on PATH, else in Debian's /usr/lib/postgresql/N/bin."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(
        glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    return candidates[-1] if candidates else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


@dataclass
class PostgresCluster:
    """A running throwaway cluster: trust authentication on 127.0.0.1 only, role `fanout`."""

    folder: Path
    port: int
    pg_ctl: str
    run_as: str | None  # the server's OS user when the tests run as root (postgres refuses root)
    role: str = "fanout"
    dbname: str = "postgres"

    @property
    def data(self) -> Path:
        return self.folder / "data"

    @property
    def pid(self) -> int:
        """The postmaster's process id (the first line of its postmaster.pid)."""
        return int((self.data / "postmaster.pid").read_text().split()[0])

    def profile_output(self, schema: str, threads: int = 2) -> dict:
        """A dbt-postgres target for this cluster, building into `schema`."""
        return {
            "type": "postgres",
            "host": "127.0.0.1",
            "port": self.port,
            "user": self.role,
            "password": "",
            "dbname": self.dbname,
            "schema": schema,
            "threads": threads,
        }

    def readable_copy(self, data_dir: Path) -> Path:
        """The raw CSV files copied where the server's user can read them (COPY ... FROM
        reads on the server, as that user): the same bytes."""
        out = self.folder / "raw"
        out.mkdir(exist_ok=True)
        for path in sorted(Path(data_dir).glob("*.csv")):
            shutil.copyfile(path, out / path.name)
        self._own(out)
        return out

    def _own(self, path: Path) -> None:
        if self.run_as is None:
            return
        import pwd

        pw = pwd.getpwnam(self.run_as)
        for p in [path, *path.rglob("*")]:
            os.chown(p, pw.pw_uid, pw.pw_gid)

    def stop(self) -> None:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            subprocess.run(
                [self.pg_ctl, "-D", str(self.data), "-m", "immediate", "-w", "stop"],
                user=self.run_as,
                cwd=self.folder,
                capture_output=True,
                timeout=60,
            )
        shutil.rmtree(self.folder, ignore_errors=True)


def _server_user() -> str | None:
    """None (this user) unless running as root, which PostgreSQL refuses: then `postgres`
    (Debian's package makes it) or `nobody`."""
    if os.geteuid() != 0:
        return None
    import pwd

    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return name
    raise Unavailable("PostgreSQL: running as root and no other user (postgres, nobody) to run it")


def start_postgres(parent: str | Path | None = None) -> PostgresCluster:
    """initdb a cluster in a new temporary folder and start it on a free local port."""
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if not initdb or not pg_ctl:
        raise Unavailable(
            "PostgreSQL: initdb and pg_ctl not found (Debian package postgresql; `make test` "
            "installs it when run as root)"
        )
    run_as = _server_user()
    folder = Path(tempfile.mkdtemp(prefix="fanout-pg-", dir=parent))
    cluster = PostgresCluster(folder, _free_port(), pg_ctl, run_as)
    folder.chmod(0o755)
    cluster._own(folder)
    options = (
        f"-p {cluster.port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off"
    )
    steps = [
        [
            initdb,
            "-D",
            str(cluster.data),
            "-U",
            cluster.role,
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        ],
        [
            pg_ctl,
            "-D",
            str(cluster.data),
            "-l",
            str(folder / "server.log"),
            "-w",
            "-t",
            "60",
            "-o",
            options,
            "start",
        ],
    ]
    for step in steps:
        try:
            done = subprocess.run(
                step, user=run_as, cwd=folder, capture_output=True, text=True, timeout=120
            )
        except (OSError, subprocess.SubprocessError) as exc:
            cluster.stop()
            raise Unavailable(f"PostgreSQL: {Path(step[0]).name} could not run: {exc}") from None
        if done.returncode != 0:
            log = folder / "server.log"
            why = _last_line(done.stderr or done.stdout)
            if log.exists():
                why = _last_line(log.read_text(errors="replace")) or why
            cluster.stop()
            raise Unavailable(f"PostgreSQL: {Path(step[0]).name} failed: {why}")
    return cluster


def _java() -> str | None:
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").exists():
        return str(Path(home) / "bin" / "java")
    return shutil.which("java")


def spark_unavailable() -> str | None:
    """Why a local Spark session cannot start here (None: it can)."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "Spark: pyspark is not installed (the engines extra of pyproject.toml)"
    try:
        import dbt.adapters.spark  # noqa: F401
    except ImportError:
        return "Spark: dbt-spark is not installed (the engines extra of pyproject.toml)"
    if _java() is None:
        return (
            "Spark: no Java (Debian package openjdk-17-jre-headless; `make test` installs it "
            "when run as root)"
        )
    return None


def spark_settings(folder: str | Path, driver_memory: str = "1g") -> dict[str, str]:
    """The session's settings (dbt-spark's `server_side_parameters`): local, two cores, a
    Hive metastore and warehouse under `folder` (tables outlive the process, as a cluster's
    do), UTC, few shuffle partitions, no UI."""
    folder = Path(folder).resolve()
    metastore = folder / "metastore_db"
    return {
        "spark.master": "local[2]",
        "spark.app.name": "fanout",
        "spark.driver.memory": driver_memory,
        "spark.sql.catalogImplementation": "hive",
        "spark.sql.warehouse.dir": str(folder / "warehouse"),
        "spark.hadoop.javax.jdo.option.ConnectionURL": (
            f"jdbc:derby:;databaseName={metastore};create=true"
        ),
        "spark.driver.extraJavaOptions": f"-Dderby.system.home={folder}",
        "spark.sql.legacy.createHiveTableByDefault": "false",
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.shuffle.partitions": "2",
        "spark.default.parallelism": "2",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
    }


def spark_output(schema: str, settings: dict[str, str]) -> dict:
    """A dbt-spark target on the local session, building into `schema`."""
    return {
        "type": "spark",
        "method": "session",
        "host": "localhost",
        "schema": schema,
        "threads": 1,
        "server_side_parameters": settings,
    }


def start_spark(settings: dict[str, str]):
    """Start the session dbt-spark will use (the same settings), or say why it cannot."""
    why = spark_unavailable()
    if why:
        raise Unavailable(why)
    from pyspark.sql import SparkSession

    builder = SparkSession.builder
    for key, value in settings.items():
        builder = builder.config(key, value)
    try:
        session = builder.enableHiveSupport().getOrCreate()
        session.sparkContext.setLogLevel("ERROR")
        session.sql("select 1").collect()
    except Exception as exc:
        raise Unavailable(
            f"Spark: the local session did not start: {_last_line(str(exc))}"
        ) from None
    return session
