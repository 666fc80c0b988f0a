"""The local cloud's ECS engine, over HTTP: rollouts, failures and third-party clients, with simulated tasks.

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


def test_healthy_rollout_replaces_two_tasks_drains_the_old_ones_and_writes_events(cloud):
    first = cloud.task_definition("start=1")
    created = cloud.create_service(first)
    assert created["deploymentConfiguration"]["minimumHealthyPercent"] == 100
    assert created["deploymentConfiguration"]["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}
    assert created["deployments"][0]["rolloutState"] == "IN_PROGRESS"

    service = wait_for("the first deployment to complete", cloud.settled)
    assert (service["runningCount"], service["pendingCount"], service["desiredCount"]) == (2, 0, 2)
    old = cloud.tasks(serviceName="web")
    assert len(old) == 2
    assert {t["lastStatus"] for t in old} == {"RUNNING"}
    assert all(t["startedBy"] == service["deployments"][0]["id"] and t["group"] == "service:web" for t in old)
    old_ips = {_ip(t) for t in old}
    assert {ip: h["State"] for ip, h in cloud.targets().items()} == dict.fromkeys(old_ips, "healthy")

    second = cloud.task_definition("start=1")
    cloud.ecs.update_service(cluster=cloud.cluster, service="web", taskDefinition=second)
    deployments = cloud.service()["deployments"]
    assert [(d["status"], d["taskDefinition"]) for d in deployments] == [("PRIMARY", second), ("ACTIVE", first)]
    new_id = deployments[0]["id"]

    # The old tasks are deregistered and drain (their targets report it) before they stop.
    draining = wait_for(
        "the old targets to drain",
        lambda: {ip: h for ip, h in cloud.targets().items() if ip in old_ips and h["State"] == "draining"},
    )
    assert {h["Reason"] for h in draining.values()} == {"Target.DeregistrationInProgress"}
    service = wait_for("the second deployment to complete", cloud.settled)
    assert service["deployments"][0]["id"] == new_id
    assert service["taskDefinition"] == second
    assert service["runningCount"] == 2

    stopped = {t["taskArn"]: t for t in cloud.tasks("STOPPED", serviceName="web")}
    assert set(stopped) == {t["taskArn"] for t in old}
    for task in stopped.values():
        assert task["stopCode"] == "ServiceSchedulerInitiated"
        assert task["stoppedReason"] == f"Scaling activity initiated by (deployment {new_id})"
        assert task["stoppingAt"] <= task["stoppedAt"]
    new = cloud.tasks(serviceName="web")
    assert {t["taskDefinitionArn"] for t in new} == {second}
    assert {ip: h["State"] for ip, h in cloud.targets().items()} == {_ip(t): "healthy" for t in new}

    events = cloud.service()["events"]
    assert [e["createdAt"] for e in events] == sorted((e["createdAt"] for e in events), reverse=True)
    assert all(e["id"] for e in events)
    text = "\n".join(e["message"] for e in events)
    assert "(service web) has started 2 tasks: (task " in text
    assert f"(service web) registered 2 targets in (target-group {cloud.target_group})" in text
    assert f"(service web) deregistered 2 targets in (target-group {cloud.target_group})" in text
    assert "(service web) has stopped 2 running tasks: (task " in text
    assert f"(service web) (deployment {new_id}) deployment completed." in text
    assert events[0]["message"] == "(service web) has reached a steady state."


def test_crash_loop_trips_the_circuit_breaker_and_rolls_back_while_the_old_tasks_serve(cloud):
    good = cloud.task_definition("start=1")
    cloud.create_service(good)
    wait_for("the first deployment to complete", cloud.settled)
    serving = {t["taskArn"] for t in cloud.tasks(serviceName="web")}

    bad = cloud.task_definition("start=1,exit=3@1,reason=boom")
    cloud.ecs.update_service(cluster=cloud.cluster, service="web", taskDefinition=bad)
    failed_id = cloud.service()["deployments"][0]["id"]

    def rolled_back():
        # Through the whole story the previous definition's two tasks keep running and stay healthy.
        running = {t["taskArn"]: t for t in cloud.tasks(serviceName="web")}
        assert serving <= set(running)
        assert all(running[arn]["lastStatus"] == "RUNNING" for arn in serving)
        health = cloud.targets()
        assert all(health[_ip(running[arn])]["State"] == "healthy" for arn in serving)
        return cloud.settled()

    service = wait_for("the rollback to complete", rolled_back)
    assert service["taskDefinition"] == good
    assert service["deployments"][0]["taskDefinition"] == good
    assert service["deployments"][0]["id"] != failed_id

    crashed = [t for t in cloud.tasks("STOPPED", serviceName="web") if t["taskDefinitionArn"] == bad]
    assert len(crashed) >= 3  # the threshold for 2 desired tasks: 0.5 x 2, at least 3
    for task in crashed:
        assert task["stopCode"] == "EssentialContainerExited"
        assert task["stoppedReason"] == "Essential container in task exited"
        assert task["containers"][0]["exitCode"] == 3
        assert task["containers"][0]["reason"] == "boom"
    text = "\n".join(cloud.messages())
    assert f"(service web) (deployment {failed_id}) deployment failed: tasks failed to start." in text
    assert "(service web) rolling back to deployment ecs-svc/" in text
    assert {t["taskArn"] for t in cloud.tasks(serviceName="web")} == serving


def test_failing_health_check_stops_tasks_and_fails_the_deployment(cloud):
    cloud.create_service(cloud.task_definition("start=1,healthy=false,code=500"), rollback=False)
    seen = wait_for(
        "a target to turn unhealthy",
        lambda: [h for h in cloud.targets().values() if h["State"] == "unhealthy"],
    )
    assert seen[0]["Reason"] == "Target.ResponseCodeMismatch"
    assert seen[0]["Description"] == "Health checks failed with these codes: [500]"

    service = wait_for(
        "the deployment to fail", lambda: (s := cloud.service())["deployments"][0]["rolloutState"] == "FAILED" and s
    )
    assert service["deployments"][0]["failedTasks"] >= 3
    assert service["deployments"][0]["rolloutStateReason"] == "ECS deployment circuit breaker: tasks failed to start."
    stopped = cloud.tasks("STOPPED", serviceName="web")
    assert stopped
    assert {t["stoppedReason"] for t in stopped} == {
        f"Task failed ELB health checks in (target-group {cloud.target_group})"
    }
    assert f"is unhealthy in (target-group {cloud.target_group}) due to (reason Health checks failed" in "\n".join(
        cloud.messages()
    )


def test_missing_image_fails_to_start_with_cannot_pull(cloud):
    cloud.create_service(cloud.task_definition("pull=fail", image="nowhere/missing:1"), count=1, rollback=False)
    task = wait_for("a stopped task", lambda: cloud.tasks("STOPPED", serviceName="web"))[0]
    assert task["stopCode"] == "TaskFailedToStart"
    assert task["stoppedReason"].startswith("CannotPullContainerError: ")
    assert "nowhere/missing:1" in task["containers"][0]["reason"]
    assert "startedAt" not in task  # it never ran
    service = wait_for("the deployment to fail", lambda: cloud.service()["deployments"][0]["rolloutState"] == "FAILED")
    assert service


def test_unreadable_secret_fails_to_start_and_a_json_key_resolves(cloud):
    arn = cloud.secrets.create_secret(Name=f"{cloud.name}/app", SecretString='{"password": "s3cret"}')["ARN"]
    good = cloud.task_definition("start=1", secrets=[{"name": "DB_PASSWORD", "valueFrom": f"{arn}:password::"}])
    cloud.create_service(good, count=1)
    wait_for("the deployment with a readable secret to complete", cloud.settled)

    missing = f"{arn.rsplit(':', 1)[0]}:{cloud.name}/absent-AbCdEf"
    bad = cloud.task_definition("start=1", secrets=[{"name": "DB_PASSWORD", "valueFrom": missing}])
    cloud.ecs.update_service(cluster=cloud.cluster, service="web", taskDefinition=bad)
    task = wait_for(
        "a task that cannot read its secret",
        lambda: [t for t in cloud.tasks("STOPPED", serviceName="web") if t["taskDefinitionArn"] == bad],
    )[0]
    assert task["stopCode"] == "TaskFailedToStart"
    assert task["stoppedReason"].startswith(
        "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: "
        "unable to retrieve secret from asm"
    )
    assert missing in task["stoppedReason"]
    assert "ResourceNotFoundException" in task["stoppedReason"]
    assert "s3cret" not in str(task)

    wrong_key = cloud.task_definition("start=1", secrets=[{"name": "X", "valueFrom": f"{arn}:nokey::"}])
    cloud.ecs.update_service(cluster=cloud.cluster, service="web", taskDefinition=wrong_key)
    task = wait_for(
        "a task whose secret lacks the json key",
        lambda: [t for t in cloud.tasks("STOPPED", serviceName="web") if t["taskDefinitionArn"] == wrong_key],
    )[0]
    assert task["stoppedReason"].endswith("did not contain json key nokey")


def test_list_tasks_filters_by_service_desired_status_and_family(cloud):
    cloud.create_service(cloud.task_definition("start=1"), count=2)
    wait_for("the deployment to complete", cloud.settled)
    running = cloud.ecs.list_tasks(cluster=cloud.cluster, serviceName="web")["taskArns"]
    assert len(running) == 2
    assert cloud.ecs.list_tasks(cluster=cloud.cluster, serviceName="other")["taskArns"] == []
    assert sorted(cloud.ecs.list_tasks(cluster=cloud.cluster, family=cloud.name)["taskArns"]) == sorted(running)
    assert cloud.ecs.list_tasks(cluster=cloud.cluster, family="no-such-family")["taskArns"] == []
    assert cloud.ecs.list_tasks(cluster=cloud.cluster, desiredStatus="STOPPED")["taskArns"] == []

    stopped = cloud.ecs.stop_task(cluster=cloud.cluster, task=running[0], reason="testing")["task"]
    assert stopped["desiredStatus"] == "STOPPED"
    gone = wait_for(
        "the stopped task",
        lambda: cloud.ecs.list_tasks(cluster=cloud.cluster, serviceName="web", desiredStatus="STOPPED")["taskArns"],
    )
    assert gone == [running[0]]
    task = wait_for(
        "the task to reach STOPPED",
        lambda: [t for t in cloud.tasks("STOPPED") if t["lastStatus"] == "STOPPED"],
    )[0]
    assert (task["stopCode"], task["stoppedReason"]) == ("UserInitiated", "testing")
    # The service replaces it.
    wait_for("a replacement task", lambda: len(cloud.tasks(serviceName="web")) == 2 and cloud.settled())


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
