"""The cluster role's option rules (plugins/module_utils/validation/cluster.py), one case per rule and boundary."""

from __future__ import annotations

import pytest
from ansible_collections.shipyard.fargate.plugins.module_utils.validation import cluster as rules

VALID = {
    "cluster_name": "stack",
    "cluster_capacity_providers": ["FARGATE", "FARGATE_SPOT"],
    "cluster_default_capacity_provider_strategy": [{"capacity_provider": "FARGATE", "weight": 1}],
    "cluster_execute_command_logging": "default",
    "cluster_execute_command_log_group_name": None,
}


def errors(**overrides):
    return rules.cluster_errors({**VALID, **overrides})


def strategy(*entries):
    return {"cluster_default_capacity_provider_strategy": list(entries)}


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({}, id="defaults"),
        pytest.param({"cluster_name": "a" * 255}, id="name-255"),
        pytest.param({"cluster_name": "A-b_1"}, id="name-chars"),
        pytest.param({"cluster_capacity_providers": ["FARGATE"]}, id="one-provider"),
        pytest.param(strategy({"capacity_provider": "FARGATE"}), id="weight-default-1"),
        pytest.param(
            strategy(
                {"capacity_provider": "FARGATE", "base": 100000, "weight": 0},
                {"capacity_provider": "FARGATE_SPOT", "base": 0, "weight": 1000},
            ),
            id="bounds",
        ),
        pytest.param(
            {"cluster_execute_command_logging": "override", "cluster_execute_command_log_group_name": "/ecs/exec"},
            id="exec-override",
        ),
        pytest.param({"cluster_execute_command_logging": None}, id="exec-unset"),
    ],
)
def test_valid_options_pass(overrides):
    assert errors(**overrides) == []


@pytest.mark.parametrize(
    ("overrides", "option"),
    [
        pytest.param({"cluster_name": "my cluster!"}, "cluster_name", id="bad-name"),
        pytest.param({"cluster_name": "a" * 256}, "cluster_name", id="name-256"),
        pytest.param({"cluster_name": ""}, "cluster_name", id="name-empty"),
        pytest.param({"cluster_capacity_providers": []}, "cluster_capacity_providers", id="no-providers"),
        pytest.param(
            {"cluster_capacity_providers": ["FARGATE", "FARGATE"]}, "cluster_capacity_providers", id="provider-twice"
        ),
        pytest.param(
            {"cluster_capacity_providers": ["FARGATE"], **strategy({"capacity_provider": "FARGATE_SPOT"})},
            "cluster_default_capacity_provider_strategy",
            id="strategy-provider-not-offered",
        ),
        pytest.param(strategy(), "cluster_default_capacity_provider_strategy", id="empty-strategy"),
        pytest.param(
            strategy({"capacity_provider": "FARGATE"}, {"capacity_provider": "FARGATE", "weight": 2}),
            "cluster_default_capacity_provider_strategy",
            id="strategy-provider-twice",
        ),
        pytest.param(
            strategy({"capacity_provider": "FARGATE", "base": 1}, {"capacity_provider": "FARGATE_SPOT", "base": 2}),
            "cluster_default_capacity_provider_strategy",
            id="two-bases",
        ),
        pytest.param(
            strategy({"capacity_provider": "FARGATE", "weight": 0}),
            "cluster_default_capacity_provider_strategy",
            id="no-weight",
        ),
        pytest.param(
            strategy({"capacity_provider": "FARGATE", "weight": 1001}),
            "cluster_default_capacity_provider_strategy",
            id="weight-too-big",
        ),
        pytest.param(
            strategy({"capacity_provider": "FARGATE", "weight": -1}),
            "cluster_default_capacity_provider_strategy",
            id="weight-negative",
        ),
        pytest.param(
            strategy({"capacity_provider": "FARGATE", "base": 100001}),
            "cluster_default_capacity_provider_strategy",
            id="base-too-big",
        ),
        pytest.param(
            strategy({"capacity_provider": "FARGATE", "base": -1}),
            "cluster_default_capacity_provider_strategy",
            id="base-negative",
        ),
        pytest.param(
            strategy({"weight": 1}), "cluster_default_capacity_provider_strategy", id="strategy-without-provider"
        ),
        pytest.param(
            {"cluster_execute_command_logging": "override"},
            "cluster_execute_command_log_group_name",
            id="exec-override-without-log-group",
        ),
    ],
)
def test_invalid_options_are_refused_naming_the_option(overrides, option):
    found = errors(**overrides)
    assert [m for m in found if option in m], found


def test_every_problem_is_reported_at_once():
    found = errors(cluster_name="bad name", cluster_capacity_providers=[], cluster_execute_command_logging="override")
    assert [m.split(" ")[0] for m in found] == [
        "cluster_name",
        "cluster_capacity_providers",
        "cluster_default_capacity_provider_strategy",
        "cluster_execute_command_log_group_name",
    ]


def test_the_strategy_message_names_the_missing_provider():
    assert errors(cluster_capacity_providers=["FARGATE"], **strategy({"capacity_provider": "FARGATE_SPOT"})) == [
        "cluster_default_capacity_provider_strategy uses FARGATE_SPOT, which is not in cluster_capacity_providers."
    ]


def test_strategy_errors_name_the_options_they_are_given():
    found = rules.strategy_errors(
        [{"capacity_provider": "FARGATE_SPOT", "base": 1}, {"capacity_provider": "FARGATE", "base": 1}],
        ["FARGATE"],
        option="default_capacity_provider_strategy",
        providers_option="capacity_providers",
    )
    assert found == [
        "default_capacity_provider_strategy uses FARGATE_SPOT, which is not in capacity_providers.",
        "default_capacity_provider_strategy: only one capacity provider can have a base above 0.",
    ]


def test_the_module_allows_an_empty_strategy_the_role_does_not():
    assert rules.strategy_errors([], ["FARGATE"], allow_empty=True) == []
    assert rules.strategy_errors([], ["FARGATE"])[0] == (
        "cluster_default_capacity_provider_strategy is empty: give at least one capacity provider with a weight."
    )
