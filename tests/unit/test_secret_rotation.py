"""Rotated secrets reach the running tasks: the pure decision (module_utils/secret_rotation.py) and how
shipyard.fargate.ecs_rollout's start step acts on it (roll_on_secret_change), with fake AWS answers."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from ansible_collections.shipyard.fargate.plugins.module_utils import secret_rotation
from ansible_collections.shipyard.fargate.plugins.modules import ecs_rollout

T0 = datetime(2026, 12, 6, 9, 0, 0, tzinfo=timezone.utc)  # noqa: UP017 - the collection supports Python < 3.11
SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:shop/web-AbCdEf"
OTHER = "arn:aws:secretsmanager:us-east-1:123456789012:secret:shop/shared-XyZ123"
TD = "arn:aws:ecs:us-east-1:123456789012:task-definition/shop-web:3"


def at(seconds):
    return T0 + timedelta(seconds=seconds)


# --- the decision --------------------------------------------------------------------------------------------


def test_a_secret_changed_after_the_oldest_task_started_rolls_and_says_why():
    decision = secret_rotation.decide({"shop/web": at(90)}, [at(30), at(0)])
    assert decision["roll"] is True
    assert decision["secrets"] == ["shop/web"]
    assert decision["tasks_started_at"] == "2026-12-06T09:00:00+00:00"
    assert decision["reason"] == (
        "secret shop/web changed at 2026-12-06T09:01:30+00:00 after the tasks started at 2026-12-06T09:00:00+00:00: "
        "rolling the service so they read it"
    )


def test_a_change_between_two_task_starts_still_rolls_the_older_task_read_the_old_value():
    assert secret_rotation.decide({"shop/web": at(10)}, [at(0), at(20)])["roll"] is True


def test_a_secret_changed_before_the_tasks_started_does_not_roll():
    decision = secret_rotation.decide({"shop/web": at(-60)}, [at(0), at(5)])
    assert decision == {"roll": False, "reason": None, "secrets": [], "tasks_started_at": "2026-12-06T09:00:00+00:00"}


def test_a_change_at_the_very_time_the_task_started_does_not_roll():
    assert secret_rotation.decide({"shop/web": at(0)}, [at(0)])["roll"] is False


def test_no_task_running_means_nothing_runs_an_old_value():
    assert secret_rotation.decide({"shop/web": at(90)}, []) == {
        "roll": False,
        "reason": None,
        "secrets": [],
        "tasks_started_at": None,
    }


def test_several_secrets_name_only_those_changed_since_sorted():
    decision = secret_rotation.decide(
        {"shop/web": at(120), "shop/old": at(-5), "shop/shared": at(60), "shop/never": None}, [at(0)]
    )
    assert decision["roll"] is True
    assert decision["secrets"] == ["shop/shared", "shop/web"]
    assert decision["reason"].startswith(
        "secrets shop/shared changed at 2026-12-06T09:01:00+00:00, shop/web changed at 2026-12-06T09:02:00+00:00 "
        "after the tasks started at"
    )


# --- what the task definition reads, which tasks count -----------------------------------------------------------


def test_the_secrets_a_task_definition_reads_once_each_by_arn_and_not_ssm_parameters():
    definition = {
        "containerDefinitions": [
            {"secrets": [{"name": "A", "valueFrom": f"{SECRET}:A::"}, {"name": "B", "valueFrom": f"{SECRET}:B::"}]},
            {
                "secrets": [
                    {"name": "C", "valueFrom": OTHER},
                    {"name": "D", "valueFrom": "arn:aws:ssm:us-east-1:123456789012:parameter/shop/d"},
                ]
            },
            {"name": "sidecar"},
        ]
    }
    assert secret_rotation.referenced_secrets(definition) == [OTHER, SECRET]
    assert secret_rotation.referenced_secrets({}) == []


def test_only_the_running_tasks_of_the_primary_deployment_count():
    service = {"deployments": [{"id": "ecs-svc/2", "status": "PRIMARY"}, {"id": "ecs-svc/1", "status": "ACTIVE"}]}
    tasks = [
        {"startedBy": "ecs-svc/2", "lastStatus": "RUNNING", "startedAt": at(50)},
        {"startedBy": "ecs-svc/1", "lastStatus": "RUNNING", "startedAt": at(0)},  # the old deployment's
        {"startedBy": "ecs-svc/2", "lastStatus": "PENDING"},
        {"startedBy": "ecs-svc/2", "lastStatus": "STOPPING", "startedAt": at(10)},
    ]
    assert secret_rotation.primary_task_starts(service, tasks) == [at(50)]
    assert secret_rotation.primary_task_starts({"deployments": []}, tasks) == []


# --- ecs_rollout's start step with roll_on_secret_change ---------------------------------------------------------


class Done(Exception):
    pass


class FakeModule:
    def __init__(self, check_mode=False, **params):
        self.check_mode = check_mode
        self.params = {
            "cluster": "shop", "service": "web", "task_definition": TD, "deployment_id": None, "to_previous": False,
            "desired_count": None, "force_new_deployment": False, "roll_on_secret_change": True,
        }  # fmt: skip
        self.params.update(params)
        self.result = None

    def exit_json(self, **result):
        self.result = result
        raise Done

    def fail_json(self, **result):
        raise AssertionError(result)


class FakeCalls:
    """The AWS answers of a service running TD with two tasks started at T0 and T0+20 s, reading SECRET."""

    def __init__(self, secret_changed):
        self.secret_changed = secret_changed
        self.made = []
        self.count = 0
        self.retries = 0

    def __call__(self, operation, api="ecs", **kwargs):
        self.made.append(operation)
        self.count += 1
        primary = {"id": "ecs-svc/1", "status": "PRIMARY", "taskDefinition": TD}
        answers = {
            "describe_services": {"services": [{"serviceName": "web", "status": "ACTIVE", "taskDefinition": TD,
                                                "desiredCount": 2, "deployments": [primary]}]},
            "describe_task_definition": {"taskDefinition": {"taskDefinitionArn": TD, "containerDefinitions": [
                {"secrets": [{"name": "DATABASE_URL", "valueFrom": f"{SECRET}:DATABASE_URL::"}]}]}},
            "list_tasks": {"taskArns": ["t1", "t2"]},
            "describe_tasks": {"tasks": [
                {"startedBy": "ecs-svc/1", "lastStatus": "RUNNING", "startedAt": at(0)},
                {"startedBy": "ecs-svc/1", "lastStatus": "RUNNING", "startedAt": at(20)}]},
            "describe_secret": {"Name": "shop/web", "LastChangedDate": self.secret_changed},
            "update_service": {"service": {"serviceName": "web", "deployments": [primary]}},
        }  # fmt: skip
        assert operation != "get_secret_value"
        return answers[operation]


def start(calls, **params):
    module = FakeModule(**params)
    with pytest.raises(Done):
        ecs_rollout.step_start(module, calls)
    return module.result


def test_a_rotated_secret_forces_a_new_deployment_of_the_same_task_definition():
    calls = FakeCalls(at(90))
    result = start(calls)
    assert result["changed"] is True
    assert result["secret_rotation"]["roll"] is True
    assert (
        "secret shop/web changed at 2026-12-06T09:01:30+00:00 after the tasks started at"
        in (result["secret_rotation"]["reason"])
    )
    assert calls.made[-1] == "update_service"
    assert "describe_secret" in calls.made


def test_check_mode_reports_the_roll_and_updates_nothing():
    calls = FakeCalls(at(90))
    result = start(calls, check_mode=True)
    assert result["changed"] is True
    assert result["secret_rotation"]["roll"] is True
    assert "update_service" not in calls.made


def test_a_secret_older_than_the_tasks_changes_nothing():
    calls = FakeCalls(at(-30))
    result = start(calls)
    assert result["changed"] is False
    assert result["secret_rotation"]["roll"] is False
    assert "update_service" not in calls.made


def test_without_the_option_no_secret_is_looked_at():
    calls = FakeCalls(at(90))
    result = start(calls, roll_on_secret_change=False)
    assert result["changed"] is False
    assert "secret_rotation" not in result
    assert calls.made == ["describe_services"]


def test_the_plan_with_force_asks_ecs_for_a_new_deployment():
    service = {"taskDefinition": TD, "desiredCount": 2, "deployments": [{"status": "PRIMARY", "taskDefinition": TD}]}
    assert ecs_rollout.plan_update(service, TD, None, True) == {"taskDefinition": TD, "forceNewDeployment": True}
