"""Modules refuse bad input before they make any AWS client, with the rules they share with the roles."""

from __future__ import annotations

import json

import pytest
from ansible.module_utils.testing import patch_module_args
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.shipyard.fargate.plugins.modules import ecs_cluster, ecs_rollout, elb_listener_rule


def _no_client(*_args, **_kwargs):
    raise AssertionError("an AWS client was made before the input was checked")


def test_ecs_rollout_refuses_before_any_aws_client(monkeypatch, capsys):
    monkeypatch.setattr(AnsibleAWSModule, "client", _no_client)
    args = {
        "cluster": "shop",
        "service": "web",
        "task_definition": "shop-web:4",
        "deployment_id": "ecs-svc/1",
        "region": "us-east-1",
    }
    with patch_module_args(args), pytest.raises(SystemExit):
        ecs_rollout.main()
    result = json.loads(capsys.readouterr().out)
    assert result["failed"] is True
    assert "task_definition and deployment_id are exclusive" in result["msg"]


def _refused(monkeypatch, capsys, module, args) -> str:
    monkeypatch.setattr(AnsibleAWSModule, "client", _no_client)
    with patch_module_args({**args, "region": "us-east-1"}), pytest.raises(SystemExit):
        module.main()
    result = json.loads(capsys.readouterr().out)
    assert result["failed"] is True
    return result["msg"]


def test_elb_listener_rule_checks_priority_hosts_and_paths_with_the_roles_rules(monkeypatch, capsys):
    msg = _refused(
        monkeypatch,
        capsys,
        elb_listener_rule,
        {
            "listener_arn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/x/1/2",
            "target_group_arn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/3",
            "priority": 0,
            "host_headers": ["web shop"],
            "path_patterns": ["api/*"],
        },
    )
    assert "priority 0 is out of range: 1 to 50000." in msg
    assert "host_headers: each entry is a host name" in msg
    assert "path_patterns: each pattern starts with '/'" in msg


def test_ecs_cluster_checks_its_strategy_with_the_roles_rules(monkeypatch, capsys):
    msg = _refused(
        monkeypatch,
        capsys,
        ecs_cluster,
        {
            "name": "shop",
            "capacity_providers": ["FARGATE"],
            "default_capacity_provider_strategy": [{"capacity_provider": "FARGATE_SPOT", "weight": 1001}],
        },
    )
    assert "default_capacity_provider_strategy uses FARGATE_SPOT, which is not in capacity_providers." in msg
    assert "default_capacity_provider_strategy: weight must be 0 to 1000." in msg
