"""Task ports of the local ECS engine (local/shipyard_local/cloud/ecs/tasks.py: HostPorts)."""

from __future__ import annotations

import socket

import pytest

from shipyard_local.cloud.ecs import tasks


def always(host, port):
    return True


def test_ports_are_handed_out_in_turn_and_come_back_only_after_the_whole_range():
    ports = tasks.HostPorts("127.0.0.1", low=21000, high=21003, start=21002, bindable=always)
    assert [ports.take() for _ in range(6)] == [21002, 21003, 21000, 21001, 21002, 21003]


def test_busy_ports_and_ports_that_cannot_be_bound_are_skipped():
    refused = {21001}
    ports = tasks.HostPorts("127.0.0.1", low=21000, high=21004, start=21000, bindable=lambda h, p: p not in refused)
    assert ports.take(busy={21000, 21002}) == 21003
    assert ports.take(busy={21004}) == 21000  # wrapped round, 21004 skipped


def test_a_full_range_is_an_error_not_a_shared_port():
    ports = tasks.HostPorts("127.0.0.1", low=21000, high=21001, start=21000, bindable=always)
    with pytest.raises(RuntimeError, match="no free task port in 21000-21001"):
        ports.take(busy={21000, 21001})


def test_the_range_lies_below_the_kernels_ephemeral_ports():
    # An outgoing connection takes its local port from the ephemeral range: a task port there could be taken between
    # its choice and the container's bind.
    ports = tasks.HostPorts("127.0.0.1")
    assert ports.high < tasks._ephemeral_low()
    assert tasks.HOST_PORTS[1] < 29000  # the stacks' own ports (emulator, registry, load balancer) are 29xxx


def test_a_port_in_use_on_the_host_is_not_handed_out():
    port = tasks.HostPorts("127.0.0.1", high=tasks.HOST_PORTS[1] - 1).take()
    with socket.socket() as held:
        held.bind(("127.0.0.1", port))
        held.listen()
        ports = tasks.HostPorts("127.0.0.1", low=port, high=port + 1, start=port)
        assert ports.take() == port + 1


def test_a_random_start_spreads_engines_over_the_range():
    starts = {tasks.HostPorts("127.0.0.1", bindable=always).take() for _ in range(20)}
    assert len(starts) > 1
    assert all(tasks.HOST_PORTS[0] <= port <= tasks.HOST_PORTS[1] for port in starts)
