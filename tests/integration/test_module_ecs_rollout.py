"""shipyard.fargate.ecs_rollout through ansible-playbook against the local cloud, simulated tasks.

Each story rolls a service that runs a healthy revision out to a revision whose ``SHIPYARD_SIMULATE`` scripts
what its tasks do, and checks the verdict, the reason and the message, the live progress lines, and, with
rollback on, that the service ends on the previous revision, completed and healthy.

End to end here: the healthy rollout (check mode first, then the rollout, then a re-run), and a crash that is rolled
back: a service without a load balancer whose new tasks exit a few seconds after RUNNING, after ECS has already
called the deployment COMPLETED, which only the stability window (``stable_for``, on by default) catches. The crash
before COMPLETED (the crash_loop replay: behind a load balancer, caught before the window matters) and the other
failure stories (tasks that cannot start: image pull, secret; a failing health check; ECS's circuit breaker rolling
back) are replayed from recorded API answers in tests/unit/test_rollout_decisions.py, with the same reasons and
messages (see docs/testing/moved-flows.md).
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
    # Success waited for the default stability window, counted from the new targets turning healthy.
    assert fact["message"].endswith("targets 2/2 healthy, stable for 10/10 s"), fact["message"]
    assert (fact["summary"]["stable_for"], fact["summary"]["stable_window"]) == (10, 10)
    assert fact["api_calls"] > 0
    # The local cloud has ECS's deployment API: our service deployment's own status decided, not the events' words.
    assert fact["deployment_source"] == "deployment_api"
    listed = cloud.ecs.list_service_deployments(cluster=cloud.cluster, service="web")["serviceDeployments"]
    ours = next(d for d in listed if d["serviceDeploymentArn"] == fact["service_deployment_arn"])
    assert ours["status"] == "SUCCESSFUL"
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
    # Its tasks have been up for longer than the stability window (by their startedAt): one look, no second wait.
    assert again.fact["polls"] == 1
    assert again.recap()["web"]["changed"] == 0


def test_tasks_that_exit_after_the_deployment_completed_fail_inside_the_stability_window_and_roll_back(cloud, rollout):
    """No load balancer: ECS completes the deployment as soon as the new tasks run, then replaces each one that exits
    (forever: the circuit breaker counts only an IN_PROGRESS deployment's failures). A wait that trusts COMPLETED
    calls that a success (tests/unit/test_rollout_decisions.py replays it with ``stable_for: 0``); the default window
    fails it with the exit code and reason, and the rollback (waited for with the same window) restores the first
    revision."""
    first = cloud.task_definition("start=0.5")
    cloud.ecs.create_service(
        cluster=cloud.cluster, serviceName="web", taskDefinition=first, desiredCount=2, launchType="FARGATE",
        networkConfiguration={"awsvpcConfiguration": {"subnets": [cloud.subnet], "securityGroups": [cloud.group]}},
        deploymentConfiguration={
            "deploymentCircuitBreaker": {"enable": False, "rollback": False},
            "maximumPercent": 200,
            "minimumHealthyPercent": 100,
        },
    )  # fmt: skip
    wait_for("the first deployment to complete", cloud.settled)
    broken = cloud.task_definition("start=0.5,exit=1@4,reason=worker lost its queue")
    run = rollout(cloud, task_definition=broken)
    assert run.returncode != 0
    fact = run.fact
    assert fact["reason_code"] == "tasks_stopped", fact["msg"]
    # ECS had called the deployment a success before the first task exited: only the window catches this.
    completed = f"(deployment {fact['deployment_id']}) deployment completed."
    events = [entry["message"] for entry in fact["timeline"] if entry["kind"] == "event"]
    assert any(completed in message for message in events), events
    assert "after the deployment completed, within the 10 s stability window" in fact["msg"]
    assert "(EssentialContainerExited)" in fact["msg"]
    assert "exit code 1 (worker lost its queue)" in fact["msg"]
    assert "stable for " in run.output  # the window in the progress lines
    assert fact["rollback"]["verdict"] == "SUCCEEDED", fact["rollback"]
    assert fact["rollback"]["task_definition_arn"] == first
    assert "stable for 10/10 s" in fact["rollback"]["message"]  # the rollback passed the same window
    settled = wait_for("the service to settle on the first revision", cloud.settled)
    assert settled["taskDefinition"] == first
