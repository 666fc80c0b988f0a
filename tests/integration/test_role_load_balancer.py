"""The load balancer role (shipyard.fargate.load_balancer) against the emulator over HTTP.

check -> apply -> re-apply -> verify with boto3 (HTTPS with redirect, TLS policy, 404 default, target groups, rules
of several services on one listener), one service removed while the other keeps its rule, HTTP-only mode, and bad
input refused naming the option.
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


def test_check_mode_on_empty_creates_nothing(stack, aws):
    run = stack(APPLY, "--check")
    assert run.returncode == 0, run.output
    assert run.recap()["web"]["changed"] >= 5, run.output  # VPC, group, load balancer, two target groups
    assert _load_balancers(aws, stack.name) == []
    assert _target_groups(aws, f"{stack.name}-web", f"{stack.name}-api") == {}
    assert stack.facts()["load_balancer_arn"] is None


def test_https_apply_reapply_and_settings(stack, aws, certificate_arn):
    first = stack(APPLY)
    assert first.returncode == 0, first.output
    second = stack(APPLY)
    assert second.returncode == 0, second.output
    assert second.recap()["web"]["changed"] == 0, second.output

    facts = stack.facts()
    (lb,) = _load_balancers(aws, stack.name)
    assert facts["load_balancer_arn"] == lb["LoadBalancerArn"]
    assert facts["load_balancer_dns_name"] == lb["DNSName"]
    assert facts["load_balancer_hosted_zone_id"] == lb["CanonicalHostedZoneId"]
    assert lb["Scheme"] == "internet-facing"
    assert len(lb["AvailabilityZones"]) == 2

    listeners = _listeners(aws, lb["LoadBalancerArn"])
    assert sorted(listeners) == [80, 443]
    assert facts["load_balancer_http_listener_arn"] == listeners[80]["ListenerArn"]
    assert facts["load_balancer_https_listener_arn"] == listeners[443]["ListenerArn"]
    (redirect,) = listeners[80]["DefaultActions"]
    assert redirect["Type"] == "redirect"
    assert redirect["RedirectConfig"]["Protocol"] == "HTTPS"
    assert redirect["RedirectConfig"]["Port"] == "443"
    assert redirect["RedirectConfig"]["StatusCode"] == "HTTP_301"
    https = listeners[443]
    assert https["Protocol"] == "HTTPS"
    assert https["SslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    assert [c["CertificateArn"] for c in https["Certificates"]] == [certificate_arn]
    (not_found,) = https["DefaultActions"]
    assert not_found["Type"] == "fixed-response"
    assert not_found["FixedResponseConfig"]["StatusCode"] == "404"

    groups = _target_groups(aws, f"{stack.name}-web", f"{stack.name}-api")
    web = groups[f"{stack.name}-web"]
    assert facts["load_balancer_target_group_arn"] == groups[f"{stack.name}-api"]["TargetGroupArn"]
    assert (web["TargetType"], web["Protocol"], web["Port"]) == ("ip", "HTTP", 3000)
    assert web["HealthCheckPath"] == "/health"
    assert web["HealthCheckIntervalSeconds"] == 10
    assert web["HealthCheckTimeoutSeconds"] == 5
    assert (web["HealthyThresholdCount"], web["UnhealthyThresholdCount"]) == (2, 3)
    assert web["Matcher"]["HttpCode"] == "200-399"
    attributes = aws("elbv2").describe_target_group_attributes(TargetGroupArn=web["TargetGroupArn"])["Attributes"]
    assert {a["Key"]: a["Value"] for a in attributes}["deregistration_delay.timeout_seconds"] == "30"

    rules = _rules(aws, https["ListenerArn"])
    assert sorted(rules) == ["10", "20"]
    assert rules["10"]["Conditions"][0]["HostHeaderConfig"]["Values"] == ["web.shipyard.test"]
    assert rules["10"]["Actions"][0]["TargetGroupArn"] == web["TargetGroupArn"]
    assert rules["20"]["Conditions"][0]["PathPatternConfig"]["Values"] == ["/api/*"]


def test_removing_one_service_keeps_the_others_rule(stack, aws):
    assert stack(APPLY).returncode == 0
    web_only = [{"name": f"{stack.name}-web", "priority": 10}]
    gone = stack(DESTROY, load_balancer_test_services=web_only, load_balancer_test_services_only=True)
    assert gone.returncode == 0, gone.output
    (lb,) = _load_balancers(aws, stack.name)
    rules = _rules(aws, _listeners(aws, lb["LoadBalancerArn"])[443]["ListenerArn"])
    api = _target_groups(aws, f"{stack.name}-api")[f"{stack.name}-api"]
    assert list(rules) == ["20"]
    assert rules["20"]["Actions"][0]["TargetGroupArn"] == api["TargetGroupArn"]
    assert _target_groups(aws, f"{stack.name}-web") == {}
    again = stack(DESTROY, load_balancer_test_services=web_only, load_balancer_test_services_only=True)
    assert again.recap()["web"]["changed"] == 0, again.output


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


def test_http_only_mode_warns_and_has_no_https_listener(stack, aws):
    run = stack(APPLY, load_balancer_http_only=True, load_balancer_certificate_arn=None)
    assert run.returncode == 0, run.output
    assert "WARNING: load_balancer_http_only is true" in run.output
    (lb,) = _load_balancers(aws, stack.name)
    listeners = _listeners(aws, lb["LoadBalancerArn"])
    assert sorted(listeners) == [80]
    assert listeners[80]["DefaultActions"][0]["FixedResponseConfig"]["StatusCode"] == "404"
    assert sorted(_rules(aws, listeners[80]["ListenerArn"])) == ["10", "20"]
    assert stack.facts()["load_balancer_https_listener_arn"] is None


@pytest.mark.parametrize(
    ("overrides", "option"),
    [
        ({"load_balancer_certificate_arn": None}, "load_balancer_certificate_arn"),
        ({"load_balancer_certificate_arn": "not-an-arn"}, "load_balancer_certificate_arn"),
        ({"load_balancer_ssl_policy": "ELBSecurityPolicy-Made-Up-2099"}, "load_balancer_ssl_policy"),
        ({"load_balancer_name": "a-name-that-is-longer-than-32-chars"}, "load_balancer_name"),
    ],
)
def test_bad_load_balancer_input_is_refused_naming_the_option(stack, aws, overrides, option):
    run = stack(APPLY, **overrides)
    assert run.returncode != 0
    assert option in _failure(run.output), run.output
    assert "Ensure the load balancer and its listeners" not in run.output, run.output
    assert _load_balancers(aws, stack.name) == []


@pytest.mark.parametrize(
    ("service", "option"),
    [
        ({"load_balancer_service_health_check_path": "health"}, "load_balancer_service_health_check_path"),
        ({"load_balancer_service_port": 70000}, "load_balancer_service_port"),
        ({"load_balancer_service_health_check_timeout": 10}, "load_balancer_service_health_check_timeout"),
        ({"load_balancer_service_health_check_matcher": "ok"}, "load_balancer_service_health_check_matcher"),
        ({"load_balancer_service_healthy_threshold": 1}, "load_balancer_service_healthy_threshold"),
    ],
)
def test_bad_service_input_is_refused_naming_the_option(stack, aws, service, option):
    run = stack(APPLY, **service)
    assert run.returncode != 0
    assert option in _failure(run.output), run.output
    assert _target_groups(aws, f"{stack.name}-web", f"{stack.name}-api") == {}
