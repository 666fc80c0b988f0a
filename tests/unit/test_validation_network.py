"""The network role's option rules (plugins/module_utils/validation/network.py): entry points main and service."""

from __future__ import annotations

import pytest
from ansible_collections.shipyard.fargate.plugins.module_utils.validation import network as rules

VALID = {
    "network_name": "stack",
    "network_state": "present",
    "network_create_vpc": True,
    "network_existing_vpc_id": None,
    "network_existing_vpc_tags": {},
    "network_existing_public_subnet_ids": [],
    "network_existing_public_subnet_tags": {},
    "network_existing_private_subnet_ids": [],
    "network_existing_private_subnet_tags": {},
    "network_vpc_cidr": "10.40.0.0/16",
    "network_public_subnet_cidrs": ["10.40.0.0/24", "10.40.1.0/24"],
    "network_private_subnet_cidrs": ["10.40.10.0/24", "10.40.11.0/24"],
    "network_availability_zones": [],
    "network_nat_gateway": False,
    "network_load_balancer_ports": [80, 443],
    "network_load_balancer_ingress_cidrs": ["0.0.0.0/0"],
    "network_load_balancer_ingress_ipv6_cidrs": [],
}
EXISTING = {
    "network_create_vpc": False,
    "network_existing_vpc_id": "vpc-0abc",
    "network_existing_public_subnet_ids": ["subnet-01", "subnet-02"],
    "network_existing_private_subnet_ids": ["subnet-03", "subnet-04"],
}
SERVICE = {
    "network_service_name": "stack-web",
    "network_service_state": "present",
    "network_service_container_port": 3000,
    "network_service_vpc_id": "vpc-0abc",
    "network_service_load_balancer_security_group_id": "sg-0abc",
    "ansible_check_mode": False,
}


def errors(**overrides):
    return rules.network_errors({**VALID, **overrides})


def service_errors(**overrides):
    return rules.network_service_errors({**SERVICE, **overrides})


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({}, id="defaults"),
        pytest.param({"network_name": "a" * 200}, id="name-200"),
        pytest.param(EXISTING, id="existing-by-id"),
        pytest.param(
            {
                **EXISTING,
                "network_existing_vpc_id": None,
                "network_existing_vpc_tags": {"Name": "x"},
                "network_existing_public_subnet_ids": [],
                "network_existing_public_subnet_tags": {"tier": "public"},
            },
            id="existing-by-tags",
        ),
        pytest.param({**EXISTING, "network_state": "absent", "network_existing_vpc_id": None}, id="absent-existing"),
        pytest.param({"network_vpc_cidr": "10.0.0.0/28"}, id="cidr-28"),
        pytest.param({"network_availability_zones": ["us-east-1a", "us-east-1b"]}, id="zones"),
        pytest.param({"network_nat_gateway": True}, id="nat"),
        pytest.param({"network_load_balancer_ports": [1, 65535]}, id="port-bounds"),
        pytest.param({"network_load_balancer_ingress_cidrs": ["203.0.113.7/32"]}, id="ingress-32"),
        pytest.param(
            {"network_load_balancer_ingress_cidrs": [], "network_load_balancer_ingress_ipv6_cidrs": ["::/0"]},
            id="ipv6-only",
        ),
    ],
)
def test_valid_options_pass(overrides):
    assert errors(**overrides) == []


@pytest.mark.parametrize(
    ("overrides", "option"),
    [
        pytest.param({"network_name": "-stack"}, "network_name", id="name-leading-dash"),
        pytest.param({"network_name": "a" * 201}, "network_name", id="name-201"),
        pytest.param({"network_name": "my net"}, "network_name", id="name-space"),
        pytest.param({**EXISTING, "network_existing_vpc_id": None}, "network_existing_vpc_id", id="existing-no-vpc"),
        pytest.param(
            {**EXISTING, "network_existing_vpc_tags": {"Name": "x"}}, "network_existing_vpc_id", id="existing-vpc-both"
        ),
        pytest.param({"network_existing_vpc_id": "vpc_123"}, "network_existing_vpc_id", id="vpc-id-shape"),
        pytest.param(
            {**EXISTING, "network_existing_public_subnet_ids": []},
            "network_existing_public_subnet_ids",
            id="existing-no-public",
        ),
        pytest.param(
            {**EXISTING, "network_existing_private_subnet_tags": {"t": "p"}},
            "network_existing_private_subnet_ids",
            id="existing-private-both",
        ),
        pytest.param(
            {"network_existing_public_subnet_ids": ["sub-1"]},
            "network_existing_public_subnet_ids",
            id="public-subnet-id-shape",
        ),
        pytest.param(
            {"network_existing_private_subnet_ids": ["subnet-XYZ"]},
            "network_existing_private_subnet_ids",
            id="private-subnet-id-shape",
        ),
        pytest.param({"network_vpc_cidr": "10.0.0.0/8"}, "network_vpc_cidr", id="cidr-8"),
        pytest.param({"network_vpc_cidr": "10.0.0.0/29"}, "network_vpc_cidr", id="cidr-29"),
        pytest.param({"network_vpc_cidr": "10.0.0.256/16"}, "network_vpc_cidr", id="cidr-octet"),
        pytest.param(
            {"network_public_subnet_cidrs": ["10.40.0.0/24"], "network_private_subnet_cidrs": ["10.40.10.0/24"]},
            "network_public_subnet_cidrs",
            id="one-public-subnet",
        ),
        pytest.param(
            {"network_public_subnet_cidrs": ["10.40.0.0/24", "nope"]},
            "network_public_subnet_cidrs",
            id="public-subnet-not-cidr",
        ),
        pytest.param(
            {"network_private_subnet_cidrs": ["10.40.10.0/24"]}, "network_private_subnet_cidrs", id="private-count"
        ),
        pytest.param({"network_availability_zones": ["us-east-1a"]}, "network_availability_zones", id="zone-count"),
        pytest.param({**EXISTING, "network_nat_gateway": True}, "network_nat_gateway", id="nat-existing"),
        pytest.param({"network_load_balancer_ports": []}, "network_load_balancer_ports", id="no-ports"),
        pytest.param({"network_load_balancer_ports": [0]}, "network_load_balancer_ports", id="port-0"),
        pytest.param({"network_load_balancer_ports": [443, 65536]}, "network_load_balancer_ports", id="port-65536"),
        pytest.param(
            {"network_load_balancer_ingress_cidrs": ["0.0.0.0/33"]},
            "network_load_balancer_ingress_cidrs",
            id="ingress-33",
        ),
        pytest.param(
            {"network_load_balancer_ingress_cidrs": ["everyone"]},
            "network_load_balancer_ingress_cidrs",
            id="ingress-word",
        ),
        pytest.param(
            {"network_load_balancer_ingress_cidrs": ["10.1.2.3"]},
            "network_load_balancer_ingress_cidrs",
            id="ingress-no-prefix",
        ),
        pytest.param(
            {"network_load_balancer_ingress_ipv6_cidrs": ["::/129"]},
            "network_load_balancer_ingress_ipv6_cidrs",
            id="ipv6-129",
        ),
        pytest.param(
            {"network_load_balancer_ingress_cidrs": [], "network_load_balancer_ingress_ipv6_cidrs": []},
            "network_load_balancer_ingress_cidrs",
            id="no-ingress",
        ),
    ],
)
def test_invalid_options_are_refused_naming_the_option(overrides, option):
    found = errors(**overrides)
    assert [m for m in found if option in m], found


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({}, id="defaults"),
        pytest.param({"network_service_container_port": 1}, id="port-1"),
        pytest.param({"network_service_container_port": 65535}, id="port-65535"),
        pytest.param({"network_service_name": "a" * 255}, id="name-255"),
        pytest.param({"network_service_name": "web (stack) #1"}, id="name-punctuation"),
        pytest.param(
            {
                "ansible_check_mode": True,
                "network_service_vpc_id": None,
                "network_service_load_balancer_security_group_id": "",
            },
            id="check-mode-empty-ids",
        ),
        pytest.param(
            {
                "network_service_state": "absent",
                "network_service_vpc_id": "",
                "network_service_load_balancer_security_group_id": None,
            },
            id="absent-empty-ids",
        ),
    ],
)
def test_valid_service_options_pass(overrides):
    assert service_errors(**overrides) == []


@pytest.mark.parametrize(
    ("overrides", "option"),
    [
        pytest.param({"network_service_name": "a" * 256}, "network_service_name", id="name-256"),
        pytest.param({"network_service_name": "-web"}, "network_service_name", id="name-leading-dash"),
        pytest.param({"network_service_container_port": 0}, "network_service_container_port", id="port-0"),
        pytest.param({"network_service_container_port": 70000}, "network_service_container_port", id="port-70000"),
        pytest.param({"network_service_vpc_id": None}, "network_service_vpc_id", id="no-vpc"),
        pytest.param({"network_service_vpc_id": "vpc-XYZ"}, "network_service_vpc_id", id="vpc-shape"),
        pytest.param(
            {"ansible_check_mode": True, "network_service_vpc_id": "x"},
            "network_service_vpc_id",
            id="check-mode-bad-vpc",
        ),
        pytest.param(
            {"network_service_load_balancer_security_group_id": None},
            "network_service_load_balancer_security_group_id",
            id="no-lb-group",
        ),
        pytest.param(
            {"network_service_load_balancer_security_group_id": "group"},
            "network_service_load_balancer_security_group_id",
            id="lb-group-shape",
        ),
    ],
)
def test_invalid_service_options_are_refused_naming_the_option(overrides, option):
    found = service_errors(**overrides)
    assert [m for m in found if option in m], found
