"""The local cloud's RunTask and StopTask: standalone one-off tasks run by the engine, on a virtual clock.

Same harness as test_local_cloud_engine.py (moto in-process with the engine's patches, boto3 clients, no thread):
a one-off task goes PROVISIONING -> PENDING -> RUNNING -> STOPPED with the container's exit code, its story
(``SHIPYARD_SIMULATE``) coming from a ``containerOverrides`` environment, its log lines in the task definition's
awslogs group and stream.
"""

from __future__ import annotations

import uuid

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from test_local_cloud_engine import World

from shipyard_local.cloud import patches
from shipyard_local.cloud.runners import simulated

REGION = "us-east-1"
ESSENTIAL_EXITED = "Essential container in task exited"


@pytest.fixture(scope="module")
def clients():
    with mock_aws():
        names = ("ecs", "elbv2", "ec2", "secretsmanager", "logs")
        yield {name: boto3.client(name, region_name=REGION) for name in names}


class OneOff(World):
    """The engine world plus a log group and a task definition whose ``app`` container logs to it (awslogs)."""

    def __init__(self, clients: dict, name: str) -> None:
        super().__init__(clients, name)
        self.logs = clients["logs"]
        self.log_group = f"/ecs/{name}"
        self.logs.create_log_group(logGroupName=self.log_group)

    def one_off_definition(self, secrets: list | None = None, environment: list | None = None) -> str:
        container = {
            "name": "app",
            "image": "web:1",
            "essential": True,
            "command": ["node", "server.js"],
            "environment": environment or [{"name": "NODE_ENV", "value": "production"}],
            "secrets": secrets or [],
            "logConfiguration": {
                "logDriver": "awslogs",
                "options": {"awslogs-group": self.log_group, "awslogs-region": REGION, "awslogs-stream-prefix": "web"},
            },
        }
        return self.ecs.register_task_definition(
            family=self.name, networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256", memory="512",
            containerDefinitions=[container],
        )["taskDefinition"]["taskDefinitionArn"]  # fmt: skip

    def run(self, task_definition: str, story: str | None = None, command: list | None = None, **kwargs) -> dict:
        override: dict = {"name": "app"}
        if command is not None:
            override["command"] = command
        if story is not None:
            override["environment"] = [{"name": simulated.ENV_VAR, "value": story}]
        response = self.ecs.run_task(
            cluster=self.cluster,
            taskDefinition=task_definition,
            launchType="FARGATE",
            networkConfiguration={
                "awsvpcConfiguration": {
                    "subnets": [self.subnet], "securityGroups": [self.group], "assignPublicIp": "DISABLED",
                }
            },
            overrides={"containerOverrides": [override]},
            **kwargs,
        )  # fmt: skip
        assert response["failures"] == []
        return response["tasks"][0]

    def task(self, arn: str) -> dict:
        return self.ecs.describe_tasks(cluster=self.cluster, tasks=[arn])["tasks"][0]

    def stopped(self, arn: str):
        return lambda: (lambda t: t if t["lastStatus"] == "STOPPED" else None)(self.task(arn))

    def log_lines(self, task: dict) -> list[str]:
        stream = f"web/app/{task['taskArn'].rsplit('/', 1)[-1]}"
        events = self.logs.get_log_events(logGroupName=self.log_group, logStreamName=stream)["events"]
        return [e["message"] for e in events]


@pytest.fixture
def world(clients):
    world = None
    try:
        world = OneOff(clients, f"oneoff-{uuid.uuid4().hex[:10]}")
        yield world
    finally:
        if world is not None:
            world.engine.shutdown()
        patches.uninstall()


def test_a_one_off_task_runs_its_overridden_command_and_stops_with_its_exit_code_and_logs(world):
    definition = world.one_off_definition()
    story = "start=2,exit=3@1,log=migrating,log=relation notes already exists"
    task = world.run(definition, story, command=["npm", "run", "migrate"], startedBy="shipyard")
    arn = task["taskArn"]
    assert task["lastStatus"] == "PROVISIONING"
    assert task["desiredStatus"] == "RUNNING"
    assert task["startedBy"] == "shipyard"
    assert task["group"] == f"family:{world.name}"
    assert task["launchType"] == "FARGATE"
    assert task["overrides"]["containerOverrides"][0]["command"] == ["npm", "run", "migrate"]
    details = {d["name"]: d["value"] for d in task["attachments"][0]["details"]}
    assert details["subnetId"] == world.subnet

    # The runner got the overridden command and the override's environment on top of the definition's.
    spec = world.engine.tasks[arn].run.spec.containers[0]
    assert spec.command == ("npm", "run", "migrate")
    assert spec.environment["NODE_ENV"] == "production"
    assert spec.environment[simulated.ENV_VAR] == story

    seen = []
    stopped = world.run_until(
        "the one-off task to stop",
        world.stopped(arn),
        every=0.25,
        on_tick=lambda: seen.append(world.engine.tasks[arn].task.last_status),
    )
    assert [s for i, s in enumerate(seen) if i == 0 or seen[i - 1] != s] == ["PENDING", "RUNNING", "STOPPED"]
    assert stopped["stopCode"] == "EssentialContainerExited"
    assert stopped["stoppedReason"] == ESSENTIAL_EXITED
    assert stopped["containers"][0]["exitCode"] == 3
    assert stopped["desiredStatus"] == "STOPPED"
    assert stopped["startedAt"] <= stopped["stoppedAt"]
    assert world.log_lines(stopped) == ["migrating", "relation notes already exists"]
    # Its network interface is given back.
    assert stopped["attachments"][0]["status"] == "DELETED"
    # No service is involved, and no other task was started.
    assert world.ecs.list_tasks(cluster=world.cluster, desiredStatus="STOPPED", startedBy="shipyard")["taskArns"] == [
        arn
    ]
    assert world.ecs.list_tasks(cluster=world.cluster, family=world.name)["taskArns"] == []


def test_a_task_that_exits_between_two_ticks_has_exit_code_0_and_a_start_time(world):
    task = world.run(world.one_off_definition(), "start=0,exit=0")
    stopped = world.run_until("the task to stop", world.stopped(task["taskArn"]))
    assert stopped["containers"][0]["exitCode"] == 0
    assert stopped["stopCode"] == "EssentialContainerExited"
    assert stopped["startedAt"] <= stopped["stoppedAt"]
    assert world.log_lines(stopped) == []


def test_stop_task_stops_a_running_one_off_task_with_the_reason_given(world):
    task = world.run(world.one_off_definition(), "start=1")  # never exits by itself
    arn = task["taskArn"]
    world.run_until("the task to run", lambda: world.task(arn)["lastStatus"] == "RUNNING")
    answer = world.ecs.stop_task(cluster=world.cluster, task=arn, reason="timed out after 30s")["task"]
    assert answer["desiredStatus"] == "STOPPED"
    assert answer["stopCode"] == "UserInitiated"
    stopped = world.run_until("the task to stop", world.stopped(arn))
    assert stopped["stopCode"] == "UserInitiated"
    assert stopped["stoppedReason"] == "timed out after 30s"


def test_secrets_resolve_as_for_services_and_an_unreadable_one_never_starts_the_task(world):
    arn = world.secrets.create_secret(Name=f"{world.name}/db", SecretString="postgres://u:p@h/db")["ARN"]
    good = world.one_off_definition(secrets=[{"name": "DATABASE_URL", "valueFrom": arn}])
    task = world.run(good, "exit=0@1")
    spec = world.engine.tasks[task["taskArn"]].run.spec.containers[0]
    assert spec.secret_names == ("DATABASE_URL",)
    assert spec.environment["DATABASE_URL"] == "postgres://u:p@h/db"
    assert world.run_until("the task to stop", world.stopped(task["taskArn"]))["containers"][0]["exitCode"] == 0

    bad = world.one_off_definition(secrets=[{"name": "DATABASE_URL", "valueFrom": f"{arn}-gone"}])
    task = world.run(bad, "exit=0@1")
    stopped = world.run_until("the task to fail to start", world.stopped(task["taskArn"]))
    assert stopped["stopCode"] == "TaskFailedToStart"
    assert stopped["stoppedReason"].startswith("ResourceInitializationError: unable to pull secrets")
    assert "exitCode" not in stopped["containers"][0]
    assert "startedAt" not in stopped


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"networkConfiguration": None}, "Network Configuration must be provided"),
        ({"overrides": {"containerOverrides": [{"name": "worker", "command": ["x"]}]}}, "container named worker"),
        ({"subnet": "subnet-00000000"}, "subnet-00000000"),
        ({"capacityProviderStrategy": [{"capacityProvider": "FARGATE"}]}, "either Launch Type or Capacity Provider"),
    ],
)
def test_run_task_refuses_what_ecs_refuses_and_makes_nothing(world, change, message):
    definition = world.one_off_definition()
    kwargs = {
        "cluster": world.cluster,
        "taskDefinition": definition,
        "launchType": "FARGATE",
        "networkConfiguration": {"awsvpcConfiguration": {"subnets": [change.pop("subnet", world.subnet)]}},
    }
    kwargs.update(change)
    kwargs = {key: value for key, value in kwargs.items() if value is not None}
    with pytest.raises(ClientError) as error:
        world.ecs.run_task(**kwargs)
    assert error.value.response["Error"]["Code"] == "InvalidParameterException"
    assert message in error.value.response["Error"]["Message"]
    assert world.engine.tasks == {}


def test_a_capacity_provider_strategy_runs_on_fargate(world):
    task = world.ecs.run_task(
        cluster=world.cluster,
        taskDefinition=world.one_off_definition(),
        capacityProviderStrategy=[{"capacityProvider": "FARGATE_SPOT", "weight": 1}],
        networkConfiguration={"awsvpcConfiguration": {"subnets": [world.subnet]}},
        overrides={
            "containerOverrides": [{"name": "app", "environment": [{"name": "SHIPYARD_SIMULATE", "value": ""}]}]
        },
    )["tasks"][0]
    assert task["capacityProviderName"] == "FARGATE_SPOT"
    assert task["launchType"] == "FARGATE"


def test_the_story_takes_log_lines_in_order():
    story = simulated.parse("exit=3@1,log=one,log=two words,reason=boom, with a comma")
    assert story.logs == ("one", "two words")
    assert (story.exit_code, story.exit_after, story.reason) == (3, 1.0, "boom, with a comma")
    assert simulated.parse("").logs == ()
