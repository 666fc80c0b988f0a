"""shipyard.fargate.elb_listener_rule: which single-rule call (if any) each situation needs."""

from __future__ import annotations

import pytest
from ansible_collections.shipyard.fargate.plugins.modules import elb_listener_rule as module

WEB_TG = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/shop-web/1"
API_TG = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/shop-api/2"


def rule(priority, target, hosts=(), paths=(), legacy=False):
    conditions = []
    if hosts:
        conditions.append(
            {"Field": "host-header", "Values": list(hosts)}
            if legacy
            else {"Field": "host-header", "HostHeaderConfig": {"Values": list(hosts)}}
        )
    if paths:
        conditions.append({"Field": "path-pattern", "PathPatternConfig": {"Values": list(paths)}})
    return {
        "RuleArn": f"arn:rule/{priority}",
        "Priority": str(priority),
        "IsDefault": False,
        "Conditions": conditions,
        "Actions": [{"Type": "forward", "TargetGroupArn": target}],
    }


DEFAULT = {"RuleArn": "arn:rule/default", "Priority": "default", "IsDefault": True, "Conditions": [], "Actions": []}


def params(**overrides):
    base = {
        "listener_arn": "arn:listener",
        "target_group_arn": WEB_TG,
        "priority": 10,
        "host_headers": ["web.example.com"],
        "path_patterns": [],
        "state": "present",
    }
    base.update(overrides)
    return base


def test_missing_rule_is_created_beside_the_others():
    current, actions, error = module._plan([DEFAULT, rule(20, API_TG, ["api.example.com"])], params())
    assert (current, actions, error) == (None, ["create"], None)


def test_same_rule_needs_nothing_even_in_the_legacy_condition_shape():
    rules = [DEFAULT, rule(10, WEB_TG, ["web.example.com"], legacy=True), rule(20, API_TG, ["api.example.com"])]
    _, actions, error = module._plan(rules, params())
    assert (actions, error) == ([], None)


def test_changed_host_is_modified_and_moved_priority_is_set():
    rules = [DEFAULT, rule(15, WEB_TG, ["old.example.com"])]
    current, actions, _ = module._plan(rules, params())
    assert current["RuleArn"] == "arn:rule/15"
    assert actions == ["modify", "priority"]


def test_a_priority_held_by_another_service_is_refused_by_name():
    _, actions, error = module._plan([rule(10, API_TG, ["api.example.com"])], params())
    assert actions == []
    assert "priority 10" in error
    assert API_TG in error


@pytest.mark.parametrize(("rules", "expected"), [([rule(10, WEB_TG, ["web.example.com"])], ["delete"]), ([], [])])
def test_absent_deletes_only_the_own_rule(rules, expected):
    _, actions, _ = module._plan([DEFAULT, rule(20, API_TG, ["api.example.com"]), *rules], params(state="absent"))
    assert actions == expected


def test_conditions_are_built_in_a_stable_order():
    assert module._conditions(["b.example.com", "a.example.com"], ["/api/*"]) == [
        {"Field": "host-header", "HostHeaderConfig": {"Values": ["a.example.com", "b.example.com"]}},
        {"Field": "path-pattern", "PathPatternConfig": {"Values": ["/api/*"]}},
    ]
