"""Lifecycle of a second, isolated local stack: up is idempotent, down stops only what up started."""

from __future__ import annotations

import dataclasses
import os
import shutil
import socket
import tempfile
from pathlib import Path

import pytest

from shipyard_local import docker_engine, postgres, procs, registry
from shipyard_local.config import StackConfig
from shipyard_local.stack import PortInUse, Stack

pytestmark = pytest.mark.stack


@pytest.fixture
def isolated(free_port, local_stack, monkeypatch):
    """A stack of its own (state dir, ports) whose Docker engine is the session stack's: an engine 'the user has'."""
    monkeypatch.setenv("DOCKER_HOST", local_stack.load()["docker"]["host"])
    # Not under tmp_path: under root PostgreSQL runs as the postgres user, which cannot enter pytest's 0700 folder.
    home = Path(tempfile.mkdtemp(prefix="shipyard-test-stack-"))
    home.chmod(0o755)
    config = StackConfig(state_dir=home / "state", emulator_port=free_port(), registry_port=free_port(),
                         region="us-east-1", lb_port=free_port(), postgres_port=free_port())  # fmt: skip
    stack = Stack(config)
    yield stack
    stack.down()
    shutil.rmtree(home, ignore_errors=True)


def _pids(stack: Stack) -> dict[str, int]:
    return {name: part["pid"] for name, part in stack.load().items() if "pid" in part}


def test_up_twice_then_down_leaves_nothing_and_spares_the_users_engine(isolated, local_stack):
    assert isolated.up() == ["emulator", "registry", "postgres"]  # the engine that answers is reused, not started
    states = {row["part"]: row["state"] for row in isolated.status()}
    assert states == {"emulator": "running", "docker": "external", "registry": "running", "postgres": "running"}
    env_file = isolated.config.env_file.read_text()
    assert f"AWS_ENDPOINT_URL={isolated.config.emulator_url}" in env_file
    assert f"SHIPYARD_REGISTRY={isolated.config.registry_address}" in env_file
    assert f"SHIPYARD_POSTGRES_PORT={isolated.config.postgres_port}" in env_file
    assert f"DOCKER_HOST={local_stack.load()['docker']['host']}" in env_file

    # PostgreSQL: the app role logs in over TCP with its password, and with no other.
    accepted = postgres.login(isolated.config)
    assert (accepted.returncode, accepted.stdout.strip()) == (0, "1"), accepted.stderr
    refused = postgres.login(isolated.config, "not-the-password")
    assert refused.returncode != 0
    assert 'password authentication failed for user "app"' in refused.stderr

    pids = _pids(isolated)
    assert isolated.up() == []  # safe to run twice: nothing new
    assert _pids(isolated) == pids

    assert sorted(isolated.down()) == ["emulator", "postgres", "registry"]
    assert not any(procs.is_alive(pid) for pid in pids.values())
    for port in (isolated.config.emulator_port, isolated.config.registry_port, isolated.config.postgres_port):
        with socket.socket() as sock:
            assert sock.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still answers"
    assert not isolated.config.env_file.exists()
    assert docker_engine.answers(local_stack.load()["docker"]["host"])  # not ours to stop
    assert isolated.down() == []


def test_a_busy_port_is_refused_naming_the_variable(isolated):
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", isolated.config.emulator_port))
        squatter.listen()
        with pytest.raises(PortInUse, match="SHIPYARD_EMULATOR_PORT"):
            isolated.up()
    assert _pids(isolated) == {}  # nothing was started


def test_a_part_that_fails_shows_its_log_and_up_undoes_what_it_started(isolated, monkeypatch):
    broken = isolated.config.state_dir / "no-such-config.yml"
    monkeypatch.setattr(registry, "argv", lambda config: ["docker-registry", "serve", str(broken)])
    with pytest.raises(procs.StartError, match="container registry exited during start-up") as error:
        isolated.up()
    assert "no-such-config.yml" in str(error.value)  # the last lines of the registry's own log
    assert _pids(isolated) == {}
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", isolated.config.emulator_port)) != 0  # the emulator it started is gone


def _processes_mentioning(marker: str) -> list[int]:
    return [
        int(entry.name)
        for entry in Path("/proc").iterdir()
        if entry.name.isdigit() and procs.is_alive(int(entry.name), marker)
    ]


@pytest.mark.skipif(os.geteuid() != 0, reason="a private dockerd needs root")
def test_private_engine_starts_when_none_answers_and_down_leaves_no_process(isolated, monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/nobody-listens.sock")
    monkeypatch.setattr(docker_engine, "SYSTEM_SOCKET", f"unix://{tmp_path}/no-system-engine.sock")
    isolated.config = dataclasses.replace(isolated.config, postgres_port=None)  # a stack without it: not needed here
    assert isolated.up() == ["docker", "emulator", "registry"]  # the engine first: the emulator is handed its host
    docker = isolated.load()["docker"]
    assert docker["mode"] == "private"
    assert docker["host"] == isolated.config.private_docker_host
    assert docker_engine.answers(docker["host"])
    runtime = str(isolated.config.runtime_dir)
    assert _processes_mentioning(runtime), "dockerd's containerd should run from the private exec root"

    assert "docker" in isolated.down()
    assert _processes_mentioning(runtime) == []  # dockerd, containerd and shims: all gone
    assert not procs.is_alive(docker["pid"])
    assert not Path(runtime).exists()
