"""The load balancer role's option rules (plugins/module_utils/validation/load_balancer.py): main and service."""

from __future__ import annotations

import pytest
from ansible_collections.shipyard.fargate.plugins.module_utils.validation import load_balancer as rules

CERTIFICATE = "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d"
VALID = {
    "load_balancer_name": "stack",
    "load_balancer_state": "present",
    "load_balancer_http_only": False,
    "load_balancer_certificate_arn": CERTIFICATE,
    "load_balancer_subnet_ids": ["subnet-01", "subnet-02"],
    "load_balancer_security_group_ids": ["sg-01"],
    "load_balancer_idle_timeout": 60,
    "ansible_check_mode": False,
}
SERVICE = {
    "load_balancer_service_name": "stack-web",
    "load_balancer_service_state": "present",
    "load_balancer_service_port": 3000,
    "load_balancer_service_priority": 10,
    "load_balancer_service_listener_port": 443,
    "load_balancer_service_host_headers": ["web.shop.test"],
    "load_balancer_service_path_patterns": [],
    "load_balancer_service_health_check_path": "/health",
    "load_balancer_service_health_check_interval": 30,
    "load_balancer_service_health_check_timeout": 5,
    "load_balancer_service_healthy_threshold": 2,
    "load_balancer_service_unhealthy_threshold": 3,
    "load_balancer_service_health_check_matcher": "200",
    "load_balancer_service_deregistration_delay": 30,
    "load_balancer_service_vpc_id": "vpc-0abc",
    "ansible_check_mode": False,
}


def errors(**overrides):
    return rules.load_balancer_errors({**VALID, **overrides})


def service_errors(**overrides):
    return rules.load_balancer_service_errors({**SERVICE, **overrides})


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({}, id="defaults"),
        pytest.param({"load_balancer_name": "a" * 32}, id="name-32"),
        pytest.param({"load_balancer_name": "a"}, id="name-1"),
        pytest.param({"load_balancer_http_only": True, "load_balancer_certificate_arn": None}, id="http-only"),
        pytest.param(
            {"load_balancer_certificate_arn": "arn:aws:iam::123456789012:server-certificate/web"}, id="iam-certificate"
        ),
        pytest.param(
            {
                "load_balancer_state": "absent",
                "load_balancer_certificate_arn": None,
                "load_balancer_subnet_ids": [],
                "load_balancer_security_group_ids": [],
            },
            id="absent",
        ),
        pytest.param(
            {"ansible_check_mode": True, "load_balancer_subnet_ids": [], "load_balancer_security_group_ids": []},
            id="check-mode-no-network-yet",
        ),
        pytest.param({"load_balancer_idle_timeout": 1}, id="idle-1"),
        pytest.param({"load_balancer_idle_timeout": 4000}, id="idle-4000"),
    ],
)
def test_valid_options_pass(overrides):
    assert errors(**overrides) == []


@pytest.mark.parametrize(
    ("overrides", "option"),
    [
        pytest.param({"load_balancer_name": "a" * 33}, "load_balancer_name", id="name-33"),
        pytest.param({"load_balancer_name": "stack-"}, "load_balancer_name", id="name-trailing-dash"),
        pytest.param({"load_balancer_name": "internal-stack"}, "load_balancer_name", id="name-internal"),
        pytest.param({"load_balancer_name": "my_lb"}, "load_balancer_name", id="name-underscore"),
        pytest.param(
            {"load_balancer_certificate_arn": None}, "load_balancer_certificate_arn", id="https-without-certificate"
        ),
        pytest.param(
            {"load_balancer_certificate_arn": "my-cert"}, "load_balancer_certificate_arn", id="certificate-not-arn"
        ),
        pytest.param(
            {"load_balancer_http_only": True}, "load_balancer_certificate_arn", id="certificate-and-http-only"
        ),
        pytest.param({"load_balancer_subnet_ids": ["subnet-01"]}, "load_balancer_subnet_ids", id="one-subnet"),
        pytest.param(
            {"load_balancer_subnet_ids": ["subnet-01", "net-2"]}, "load_balancer_subnet_ids", id="subnet-shape"
        ),
        pytest.param({"load_balancer_security_group_ids": []}, "load_balancer_security_group_ids", id="no-group"),
        pytest.param(
            {"load_balancer_security_group_ids": ["group"]}, "load_balancer_security_group_ids", id="group-shape"
        ),
        pytest.param({"load_balancer_idle_timeout": 0}, "load_balancer_idle_timeout", id="idle-0"),
        pytest.param({"load_balancer_idle_timeout": 4001}, "load_balancer_idle_timeout", id="idle-4001"),
    ],
)
def test_invalid_options_are_refused_naming_the_option(overrides, option):
    found = errors(**overrides)
    assert [m for m in found if option in m], found


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({}, id="defaults"),
        pytest.param({"load_balancer_service_priority": 1}, id="priority-1"),
        pytest.param({"load_balancer_service_priority": 50000}, id="priority-50000"),
        pytest.param({"load_balancer_service_listener_port": 80}, id="listener-80"),
        pytest.param(
            {"load_balancer_service_host_headers": [], "load_balancer_service_path_patterns": ["/api/*"]},
            id="path-only",
        ),
        pytest.param({"load_balancer_service_host_headers": ["*.shop.test", "w?b.shop.test"]}, id="host-wildcards"),
        pytest.param({"load_balancer_service_path_patterns": ["/" + "a" * 127]}, id="path-128"),
        pytest.param({"load_balancer_service_health_check_path": "/" + "a" * 1023}, id="health-path-1024"),
        pytest.param(
            {"load_balancer_service_health_check_interval": 5, "load_balancer_service_health_check_timeout": 2},
            id="interval-5-timeout-2",
        ),
        pytest.param(
            {"load_balancer_service_health_check_interval": 300, "load_balancer_service_health_check_timeout": 120},
            id="interval-300-timeout-120",
        ),
        pytest.param(
            {"load_balancer_service_healthy_threshold": 10, "load_balancer_service_unhealthy_threshold": 2},
            id="thresholds",
        ),
        pytest.param({"load_balancer_service_health_check_matcher": "200-299,302"}, id="matcher-list"),
        pytest.param({"load_balancer_service_deregistration_delay": 0}, id="delay-0"),
        pytest.param({"load_balancer_service_deregistration_delay": 3600}, id="delay-3600"),
        pytest.param({"ansible_check_mode": True, "load_balancer_service_vpc_id": None}, id="check-mode-no-vpc"),
        pytest.param(
            {
                "load_balancer_service_state": "absent",
                "load_balancer_service_vpc_id": "",
                "load_balancer_service_host_headers": [],
            },
            id="absent",
        ),
    ],
)
def test_valid_service_options_pass(overrides):
    assert service_errors(**overrides) == []


@pytest.mark.parametrize(
    ("overrides", "option"),
    [
        pytest.param({"load_balancer_service_name": "-web"}, "load_balancer_service_name", id="name"),
        pytest.param({"load_balancer_service_name": "a" * 33}, "load_balancer_service_name", id="name-33"),
        pytest.param({"load_balancer_service_port": 0}, "load_balancer_service_port", id="port-0"),
        pytest.param({"load_balancer_service_port": 65536}, "load_balancer_service_port", id="port-65536"),
        pytest.param({"load_balancer_service_priority": 0}, "load_balancer_service_priority", id="priority-0"),
        pytest.param({"load_balancer_service_priority": 50001}, "load_balancer_service_priority", id="priority-50001"),
        pytest.param(
            {"load_balancer_service_listener_port": 8080}, "load_balancer_service_listener_port", id="listener-8080"
        ),
        pytest.param(
            {"load_balancer_service_host_headers": [], "load_balancer_service_path_patterns": []},
            "load_balancer_service_host_headers",
            id="no-condition",
        ),
        pytest.param(
            {"load_balancer_service_host_headers": ["web shop"]}, "load_balancer_service_host_headers", id="host-space"
        ),
        pytest.param(
            {"load_balancer_service_host_headers": ["a" * 129]}, "load_balancer_service_host_headers", id="host-129"
        ),
        pytest.param(
            {"load_balancer_service_path_patterns": ["api/*"]},
            "load_balancer_service_path_patterns",
            id="path-without-slash",
        ),
        pytest.param(
            {"load_balancer_service_path_patterns": ["/" + "a" * 128]},
            "load_balancer_service_path_patterns",
            id="path-129",
        ),
        pytest.param(
            {"load_balancer_service_health_check_path": "health"},
            "load_balancer_service_health_check_path",
            id="health-path-without-slash",
        ),
        pytest.param(
            {"load_balancer_service_health_check_path": "/a b"},
            "load_balancer_service_health_check_path",
            id="health-path-space",
        ),
        pytest.param(
            {"load_balancer_service_health_check_interval": 4},
            "load_balancer_service_health_check_interval",
            id="interval-4",
        ),
        pytest.param(
            {"load_balancer_service_health_check_interval": 301},
            "load_balancer_service_health_check_interval",
            id="interval-301",
        ),
        pytest.param(
            {"load_balancer_service_health_check_timeout": 1},
            "load_balancer_service_health_check_timeout",
            id="timeout-1",
        ),
        pytest.param(
            {"load_balancer_service_health_check_timeout": 30},
            "load_balancer_service_health_check_timeout",
            id="timeout-not-below-interval",
        ),
        pytest.param(
            {"load_balancer_service_health_check_interval": 300, "load_balancer_service_health_check_timeout": 121},
            "load_balancer_service_health_check_timeout",
            id="timeout-121",
        ),
        pytest.param(
            {"load_balancer_service_healthy_threshold": 1}, "load_balancer_service_healthy_threshold", id="healthy-1"
        ),
        pytest.param(
            {"load_balancer_service_healthy_threshold": 11}, "load_balancer_service_healthy_threshold", id="healthy-11"
        ),
        pytest.param(
            {"load_balancer_service_unhealthy_threshold": 11},
            "load_balancer_service_unhealthy_threshold",
            id="unhealthy-11",
        ),
        pytest.param(
            {"load_balancer_service_health_check_matcher": "OK"},
            "load_balancer_service_health_check_matcher",
            id="matcher-word",
        ),
        pytest.param(
            {"load_balancer_service_health_check_matcher": "600"},
            "load_balancer_service_health_check_matcher",
            id="matcher-600",
        ),
        pytest.param(
            {"load_balancer_service_deregistration_delay": 3601},
            "load_balancer_service_deregistration_delay",
            id="delay-3601",
        ),
        pytest.param({"load_balancer_service_vpc_id": None}, "load_balancer_service_vpc_id", id="no-vpc"),
        pytest.param({"load_balancer_service_vpc_id": "vpc-XY"}, "load_balancer_service_vpc_id", id="vpc-shape"),
    ],
)
def test_invalid_service_options_are_refused_naming_the_option(overrides, option):
    found = service_errors(**overrides)
    assert [m for m in found if option in m], found
