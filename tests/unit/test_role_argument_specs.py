"""Types, choices and required options: each role's meta/argument_specs.yml, checked by Ansible's own validator.

Ansible validates a role's options against its argument spec before the role's first task (the implicit
``validate_argument_spec`` task uses ``ArgumentSpecValidator``); these tests run that validator on the specs, so a
spec that stops refusing a bad value fails here. The rules argument specs cannot express are in
tests/unit/test_validation_<role>.py; tests/integration/test_validation_wiring.py shows both at work in a playbook.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

REPO = Path(__file__).resolve().parents[2]

# The required options of each entry point, valid.
REQUIRED = {
    "cluster": {"cluster_name": "stack"},
    "dns": {"dns_zone_name": "shop.test", "dns_record_name": "web.shop.test"},
    "iam": {"iam_name_prefix": "stack-web"},
    "image": {},
    "load_balancer": {
        "load_balancer_name": "stack",
        "load_balancer_service_name": "stack-web",
        "load_balancer_service_port": 3000,
        "load_balancer_service_priority": 10,
    },
    "network": {"network_name": "stack", "network_service_name": "stack-web", "network_service_container_port": 3000},
    "registry": {"registry_name": "stack/web"},
    "secrets": {"secrets_name": "stack/web"},
    "service": {"service_name": "web", "service_cluster_name": "stack"},
}


def _spec(role: str, entry_point: str) -> dict:
    specs = yaml.safe_load((REPO / "roles" / role / "meta" / "argument_specs.yml").read_text())["argument_specs"]
    return specs[entry_point]["options"]


def _errors(role: str, entry_point: str, options: dict) -> list[str]:
    spec = _spec(role, entry_point)
    given = {k: v for k, v in {**REQUIRED[role], **options}.items() if k in spec}
    return list(ArgumentSpecValidator(spec).validate(given).error_messages)


@pytest.mark.parametrize(
    ("role", "entry_point"),
    [(role, "validate") for role in REQUIRED]
    + [("load_balancer", "service_validate"), ("network", "service_validate")],
)
def test_the_required_options_alone_pass(role, entry_point):
    assert _errors(role, entry_point, {}) == []


CASES = [
    pytest.param("cluster", "validate", {"cluster_state": "gone"}, "cluster_state", id="cluster-bad-state"),
    pytest.param(
        "cluster",
        "validate",
        {"cluster_capacity_providers": ["EC2"]},
        "cluster_capacity_providers",
        id="cluster-not-fargate",
    ),
    pytest.param(
        "cluster",
        "validate",
        {"cluster_default_capacity_provider_strategy": [{"weight": 1}]},
        "capacity_provider",
        id="cluster-strategy-without-provider",
    ),
    pytest.param(
        "cluster",
        "validate",
        {"cluster_container_insights": "sometimes"},
        "cluster_container_insights",
        id="cluster-insights-choice",
    ),
    pytest.param(
        "cluster",
        "validate",
        {"cluster_execute_command_logging": "verbose"},
        "cluster_execute_command_logging",
        id="cluster-exec-choice",
    ),
    pytest.param("iam", "validate", {"iam_state": "gone"}, "iam_state", id="iam-bad-state"),
    pytest.param("image", "validate", {"image_build": "sometimes"}, "image_build", id="image-build-not-bool"),
    pytest.param(
        "load_balancer",
        "validate",
        {"load_balancer_ssl_policy": "ELBSecurityPolicy-Made-Up-2099"},
        "load_balancer_ssl_policy",
        id="load-balancer-unknown-tls-policy",
    ),
    pytest.param(
        "load_balancer",
        "service_validate",
        {"load_balancer_service_port": "http"},
        "load_balancer_service_port",
        id="load-balancer-service-port-not-int",
    ),
    pytest.param(
        "network",
        "service_validate",
        {"network_service_container_port": "web"},
        "network_service_container_port",
        id="network-service-port-not-int",
    ),
    pytest.param(
        "registry",
        "validate",
        {"registry_image_tag_mutability": "sometimes"},
        "registry_image_tag_mutability",
        id="registry-mutability-choice",
    ),
    pytest.param(
        "registry", "validate", {"registry_scan_on_push": "maybe"}, "registry_scan_on_push", id="registry-scan-not-bool"
    ),
    pytest.param(
        "registry",
        "validate",
        {"registry_lifecycle_keep_tagged_count": "many"},
        "registry_lifecycle_keep_tagged_count",
        id="registry-count-not-int",
    ),
    pytest.param("secrets", "validate", {"secrets_json": "not-a-dict"}, "secrets_json", id="secrets-json-not-dict"),
    pytest.param("secrets", "validate", {"secrets_state": "gone"}, "secrets_state", id="secrets-bad-state"),
    pytest.param("secrets", "validate", {"secrets_tags": ["team", "web"]}, "secrets_tags", id="secrets-tags-not-dict"),
    pytest.param(
        "service", "validate", {"service_desired_count": "many"}, "service_desired_count", id="service-count-not-int"
    ),
]


@pytest.mark.parametrize(("role", "entry_point", "options", "option"), CASES)
def test_bad_types_and_choices_are_refused_naming_the_option(role, entry_point, options, option):
    found = _errors(role, entry_point, options)
    assert [m for m in found if option in m], found


@pytest.mark.parametrize(
    ("role", "option"),
    [("cluster", "cluster_name"), ("registry", "registry_name"), ("secrets", "secrets_name"), ("dns", "dns_zone_name")],
)
def test_a_missing_required_option_is_refused_naming_it(role, option):
    given = {k: v for k, v in REQUIRED[role].items() if k != option}
    found = list(ArgumentSpecValidator(_spec(role, "validate")).validate(given).error_messages)
    assert [m for m in found if option in m], found
