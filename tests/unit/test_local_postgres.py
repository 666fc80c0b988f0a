"""The local stack's PostgreSQL: how it is started (TCP on 127.0.0.1 only, its own data dir), who may log in, how it
is installed without a `main` cluster, and the local inventory's DATABASE_URL pointing at it."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace

import jinja2
import pytest
import yaml

from shipyard_local import postgres, procs, system
from shipyard_local.config import DEFAULT_POSTGRES_PORT, StackConfig

INVENTORY = Path(__file__).resolve().parents[2] / "inventories" / "local"


@pytest.fixture
def config(tmp_path) -> StackConfig:
    return StackConfig.from_env({"SHIPYARD_STATE_DIR": str(tmp_path / "state"), "SHIPYARD_POSTGRES_PORT": "41040"})


def _settings(argv: list[str]) -> dict[str, str]:
    return dict(argv[i + 1].split("=", 1) for i, arg in enumerate(argv) if arg == "-c")


def test_the_server_listens_on_its_own_port_of_127_0_0_1_only_with_no_unix_socket(config):
    argv = postgres.server_argv(config)
    assert argv[0] == str(postgres.BIN_DIR / "postgres")
    assert argv[argv.index("-D") + 1] == str(postgres.data_dir(config))
    assert argv[argv.index("-p") + 1] == "41040"
    settings = _settings(argv)
    assert settings["listen_addresses"] == "127.0.0.1"
    assert settings["unix_socket_directories"] == ""  # nothing in /var/run/postgresql
    assert settings["password_encryption"] == "scram-sha-256"
    assert postgres.marker(config) in " ".join(argv)  # what names this stack's server (procs.is_alive)
    assert postgres.marker(config) not in " ".join(postgres.server_argv(StackConfig.from_env({})))


def test_only_the_app_role_logs_in_to_its_database_over_tcp_with_its_scram_password():
    rules = [line.split() for line in postgres.HBA.splitlines() if line.strip() and not line.startswith("#")]
    assert rules == [["host", "app", "app", "127.0.0.1/32", "scram-sha-256"]]


def test_the_role_and_database_statements_quote_the_password():
    sql = postgres.setup_sql("it's")
    assert sql.splitlines() == ["CREATE ROLE app LOGIN PASSWORD 'it''s';", "CREATE DATABASE app OWNER app;"]
    assert "exit_on_error=on" in postgres.single_user_argv(Path("/d"))  # a failed statement fails the setup


def test_the_database_url_names_the_stacks_port(config):
    assert postgres.database_url(config) == f"postgresql://app:{postgres.PASSWORD}@127.0.0.1:41040/app"


def _render(template: str, context: dict) -> str:
    return jinja2.Environment(autoescape=False).from_string(template).render(**context)  # noqa: S701 - not HTML


@pytest.mark.parametrize("port", [None, "41040"])
def test_the_local_inventorys_database_url_is_the_stacks_postgres(port, config):
    env = {} if port is None else {"SHIPYARD_POSTGRES_PORT": port}
    group_vars = yaml.safe_load((INVENTORY / "group_vars" / "all" / "database.yml").read_text())
    lookup = {"lookup": lambda kind, name: env.get(name, "") if kind == "ansible.builtin.env" else pytest.fail(kind)}
    port_var = _render(group_vars["shipyard_postgres_port"], lookup)
    web = yaml.safe_load((INVENTORY / "host_vars" / "web.yml").read_text())
    url = _render(web["shipyard_service_secrets"]["DATABASE_URL"], {"shipyard_postgres_port": port_var})
    expected = config if port else StackConfig.from_env({})
    assert expected.postgres_port == (int(port) if port else DEFAULT_POSTGRES_PORT)
    assert url == postgres.database_url(expected)


def _stat(mode: int, uid: int = 0, gid: int = 0):
    return SimpleNamespace(st_mode=stat.S_IFDIR | mode, st_uid=uid, st_gid=gid)


def test_a_directory_the_server_user_cannot_enter_is_named():
    modes = {"/": _stat(0o755), "/root": _stat(0o700), "/root/state": _stat(0o755)}
    blocked = postgres.unreachable_parent(Path("/root/state/postgres"), 101, {104}, lambda p: modes[str(p)])
    assert blocked == Path("/root")
    modes["/root"] = _stat(0o750, gid=104)  # its group may enter
    assert postgres.unreachable_parent(Path("/root/state/postgres"), 101, {104}, lambda p: modes[str(p)]) is None
    modes["/root"] = _stat(0o705, uid=0, gid=0)  # others may enter
    assert postgres.unreachable_parent(Path("/root/state/postgres"), 101, {104}, lambda p: modes[str(p)]) is None


def test_the_data_directory_leaves_a_state_dir_the_server_user_cannot_reach(monkeypatch, tmp_path):
    config = StackConfig(state_dir=Path("/root/state"), emulator_port=1, registry_port=2, region="r", postgres_port=3)
    monkeypatch.setattr(postgres.pwd, "getpwnam", lambda user: SimpleNamespace(pw_uid=101, pw_gid=104))
    modes = {
        "/": _stat(0o755),
        "/root": _stat(0o700),
        "/root/state": _stat(0o755),
        "/root/state/postgres": _stat(0o755),
    }
    data = postgres.data_dir(config, "postgres", lambda p: modes[str(p)])
    assert data == postgres.fallback_dir(config)
    assert not data.is_relative_to("/root")
    assert data.parent.parent == Path(tempfile.gettempdir())  # world-traversable, named after the state dir
    assert postgres.fallback_dir(config) != postgres.fallback_dir(
        StackConfig(state_dir=Path("/root/other"), emulator_port=1, registry_port=2, region="r")
    )
    modes["/root"] = _stat(0o755)
    assert postgres.data_dir(config, "postgres", lambda p: modes[str(p)]) == config.postgres_dir


def test_installing_creates_no_main_cluster(monkeypatch):
    asked = {}
    monkeypatch.setattr(system, "ensure", lambda commands, why, **kw: asked.update(commands=commands, **kw))
    postgres.ensure_installed()
    assert set(asked["commands"].values()) == {"postgresql-15"}
    assert asked["install_settings"] == {postgres.NO_MAIN_CLUSTER: postgres.NO_MAIN_CLUSTER_TEXT}
    assert postgres.NO_MAIN_CLUSTER.parent == Path("/etc/postgresql-common/createcluster.d")


@pytest.mark.skipif(shutil.which("pg_conftool") is None, reason="postgresql-common is not installed")
def test_the_package_scripts_read_the_drop_in_as_no_main_cluster(tmp_path):
    # What the postinst runs: `pg_conftool createcluster.conf show -bs create_main_cluster`; the machine's file ends
    # with `include_dir '/etc/postgresql-common/createcluster.d'`.
    (tmp_path / "createcluster.d").mkdir()
    (tmp_path / "createcluster.d" / postgres.NO_MAIN_CLUSTER.name).write_text(postgres.NO_MAIN_CLUSTER_TEXT)
    conf = tmp_path / "createcluster.conf"
    conf.write_text("#create_main_cluster = true\nssl = on\ninclude_dir 'createcluster.d'\n")
    shown = subprocess.run(["pg_conftool", str(conf), "show", "-bs", "create_main_cluster"],
                           capture_output=True, text=True, check=True)  # fmt: skip
    assert shown.stdout.strip() == "off"


def test_install_settings_exist_only_while_apt_get_runs(tmp_path, monkeypatch):
    drop_in = tmp_path / "etc" / "createcluster.d" / "x.conf"
    theirs = tmp_path / "theirs.conf"
    theirs.write_text("the machine's own\n")
    seen = []
    answers = iter([{"/usr/lib/postgresql/15/bin/postgres": "postgresql-15"}, {}])
    monkeypatch.setattr(system, "missing", lambda commands: next(answers))
    monkeypatch.setattr(system.os, "geteuid", lambda: 0)
    monkeypatch.setattr(system.shutil, "which", lambda *a, **k: "/usr/bin/apt-get")

    def apt_get(argv, **_):
        seen.append((argv[:2], drop_in.read_text() if drop_in.exists() else None, theirs.read_text()))
        return subprocess.CompletedProcess(argv, 0, "", "")

    monkeypatch.setattr(system.subprocess, "run", apt_get)
    system.ensure({"x": "postgresql-15"}, "test", install_settings={drop_in: "create_main_cluster = false\n",
                                                                   theirs: "not written"})  # fmt: skip
    assert seen == [(["apt-get", "install"], "create_main_cluster = false\n", "the machine's own\n")]
    assert not drop_in.exists()
    assert not drop_in.parent.exists()  # the folder made for it is gone too
    assert theirs.read_text() == "the machine's own\n"


def test_a_failed_initialization_says_why_and_leaves_no_data_directory(config, monkeypatch):
    monkeypatch.setattr(postgres, "run_as", lambda: None)
    fails = [sys.executable, "-c", "import sys; print('initdb: error: directory is not empty'); sys.exit(1)"]
    monkeypatch.setattr(postgres, "initdb_argv", lambda data_dir: fails)
    log = config.logs_dir / "postgres.log"
    with pytest.raises(procs.StartError, match=r"PostgreSQL: \S+ failed \(exit 1\)") as error:
        postgres.initialize(config, log)
    assert "directory is not empty" in str(error.value)  # the last lines of its log
    assert not config.postgres_dir.exists()
    assert os.listdir(config.postgres_dir.parent) == []  # no half-made data directory either
