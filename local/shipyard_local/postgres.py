"""A private PostgreSQL from Debian's packages (the stand-in for the team's Supabase database).

Its own data directory under the state dir, its own port on 127.0.0.1 (TCP only: no unix socket, so nothing in
/var/run), one role and database ``app`` that log in with a SCRAM password, and nothing else on the machine:
Debian's ``main`` cluster (5432) is neither created nor started (see :data:`NO_MAIN_CLUSTER`). PostgreSQL refuses
to run as root, so under root it runs as the ``postgres`` system user, which owns the data directory.
"""

from __future__ import annotations

import os
import pwd
import shutil
import stat
import subprocess
from collections.abc import Callable
from pathlib import Path

from . import procs, system
from .config import StackConfig

VERSION = "15"
BIN_DIR = Path(f"/usr/lib/postgresql/{VERSION}/bin")
PACKAGE = f"postgresql-{VERSION}"  # pulls postgresql-client-{VERSION} (psql) and postgresql-common
PROGRAMS = ("initdb", "postgres", "psql")
ROLE = DATABASE = "app"
# A stand-in, like the emulator's "testing" keys: it guards a database on 127.0.0.1 that holds no real data. The
# local inventory's DATABASE_URL carries the same value (inventories/local/host_vars/web.yml). Never printed: the
# server gets it on stdin, clients in PGPASSWORD, and the stack's env file does not hold it.
PASSWORD = "local-only-not-a-secret"  # noqa: S105 - a local stand-in, see above
SYSTEM_USER = "postgres"  # who runs it under root (Debian's postgresql-common creates this user)
# Read by the package's postinst (`pg_conftool createcluster.conf show create_main_cluster`, which follows the
# file's include_dir): written only while apt-get installs PACKAGE, then removed. Without it a fresh install
# creates and starts a `main` cluster on 5432.
NO_MAIN_CLUSTER = Path("/etc/postgresql-common/createcluster.d/shipyard-local-no-main-cluster.conf")
NO_MAIN_CLUSTER_TEXT = (
    "# Written by the Shipyard local stack while it installs PostgreSQL, removed afterwards: no main cluster.\n"
    "create_main_cluster = false\n"
)
SERVER_ENV = {"PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8"}  # none of the caller's PG* settings
HBA = (
    "# Written by the Shipyard local stack: only the app role, to its database, over TCP from 127.0.0.1,\n"
    "# with its SCRAM password. No unix socket, no other role (the superuser cannot log in).\n"
    f"host  {DATABASE}  {ROLE}  127.0.0.1/32  scram-sha-256\n"
)


def database_url(config: StackConfig, password: str = PASSWORD) -> str:
    """What an app connects with (the local inventory's DATABASE_URL): a secret, never to be printed."""
    return f"postgresql://{ROLE}:{password}@{config.postgres_address}/{DATABASE}"


def run_as() -> str | None:
    """The user PostgreSQL runs as: ``postgres`` under root (it refuses root), else the current user (None)."""
    return SYSTEM_USER if os.geteuid() == 0 else None


def server_argv(config: StackConfig) -> list[str]:
    """The postmaster in the foreground, its log on stderr; ``-D <data dir>`` names this stack's server."""
    return [
        str(BIN_DIR / "postgres"),
        "-D", str(data_dir(config)),
        "-p", str(config.postgres_port),
        "-c", f"listen_addresses={config.host}",
        "-c", "unix_socket_directories=",  # TCP only: no socket, no lock file in /var/run/postgresql
        "-c", "password_encryption=scram-sha-256",
        "-c", "log_min_error_statement=panic",  # a failed statement is not copied to the log (it may hold a secret)
        "-c", "cluster_name=shipyard-local",
    ]  # fmt: skip


def marker(config: StackConfig) -> str:
    """What names this stack's postmaster in its command line: its data directory."""
    return f"-D {data_dir(config)}"


def initdb_argv(data_dir: Path) -> list[str]:
    # --auth=trust: pg_hba.conf is replaced before the server first starts. --no-sync: a third faster on a loaded
    # machine; the server itself syncs as usual (a crash in the seconds after creation may need a new state dir).
    return [
        str(BIN_DIR / "initdb"), "-D", str(data_dir), "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8",
        "--no-instructions", "--no-sync",
    ]  # fmt: skip


def setup_sql(password: str = PASSWORD) -> str:
    """Statements for the single-user backend (one per line): the app role with its password, its database."""
    quoted = password.replace("'", "''")
    return f"CREATE ROLE {ROLE} LOGIN PASSWORD '{quoted}';\nCREATE DATABASE {DATABASE} OWNER {ROLE};\n"


def single_user_argv(data_dir: Path) -> list[str]:
    # exit_on_error: a failed statement ends the backend with a non-zero code (it would go on otherwise).
    return [
        str(BIN_DIR / "postgres"), "--single", "-D", str(data_dir), "-c", "exit_on_error=on",
        "-c", "log_min_error_statement=panic", "postgres",
    ]  # fmt: skip


def psql_argv(config: StackConfig, sql: str, *, role: str = ROLE, database: str = DATABASE) -> list[str]:
    """psql over TCP to this stack's server; the password goes in PGPASSWORD (see :func:`client_env`)."""
    return [
        str(BIN_DIR / "psql"), "--no-psqlrc", "--no-password", "--tuples-only", "--no-align",
        "--host", config.host, "--port", str(config.postgres_port), "--username", role, "--dbname", database,
        "--command", sql,
    ]  # fmt: skip


def client_env(password: str) -> dict[str, str]:
    """A clean environment for psql: the password, a short connect timeout, none of the user's PG* settings."""
    return {"PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8", "PGPASSWORD": password, "PGCONNECT_TIMEOUT": "3"}


def login(config: StackConfig, password: str = PASSWORD, timeout: float = 10.0) -> subprocess.CompletedProcess:
    """``SELECT 1`` as the app role with ``password``: returncode 0 and stdout ``1`` when the server accepts it."""
    return subprocess.run(  # noqa: S603 - argv built here
        psql_argv(config, "SELECT 1"),
        env=client_env(password),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def accepts(config: StackConfig, password: str = PASSWORD) -> bool:
    """True when the server answers and lets the app role in with ``password``."""
    try:
        result = login(config, password)
    except subprocess.TimeoutExpired:
        return False
    return result.returncode == 0 and result.stdout.strip() == "1"


def unreachable_parent(path: Path, uid: int, gids: set[int], stat_of: Callable = os.stat) -> Path | None:
    """The first directory above ``path`` that user ``uid`` (in groups ``gids``) may not enter; None if none.

    PostgreSQL, run as another user than the stack's, must reach its data directory under the state dir.
    """
    if uid == 0:
        return None
    for parent in reversed(path.parents):
        try:
            info = stat_of(parent)
        except FileNotFoundError:  # made later by the stack, with the usual 0755
            return None
        if info.st_uid == uid:
            bit = stat.S_IXUSR
        elif info.st_gid in gids:
            bit = stat.S_IXGRP
        else:
            bit = stat.S_IXOTH
        if not info.st_mode & bit:
            return parent
    return None


def ensure_installed() -> None:
    """Debian's PostgreSQL, installed when missing (root), without a main cluster (see :data:`NO_MAIN_CLUSTER`)."""
    system.ensure(
        {str(BIN_DIR / program): PACKAGE for program in PROGRAMS},
        "the local PostgreSQL",
        install_settings={NO_MAIN_CLUSTER: NO_MAIN_CLUSTER_TEXT},
    )


def fallback_dir(config: StackConfig) -> Path:
    """Where the data directory goes when the user PostgreSQL runs as cannot reach the state dir: beside the stack's
    runtime dir in the temporary folder (world-traversable), named after the state dir like it."""
    return config.runtime_dir.with_name(config.runtime_dir.name + "-postgres") / "data"


def data_dir(config: StackConfig, user: str | None = None, stat_of: Callable = os.stat) -> Path:
    """The data directory: ``config.postgres_dir`` (under the state dir) when the user PostgreSQL runs as can enter
    every folder above it, else :func:`fallback_dir` (a state dir under root's 0700 home, or pytest's 0700 temporary
    folders: PostgreSQL refuses root, and its own user cannot go there)."""
    user = run_as() if user is None else user
    if user is None:
        return config.postgres_dir
    account = pwd.getpwnam(user)
    blocked = unreachable_parent(config.postgres_dir, account.pw_uid, {account.pw_gid}, stat_of)  # no other group
    return config.postgres_dir if blocked is None else fallback_dir(config)


def initialize(config: StackConfig, log: Path) -> bool:
    """Create the data directory once (initdb, the app role and database, pg_hba.conf); False if it existed.

    Built beside its final place and renamed at the end, so a failed run leaves no half-made data directory.
    """
    user = run_as()
    config.postgres_dir.parent.mkdir(parents=True, exist_ok=True)
    data = data_dir(config)
    if (data / "PG_VERSION").exists():
        return False
    data.parent.mkdir(parents=True, exist_ok=True)
    building = data.with_name(data.name + ".new")
    shutil.rmtree(building, ignore_errors=True)
    building.mkdir(parents=True, mode=0o700)
    owner = pwd.getpwnam(user) if user is not None else None
    if owner is not None:
        os.chown(building, owner.pw_uid, owner.pw_gid)
    try:
        _run_setup(building, log, user)
        hba = building / "pg_hba.conf"
        hba.write_text(HBA)
        hba.chmod(0o600)
        if owner is not None:
            os.chown(hba, owner.pw_uid, owner.pw_gid)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    building.rename(data)
    return True


def _run_setup(building: Path, log: Path, user: str | None) -> None:
    """initdb, then the app role and database through the single-user backend; output appended to ``log``."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        for argv, stdin in ((initdb_argv(building), None), (single_user_argv(building), setup_sql())):
            out.write(f"\n--- initializing: {' '.join(argv)}\n".encode())
            out.flush()
            result = subprocess.run(  # noqa: S603 - argv built here; the password goes on stdin
                argv, input=stdin, text=True, stdout=out, stderr=subprocess.STDOUT, check=False, **procs.as_user(user)
            )
            if result.returncode != 0:
                raise procs.StartError(
                    f"PostgreSQL: {Path(argv[0]).name} failed (exit {result.returncode}). "
                    f"Last lines of {log}:\n{procs.tail(log)}"
                )


def start(config: StackConfig, log: Path) -> int:
    """Install if needed, initialize once, spawn the postmaster; returns its PID (wait with :func:`accepts`)."""
    ensure_installed()
    initialize(config, log)
    return procs.spawn(server_argv(config), log, env=SERVER_ENV, user=run_as())
