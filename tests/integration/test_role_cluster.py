"""The cluster role against the emulator over HTTP.

check -> apply -> re-apply (changed=0) -> verify with boto3; a changed strategy; bad input refused
before any AWS call, naming the option; state absent removes the cluster.
"""

from __future__ import annotations

import contextlib
import re

import pytest

pytestmark = pytest.mark.stack
PLAYBOOK = "tests/integration/playbooks/cluster_role.yml"
FIRST_AWS_TASK = "Ensure the ECS cluster"
SPOT_STRATEGY = [
    {"capacity_provider": "FARGATE", "base": 1, "weight": 1},
    {"capacity_provider": "FARGATE_SPOT", "weight": 3},
]


@pytest.fixture
def cluster(unique_name, aws, role_runner):
    """``cluster(*args, **role_vars)`` runs the role on a cluster of its own; the cluster is deleted afterwards."""
    run = role_runner(PLAYBOOK, {"cluster_name": unique_name})
    run.name = unique_name
    yield run
    ecs = aws("ecs")
    with contextlib.suppress(ecs.exceptions.ClusterNotFoundException):
        ecs.delete_cluster(cluster=unique_name)


def _described(aws, name):
    """The cluster as ECS describes it, or None when it is missing or deleted (INACTIVE)."""
    found = aws("ecs").describe_clusters(clusters=[name], include=["SETTINGS", "CONFIGURATIONS", "TAGS"])
    active = [c for c in found["clusters"] if c["status"] == "ACTIVE"]
    return active[0] if active else None


def test_check_mode_changes_nothing(cluster, aws):
    run = cluster("--check")
    assert run.returncode == 0, run.output
    assert run.recap()["web"]["changed"] == 1, run.output
    assert _described(aws, cluster.name) is None
    assert run.fact == {
        "name": cluster.name,
        "exists": False,
        "arn": None,
        "capacity_providers": [],
        "default_capacity_provider_strategy": [],
    }


def test_apply_then_reapply_reports_no_change_and_ecs_has_the_settings(cluster, aws):
    first = cluster(cluster_default_capacity_provider_strategy=SPOT_STRATEGY)
    assert first.returncode == 0, first.output
    assert first.recap()["web"]["changed"] == 1, first.output

    second = cluster(cluster_default_capacity_provider_strategy=SPOT_STRATEGY)
    assert second.returncode == 0, second.output
    assert second.recap()["web"]["changed"] == 0, second.output

    described = _described(aws, cluster.name)
    assert described is not None
    assert described["capacityProviders"] == ["FARGATE", "FARGATE_SPOT"]
    assert sorted(described["defaultCapacityProviderStrategy"], key=lambda s: s["capacityProvider"]) == [
        {"capacityProvider": "FARGATE", "base": 1, "weight": 1},
        {"capacityProvider": "FARGATE_SPOT", "base": 0, "weight": 3},  # base defaults to 0
    ]
    fact = second.fact
    assert fact["exists"] is True
    assert fact["arn"] == described["clusterArn"]
    assert fact["name"] == cluster.name
    assert fact["capacity_providers"] == ["FARGATE", "FARGATE_SPOT"]
    assert sorted(fact["default_capacity_provider_strategy"], key=lambda s: s["capacity_provider"]) == [
        {"capacity_provider": "FARGATE", "base": 1, "weight": 1},
        {"capacity_provider": "FARGATE_SPOT", "base": 0, "weight": 3},
    ]


def test_defaults_put_every_task_on_fargate(cluster, aws):
    run = cluster()
    assert run.returncode == 0, run.output
    described = _described(aws, cluster.name)
    assert described["capacityProviders"] == ["FARGATE", "FARGATE_SPOT"]
    assert described["defaultCapacityProviderStrategy"] == [{"capacityProvider": "FARGATE", "base": 0, "weight": 1}]


def test_a_changed_strategy_is_applied_and_check_mode_only_reports_it(cluster, aws):
    assert cluster().returncode == 0
    before = _described(aws, cluster.name)["defaultCapacityProviderStrategy"]

    checked = cluster("--check", cluster_default_capacity_provider_strategy=SPOT_STRATEGY)
    assert checked.returncode == 0, checked.output
    assert checked.recap()["web"]["changed"] == 1, checked.output
    assert _described(aws, cluster.name)["defaultCapacityProviderStrategy"] == before
    assert checked.fact["exists"] is True  # the cluster as it is now

    applied = cluster(
        cluster_capacity_providers=["FARGATE_SPOT"],
        cluster_default_capacity_provider_strategy=[{"capacity_provider": "FARGATE_SPOT", "weight": 2}],
    )
    assert applied.returncode == 0, applied.output
    assert applied.recap()["web"]["changed"] == 1, applied.output
    described = _described(aws, cluster.name)
    assert described["capacityProviders"] == ["FARGATE_SPOT"]
    assert described["defaultCapacityProviderStrategy"] == [
        {"capacityProvider": "FARGATE_SPOT", "base": 0, "weight": 2}
    ]


@pytest.mark.parametrize(
    ("role_vars", "option"),
    [
        pytest.param({"cluster_name": "no spaces"}, "cluster_name", id="bad-name"),
        pytest.param({"cluster_state": "gone"}, "cluster_state", id="bad-state"),
        pytest.param({"cluster_capacity_providers": []}, "cluster_capacity_providers", id="no-providers"),
        pytest.param({"cluster_capacity_providers": ["EC2"]}, "cluster_capacity_providers", id="not-fargate"),
        pytest.param(
            {"cluster_capacity_providers": ["FARGATE"], "cluster_default_capacity_provider_strategy": SPOT_STRATEGY},
            "cluster_default_capacity_provider_strategy",
            id="strategy-provider-not-offered",
        ),
        pytest.param(
            {
                "cluster_default_capacity_provider_strategy": [
                    {"capacity_provider": "FARGATE", "base": 1},
                    {"capacity_provider": "FARGATE_SPOT", "base": 1},
                ]
            },
            "cluster_default_capacity_provider_strategy",
            id="two-bases",
        ),
        pytest.param(
            {"cluster_default_capacity_provider_strategy": [{"capacity_provider": "FARGATE", "weight": 0}]},
            "cluster_default_capacity_provider_strategy",
            id="no-weight",
        ),
        pytest.param(
            {"cluster_default_capacity_provider_strategy": [{"capacity_provider": "FARGATE", "weight": 1001}]},
            "cluster_default_capacity_provider_strategy",
            id="weight-too-big",
        ),
        pytest.param(
            {"cluster_default_capacity_provider_strategy": [{"weight": 1}]},
            "capacity_provider",
            id="strategy-without-provider",
        ),
        pytest.param(
            {"cluster_default_capacity_provider_strategy": []},
            "cluster_default_capacity_provider_strategy",
            id="empty-strategy",
        ),
        pytest.param({"cluster_container_insights": "sometimes"}, "cluster_container_insights", id="insights-choice"),
        pytest.param(
            {"cluster_execute_command_logging": "override"},
            "cluster_execute_command_log_group_name",
            id="exec-override-without-log-group",
        ),
        pytest.param(
            {"cluster_execute_command_logging": "verbose"}, "cluster_execute_command_logging", id="exec-choice"
        ),
    ],
)
def test_bad_input_stops_before_any_aws_call_naming_the_option(cluster, aws, role_vars, option):
    run = cluster(**role_vars)
    assert run.returncode != 0, run.output
    assert run.recap()["web"]["failed"] == 1, run.output
    assert option in run.output
    assert FIRST_AWS_TASK not in run.output, run.output
    assert _described(aws, role_vars.get("cluster_name", cluster.name)) is None


def test_insights_exec_logging_and_tags_reach_ecs_and_converge(cluster, aws):
    settings = {
        "cluster_container_insights": "enhanced",
        "cluster_execute_command_logging": "override",
        "cluster_execute_command_log_group_name": f"/ecs/{cluster.name}/exec",
        "cluster_tags": {"shipyard:stack": cluster.name, "team": "web"},
    }
    first = cluster(**settings)
    assert first.returncode == 0, first.output
    assert cluster(**settings).recap()["web"]["changed"] == 0

    described = _described(aws, cluster.name)
    assert described["settings"] == [{"name": "containerInsights", "value": "enhanced"}]
    assert described["configuration"]["executeCommandConfiguration"] == {
        "logging": "OVERRIDE",
        "logConfiguration": {"cloudWatchLogGroupName": f"/ecs/{cluster.name}/exec"},
    }
    assert {t["key"]: t["value"] for t in described["tags"]} == settings["cluster_tags"]

    changed = cluster(
        "--diff", **{**settings, "cluster_container_insights": "disabled", "cluster_tags": {"team": "api"}}
    )
    assert changed.recap()["web"]["changed"] == 1, changed.output
    assert re.search(r"^-\s+container_insights: enhanced$", changed.output, re.M), changed.output
    described = _described(aws, cluster.name)
    assert described["settings"] == [{"name": "containerInsights", "value": "disabled"}]
    assert {t["key"]: t["value"] for t in described["tags"]} == {"team": "api"}  # purged the rest


def test_container_insights_is_off_by_default(cluster, aws):
    assert cluster().returncode == 0
    assert _described(aws, cluster.name)["settings"] == [{"name": "containerInsights", "value": "disabled"}]


def test_state_absent_deletes_the_cluster(cluster, aws):
    assert cluster().returncode == 0
    assert _described(aws, cluster.name) is not None

    checked = cluster("--check", cluster_state="absent")
    assert checked.returncode == 0, checked.output
    assert checked.recap()["web"]["changed"] == 1, checked.output
    assert _described(aws, cluster.name) is not None  # check mode deleted nothing

    deleted = cluster(cluster_state="absent")
    assert deleted.returncode == 0, deleted.output
    assert deleted.recap()["web"]["changed"] == 1, deleted.output
    assert _described(aws, cluster.name) is None
    assert deleted.fact == {
        "name": cluster.name,
        "exists": False,
        "arn": None,
        "capacity_providers": [],
        "default_capacity_provider_strategy": [],
    }

    again = cluster(cluster_state="absent")
    assert again.returncode == 0, again.output
    assert again.recap()["web"]["changed"] == 0, again.output
