"""The load balancer role (shipyard.fargate.load_balancer) against the emulator over HTTP: a refused input.

The role's lifecycle (check, apply, re-apply, HTTPS and HTTP-only settings, one service removed, destroy) is the
Molecule scenario extensions/molecule/load_balancer/
(docs/testing/moved-molecule-cluster-dns-iam-load_balancer-network.md).
"""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.stack
APPLY = "tests/integration/playbooks/load_balancer_apply.yml"
DESTROY = "tests/integration/playbooks/load_balancer_destroy.yml"


@pytest.fixture
def certificate_arn(aws):
    """An ACM certificate in the emulator (the listener refuses an ARN ACM does not know)."""
    acm = aws("acm")
    arn = acm.request_certificate(DomainName="*.shipyard.test", ValidationMethod="DNS")["CertificateArn"]
    yield arn
    acm.delete_certificate(CertificateArn=arn)


@pytest.fixture
def stack(unique_name, tmp_path, role_runner, certificate_arn):
    """``stack(APPLY, "--check", load_balancer_http_only=True)`` with this test's names; destroyed at the end."""
    base = {
        "load_balancer_name": unique_name,
        "load_balancer_certificate_arn": certificate_arn,
        "load_balancer_http_only": False,  # explicit: inventories/local sets it for the local stack
        "load_balancer_service_port": 3000,
        "load_balancer_tags": {"shipyard:stack": unique_name},
        "load_balancer_test_facts_file": str(tmp_path / "facts.json"),
        "load_balancer_test_services": [
            {"name": f"{unique_name}-web", "priority": 10, "host_headers": ["web.shipyard.test"]},
            {"name": f"{unique_name}-api", "priority": 20, "path_patterns": ["/api/*"]},
        ],
    }
    playbooks = {APPLY: role_runner(APPLY, base), DESTROY: role_runner(DESTROY, base)}

    def run(playbook: str, *args: str, **overrides):
        return playbooks[playbook](*args, **overrides)

    run.name = unique_name
    run.facts = lambda: json.loads((tmp_path / "facts.json").read_text())
    yield run
    cleanup = run(DESTROY)
    assert cleanup.returncode == 0, cleanup.output


def _failure(output: str) -> str:
    return output[min(output.find(mark) % (len(output) + 1) for mark in ("failed: [", "fatal: [")) :]


def _load_balancers(aws, name):
    elbv2 = aws("elbv2")
    return [lb for lb in elbv2.describe_load_balancers()["LoadBalancers"] if lb["LoadBalancerName"] == name]


def _target_groups(aws, *names):
    groups = aws("elbv2").describe_target_groups()["TargetGroups"]
    return {g["TargetGroupName"]: g for g in groups if g["TargetGroupName"] in names}


def _listeners(aws, lb_arn):
    return {
        listener["Port"]: listener for listener in aws("elbv2").describe_listeners(LoadBalancerArn=lb_arn)["Listeners"]
    }


def _rules(aws, listener_arn):
    rules = aws("elbv2").describe_rules(ListenerArn=listener_arn)["Rules"]
    return {r["Priority"]: r for r in rules if not r["IsDefault"]}


def test_a_priority_taken_by_another_service_is_refused(stack, aws):
    assert stack(APPLY).returncode == 0
    clash = [{"name": f"{stack.name}-new", "priority": 10, "host_headers": ["new.shipyard.test"]}]
    run = stack(APPLY, load_balancer_test_services=clash)
    assert run.returncode != 0
    assert "load_balancer_service_priority 10 is already taken" in _failure(run.output), run.output
    (lb,) = _load_balancers(aws, stack.name)
    rules = _rules(aws, _listeners(aws, lb["LoadBalancerArn"])[443]["ListenerArn"])
    web = _target_groups(aws, f"{stack.name}-web")[f"{stack.name}-web"]
    assert rules["10"]["Actions"][0]["TargetGroupArn"] == web["TargetGroupArn"]  # the other service's rule is intact
    cleanup = stack(DESTROY, load_balancer_test_services=clash, load_balancer_test_services_only=True)
    assert cleanup.returncode == 0, cleanup.output
