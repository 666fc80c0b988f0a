"""The local cloud's ECS engine, in-process on a virtual clock: rollouts, draining, failures, bounds.

moto runs in-process (``mock_aws``) with the engine's handler patches installed, and the tests talk to it
through ordinary boto3 clients, as a user would over HTTP. Nothing runs in the background: no HTTP server,
no reconcile thread, no health-check threads. :meth:`World.run_until` ticks the engine and moves a
:class:`~shipyard_local.cloud.clock.VirtualClock` by the engine's tick, so a story of minutes of simulated
time takes milliseconds. Task definitions carry ``SHIPYARD_SIMULATE`` (the simulated runner).

The cloud (cluster, VPC, target group) is the one of ``tests/local_cloud.py``: 5 s health checks, thresholds of 2,
a 3 s deregistration delay.
"""

from __future__ import annotations

import uuid
from concurrent.futures import Executor, Future

import boto3
import pytest
from local_cloud import Cloud
from moto import mock_aws

from shipyard_local.cloud import patches
from shipyard_local.cloud.clock import VirtualClock
from shipyard_local.cloud.ecs import TICK_SECONDS, Engine
from shipyard_local.config import StackConfig

REGION = "us-east-1"
LIMIT = 900.0  # virtual seconds: a story that has not happened by then never will


class InlineExecutor(Executor):
    """Runs each health check at once, in the caller: its result is there for the same tick."""

    def submit(self, fn, /, *args, **kwargs):
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as error:
            future.set_exception(error)
        return future


class World(Cloud):
    """One engine on a virtual clock, and the cloud of ``tests/local_cloud.py`` (cluster, VPC, target group named
    ``name``) in moto, in-process."""

    def __init__(self, clients: dict, name: str) -> None:
        self.clock = VirtualClock()
        self.engine = Engine(
            StackConfig.from_env({}), default_runner="simulated", clock=self.clock, executor=InlineExecutor()
        )
        patches.install(self.engine)
        super().__init__(clients.__getitem__, name)

    # --- time -----------------------------------------------------------------------------------------------
    def step(self) -> None:
        self.clock.advance(TICK_SECONDS)
        with self.engine.lock:
            self.engine.tick()

    def run_until(self, what: str, probe, every: float = 1.0, on_tick=None, limit: float = LIMIT):
        """Tick until ``probe()`` (asked every ``every`` virtual s) returns something truthy; ``on_tick()`` runs
        after every tick. Fails with the last value seen after ``limit`` virtual seconds."""
        deadline = self.clock.now() + limit
        next_probe = self.clock.now()
        last = None
        while self.clock.now() < deadline:
            self.step()
            if on_tick is not None:
                on_tick()
            if self.clock.now() >= next_probe:
                next_probe = self.clock.now() + every
                last = probe()
                if last:
                    return last
        pytest.fail(f"{what}: not within {limit:g} virtual seconds; last seen: {last!r}")

    def service_tasks(self) -> list:
        """The engine's own records of the service's tasks whose desired status is RUNNING (cheap, every tick)."""
        return [r for r in self.engine.tasks.values() if r.service_name == "web" and r.cluster == self.cluster
                and r.alive]  # fmt: skip

    def update(self, task_definition: str) -> None:
        self.ecs.update_service(cluster=self.cluster, service="web", taskDefinition=task_definition)


@pytest.fixture(scope="module")
def clients():
    """moto in-process for the whole module (each test has its own engine, cluster, VPC and target group)."""
    with mock_aws():
        yield {name: boto3.client(name, region_name=REGION) for name in ("ecs", "elbv2", "ec2", "secretsmanager")}


@pytest.fixture
def world(clients):
    world = None
    try:
        world = World(clients, f"engine-{uuid.uuid4().hex[:10]}")
        yield world
    finally:
        if world is not None:
            world.engine.shutdown()
        patches.uninstall()  # the next test, whatever it is, sees moto's own handlers


def _ip(task: dict) -> str:
    details = {d["name"]: d["value"] for d in task["attachments"][0]["details"]}
    return details["privateIPv4Address"]


# --- rollouts ----------------------------------------------------------------------------------------------------


def test_healthy_rollout_replaces_two_tasks_drains_the_old_ones_and_writes_events(world):
    first = world.task_definition("start=1")
    created = world.create_service(first)
    assert created["deploymentConfiguration"]["minimumHealthyPercent"] == 100
    assert created["deploymentConfiguration"]["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}
    assert created["deployments"][0]["rolloutState"] == "IN_PROGRESS"

    service = world.run_until("the first deployment to complete", world.settled)
    assert (service["runningCount"], service["pendingCount"], service["desiredCount"]) == (2, 0, 2)
    old = world.tasks(serviceName="web")
    assert len(old) == 2
    assert {t["lastStatus"] for t in old} == {"RUNNING"}
    assert all(t["startedBy"] == service["deployments"][0]["id"] and t["group"] == "service:web" for t in old)
    old_ips = {_ip(t) for t in old}
    assert {ip: h["State"] for ip, h in world.targets().items()} == dict.fromkeys(old_ips, "healthy")

    second = world.task_definition("start=1")
    world.update(second)
    deployments = world.service()["deployments"]
    assert [(d["status"], d["taskDefinition"]) for d in deployments] == [("PRIMARY", second), ("ACTIVE", first)]
    new_id = deployments[0]["id"]

    # The old tasks are deregistered and drain (their targets report it) before they stop.
    draining = world.run_until(
        "the old targets to drain",
        lambda: {ip: h for ip, h in world.targets().items() if ip in old_ips and h["State"] == "draining"},
    )
    assert {h["Reason"] for h in draining.values()} == {"Target.DeregistrationInProgress"}
    service = world.run_until("the second deployment to complete", world.settled)
    assert service["deployments"][0]["id"] == new_id
    assert service["taskDefinition"] == second
    assert service["runningCount"] == 2

    stopped = {t["taskArn"]: t for t in world.tasks("STOPPED", serviceName="web")}
    assert set(stopped) == {t["taskArn"] for t in old}
    for task in stopped.values():
        assert task["stopCode"] == "ServiceSchedulerInitiated"
        assert task["stoppedReason"] == f"Scaling activity initiated by (deployment {new_id})"
        assert task["stoppingAt"] <= task["stoppedAt"]
    new = world.tasks(serviceName="web")
    assert {t["taskDefinitionArn"] for t in new} == {second}
    assert {ip: h["State"] for ip, h in world.targets().items()} == {_ip(t): "healthy" for t in new}

    events = world.service()["events"]
    assert [e["createdAt"] for e in events] == sorted((e["createdAt"] for e in events), reverse=True)
    assert all(e["id"] for e in events)
    text = "\n".join(e["message"] for e in events)
    assert "(service web) has started 2 tasks: (task " in text
    assert f"(service web) registered 2 targets in (target-group {world.target_group})" in text
    assert f"(service web) deregistered 2 targets in (target-group {world.target_group})" in text
    assert "(service web) has stopped 2 running tasks: (task " in text
    assert f"(service web) (deployment {new_id}) deployment completed." in text
    assert events[0]["message"] == "(service web) has reached a steady state."


def test_draining_lasts_the_deregistration_delay_on_the_engines_clock(world):
    world.create_service(world.task_definition("start=1"), count=1)
    world.run_until("the first deployment to complete", world.settled)
    old = world.tasks(serviceName="web")[0]
    world.update(world.task_definition("start=1"))
    world.run_until(
        "the old target to drain",
        lambda: world.targets().get(_ip(old), {}).get("State") == "draining",
        every=TICK_SECONDS,
    )
    began = world.clock.now()
    stopped = world.run_until(
        "the old task to stop",
        lambda: [t for t in world.tasks("STOPPED") if t["lastStatus"] == "STOPPED"],
        every=TICK_SECONDS,
    )
    # 3 s of deregistration delay, then the simulated task's stop=0.5 s, give or take the ticks they are seen in.
    assert 3.5 <= world.clock.now() - began <= 3.5 + 2 * TICK_SECONDS
    stopped = stopped[0]
    assert stopped["taskArn"] == old["taskArn"]
    # The API's timestamps follow the same clock: stopped 3 s and more after stopping began.
    assert (stopped["stoppedAt"] - stopped["stoppingAt"]).total_seconds() >= 3.0


def _watch_bounds(world):
    """Per tick: tasks whose desired status is RUNNING, and those serving (RUNNING and healthy in the group)."""
    alive, healthy = [], []

    def on_tick():
        tasks = world.service_tasks()
        alive.append(len(tasks))
        healthy.append(sum(r.healthy for r in tasks))

    return alive, healthy, on_tick


def test_rollout_respects_minimum_healthy_and_maximum_percent(world):
    """desired 4, minimum 50 %, maximum 100 %: ECS stops old tasks first and never runs more than 4."""
    world.create_service(world.task_definition("start=1"), count=4, minimum=50, maximum=100)
    world.run_until("the first deployment to complete", world.settled)
    second = world.task_definition("start=1")
    world.update(second)
    alive, healthy, on_tick = _watch_bounds(world)
    service = world.run_until("the second deployment to complete", world.settled, on_tick=on_tick)
    assert service["taskDefinition"] == second
    assert max(alive) == 4  # maximumPercent 100: never above the desired count
    assert min(healthy) == 2  # minimumHealthyPercent 50: two old tasks stopped first, two kept serving
    assert {t["taskDefinitionArn"] for t in world.tasks(serviceName="web")} == {second}
    assert len(world.tasks("STOPPED", serviceName="web")) == 4


def test_rollout_with_maximum_200_percent_starts_every_new_task_before_stopping_old_ones(world):
    world.create_service(world.task_definition("start=1"), count=2, minimum=100, maximum=200)
    world.run_until("the first deployment to complete", world.settled)
    world.update(world.task_definition("start=1"))
    alive, healthy, on_tick = _watch_bounds(world)
    world.run_until("the second deployment to complete", world.settled, on_tick=on_tick)
    assert max(alive) == 4  # 200 %: both new tasks start while both old ones run
    assert min(healthy) == 2  # 100 %: never fewer serving tasks than the desired count


# --- failures ----------------------------------------------------------------------------------------------------


def test_crash_loop_trips_the_circuit_breaker_and_rolls_back_while_the_old_tasks_serve(world):
    good = world.task_definition("start=1")
    world.create_service(good)
    world.run_until("the first deployment to complete", world.settled)
    serving = {t["taskArn"] for t in world.tasks(serviceName="web")}

    bad = world.task_definition("start=1,exit=3@1,reason=boom")
    world.update(bad)
    failed_id = world.service()["deployments"][0]["id"]

    def rolled_back():
        # Through the whole story the previous definition's two tasks keep running and stay healthy.
        running = {t["taskArn"]: t for t in world.tasks(serviceName="web")}
        assert serving <= set(running)
        assert all(running[arn]["lastStatus"] == "RUNNING" for arn in serving)
        health = world.targets()
        assert all(health[_ip(running[arn])]["State"] == "healthy" for arn in serving)
        return world.settled()

    service = world.run_until("the rollback to complete", rolled_back)
    assert service["taskDefinition"] == good
    assert service["deployments"][0]["taskDefinition"] == good
    assert service["deployments"][0]["id"] != failed_id

    crashed = [t for t in world.tasks("STOPPED", serviceName="web") if t["taskDefinitionArn"] == bad]
    assert len(crashed) >= 3  # the threshold for 2 desired tasks: 0.5 x 2, at least 3
    for task in crashed:
        assert task["stopCode"] == "EssentialContainerExited"
        assert task["stoppedReason"] == "Essential container in task exited"
        assert task["containers"][0]["exitCode"] == 3
        assert task["containers"][0]["reason"] == "boom"
    text = "\n".join(world.messages())
    assert f"(service web) (deployment {failed_id}) deployment failed: tasks failed to start." in text
    assert "(service web) rolling back to deployment ecs-svc/" in text
    assert {t["taskArn"] for t in world.tasks(serviceName="web")} == serving


def test_failing_health_check_stops_tasks_and_fails_the_deployment(world):
    world.create_service(world.task_definition("start=1,healthy=false,code=500"), rollback=False)
    seen = world.run_until(
        "a target to turn unhealthy", lambda: [h for h in world.targets().values() if h["State"] == "unhealthy"]
    )
    assert seen[0]["Reason"] == "Target.ResponseCodeMismatch"
    assert seen[0]["Description"] == "Health checks failed with these codes: [500]"

    service = world.run_until("the deployment to fail", world.failed)
    assert service["deployments"][0]["failedTasks"] >= 3
    assert service["deployments"][0]["rolloutStateReason"] == "ECS deployment circuit breaker: tasks failed to start."
    stopped = world.tasks("STOPPED", serviceName="web")
    assert stopped
    assert {t["stoppedReason"] for t in stopped} == {
        f"Task failed ELB health checks in (target-group {world.target_group})"
    }
    assert f"is unhealthy in (target-group {world.target_group}) due to (reason Health checks failed" in "\n".join(
        world.messages()
    )


def test_missing_image_fails_to_start_with_cannot_pull(world):
    world.create_service(world.task_definition("pull=fail", image="nowhere/missing:1"), count=1, rollback=False)
    task = world.run_until("a stopped task", lambda: world.tasks("STOPPED", serviceName="web"))[0]
    assert task["stopCode"] == "TaskFailedToStart"
    assert task["stoppedReason"].startswith("CannotPullContainerError: ")
    assert "nowhere/missing:1" in task["containers"][0]["reason"]
    assert "startedAt" not in task  # it never ran
    assert world.run_until("the deployment to fail", world.failed)


def test_unreadable_secret_fails_to_start_and_a_json_key_resolves(world):
    arn = world.secrets.create_secret(Name=f"{world.name}/app", SecretString='{"password": "s3cret"}')["ARN"]
    good = world.task_definition("start=1", secrets=[{"name": "DB_PASSWORD", "valueFrom": f"{arn}:password::"}])
    world.create_service(good, count=1)
    world.run_until("the deployment with a readable secret to complete", world.settled)
    record = next(iter(world.engine.tasks.values()))
    assert record.run.spec.containers[0].environment["DB_PASSWORD"] == "s3cret"  # the json key, resolved
    assert record.run.spec.containers[0].secret_names == ("DB_PASSWORD",)

    missing = f"{arn.rsplit(':', 1)[0]}:{world.name}/absent-AbCdEf"
    bad = world.task_definition("start=1", secrets=[{"name": "DB_PASSWORD", "valueFrom": missing}])
    world.update(bad)
    task = world.run_until(
        "a task that cannot read its secret",
        lambda: [t for t in world.tasks("STOPPED", serviceName="web") if t["taskDefinitionArn"] == bad],
    )[0]
    assert task["stopCode"] == "TaskFailedToStart"
    assert task["stoppedReason"].startswith(
        "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: "
        "unable to retrieve secret from asm"
    )
    assert missing in task["stoppedReason"]
    assert "ResourceNotFoundException" in task["stoppedReason"]
    assert "s3cret" not in str(task)

    wrong_key = world.task_definition("start=1", secrets=[{"name": "X", "valueFrom": f"{arn}:nokey::"}])
    world.update(wrong_key)
    task = world.run_until(
        "a task whose secret lacks the json key",
        lambda: [t for t in world.tasks("STOPPED", serviceName="web") if t["taskDefinitionArn"] == wrong_key],
    )[0]
    assert task["stoppedReason"].endswith("did not contain json key nokey")


# --- ListTasks and StopTask --------------------------------------------------------------------------------------


def test_list_tasks_filters_by_service_desired_status_and_family(world):
    world.create_service(world.task_definition("start=1"), count=2)
    world.run_until("the deployment to complete", world.settled)
    ecs = world.ecs
    running = ecs.list_tasks(cluster=world.cluster, serviceName="web")["taskArns"]
    assert len(running) == 2
    assert ecs.list_tasks(cluster=world.cluster, serviceName="other")["taskArns"] == []
    assert sorted(ecs.list_tasks(cluster=world.cluster, family=world.name)["taskArns"]) == sorted(running)
    assert ecs.list_tasks(cluster=world.cluster, family="no-such-family")["taskArns"] == []
    assert ecs.list_tasks(cluster=world.cluster, desiredStatus="STOPPED")["taskArns"] == []

    stopped = ecs.stop_task(cluster=world.cluster, task=running[0], reason="testing")["task"]
    assert stopped["desiredStatus"] == "STOPPED"
    gone = world.run_until(
        "the stopped task",
        lambda: ecs.list_tasks(cluster=world.cluster, serviceName="web", desiredStatus="STOPPED")["taskArns"],
    )
    assert gone == [running[0]]
    task = world.run_until(
        "the task to reach STOPPED", lambda: [t for t in world.tasks("STOPPED") if t["lastStatus"] == "STOPPED"]
    )[0]
    assert (task["stopCode"], task["stoppedReason"]) == ("UserInitiated", "testing")
    # The service replaces it.
    world.run_until("a replacement task", lambda: len(world.tasks(serviceName="web")) == 2 and world.settled())


# --- wiring --------------------------------------------------------------------------------------------------------


def test_the_engine_uses_the_docker_host_it_is_given(tmp_path):
    """The emulator hands the stack's Docker engine over; the cloud imports nothing of the stack to find it."""
    config = StackConfig.from_env({"SHIPYARD_STATE_DIR": str(tmp_path)})
    engine = Engine(config, docker_host="unix:///run/elsewhere/docker.sock", clock=VirtualClock())
    try:
        runner = engine.runner("docker")
        assert runner.name == "docker"
        assert runner.docker.docker_host == "unix:///run/elsewhere/docker.sock"
        assert runner.clock is engine.clock
    finally:
        engine.shutdown()


def test_uninstall_gives_moto_its_own_handlers_back():
    from moto.ecs.responses import EC2ContainerServiceResponse as ECS
    from moto.elbv2.models import FakeTargetGroup

    before = (ECS.create_service, ECS.call_action, FakeTargetGroup.health_for)
    patches.install(object())
    try:
        assert ECS.create_service is not before[0]
    finally:
        patches.uninstall()
    assert (ECS.create_service, ECS.call_action, FakeTargetGroup.health_for) == before
    assert "call_action" not in ECS.__dict__


def test_a_certificate_requested_again_with_the_token_of_a_deleted_one_is_a_new_certificate(world):
    # moto looks the deleted certificate up by the token and answers 500 (KeyError); AWS requests a new one.
    acm = boto3.client("acm", region_name=REGION)
    token = uuid.uuid4().hex[:32]
    first = acm.request_certificate(DomainName="a.example.test", ValidationMethod="DNS", IdempotencyToken=token)
    same = acm.request_certificate(DomainName="a.example.test", ValidationMethod="DNS", IdempotencyToken=token)
    assert same["CertificateArn"] == first["CertificateArn"]  # the token still works while its certificate is there
    acm.delete_certificate(CertificateArn=first["CertificateArn"])
    again = acm.request_certificate(DomainName="a.example.test", ValidationMethod="DNS", IdempotencyToken=token)
    assert again["CertificateArn"] != first["CertificateArn"]
    assert (
        acm.describe_certificate(CertificateArn=again["CertificateArn"])["Certificate"]["DomainName"]
        == "a.example.test"
    )
