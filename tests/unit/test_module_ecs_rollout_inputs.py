"""shipyard.fargate.ecs_rollout: the module's pure parts (input checks, the update plan, the previous revision)."""

from __future__ import annotations

import pytest
import yaml
from ansible_collections.shipyard.fargate.plugins.module_utils.rollout import model
from ansible_collections.shipyard.fargate.plugins.modules import ecs_rollout as module

TD = "arn:aws:ecs:us-east-1:123456789012:task-definition/shop-web:{}"
PARAMS = {
    "task_definition": None, "deployment_id": None, "to_previous": False, "timeout": 600,
    "tolerated_stopped_tasks": 0, "unhealthy_grace": 60, "log_lines": 20, "wait": True, "desired_count": None,
    "stable_for": 10,
}  # fmt: skip


def service(revision=3, desired=2):
    return {
        "taskDefinition": TD.format(revision),
        "desiredCount": desired,
        "deployments": [{"status": "PRIMARY", "taskDefinition": TD.format(revision)}],
    }


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"task_definition": "shop-web:4", "deployment_id": "ecs-svc/1"}, "task_definition and deployment_id"),
        ({"deployment_id": "deploy-1"}, "deployment_id must look like"),
        ({"to_previous": True, "task_definition": "shop-web:4"}, "to_previous is exclusive"),
        ({"timeout": -1}, "timeout must be 0 or more"),
        ({"timeout": 0}, "timeout must be above 0"),
        ({"tolerated_stopped_tasks": -2}, "tolerated_stopped_tasks"),
        ({"desired_count": -1}, "desired_count"),
        ({"stable_for": -5}, "stable_for must be 0 or more, got -5"),
        ({"stable_for": 600}, "stable_for must be below timeout (600 s), got 600"),
        ({"stable_for": 120, "timeout": 90}, "stable_for must be below timeout (90 s)"),
    ],
)
def test_bad_input_names_the_option(changes, named):
    errors = module.validate({**PARAMS, **changes})
    assert any(named in error for error in errors), errors


def test_good_input_passes():
    assert module.validate({**PARAMS, "task_definition": "shop-web:4"}) == []
    assert module.validate({**PARAMS, "stable_for": 0}) == []  # no window: today's behaviour
    assert module.validate({**PARAMS, "stable_for": 599}) == []
    assert module.validate({**PARAMS, "stable_for": 900, "wait": False}) == []  # nothing waits: nothing to refuse


def test_the_stability_window_default_is_one_value_in_docs_spec_and_controller():
    """The module documents the default and its argument spec applies the constant; the action plugin, which sees
    only the options a task sets, falls back to the same one."""
    from ansible_collections.shipyard.fargate.plugins.action import ecs_rollout as plugin

    documented = yaml.safe_load(module.DOCUMENTATION)["options"]["stable_for"]["default"]
    assert documented == model.DEFAULT_STABLE_FOR > 0
    action = object.__new__(plugin.ActionModule)
    action._args = {"cluster": "shop", "service": "web"}
    assert action._options().stable_for == model.DEFAULT_STABLE_FOR
    action._args["stable_for"] = 0
    assert action._options().stable_for == 0


def test_plan_update_changes_only_what_differs():
    assert module.plan_update(service(3), TD.format(3), None, False) == {}
    assert module.plan_update(service(3), TD.format(4), None, False) == {"taskDefinition": TD.format(4)}
    assert module.plan_update(service(3), TD.format(3), 2, False) == {}
    assert module.plan_update(service(3), None, 4, False) == {"desiredCount": 4}
    forced = module.plan_update(service(3), TD.format(3), None, True)
    assert forced == {"taskDefinition": TD.format(3), "forceNewDeployment": True}


def test_previous_revision_skips_newer_and_other_families():
    active = [TD.format(5), TD.format(4), TD.format(2), "arn:aws:ecs:us-east-1:1:task-definition/shop-web-admin:3"]
    assert module.previous_revision(TD.format(4), active) == TD.format(2)
    assert module.previous_revision(TD.format(2), active) is None
