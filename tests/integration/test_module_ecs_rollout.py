"""shipyard.fargate.ecs_rollout through ansible-playbook against the local cloud, simulated tasks.

Each story rolls a service that runs a healthy revision out to a revision whose ``SHIPYARD_SIMULATE`` scripts
what its tasks do, and checks the verdict, the reason and the message, the live progress lines, and, with
rollback on, that the service ends on the previous revision, completed and healthy.

End to end here: the healthy rollout (check mode first, then the rollout, then a re-run) and the crash that is
rolled back. The other failure stories (tasks that cannot start: image pull, secret; a failing health check; ECS's
circuit breaker rolling back) are replayed from recorded API answers in tests/unit/test_rollout_decisions.py,
with the same reasons and messages (see docs/testing/moved-flows.md).
"""

from __future__ import annotations

import pytest
from local_cloud import Cloud, wait_for

pytestmark = pytest.mark.stack


@pytest.fixture
def cloud(aws, unique_name) -> Cloud:
    return Cloud(aws, unique_name)


@pytest.fixture
def running(cloud):
    """``running(breaker=True)`` -> (cloud, first ARN): a service whose first revision (healthy) completed.

    ``breaker=False`` turns ECS's circuit breaker (and its rollback) off: only ecs_rollout decides, so nothing races
    its verdict.
    """

    def start(*, breaker: bool = True) -> tuple[Cloud, str]:
        first = cloud.task_definition("start=0.5")
        cloud.create_service(first, breaker=breaker, rollback=breaker)
        wait_for("the first deployment to complete", cloud.settled)
        return cloud, first

    return start


@pytest.fixture
def rollout(role_runner):
    """``rollout(cloud, *ansible_args, **options)`` -> PlaybookRun with ``.fact``: what the module returned."""
    run = role_runner("tests/integration/playbooks/rollout.yml", {"rollout_service": "web"})

    def roll(cloud: Cloud, *args: str, **options):
        return run(*args, rollout_cluster=cloud.cluster, **{f"rollout_{key}": value for key, value in options.items()})

    return roll


def _primary(cloud: Cloud) -> dict:
    return next(d for d in cloud.service()["deployments"] if d["status"] == "PRIMARY")


def test_healthy_rollout_succeeds_with_progress_lines_and_a_rerun_changes_nothing(running, rollout):
    cloud, first = running()
    second = cloud.task_definition("start=1")
    # Check mode first: it reports the change, updates nothing and does not wait.
    checked = rollout(cloud, "--check", task_definition=second)
    assert checked.returncode == 0, checked.output
    assert checked.fact["verdict"] == "SKIPPED"
    assert checked.fact["changed"] is True
    assert cloud.service()["taskDefinition"] == first
    assert len(cloud.service()["deployments"]) == 1

    run = rollout(cloud, task_definition=second)
    assert run.returncode == 0, run.output
    fact = run.fact
    assert fact["verdict"] == "SUCCEEDED"
    assert fact["changed"] is True
    assert fact["task_definition_arn"] == second
    assert "web: 2/2 new tasks running, 0 failed, targets 2/2 healthy" in run.output
    assert fact["api_calls"] > 0
    assert fact["timeline"][0]["kind"] == "start"
    assert any(
        entry["kind"] == "event" and "has reached a steady state" in entry["message"] for entry in fact["timeline"]
    )
    # Success means: the new deployment is PRIMARY and COMPLETED, all its targets healthy.
    primary = _primary(cloud)
    assert primary["taskDefinition"] == second
    assert primary["rolloutState"] == "COMPLETED"
    assert primary["runningCount"] == 2

    again = rollout(cloud, task_definition=second)
    assert again.returncode == 0, again.output
    assert again.fact["verdict"] == "SUCCEEDED"
    assert again.fact["changed"] is False
    assert again.recap()["web"]["changed"] == 0


def test_crash_loop_fails_fast_with_the_exit_code_and_rolls_back(running, rollout):
    cloud, first = running()
    broken = cloud.task_definition("start=1,exit=3@4,reason=boom")
    run = rollout(cloud, task_definition=broken)
    assert run.returncode != 0
    fact = run.fact
    assert fact["reason_code"] == "tasks_stopped", fact["msg"]
    assert "exit code 3" in fact["msg"]
    assert "EssentialContainerExited" in fact["msg"]
    assert fact["rollback"]["verdict"] == "SUCCEEDED", fact["rollback"]
    assert fact["rollback"]["task_definition_arn"] == first
    # The service is back on the first revision, completed.
    settled = wait_for("the service to settle on the first revision", cloud.settled)
    assert settled["taskDefinition"] == first
    assert "rolling back" in run.output
