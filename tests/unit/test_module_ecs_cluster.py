"""shipyard.fargate.ecs_cluster: the pure decisions (what the cluster is, should be, and which calls differ)."""

from __future__ import annotations

import pytest
from ansible_collections.shipyard.fargate.plugins.modules import ecs_cluster as module

# DescribeClusters(include=[SETTINGS, CONFIGURATIONS, TAGS]) as ECS answers it.
DESCRIBED = {
    "clusterArn": "arn:aws:ecs:us-east-1:123456789012:cluster/shop",
    "clusterName": "shop",
    "status": "ACTIVE",
    "capacityProviders": ["FARGATE_SPOT", "FARGATE"],
    "defaultCapacityProviderStrategy": [
        {"capacityProvider": "FARGATE_SPOT", "weight": 3, "base": 0},
        {"capacityProvider": "FARGATE", "weight": 1, "base": 1},
    ],
    "settings": [{"name": "containerInsights", "value": "enabled"}],
    "configuration": {
        "executeCommandConfiguration": {"logging": "OVERRIDE", "logConfiguration": {"cloudWatchLogGroupName": "/x"}}
    },
    "tags": [{"key": "team", "value": "web"}],
}


def params(**overrides):
    base = {
        "name": "shop",
        "state": "present",
        "capacity_providers": ["FARGATE", "FARGATE_SPOT"],
        "default_capacity_provider_strategy": [
            {"capacity_provider": "FARGATE", "base": 1, "weight": 1},
            {"capacity_provider": "FARGATE_SPOT", "base": 0, "weight": 3},
        ],
        "container_insights": None,
        "execute_command_logging": None,
        "execute_command_log_group_name": None,
        "execute_command_kms_key_id": None,
        "tags": None,
        "purge_tags": True,
    }
    base.update(overrides)
    return base


def test_the_same_cluster_in_another_order_needs_no_call():
    current = module._view(DESCRIBED)
    assert module._changes(current, module._desired(params(), current)) == []


def test_unset_options_leave_settings_configuration_and_tags_alone():
    current = module._view(DESCRIBED)
    want = module._desired(params(), current)
    assert want["container_insights"] == "enabled"
    assert want["execute_command_logging"] == "OVERRIDE"
    assert want["tags"] == {"team": "web"}


@pytest.mark.parametrize(
    ("overrides", "actions"),
    [
        ({"capacity_providers": ["FARGATE"], "default_capacity_provider_strategy": []}, ["providers"]),
        ({"container_insights": "disabled"}, ["settings"]),
        ({"execute_command_logging": "DEFAULT"}, ["configuration"]),
        ({"tags": {"team": "api"}}, ["tags"]),
        ({"tags": {"extra": "1"}, "purge_tags": False}, ["tags"]),
        ({"tags": {"team": "web"}, "container_insights": "enhanced"}, ["settings"]),
    ],
)
def test_each_difference_maps_to_its_own_call(overrides, actions):
    current = module._view(DESCRIBED)
    assert module._changes(current, module._desired(params(**overrides), current)) == actions


def test_tags_merge_without_purge():
    current = module._view(DESCRIBED)
    assert module._desired(params(tags={"extra": "1"}, purge_tags=False), current)["tags"] == {
        "team": "web",
        "extra": "1",
    }


def test_a_new_cluster_gets_everything_asked():
    want = module._desired(params(container_insights="enabled", tags={"a": "b"}), {})
    assert module._changes({}, want) == ["providers", "settings", "tags"]
    assert module._configuration(
        {"execute_command_logging": "OVERRIDE", "execute_command_log_group_name": "/ecs/exec"}
    ) == {
        "executeCommandConfiguration": {
            "logging": "OVERRIDE",
            "logConfiguration": {"cloudWatchLogGroupName": "/ecs/exec"},
        }
    }


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"capacity_providers": []}, "capacity_providers"),
        ({"capacity_providers": ["FARGATE"]}, "default_capacity_provider_strategy"),
        (
            {
                "default_capacity_provider_strategy": [
                    {"capacity_provider": "FARGATE", "base": 1, "weight": 1},
                    {"capacity_provider": "FARGATE_SPOT", "base": 2, "weight": 1},
                ]
            },
            "only one capacity provider can have a base above 0",
        ),
        ({"execute_command_logging": "OVERRIDE"}, "execute_command_log_group_name"),
    ],
)
def test_bad_options_are_named(overrides, named):
    assert any(named in error for error in module._validate(params(**overrides)))


def test_good_options_have_no_errors():
    assert module._validate(params()) == []
