"""playbooks/status.yml and playbooks/logs.yml against the local cloud: a service of simulated tasks made with boto3
(no provision.yml), in its own cluster; the local inventory's `web` host points at it through shipyard_stack_name
(cluster <stack>, service web, log group /ecs/<stack>/web). Steady -> rc 0 and the set_stats data; its log lines
with their task ids; then a new deployment whose targets fail their health checks -> non-zero, naming it.
The pure parts (judging, merging, formatting) are in tests/unit/test_service_status.py and test_ecs_logs.py."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from local_cloud import Cloud, wait_for

pytestmark = pytest.mark.stack
REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _definition(cloud: Cloud, simulate: str) -> str:
    container = {
        "name": "app", "image": "web:1", "essential": True, "portMappings": [{"containerPort": 8080}],
        "environment": [{"name": "SHIPYARD_SIMULATE", "value": simulate}],
        "logConfiguration": {"logDriver": "awslogs", "options": {
            "awslogs-group": cloud.log_group, "awslogs-region": "us-east-1", "awslogs-stream-prefix": "app"}},
    }  # fmt: skip
    return cloud.ecs.register_task_definition(
        family=f"{cloud.name}-web", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256",
        memory="512", containerDefinitions=[container],
    )["taskDefinition"]["taskDefinitionArn"]  # fmt: skip


@pytest.fixture
def cloud(aws, unique_name) -> Cloud:
    cloud = Cloud(aws, unique_name)
    cloud.log_group = f"/ecs/{unique_name}/web"
    aws("logs").create_log_group(logGroupName=cloud.log_group)
    return cloud


@pytest.fixture
def playbook(stack_env, tmp_path):
    """``playbook(name, stack, *args)`` -> (rc, JSON output of the ansible.posix.json callback, with custom stats)."""

    def run(name: str, stack: str, *args: str):
        env = {**stack_env, "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json", "ANSIBLE_SHOW_CUSTOM_STATS": "1"}
        done = subprocess.run(
            [str(BIN / "ansible-playbook"), f"playbooks/{name}", "--limit", "web", "-e", f"shipyard_stack_name={stack}",
             *args],
            cwd=REPO, env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        return done.returncode, json.loads(done.stdout)

    return run


def _result(output: dict, task: str) -> dict:
    for found in output["plays"][0]["tasks"]:
        if found["task"]["name"] == task:
            return found["hosts"]["web"]
    raise AssertionError(f"no task {task!r} ran: {[t['task']['name'] for t in output['plays'][0]['tasks']]}")


def test_a_steady_service_then_one_with_unhealthy_targets(cloud, playbook):
    steady = _definition(cloud, "start=0.5,log=listening on 8080,log=ready")
    cloud.ecs.create_service(
        cluster=cloud.cluster, serviceName="web", taskDefinition=steady, desiredCount=2, launchType="FARGATE",
        networkConfiguration={"awsvpcConfiguration": {"subnets": [cloud.subnet], "securityGroups": [cloud.group]}},
        loadBalancers=[{"targetGroupArn": cloud.target_group, "containerName": "app", "containerPort": 8080}],
        healthCheckGracePeriodSeconds=0, enableExecuteCommand=True,
        deploymentConfiguration={"deploymentCircuitBreaker": {"enable": False, "rollback": False}},
    )  # fmt: skip
    wait_for("the service to settle", cloud.settled)
    wait_for("2 healthy targets", lambda: [h["State"] for h in cloud.targets().values()] == ["healthy"] * 2)
    task_ids = sorted(t["taskArn"].rsplit("/", 1)[1] for t in cloud.tasks())

    rc, out = playbook("status.yml", cloud.name, "--check", "-e", "shipyard_status_events=3")
    assert rc == 0, json.dumps(out, indent=1)[-3000:]
    status = out["global_custom_stats"]["shipyard_status"]["web"]
    assert status["steady"] is True
    assert status["problems"] == []
    assert (status["desired"], status["running"], status["pending"]) == (2, 2, 0)
    assert status["task_definition"] == f"{cloud.name}-web:1"
    assert status["deployment"]["rollout_state"] == "COMPLETED"
    assert status["last_deployed"].endswith("Z")
    assert sorted(t["task_id"] for t in status["tasks"]) == task_ids
    assert sorted(t["state"] for t in status["targets"]) == ["healthy", "healthy"]
    assert 0 < len(status["events"]) <= 3
    assert status["exec_command"].startswith(f"aws ecs execute-command --cluster {cloud.name} --task ")
    assert status["exec_command"].split("--task ")[1].split()[0] in task_ids
    shown = _result(out, "Show the status")["msg"]
    assert shown[0] == f"web in {cloud.name}: steady"

    rc, out = playbook("logs.yml", cloud.name, "-e", "shipyard_logs_follow=1")  # the follow poll adds no duplicate
    assert rc == 0, json.dumps(out, indent=1)[-3000:]
    lines = _result(out, "Read the log lines")["lines"]
    for task in task_ids:  # both tasks' lines, each with its task id and container
        assert [line.split(" ", 1)[1] for line in lines if f" {task} " in line] == [
            f"{task} app | listening on 8080",
            f"{task} app | ready",
        ]

    failing = _definition(cloud, "start=0.5,healthy=false,code=502")
    # A grace period longer than the test: ECS would otherwise replace each unhealthy task a few seconds later, and
    # a status read in that moment sees only its replacement's target, still registering.
    cloud.ecs.update_service(
        cluster=cloud.cluster, service="web", taskDefinition=failing, healthCheckGracePeriodSeconds=600
    )
    wait_for("an unhealthy target", lambda: "unhealthy" in [h["State"] for h in cloud.targets().values()])
    rc, out = playbook("status.yml", cloud.name)
    assert rc != 0
    message = _result(out, "Check that the service is steady")["msg"]
    assert message.startswith("web is not steady: ")
    assert "deployment IN_PROGRESS (not COMPLETED)" in message
    assert "is unhealthy (Target.ResponseCodeMismatch" in message
    status = out["global_custom_stats"]["shipyard_status"]["web"]
    assert status["steady"] is False
    assert status["task_definition"] == f"{cloud.name}-web:2"
