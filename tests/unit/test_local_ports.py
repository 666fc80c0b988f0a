"""The stack's port check: a trial bind, so a port held by a connection's local end is refused too."""

from __future__ import annotations

import socket

import pytest

from shipyard_local.config import StackConfig, ephemeral_port_range
from shipyard_local.stack import PortInUse, Stack


@pytest.fixture
def stack(tmp_path) -> Stack:
    return Stack(StackConfig.from_env({"SHIPYARD_STATE_DIR": str(tmp_path)}))


@pytest.fixture
def connection():
    """An open loopback connection: ``(client, server side)``; the client's local port is taken, nobody listens."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        client = socket.create_connection(listener.getsockname())
        accepted, _ = listener.accept()
    yield client
    accepted.close()
    client.close()


def test_a_free_port_is_claimed(stack):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    stack._claim_port(port, "SHIPYARD_LB_PORT", "local load balancer")  # nothing raised


def test_a_listening_port_is_refused_naming_the_variable(stack):
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        with pytest.raises(PortInUse, match=f"127.0.0.1:{port} is in use.*set SHIPYARD_EMULATOR_PORT to a free port"):
            stack._claim_port(port, "SHIPYARD_EMULATOR_PORT", "AWS API emulator")


def test_a_port_held_by_an_outgoing_connection_is_refused_though_nothing_listens(stack, connection):
    port = connection.getsockname()[1]
    with socket.socket() as probe:
        probe.settimeout(0.5)
        assert probe.connect_ex(("127.0.0.1", port)) != 0  # what a connect test would have called free
    with pytest.raises(PortInUse, match="set SHIPYARD_LB_PORT to a free port") as refused:
        stack._claim_port(port, "SHIPYARD_LB_PORT", "local load balancer")
    ephemeral = ephemeral_port_range()
    if ephemeral and ephemeral[0] <= port <= ephemeral[1]:
        assert f"below {ephemeral[0]}" in str(refused.value)
