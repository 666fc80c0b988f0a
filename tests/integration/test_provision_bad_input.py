"""Bad input to playbooks/provision.yml stops in the pre-flight, naming the variable, before any AWS call."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.stack
FIRST_AWS_PLAY = "PLAY [Shared stack"


@pytest.fixture
def inventory(tmp_path):
    """``inventory(web={...}, api={...}, all={...})`` -> a copy of the local inventory with those variables set."""
    stack = f"bad{uuid.uuid4().hex[:6]}"

    def make(**overrides):
        root = tmp_path / "local"
        shutil.copytree(REPO / "inventories" / "local", root, dirs_exist_ok=True)
        everyone = {"shipyard_stack_name": stack, "dns_zone_name": f"{stack}.test", **overrides.get("all", {})}
        (root / "group_vars" / "all" / "zz_test.yml").write_text(yaml.safe_dump(everyone))
        for host in ("web", "api"):
            host_file = root / "host_vars" / f"{host}.yml"
            host_vars = {**yaml.safe_load(host_file.read_text()), **overrides.get(host, {})}
            host_file.write_text(yaml.safe_dump(host_vars))
        return str(root)

    make.stack = stack
    return make


CASES = [
    pytest.param({"web": {"service_cpu": 256, "service_memory": 4096}}, "service_memory", id="cpu-256-memory-4096"),
    pytest.param({"web": {"service_desired_count": -1}}, "service_desired_count", id="desired-count-negative"),
    pytest.param({"web": {"service_container_port": 70000}}, "service_container_port", id="container-port-70000"),
    pytest.param({"web": {"shipyard_service_image_tag": "v 1"}}, "service_initial_image", id="image-tag-with-space"),
    pytest.param({"web": {"service_log_retention_days": 42}}, "service_log_retention_days", id="log-retention"),
    pytest.param(
        {"web": {"load_balancer_service_health_check_path": "health"}},
        "load_balancer_service_health_check_path",
        id="health-check-path-without-slash",
    ),
    pytest.param({"web": {"dns_record_name": "web..shop.test"}}, "dns_record_name", id="malformed-domain"),
    pytest.param(
        {"all": {"load_balancer_http_only": False, "load_balancer_certificate_arn": None}},
        "load_balancer_certificate_arn",
        id="https-without-certificate",
    ),
    pytest.param(
        {
            "all": {
                "load_balancer_http_only": False,
                "load_balancer_certificate_arn": "arn:aws:acm:us-east-1:123456789012:certificate/abc",
                "load_balancer_ssl_policy": "ELBSecurityPolicy-Nope",
            }
        },
        "load_balancer_ssl_policy",
        id="unknown-tls-policy",
    ),
    pytest.param(
        {"api": {"dns_record_name": "web.{{ dns_zone_name }}"}}, "dns_record_name", id="two-services-one-host"
    ),
    pytest.param({"api": {"load_balancer_service_priority": 10}}, "load_balancer_service_priority", id="same-priority"),
    pytest.param({"all": {"shipyard_stack_name": "Shop!"}}, "shipyard_stack_name", id="stack-name"),
    pytest.param(
        {"web": {"shipyard_service_secrets": {"not valid": "x"}}}, "shipyard_service_secrets", id="secret-key-name"
    ),
    pytest.param({"web": {"service_environment": {"DATABASE_URL": "x"}}}, "service_environment", id="secret-in-env"),
    pytest.param({"all": {"dns_certificate_request": True}}, "dns_certificate_request", id="certificate-http-only"),
    pytest.param(
        {
            "all": {
                "dns_certificate_request": True,
                "load_balancer_http_only": False,
                "dns_certificate_alternative_names": ["*.*.{{ dns_zone_name }}"],
            }
        },
        "dns_certificate_alternative_names",
        id="certificate-double-wildcard",
    ),
    pytest.param(
        {
            "all": {
                "dns_certificate_request": True,
                "load_balancer_http_only": False,
                "dns_certificate_domain": "shop.elsewhere.test",
            }
        },
        "dns_certificate_domain",
        id="certificate-outside-the-zone",
    ),
]


@pytest.mark.parametrize(("overrides", "named"), CASES)
def test_bad_input_is_refused_before_any_aws_call(inventory, overrides, named, run_playbook, aws):
    run = run_playbook("playbooks/provision.yml", "-i", inventory(**overrides))
    assert run.returncode != 0, run.output[-4000:]
    assert named in run.output, run.output[-4000:]
    assert FIRST_AWS_PLAY not in run.output, "the pre-flight let bad input through to AWS"
    stack = overrides.get("all", {}).get("shipyard_stack_name", inventory.stack)
    assert not [r for r in aws("ecr").describe_repositories()["repositories"] if r["repositoryName"].startswith(stack)]
