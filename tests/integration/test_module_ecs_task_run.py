"""shipyard.fargate.ecs_task_run through ansible-playbook against the local cloud (RunTask run by its engine).

Success and the timeout use simulated tasks (the story comes in the task's ``environment``: ``SHIPYARD_SIMULATE``);
the failure runs a real container on the docker runner: the overridden command ``sh -c 'echo migrating; exit 3'`` in
a tiny busybox image (``docker import``, no image hub), its exit code and its log line read back through ECS and
CloudWatch Logs. The other stories (a task that never starts, throttling, a task that vanishes) are replayed from
recorded answers in tests/unit/test_task_run_decisions.py.
"""

from __future__ import annotations

import pytest
from local_cloud import Cloud, busybox_app_tar, wait_for
from test_local_cloud_docker import APP, _docker

from shipyard_local import system

pytestmark = pytest.mark.stack
IMAGE = "shipyard-pytest-oneoff:1"  # not an ECR name: the docker runner uses it from the engine, never pulls it


@pytest.fixture
def cloud(aws, unique_name) -> Cloud:
    cloud = Cloud(aws, unique_name)
    cloud.logs = aws("logs")
    cloud.log_group = f"/ecs/{unique_name}"
    cloud.logs.create_log_group(logGroupName=cloud.log_group)
    return cloud


def _definition(cloud: Cloud, image: str = "web:1", environment: list | None = None) -> str:
    container = {
        "name": "app",
        "image": image,
        "essential": True,
        "memory": 256,
        "command": ["sh", "-c", "echo serving; sleep 600"],
        "environment": environment or [],
        "logConfiguration": {
            "logDriver": "awslogs",
            "options": {
                "awslogs-group": cloud.log_group,
                "awslogs-region": "us-east-1",
                "awslogs-stream-prefix": "web",
            },
        },
    }
    return cloud.ecs.register_task_definition(
        family=cloud.name, networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256", memory="512",
        containerDefinitions=[container],
    )["taskDefinition"]["taskDefinitionArn"]  # fmt: skip


@pytest.fixture
def task_run(role_runner):
    """``task_run(cloud, *ansible_args, **options)`` -> PlaybookRun with ``.fact``: what the module returned."""
    run = role_runner("tests/integration/playbooks/ecs_task_run.yml", {})

    def start(cloud: Cloud, *args: str, **options):
        options = {"cluster": cloud.cluster, "subnets": [cloud.subnet], "security_groups": [cloud.group], **options}
        return run(*args, **{f"task_run_{key}": value for key, value in options.items()})

    return start


def _tasks(cloud: Cloud, desired: str) -> list[str]:
    return cloud.ecs.list_tasks(cluster=cloud.cluster, startedBy="shipyard", desiredStatus=desired)["taskArns"]


def test_check_mode_runs_nothing_then_exit_0_succeeds_with_the_log_lines(cloud, task_run):
    definition = _definition(cloud)
    story = {"SHIPYARD_SIMULATE": "start=0.5,exit=0@0.5,log=migrating,log=done: 2 migrations"}
    checked = task_run(cloud, "--check", task_definition=definition, command=["npm", "run", "migrate"],
                       environment=story)  # fmt: skip
    assert checked.returncode == 0, checked.output
    assert checked.fact["changed"] is True
    assert checked.fact["task_arn"] is None
    assert "would run npm run migrate in container app of" in checked.fact["msg"]
    assert _tasks(cloud, "RUNNING") == _tasks(cloud, "STOPPED") == []

    run = task_run(cloud, task_definition=definition, command=["npm", "run", "migrate"], environment=story)
    assert run.returncode == 0, run.output
    fact = run.fact
    assert fact["changed"] is True
    assert fact["exit_code"] == 0
    assert fact["stop_code"] == "EssentialContainerExited"
    assert fact["container"] == "app"
    assert fact["log_lines"] == ["migrating", "done: 2 migrations"]
    label = f"one-off task {fact['task_arn'].rsplit('/', 1)[1]} ({definition.rsplit('/', 1)[1]}, container app)"
    assert f"{label}: PROVISIONING (0s)" in run.output  # a progress line per status seen
    assert f"{label}: STOPPED (" in run.output
    task = cloud.ecs.describe_tasks(cluster=cloud.cluster, tasks=[fact["task_arn"]])["tasks"][0]
    assert task["lastStatus"] == "STOPPED"
    assert task["startedBy"] == "shipyard"
    assert task["overrides"]["containerOverrides"][0]["command"] == ["npm", "run", "migrate"]


@pytest.fixture
def image(stack_env):
    """A busybox image in the stack's Docker engine (removed afterwards)."""
    system.ensure({"busybox": "busybox-static"}, "the one-off test image")
    imported = _docker(stack_env, "import", "-", IMAGE, stdin=busybox_app_tar(APP))
    assert imported.returncode == 0, imported.stderr.decode()
    yield IMAGE
    _docker(stack_env, "rmi", "--force", IMAGE)


def test_exit_3_of_a_real_container_fails_with_the_exit_code_reason_and_log_lines(cloud, task_run, image):
    definition = _definition(cloud, image=image)
    run = task_run(cloud, task_definition=definition, command=["sh", "-c", "echo migrating; exit 3"])
    assert run.returncode != 0
    fact = run.fact
    assert fact["exit_code"] == 3
    assert fact["stop_code"] == "EssentialContainerExited"
    assert fact["log_lines"] == ["migrating"]
    assert "failed with exit code 3" in fact["msg"]
    assert "Essential container in task exited" in fact["msg"]
    assert fact["msg"].endswith("\nmigrating")
    assert fact["changed"] is True


def test_a_timeout_stops_the_task_and_says_so(cloud, task_run):
    definition = _definition(cloud, environment=[{"name": "SHIPYARD_SIMULATE", "value": "start=0.5,log=waiting"}])
    run = task_run(cloud, task_definition=definition, timeout=3)
    assert run.returncode != 0
    fact = run.fact
    assert fact["timed_out"] is True
    assert f"timed out after 3s: task {fact['task_arn'].rsplit('/', 1)[1]} stopped (StopTask)" in fact["msg"]
    assert fact["log_lines"] == ["waiting"]
    stopped = wait_for(
        "the task to stop",
        lambda: (lambda t: t if t["lastStatus"] == "STOPPED" else None)(
            cloud.ecs.describe_tasks(cluster=cloud.cluster, tasks=[fact["task_arn"]])["tasks"][0]
        ),
    )
    assert stopped["stopCode"] == "UserInitiated"
    assert "timed out after 3s" in stopped["stoppedReason"]
