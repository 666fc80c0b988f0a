"""The local stack's settings: ports from the environment, errors that name the variable."""

from __future__ import annotations

import pytest

from shipyard_local.config import (
    DEFAULT_EMULATOR_PORT,
    DEFAULT_LB_PORT,
    DEFAULT_REGISTRY_PORT,
    ConfigError,
    StackConfig,
    ephemeral_port_range,
)


def test_defaults_stay_off_common_ports(tmp_path):
    config = StackConfig.from_env({"SHIPYARD_STATE_DIR": str(tmp_path)})
    assert (config.emulator_port, config.registry_port) == (DEFAULT_EMULATOR_PORT, DEFAULT_REGISTRY_PORT)
    assert config.emulator_url == f"http://127.0.0.1:{DEFAULT_EMULATOR_PORT}"
    assert config.registry_address == f"127.0.0.1:{DEFAULT_REGISTRY_PORT}"
    assert config.lb_port == DEFAULT_LB_PORT
    assert config.lb_url == f"http://127.0.0.1:{DEFAULT_LB_PORT}"
    ports = {config.emulator_port, config.registry_port, config.lb_port}
    assert len(ports) == 3
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
        }
    )
    assert config.lb_port == 41003
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
