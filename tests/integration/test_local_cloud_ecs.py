"""The local cloud's ECS engine over HTTP: the emulator's wiring, and third-party clients that poll it.

Only what needs the real emulator process lives here; the engine's behaviour (rollouts, draining, circuit
breaker, health checks, start failures, ListTasks/StopTask, deployment bounds) is tested in-process on a
virtual clock in ``tests/unit/test_local_cloud_engine.py`` (map: docs/testing/moved-local-cloud.md).

Every task definition here carries ``SHIPYARD_SIMULATE`` (see ``shipyard_local.cloud.runners.simulated``),
so the stories are quick and deterministic. Target groups use 5 s health checks, thresholds of 2 and a
3 s deregistration delay. Waits poll the API for a state, with generous limits (no wall-clock assertions).
"""

from __future__ import annotations

import subprocess

import pytest
from local_cloud import BIN, Cloud, wait_for

pytestmark = pytest.mark.stack


def _ip(task: dict) -> str:
    details = {d["name"]: d["value"] for d in task["attachments"][0]["details"]}
    return details["privateIPv4Address"]


@pytest.fixture
def cloud(aws, unique_name) -> Cloud:
    return Cloud(aws, unique_name)


def test_the_emulator_runs_the_engine_and_its_api_over_http_shows_the_engines_state(cloud):
    """The wiring, over HTTP: the engine reconciles in the emulator's own thread, the patched handlers serve its
    state (DescribeServices, ListTasks, DescribeTasks, DescribeTargetHealth) and StopTask reaches it.

    What the engine does (rollouts, draining, failures, bounds) is proven in-process on a virtual clock:
    tests/unit/test_local_cloud_engine.py.
    """
    first = cloud.task_definition("start=1")
    created = cloud.create_service(first, count=1)
    assert created["deploymentConfiguration"]["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}
    assert created["deployments"][0]["rolloutState"] == "IN_PROGRESS"

    service = wait_for("the first deployment to complete", cloud.settled)
    assert (service["runningCount"], service["pendingCount"], service["desiredCount"]) == (1, 0, 1)
    [task] = cloud.tasks(serviceName="web")
    assert task["lastStatus"] == "RUNNING"
    assert task["startedBy"] == service["deployments"][0]["id"]
    assert {ip: h["State"] for ip, h in cloud.targets().items()} == {_ip(task): "healthy"}
    assert cloud.messages()[0] == "(service web) has reached a steady state."

    stopped = cloud.ecs.stop_task(cluster=cloud.cluster, task=task["taskArn"], reason="testing")["task"]
    assert stopped["desiredStatus"] == "STOPPED"
    done = wait_for(
        "the stopped task to reach STOPPED",
        lambda: [t for t in cloud.tasks("STOPPED", serviceName="web") if t["lastStatus"] == "STOPPED"],
    )[0]
    assert (done["taskArn"], done["stopCode"], done["stoppedReason"]) == (task["taskArn"], "UserInitiated", "testing")


def test_aws_ecs_wait_services_stable_succeeds_on_a_healthy_rollout(cloud, stack_env):
    cloud.create_service(cloud.task_definition("start=1"))
    wait_for("the first deployment to complete", cloud.settled)
    second = cloud.task_definition("start=2")
    cloud.ecs.update_service(cluster=cloud.cluster, service="web", taskDefinition=second)
    result = subprocess.run(
        [str(BIN / "aws"), "ecs", "wait", "services-stable", "--cluster", cloud.cluster, "--services", "web"],
        env=stack_env, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    # "Stable" (one deployment, running == desired) holds only once the old tasks are gone.
    service = cloud.settled()
    assert service
    assert service["taskDefinition"] == second
    assert service["runningCount"] == service["desiredCount"] == 2
    assert {t["taskDefinitionArn"] for t in cloud.tasks(serviceName="web")} == {second}


def _ecs_deploy(cloud, stack_env, value: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "ecs"), "deploy", cloud.cluster, "web", "-e", "app", "SHIPYARD_SIMULATE", value, "--timeout", "600"],
        env=stack_env, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip


def test_ecs_deploy_succeeds_on_a_healthy_rollout_and_fails_on_a_failing_one(cloud, stack_env):
    first = cloud.task_definition("start=1")
    cloud.create_service(first, rollback=False)
    wait_for("the first deployment to complete", cloud.settled)

    good = _ecs_deploy(cloud, stack_env, "start=2")
    assert good.returncode == 0, good.stdout + good.stderr
    assert "Deployment successful" in good.stdout
    service = cloud.settled()
    assert service
    assert service["taskDefinition"] != first
    assert {t["taskDefinitionArn"] for t in cloud.tasks(serviceName="web")} == {service["taskDefinition"]}

    bad = _ecs_deploy(cloud, stack_env, "start=1,exit=1@1")
    assert bad.returncode != 0
    assert "Deployment Failed" in bad.stdout + bad.stderr
    assert cloud.service()["deployments"][0]["rolloutState"] == "FAILED"
