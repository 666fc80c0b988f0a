"""The local stack's settings: ports from the environment, errors that name the variable, the env file."""

from __future__ import annotations

import json
import subprocess

import pytest

from shipyard_local import postgres
from shipyard_local.config import (
    DEFAULT_EMULATOR_PORT,
    DEFAULT_LB_PORT,
    DEFAULT_POSTGRES_PORT,
    DEFAULT_REGISTRY_PORT,
    ConfigError,
    StackConfig,
    ephemeral_port_range,
)
from shipyard_local.stack import Stack


def test_defaults_stay_off_common_ports(tmp_path):
    config = StackConfig.from_env({"SHIPYARD_STATE_DIR": str(tmp_path)})
    assert (config.emulator_port, config.registry_port) == (DEFAULT_EMULATOR_PORT, DEFAULT_REGISTRY_PORT)
    assert config.emulator_url == f"http://127.0.0.1:{DEFAULT_EMULATOR_PORT}"
    assert config.registry_address == f"127.0.0.1:{DEFAULT_REGISTRY_PORT}"
    assert config.lb_port == DEFAULT_LB_PORT
    assert config.lb_url == f"http://127.0.0.1:{DEFAULT_LB_PORT}"
    assert config.postgres_address == f"127.0.0.1:{DEFAULT_POSTGRES_PORT}"
    ports = {config.emulator_port, config.registry_port, config.lb_port, config.postgres_port}
    assert len(ports) == 4
    assert ports.isdisjoint({80, 443, 4566, 5000, 5432, 8000, 8080})
    # Below Linux's default ephemeral range (32768-60999): no outgoing connection takes them as its local port.
    assert max(ports) < 32768


def test_ephemeral_port_range_is_read_from_the_kernel_file(tmp_path):
    ranges = tmp_path / "ip_local_port_range"
    ranges.write_text("32768\t60999\n")
    assert ephemeral_port_range(ranges) == (32768, 60999)
    assert ephemeral_port_range(tmp_path / "absent") is None


def test_ports_come_from_the_environment(tmp_path):
    config = StackConfig.from_env(
        {
            "SHIPYARD_STATE_DIR": str(tmp_path),
            "SHIPYARD_EMULATOR_PORT": "41001",
            "SHIPYARD_REGISTRY_PORT": "41002",
            "SHIPYARD_LB_PORT": "41003",
            "SHIPYARD_POSTGRES_PORT": "41004",
        }
    )
    assert config.lb_port == 41003
    assert config.postgres_address == "127.0.0.1:41004"
    assert config.postgres_dir == tmp_path / "postgres" / "data"
    assert config.aws_env()["AWS_ENDPOINT_URL"] == "http://127.0.0.1:41001"
    assert config.registry_address == "127.0.0.1:41002"


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"SHIPYARD_EMULATOR_PORT": "http"}, "SHIPYARD_EMULATOR_PORT"),
        ({"SHIPYARD_REGISTRY_PORT": "70000"}, "SHIPYARD_REGISTRY_PORT"),
        ({"SHIPYARD_EMULATOR_PORT": "41000", "SHIPYARD_REGISTRY_PORT": "41000"}, "SHIPYARD_REGISTRY_PORT"),
        ({"SHIPYARD_LB_PORT": "0"}, "SHIPYARD_LB_PORT"),
        ({"SHIPYARD_LB_PORT": "lb"}, "SHIPYARD_LB_PORT"),
        ({"SHIPYARD_EMULATOR_PORT": "41000", "SHIPYARD_LB_PORT": "41000"}, "SHIPYARD_LB_PORT"),
        ({"SHIPYARD_POSTGRES_PORT": "pg"}, "SHIPYARD_POSTGRES_PORT"),
        ({"SHIPYARD_POSTGRES_PORT": "65536"}, "SHIPYARD_POSTGRES_PORT"),
        ({"SHIPYARD_LB_PORT": "41000", "SHIPYARD_POSTGRES_PORT": "41000"}, "SHIPYARD_POSTGRES_PORT"),
        ({"SHIPYARD_REGISTRY_PORT": str(DEFAULT_POSTGRES_PORT)}, "SHIPYARD_POSTGRES_PORT"),
    ],
)
def test_bad_port_is_refused_naming_the_variable(env, named):
    with pytest.raises(ConfigError, match=named):
        StackConfig.from_env(env)


def test_aws_env_is_dummy_and_local(tmp_path):
    env = StackConfig.from_env({"SHIPYARD_STATE_DIR": str(tmp_path)}).aws_env()
    assert env["AWS_ACCESS_KEY_ID"] == "testing"
    assert env["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "us-east-1"


def test_socket_dir_is_short_and_per_checkout(tmp_path):
    deep = tmp_path / ("x" * 150)
    one = StackConfig.from_env({"SHIPYARD_STATE_DIR": str(deep)})
    two = StackConfig.from_env({"SHIPYARD_STATE_DIR": str(tmp_path / "other")})
    # unix socket paths are limited to 108 bytes; the state dir may be much longer.
    assert len(one.private_docker_host) < 80
    assert one.runtime_dir != two.runtime_dir


def _stack_written_env(state_dir, env: dict[str, str]) -> Stack:
    """A stack whose `up` has recorded its engine, with the env file written as `up` writes it."""
    stack = Stack(StackConfig.from_env({"SHIPYARD_STATE_DIR": str(state_dir), **env}))
    stack.config.state_dir.mkdir(parents=True)
    stack.config.run_file.write_text(json.dumps({"docker": {"mode": "external", "host": "unix:///x/docker.sock"}}))
    stack._write_env()
    return stack


def test_a_shell_that_sources_the_env_file_reaches_the_same_stack_from_every_client(tmp_path):
    # Issue 16: the file set AWS_ENDPOINT_URL for a non-default port but not the port, so the local inventory (which
    # reads SHIPYARD_*_PORT) talked to the default stack while `aws` talked to this one.
    ports = {"SHIPYARD_EMULATOR_PORT": "41101", "SHIPYARD_REGISTRY_PORT": "41102", "SHIPYARD_LB_PORT": "41103",
             "SHIPYARD_POSTGRES_PORT": "41104"}  # fmt: skip
    stack = _stack_written_env(tmp_path / "state with space", {**ports, "SHIPYARD_AWS_REGION": "eu-west-1"})
    shell = subprocess.run(
        ["bash", "-c", 'set -a; . "$1"; set +a; env -0', "bash", str(stack.config.env_file)],
        env={"PATH": "/usr/bin:/bin"},  # a new shell: nothing of this process's environment
        capture_output=True,
        text=True,
        check=True,
    )
    sourced = dict(line.split("=", 1) for line in shell.stdout.split("\0") if "=" in line)
    assert {name: sourced.get(name) for name in ports} == ports
    assert sourced["SHIPYARD_STATE_DIR"] == str(stack.config.state_dir)
    assert sourced["AWS_ENDPOINT_URL"] == "http://127.0.0.1:41101"
    assert StackConfig.from_env(sourced) == stack.config  # what `python -m shipyard_local` would build there


def test_the_env_file_never_holds_the_database_password(tmp_path):
    stack = _stack_written_env(tmp_path / "state", {})
    text = stack.config.env_file.read_text()
    assert f"SHIPYARD_POSTGRES_PORT={DEFAULT_POSTGRES_PORT}" in text
    assert postgres.PASSWORD not in text  # `python -m shipyard_local env` prints this file


def test_a_config_built_without_a_postgres_port_is_a_stack_without_postgres(tmp_path):
    # Tests that need only the AWS side build their own config; from_env (make up, the CLI) always has the port.
    config = StackConfig(state_dir=tmp_path, emulator_port=41001, registry_port=41002, region="us-east-1")
    assert "SHIPYARD_POSTGRES_PORT" not in config.ports()
    assert "SHIPYARD_POSTGRES_PORT" not in config.stack_env()
    assert Stack(config).parts() == ("emulator", "docker", "registry")
    assert Stack(StackConfig.from_env({"SHIPYARD_STATE_DIR": str(tmp_path)})).parts()[-1] == "postgres"
