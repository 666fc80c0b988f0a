"""Real containers for ECS tasks, and the local load balancer in front of them.

A tiny app image is made without any image hub: Debian's static busybox (``busybox-static``) plus a shell
script, put together with ``docker import``. The app prints a line, then serves ``/health`` with its
version (baked into each image as ``APP_VERSION``) on ``$PORT``; the "crash" variant prints an error and
exits 3. Images go to the local registry through the real ECR login, under their ECR names.

The first tests drive the docker runner directly (the runner contract of ``runners/base.py``); the
last ones go through the emulator's ECS (CreateService/UpdateService with an ALB listener rule) and
the local load balancer, as a user would.
"""

from __future__ import annotations

import base64
import dataclasses
import subprocess
import time
import urllib.error
import urllib.request
import uuid

import boto3
import pytest
from local_cloud import busybox_app_tar

from shipyard_local import system
from shipyard_local.cloud.runners import docker as docker_runner
from shipyard_local.cloud.runners.base import RUNNING, STOPPED, ContainerSpec, TaskSpec
from shipyard_local.config import StackConfig
from shipyard_local.stack import Stack

pytestmark = pytest.mark.stack

ACCOUNT = "123456789012"
APP = r"""#!/bin/sh
echo "shipyard test app version $APP_VERSION starting on port $PORT"
if [ -n "$CRASH" ]; then
  echo "fatal: version $APP_VERSION cannot start" >&2
  exit 3
fi
mkdir -p /tmp/www
echo "version=$APP_VERSION" > /tmp/www/health
echo "greeting=$GREETING" > /tmp/www/greeting
httpd -f -p "127.0.0.1:$PORT" -h /tmp/www &
trap 'kill $!; echo "version $APP_VERSION stopping"; exit 0' TERM
wait
"""


def _until(check, what: str, bound: float = 240.0):
    """Poll ``check`` until it returns something truthy; a hang guard (not a speed requirement)."""
    deadline = time.monotonic() + bound
    delay = 0.1
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(delay)
        delay = min(delay * 1.5, 2.0)


def _docker(env, *args, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *args], env=env, input=stdin, capture_output=True, check=False)


@pytest.fixture(scope="module")
def docker_env(stack_env, tmp_path_factory):
    """Docker CLI environment with a throwaway config dir (logins never touch ~/.docker)."""
    return {**stack_env, "DOCKER_CONFIG": str(tmp_path_factory.mktemp("docker-config"))}


def _pusher(stack, aws, docker_env):
    """``(push, made)``: ``push(repository, version, crash=False)`` -> the image's ECR URI in ``stack``'s registry."""
    system.ensure({"busybox": "busybox-static"}, "the test app image")
    registry = stack.config.registry_address
    data = aws("ecr").get_authorization_token()["authorizationData"][0]
    user, _, password = base64.b64decode(data["authorizationToken"]).decode().partition(":")
    login = _docker(docker_env, "login", "--username", user, "--password-stdin", registry, stdin=password.encode())
    assert login.returncode == 0, login.stderr.decode()
    made: list[str] = []

    def make(repository: str, version: str, crash: bool = False) -> str:
        uri = aws("ecr").create_repository(repositoryName=repository)["repository"]["repositoryUri"] if not any(
            r["repositoryName"] == repository for r in aws("ecr").describe_repositories()["repositories"]
        ) else f"{ACCOUNT}.dkr.ecr.{stack.config.region}.amazonaws.com/{repository}"  # fmt: skip
        local = f"{registry}/{repository}:{version}"
        changes = ["--change", f"ENV APP_VERSION={version}", "--change", 'ENTRYPOINT ["/bin/sh", "/app.sh"]']
        if crash:
            changes += ["--change", "ENV CRASH=1"]
        imported = _docker(docker_env, "import", *changes, "-", local, stdin=busybox_app_tar(APP))
        assert imported.returncode == 0, imported.stderr.decode()
        pushed = _docker(docker_env, "push", local)
        assert pushed.returncode == 0, pushed.stderr.decode()
        _docker(docker_env, "rmi", local)  # the runner must pull it from the registry
        made.append(local)
        return f"{uri}:{version}"

    return make, made


@pytest.fixture(scope="module")
def push(local_stack, aws, docker_env):
    """``push(repository, version, crash=False)`` -> the image's ECR URI, pushed to the local registry."""
    make, made = _pusher(local_stack, aws, docker_env)
    yield make
    _docker(docker_env, "rmi", "--force", *made)


@pytest.fixture
def runner(local_stack, aws, tmp_path):
    """A docker runner outside the emulator's process: logs go to the emulator through its API.

    Its own state directory: a runner's shutdown removes every container labelled with its state directory, and
    with the session's, it would kill the tasks the emulator runs for every other test (exit code 137, all at once).
    """
    cfg = dataclasses.replace(local_stack.config, state_dir=tmp_path / "state")
    run = docker_runner.DockerRunner(
        cfg, local_stack.environment()["DOCKER_HOST"], logs=docker_runner.Boto3LogSink(aws("logs"))
    )
    yield run
    run.shutdown()


def _spec(image: str, port: int, group: str | None, **env: str) -> TaskSpec:
    task_id = uuid.uuid4().hex
    options = {"awslogs-group": group, "awslogs-region": "us-east-1", "awslogs-stream-prefix": "web"} if group else {}
    return TaskSpec(
        task_arn=f"arn:aws:ecs:us-east-1:{ACCOUNT}:task/pytest/{task_id}",
        task_id=task_id,
        cluster="pytest",
        family="web",
        revision=1,
        group="family:web",
        host_port=port,
        containers=(
            ContainerSpec(
                name="app",
                image=image,
                environment=env,
                secret_names=tuple(k for k in env if k == "GREETING"),
                container_port=8080,
                log_options=options,
            ),
        ),
        memory="256",
    )


def _get(url: str, host: str | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, headers={"Host": host} if host else {})  # noqa: S310 - http://127.0.0.1
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - http://127.0.0.1 only
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
    except OSError as error:
        return 0, str(error)


def _messages(aws, group: str, stream: str) -> list[str]:
    try:
        events = aws("logs").get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True)["events"]
    except aws("logs").exceptions.ResourceNotFoundException:
        return []
    return [e["message"] for e in events]


def _containers(docker_env, label: str) -> list[str]:
    found = _docker(docker_env, "ps", "--all", "--quiet", "--filter", f"label={label}")
    assert found.returncode == 0, found.stderr.decode()
    return found.stdout.decode().split()


# --- the runner on its own -------------------------------------------------------------------------------------------


def test_a_task_pulls_from_ecr_runs_serves_ships_its_logs_and_stops(runner, push, aws, free_port, docker_env):
    group = f"/ecs/pytest-{uuid.uuid4().hex[:8]}"
    aws("logs").create_log_group(logGroupName=group)
    image = push(f"pytest-dkr-{uuid.uuid4().hex[:8]}/app", "1")
    assert ".dkr.ecr." in image  # the task definition names ECR; the runner maps it to the local registry
    spec = _spec(image, free_port(), group, GREETING="s3cret-greeting")
    run = runner.start(spec)

    _until(lambda: run.poll().phase == RUNNING, "task RUNNING")
    health = _until(lambda: (h := run.check_health("/health", "200", 5)).ok and h, "health check passes")
    assert health.reason is None
    assert _get(f"http://127.0.0.1:{spec.host_port}/health") == (200, "version=1\n")
    assert _get(f"http://127.0.0.1:{spec.host_port}/greeting") == (200, "greeting=s3cret-greeting\n")  # the secret
    wrong = run.check_health("/missing", "200", 5)
    assert (wrong.ok, wrong.reason, wrong.description) == (
        False,
        "Target.ResponseCodeMismatch",
        "Health checks failed with these codes: [404]",
    )
    status = run.poll()
    assert status.containers[0].image_digest.startswith("sha256:")

    stream = f"web/app/{spec.task_id}"
    lines = _until(lambda: _messages(aws, group, stream), "log line in CloudWatch Logs")
    assert lines[0] == f"shipyard test app version 1 starting on port {spec.host_port}"

    # the secret value is on no docker command line and in no container label
    name = docker_runner.container_name(spec.task_id, "app")
    inspect = _docker(docker_env, "inspect", "--format", "{{json .Config.Labels}} {{json .Args}}", name)
    assert "s3cret-greeting" not in inspect.stdout.decode()

    run.stop("Task stopped by pytest", grace_seconds=10)
    stopped = _until(lambda: (s := run.poll()).phase == STOPPED and s, "task STOPPED")
    assert (stopped.stop_code, stopped.stopped_reason) == ("UserInitiated", "Task stopped by pytest")
    assert stopped.containers[0].exit_code == 0  # the app's TERM trap ran
    assert "version 1 stopping" in _messages(aws, group, stream)
    run.release()
    _until(lambda: not _containers(docker_env, f"shipyard.local.task={spec.task_id}"), "container removed")


def test_a_crashing_container_reports_exit_code_3_and_its_output(runner, push, aws, free_port):
    group = f"/ecs/pytest-{uuid.uuid4().hex[:8]}"
    aws("logs").create_log_group(logGroupName=group)
    image = push(f"pytest-dkr-{uuid.uuid4().hex[:8]}/app", "crash", crash=True)
    spec = _spec(image, free_port(), group)
    run = runner.start(spec)
    stopped = _until(lambda: (s := run.poll()).phase == STOPPED and s, "task STOPPED")
    assert (stopped.stop_code, stopped.stopped_reason) == (
        "EssentialContainerExited",
        "Essential container in task exited",
    )
    assert stopped.containers[0].exit_code == 3
    assert stopped.containers[0].last_status == STOPPED
    assert "fatal: version crash cannot start" in _messages(aws, group, f"web/app/{spec.task_id}")


def test_an_image_missing_from_the_registry_cannot_be_pulled(runner, free_port):
    missing = f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/pytest-dkr-{uuid.uuid4().hex[:8]}/none:1"
    run = runner.start(_spec(missing, free_port(), None))
    stopped = _until(lambda: (s := run.poll()).phase == STOPPED and s, "task STOPPED")
    assert stopped.stop_code == "TaskFailedToStart"
    assert stopped.containers[0].reason.startswith("CannotPullContainerError: ")
    assert ".amazonaws.com" not in stopped.containers[0].reason  # the AWS name was never dialled


def test_a_missing_log_group_fails_the_task_like_aws(runner, push, free_port):
    image = push(f"pytest-dkr-{uuid.uuid4().hex[:8]}/app", "1")
    run = runner.start(_spec(image, free_port(), f"/ecs/pytest-absent-{uuid.uuid4().hex[:8]}"))
    stopped = _until(lambda: (s := run.poll()).phase == STOPPED and s, "task STOPPED")
    assert stopped.stop_code == "TaskFailedToStart"
    assert stopped.stopped_reason.startswith("ResourceInitializationError: failed to validate logger args")
    assert "The specified log group does not exist" in stopped.stopped_reason


def test_leftovers_of_a_crashed_runner_are_removed(local_stack, push, free_port, docker_env, aws, tmp_path):
    # a state directory of its own, so that only this test's containers carry its label
    cfg = dataclasses.replace(local_stack.config, state_dir=tmp_path)
    host = local_stack.environment()["DOCKER_HOST"]
    crashed = docker_runner.DockerRunner(cfg, host, logs=docker_runner.Boto3LogSink(aws("logs")))
    spec = _spec(push(f"pytest-dkr-{uuid.uuid4().hex[:8]}/app", "1"), free_port(), None)
    run = crashed.start(spec)
    _until(lambda: run.poll().phase == RUNNING, "task RUNNING")
    label = f"shipyard.local.task={spec.task_id}"
    assert len(_containers(docker_env, label)) == 1
    # the runner is gone without a shutdown (a crash): the stack's down finds the container by label
    assert len(_containers(docker_env, f"shipyard.local.state-dir={tmp_path}")) == 1
    removed = docker_runner.remove_leftovers(cfg, host)
    assert len(removed) == 1
    assert _containers(docker_env, label) == []


# --- through ECS and the local load balancer --------------------------------------------------------------------------


@pytest.fixture
def alb(aws, unique_name):
    """An ALB with an HTTP listener (default 404) and a target group with fast health checks."""
    ec2, elb = aws("ec2"), aws("elbv2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})  # as the network role does
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"us-east-1{z}")["Subnet"]["SubnetId"]
        for i, z in ((1, "a"), (2, "b"))
    ]
    balancer = elb.create_load_balancer(Name=unique_name, Subnets=subnets)["LoadBalancers"][0]["LoadBalancerArn"]
    group = elb.create_target_group(
        Name=unique_name, Protocol="HTTP", Port=8080, VpcId=vpc, TargetType="ip", HealthCheckPath="/health",
        HealthCheckIntervalSeconds=5, HealthyThresholdCount=2, UnhealthyThresholdCount=2, Matcher={"HttpCode": "200"},
    )["TargetGroups"][0]["TargetGroupArn"]  # fmt: skip
    listener = elb.create_listener(
        LoadBalancerArn=balancer, Protocol="HTTP", Port=80,
        DefaultActions=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404", "MessageBody": "no"}}],
    )["Listeners"][0]["ListenerArn"]  # fmt: skip
    host = f"{unique_name}.example.test"
    elb.create_rule(
        ListenerArn=listener, Priority=int(uuid.uuid4().int % 40000) + 1,
        Conditions=[{"Field": "host-header", "HostHeaderConfig": {"Values": [host]}}],
        Actions=[{"Type": "forward", "TargetGroupArn": group}],
    )  # fmt: skip
    security_group = ec2.create_security_group(GroupName=unique_name, Description="pytest", VpcId=vpc)["GroupId"]
    network = {
        "awsvpcConfiguration": {"subnets": subnets, "securityGroups": [security_group], "assignPublicIp": "DISABLED"}
    }
    yield {"group": group, "host": host, "network": network}
    elb.delete_load_balancer(LoadBalancerArn=balancer)


def _task_definition(aws, family: str, image: str, log_group: str) -> str:
    return aws("ecs").register_task_definition(
        family=family,
        requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc",
        cpu="256",
        memory="512",
        containerDefinitions=[
            {
                "name": "app",
                "image": image,
                "memory": 512,
                "essential": True,
                "portMappings": [{"containerPort": 8080, "protocol": "tcp"}],
                "environment": [{"name": "GREETING", "value": "hello"}],
                "logConfiguration": {
                    "logDriver": "awslogs",
                    "options": {
                        "awslogs-group": log_group,
                        "awslogs-region": "us-east-1",
                        "awslogs-stream-prefix": family,
                    },
                },
            }
        ],
    )["taskDefinition"]["taskDefinitionArn"]


def _service_tasks(aws, cluster: str, service: str, status: str) -> list[dict]:
    arns = aws("ecs").list_tasks(cluster=cluster, serviceName=service, desiredStatus=status)["taskArns"]
    return aws("ecs").describe_tasks(cluster=cluster, tasks=arns)["tasks"] if arns else []


def test_ecs_service_serves_through_the_load_balancer_and_rolls_to_version_2(local_stack, aws, push, alb, unique_name):
    ecs, lb_url = aws("ecs"), local_stack.config.lb_url
    log_group = f"/ecs/{unique_name}"
    aws("logs").create_log_group(logGroupName=log_group)
    repository = f"pytest-dkr-{uuid.uuid4().hex[:8]}/web"
    first = _task_definition(aws, unique_name, push(repository, "1"), log_group)
    ecs.create_cluster(clusterName=unique_name)
    ecs.create_service(
        cluster=unique_name, serviceName="web", taskDefinition=first, desiredCount=1, launchType="FARGATE",
        networkConfiguration=alb["network"],
        loadBalancers=[{"targetGroupArn": alb["group"], "containerName": "app", "containerPort": 8080}],
        deploymentConfiguration={"minimumHealthyPercent": 100, "maximumPercent": 200},
    )  # fmt: skip
    try:
        assert _get(f"{lb_url}/health", host=f"other-{alb['host']}")[0] == 404  # no rule matches: the default
        _until(lambda: _get(f"{lb_url}/health", host=alb["host"]) == (200, "version=1\n"), "version 1 through the LB")

        task = _service_tasks(aws, unique_name, "web", "RUNNING")[0]
        task_id = task["taskArn"].rsplit("/", 1)[1]
        stream = f"{unique_name}/app/{task_id}"
        lines = _until(lambda: _messages(aws, log_group, stream), "the task's log line")
        assert lines[0].startswith("shipyard test app version 1 starting on port ")

        second = _task_definition(aws, unique_name, push(repository, "2"), log_group)
        ecs.update_service(cluster=unique_name, service="web", taskDefinition=second)
        answers = []

        def served_v2() -> bool:
            answers.append(_get(f"{lb_url}/health", host=alb["host"]))
            return answers[-1] == (200, "version=2\n")

        _until(served_v2, "version 2 through the LB")
        assert {a for a in answers if a[0] != 200} == set(), answers  # the cutover dropped no request
        _until(
            lambda: all(t["taskDefinitionArn"] == second for t in _service_tasks(aws, unique_name, "web", "RUNNING")),
            "version 1 tasks stopped",
        )
        assert _get(f"{lb_url}/health", host=alb["host"]) == (200, "version=2\n")
    finally:
        ecs.update_service(cluster=unique_name, service="web", desiredCount=0)
        ecs.delete_service(cluster=unique_name, service="web", force=True)


def test_ecs_reports_the_crashing_containers_exit_code(local_stack, aws, push, alb, unique_name):
    ecs = aws("ecs")
    log_group = f"/ecs/{unique_name}"
    aws("logs").create_log_group(logGroupName=log_group)
    crash = _task_definition(
        aws, unique_name, push(f"pytest-dkr-{uuid.uuid4().hex[:8]}/web", "3", crash=True), log_group
    )
    ecs.create_cluster(clusterName=unique_name)
    ecs.create_service(
        cluster=unique_name, serviceName="web", taskDefinition=crash, desiredCount=1, launchType="FARGATE",
        networkConfiguration=alb["network"],
        loadBalancers=[{"targetGroupArn": alb["group"], "containerName": "app", "containerPort": 8080}],
    )  # fmt: skip
    try:
        stopped = _until(lambda: _service_tasks(aws, unique_name, "web", "STOPPED"), "a stopped task")
        task = stopped[0]
        assert task["stopCode"] == "EssentialContainerExited"
        assert task["stoppedReason"] == "Essential container in task exited"
        assert task["containers"][0]["exitCode"] == 3
        task_id = task["taskArn"].rsplit("/", 1)[1]
        assert "fatal: version 3 cannot start" in _messages(aws, log_group, f"{unique_name}/app/{task_id}")
    finally:
        ecs.update_service(cluster=unique_name, service="web", desiredCount=0)
        ecs.delete_service(cluster=unique_name, service="web", force=True)


@pytest.fixture
def own_stack(local_stack, tmp_path, free_port, monkeypatch):
    """A stack of its own (emulator, registry, state dir, ports) on the session's Docker engine, with a boto3 client
    factory: a test that stops its emulator must not stop the one every other test (and worker) is using."""
    monkeypatch.setenv("DOCKER_HOST", local_stack.load()["docker"]["host"])
    config = StackConfig(state_dir=tmp_path / "state", emulator_port=free_port(), registry_port=free_port(),
                         region="us-east-1", lb_port=free_port())  # fmt: skip
    stack = Stack(config)
    stack.up()

    def client(service: str):
        return boto3.client(service, endpoint_url=config.emulator_url, region_name=config.region,
                            aws_access_key_id="testing", aws_secret_access_key="testing")  # fmt: skip

    yield stack, client
    stack.down()


def test_stopping_the_emulator_leaves_no_container(own_stack, docker_env, unique_name):
    """Stops the emulator (the runner's process) of a stack of its own and checks, by its label, that its tasks'
    containers are gone."""
    stack, aws = own_stack
    make, made = _pusher(stack, aws, docker_env)
    ec2, ecs = aws("ec2"), aws("ecs")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName=unique_name, Description="pytest", VpcId=vpc)["GroupId"]
    log_group = f"/ecs/{unique_name}"
    aws("logs").create_log_group(logGroupName=log_group)
    definition = _task_definition(aws, unique_name, make(f"pytest-dkr-{uuid.uuid4().hex[:8]}/web", "1"), log_group)
    ecs.create_cluster(clusterName=unique_name)
    ecs.create_service(
        cluster=unique_name, serviceName="web", taskDefinition=definition, desiredCount=2, launchType="FARGATE",
        networkConfiguration={"awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [group]}},
    )  # fmt: skip
    label = f"shipyard.local.state-dir={stack.config.state_dir}"
    _until(  # lastStatus RUNNING: their containers run (desiredStatus RUNNING alone may still be pulling)
        lambda: [t["lastStatus"] for t in _service_tasks(aws, unique_name, "web", "RUNNING")] == ["RUNNING"] * 2,
        "two RUNNING tasks",
    )
    assert len(_containers(docker_env, label)) >= 2
    try:
        stack.down(["emulator"])
        assert _containers(docker_env, label) == []
    finally:
        _docker(docker_env, "rmi", "--force", *made)
