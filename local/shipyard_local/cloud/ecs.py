"""The local cloud's ECS engine: services that start tasks, roll out deployments and watch target health.

moto stores ECS services but runs nothing. This engine lives in the emulator process, next to moto's
backends, and makes a service behave as AWS documents it, observable through the ordinary API:

- **Deployments.** CreateService, and UpdateService with a new task definition or
  ``forceNewDeployment``, create a PRIMARY deployment; the previous one becomes ACTIVE. ``rolloutState``
  goes IN_PROGRESS -> COMPLETED (old deployments drained and gone) or FAILED (circuit breaker).
- **Tasks** are moto Task objects (DescribeTasks, ListTasks, StopTask work over HTTP) that go
  PROVISIONING -> PENDING -> RUNNING -> (DEACTIVATING while draining ->) STOPPING -> STOPPED, with
  ``stopCode``, ``stoppedReason`` and per-container exit codes. A runner (:mod:`.runners`) makes each
  task happen: real containers, or a scripted story (``SHIPYARD_SIMULATE``, :mod:`.runners.simulated`).
- **Rolling update.** ``minimumHealthyPercent`` / ``maximumPercent`` bound starts and stops
  (:func:`.rules.rollout_plan`). A new task counts as healthy only once it is healthy in every target group
  of the service; old tasks are deregistered, drain for the target group's
  ``deregistration_delay.timeout_seconds``, then stop.
- **Target health.** Registered targets start ``initial`` (Elb.RegistrationInProgress); health checks run
  every ``HealthCheckIntervalSeconds`` against the task (``TaskRun.check_health``) with the healthy and
  unhealthy threshold counts. An unhealthy target past the service's health check grace period gets its
  task stopped ("Task failed ELB health checks in (target-group ...)"). DescribeTargetHealth reports it.
- **Circuit breaker.** ``failedTasks`` of the PRIMARY deployment reaching
  :func:`.rules.circuit_breaker_threshold` fails the deployment; with ``rollback`` a new deployment goes
  back to the task definition of the last COMPLETED deployment, keeping its running tasks.
- **Events** in ECS's wording, newest first.

Simplifications (documented in local/README.md): one task per tick per service is never a limit (tasks start
as fast as the plan allows); a rollback adopts the still-running tasks of the definition it returns to;
standalone RunTask tasks are left to moto (not run); stopped tasks are kept for an hour.
State lives in memory only: ``down`` forgets it, like every other emulator resource.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from . import rules
from .runners import base

log = logging.getLogger("shipyard_local.cloud")

TICK_SECONDS = 0.25
STOPPED_TASK_TTL = 3600.0
# ECS learns about an unhealthy target from the load balancer a moment later, not in the same instant.
UNHEALTHY_NOTICE_SECONDS = 2.0
PENDING_STATES = ("PROVISIONING", "PENDING", "ACTIVATING")
DEFAULT_DEPLOYMENT_CONFIGURATION = {
    "deploymentCircuitBreaker": {"enable": False, "rollback": False},
    "maximumPercent": 200,
    "minimumHealthyPercent": 100,
}
SECRETS_UNREADABLE = (  # ECS's wording for a task whose secrets cannot be read
    "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: "
)


def _now():
    from moto.core.utils import utcnow

    return utcnow()


def _short(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


def _free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


# --- the records the engine keeps next to moto's objects ---------------------------------------
@dataclass
class Target:
    group_arn: str
    target_id: str  # the task's private IP (data: never connected to)
    port: int  # containerPort
    health: rules.TargetHealth = field(default_factory=lambda: rules.TargetHealth(rules.INITIAL))
    next_check: float = 0.0
    check: Future | None = None
    drain_until: float | None = None
    unhealthy_since: float | None = None


@dataclass
class TaskRecord:
    task: Any  # moto Task
    service_arn: str
    service_name: str
    deployment_id: str
    cluster: str
    ip: str
    host_port: int
    lb_container: str | None = None
    runner: Any = None
    run: Any = None
    start_error: tuple[str, str] | None = None  # (stopCode, stoppedReason): secrets that could not be read
    stop: tuple[str, str] | None = None  # what asked it to stop: (stopCode, stoppedReason)
    stop_sent: bool = False
    created: float = field(default_factory=time.monotonic)
    running_since: float | None = None
    done_at: float | None = None
    targets: dict[str, Target] = field(default_factory=dict)

    @property
    def arn(self) -> str:
        return self.task.task_arn

    @property
    def alive(self) -> bool:
        return self.stop is None and self.done_at is None

    @property
    def healthy(self) -> bool:
        if not self.alive or self.task.last_status != "RUNNING":
            return False
        if self.task.health_status == "UNHEALTHY":
            return False
        return all(t.health.state == rules.HEALTHY for t in self.targets.values())


@dataclass
class ServiceRecord:
    arn: str
    last_completed_task_definition: str | None = None
    steady: bool = False
    retry_at: float = 0.0  # after "unable to place a task": when to try again


class _EngineTask:
    """Mixed into moto's Task class for engine tasks: DescribeTasks must not advance moto's own state machine."""

    @property
    def status(self):
        return self._status

    @status.setter
    def status(self, value):
        self._status = value

    def advance(self) -> None:
        return None


_engine_task_classes: dict[type, type] = {}


def _as_engine_task(task) -> None:
    cls = type(task)
    if cls not in _engine_task_classes:
        _engine_task_classes[cls] = type("EngineTask", (_EngineTask, cls), {})
    task.__class__ = _engine_task_classes[cls]


# --- the engine ---------------------------------------------------------------------------------
class Engine:
    """Reconciles every ECS service of the emulator, every ``TICK_SECONDS``, under :attr:`lock`.

    The patched moto request handlers (:mod:`.patches`) take the same lock, so an HTTP reader always
    sees a consistent state.
    """

    def __init__(self, config, default_runner: str = "docker", runners: dict[str, Any] | None = None) -> None:
        self.config = config
        self.lock = threading.RLock()
        self.default_runner = default_runner
        self.runner_note: str | None = None
        self._runners: dict[str, Any] = dict(runners or {})
        self.tasks: dict[str, TaskRecord] = {}
        self.services: dict[str, ServiceRecord] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="shipyard-health")

    # --- lifecycle ----------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="shipyard-ecs-engine", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(TICK_SECONDS):
            try:
                with self.lock:
                    self.tick()
            except Exception:  # the emulator must survive any engine bug: log it, keep reconciling
                log.exception("ECS engine: reconcile failed (continuing)")

    def shutdown(self) -> None:
        """Stop reconciling and every task of every runner (the stack's ``down``)."""
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)
        with self.lock:
            runners = list(self._runners.values())
        for runner in runners:
            try:
                runner.shutdown()
            except Exception:
                log.exception("runner %s: shutdown failed", getattr(runner, "name", runner))
        self._pool.shutdown(wait=False, cancel_futures=True)

    # --- runners ------------------------------------------------------------------------------
    def runner(self, name: str):
        if name in self._runners:
            return self._runners[name]
        if name == "docker":
            try:
                self._runners[name] = self._make_docker_runner()
            except Exception as error:
                self.runner_note = f"docker runner unavailable ({error}); tasks run simulated"
                log.warning("ECS engine: %s", self.runner_note)
                self._runners[name] = self.runner("simulated")
            return self._runners[name]
        from .runners.simulated import SimulatedRunner

        self._runners[name] = SimulatedRunner()
        return self._runners[name]

    def _make_docker_runner(self):
        import os

        from ..stack import Stack
        from .runners import docker

        host = (Stack(self.config).load().get("docker") or {}).get("host") or os.environ.get("DOCKER_HOST")
        return docker.DockerRunner(self.config, host or "unix:///var/run/docker.sock")

    def runner_for(self, task_definition) -> Any:
        from .runners.simulated import ENV_VAR

        for container in task_definition.container_definitions:
            if any(item.get("name") == ENV_VAR for item in container.get("environment") or []):
                return self.runner("simulated")
        return self.runner(self.default_runner)

    # --- what the load balancer asks ----------------------------------------------------------
    def _target(self, group_arn: str, target_id: str, port: int | None) -> tuple[TaskRecord, Target] | None:
        for record in self.tasks.values():
            target = record.targets.get(group_arn)
            if target and target.target_id == target_id and (port is None or int(port) == target.port):
                return record, target
        return None

    def resolve_target(self, group_arn: str, target_id: str, port: int | None) -> tuple[str, int] | None:
        """A registered target (private IP, containerPort) -> where it really listens: (127.0.0.1, host_port)."""
        with self.lock:
            found = self._target(group_arn, target_id, port)
            if not found or found[0].done_at is not None:
                return None
            return self.config.host, found[0].host_port

    def is_routable(self, group_arn: str, target_id: str, port: int | None) -> bool:
        """Healthy and not draining: the load balancer may send it new requests."""
        with self.lock:
            found = self._target(group_arn, target_id, port)
            return bool(found) and found[1].health.state == rules.HEALTHY and found[1].drain_until is None

    def target_health(self, group_arn: str, target_id: str, port: Any) -> rules.TargetHealth | None:
        with self.lock:
            found = self._target(group_arn, target_id, int(port) if port not in (None, "") else None)
            return found[1].health if found else None

    # --- the reconcile step -------------------------------------------------------------------
    def _backends(self):
        from moto.ecs.models import ecs_backends

        for account_id in list(ecs_backends.keys()):
            regions = ecs_backends[account_id]
            for region in list(regions.keys()):
                yield regions[region]

    def tick(self) -> None:
        now = time.monotonic()
        self._registered: dict[tuple[str, str], list] = {}
        for record in list(self.tasks.values()):
            try:
                self._advance_task(record, now)
            except Exception:
                log.exception("ECS engine: task %s", record.arn)
        for (_, group_arn), (service, count) in self._registered.items():
            self.event(service, f"registered {count} targets in (target-group {group_arn})")
        for backend in self._backends():
            for service in list(backend.services.values()):
                if service.arn not in self.services:
                    continue  # created before the engine, or by CloudFormation: adopted on its next update
                try:
                    self._reconcile_service(backend, service, now)
                except Exception:
                    log.exception("ECS engine: service %s", service.arn)
        for arn, record in list(self.tasks.items()):
            if record.done_at is not None and now - record.done_at > STOPPED_TASK_TTL:
                self.tasks.pop(arn, None)
                for backend in self._backends():
                    backend.tasks.get(record.cluster, {}).pop(arn, None)

    # --- services -----------------------------------------------------------------------------
    def adopt_service(self, service, created: bool) -> None:
        """Called by the CreateService handler: the service's first deployment starts from nothing."""
        self.services[service.arn] = ServiceRecord(service.arn)
        service.running_count = 0
        service.pending_count = 0
        if created and service.deployments:
            deployment = service.deployments[0]
            deployment.update(
                runningCount=0,
                pendingCount=0,
                failedTasks=0,
                rolloutState="IN_PROGRESS",
                rolloutStateReason=f"ECS deployment {deployment['id']} in progress.",
            )

    def new_deployment(self, service, task_definition: str, reason: str | None = None) -> dict:
        from moto.moto_api._internal import mock_random

        deployment_id = f"ecs-svc/{mock_random.randint(10**18, 10**19 - 1)}"
        now = _now()
        for old in service.deployments:
            old["status"] = "ACTIVE"
        deployment = {
            "createdAt": now,
            "desiredCount": service.desired_count,
            "failedTasks": 0,
            "id": deployment_id,
            "launchType": service.launch_type,
            "pendingCount": 0,
            "rolloutState": "IN_PROGRESS",
            "rolloutStateReason": reason or f"ECS deployment {deployment_id} in progress.",
            "runningCount": 0,
            "platformVersion": service.platform_version,
            "networkConfiguration": service.network_configuration or None,
            "platformFamily": "EC2" if service.launch_type == "EC2" else "FARGATE",
            "status": "PRIMARY",
            "taskDefinition": task_definition,
            "updatedAt": now,
        }
        service.deployments.insert(0, deployment)
        service.task_definition = task_definition
        self.services.setdefault(service.arn, ServiceRecord(service.arn)).steady = False
        return deployment

    def event(self, service, message: str) -> None:
        text = f"(service {service.name}) {message}"
        service.events.insert(0, {"id": str(uuid.uuid4()), "createdAt": _now(), "message": text})
        del service.events[100:]
        log.info("%s: %s", service.name, message)

    def _config(self, service) -> dict:
        config = dict(DEFAULT_DEPLOYMENT_CONFIGURATION)
        config.update(getattr(service, "deployment_configuration", None) or {})
        return config

    def _service_tasks(self, service) -> list[TaskRecord]:
        return [r for r in self.tasks.values() if r.service_arn == service.arn and r.done_at is None]

    def _reconcile_service(self, backend, service, now: float) -> None:
        record = self.services[service.arn]
        tasks = self._service_tasks(service)
        if service.status != "ACTIVE" or not service.deployments:
            for task in tasks:
                if task.alive:
                    self._request_stop(service, task, "ServiceSchedulerInitiated", "Service was deleted", now)
            return
        primary = service.deployments[0]
        config = self._config(service)
        self._watch_health(service, tasks, primary, now)

        primary_tasks = [t for t in tasks if t.deployment_id == primary["id"] and t.alive]
        old_tasks = [t for t in tasks if t.deployment_id != primary["id"] and t.alive]
        desired = service.desired_count or 0
        plan = rules.rollout_plan(
            desired,
            int(config.get("minimumHealthyPercent", 100)),
            int(config.get("maximumPercent", 200)),
            len(primary_tasks),
            sum(t.healthy for t in primary_tasks),
            len(old_tasks),
            sum(t.healthy for t in old_tasks),
            may_start=primary["rolloutState"] != "FAILED",
        )
        reason = f"Scaling activity initiated by (deployment {primary['id']})"
        order = {d["id"]: i for i, d in enumerate(service.deployments)}
        old_tasks.sort(key=lambda t: (-order.get(t.deployment_id, 99), t.created))
        to_stop = [t for t in old_tasks if not t.healthy]
        to_stop += [t for t in old_tasks if t.healthy][: plan.stop_old_healthy]
        to_stop += sorted(primary_tasks, key=lambda t: (t.healthy, -t.created))[: plan.stop_primary]
        drained: dict[str, int] = {}
        draining_tasks = 0
        for task in to_stop:
            groups = self._request_stop(service, task, "ServiceSchedulerInitiated", reason, now, announce=False)
            draining_tasks += bool(groups)
            for group_arn, count in groups.items():
                drained[group_arn] = drained.get(group_arn, 0) + count
        self._announce_draining(service, drained, draining_tasks)
        if to_stop:
            self.event(service, f"has stopped {len(to_stop)} running tasks: {self._task_list(to_stop)}.")
        started = []
        for _ in range(plan.start if now >= record.retry_at else 0):
            task = self._start_task(backend, service, primary)
            if task is None:
                break
            started.append(task)
        if started:
            self.event(service, f"has started {len(started)} tasks: {self._task_list(started)}.")
        if started or to_stop:
            record.steady = False

        # Old deployments disappear once none of their tasks is left; the primary completes after that.
        live = self._service_tasks(service)
        service.deployments[1:] = [d for d in service.deployments[1:] if any(t.deployment_id == d["id"] for t in live)]
        self._count(service, live)
        primary_alive = [t for t in live if t.deployment_id == primary["id"] and t.alive]
        settled = (
            len(service.deployments) == 1
            and len(primary_alive) == desired
            and all(t.healthy for t in primary_alive)
            and all(t.alive for t in live)
        )
        if primary["rolloutState"] == "IN_PROGRESS" and settled:
            primary["rolloutState"] = "COMPLETED"
            primary["rolloutStateReason"] = f"ECS deployment {primary['id']} completed."
            primary["updatedAt"] = _now()
            record.last_completed_task_definition = primary["taskDefinition"]
            self.event(service, f"(deployment {primary['id']}) deployment completed.")
        if settled and primary["rolloutState"] == "COMPLETED" and not record.steady:
            record.steady = True
            self.event(service, "has reached a steady state.")

    @staticmethod
    def _task_list(tasks: list[TaskRecord]) -> str:
        return " ".join(f"(task {t.task.id})" for t in tasks)

    def _count(self, service, live: list[TaskRecord]) -> None:
        for deployment in service.deployments:
            mine = [t for t in live if t.deployment_id == deployment["id"]]
            running = sum(t.task.last_status == "RUNNING" and t.alive for t in mine)
            pending = sum(t.task.last_status in PENDING_STATES and t.alive for t in mine)
            desired = service.desired_count if deployment["status"] == "PRIMARY" else sum(t.alive for t in mine)
            if (deployment["runningCount"], deployment["pendingCount"], deployment["desiredCount"]) != (
                running,
                pending,
                desired,
            ):
                deployment.update(runningCount=running, pendingCount=pending, desiredCount=desired, updatedAt=_now())
        service.running_count = sum(t.task.last_status == "RUNNING" and t.alive for t in live)
        service.pending_count = sum(t.task.last_status in PENDING_STATES and t.alive for t in live)

    def refresh_counts(self, service) -> None:
        self._count(service, self._service_tasks(service))

    # --- failures and the circuit breaker -----------------------------------------------------
    def _task_failed(self, service, record: TaskRecord) -> None:
        deployment = next((d for d in service.deployments if d["id"] == record.deployment_id), None)
        if deployment is None or deployment["rolloutState"] != "IN_PROGRESS":
            return
        deployment["failedTasks"] = deployment.get("failedTasks", 0) + 1
        deployment["updatedAt"] = _now()
        self.services[service.arn].steady = False
        breaker = self._config(service).get("deploymentCircuitBreaker") or {}
        if deployment["status"] != "PRIMARY" or not breaker.get("enable"):
            return
        if deployment["failedTasks"] < rules.circuit_breaker_threshold(service.desired_count or 0):
            return
        deployment["rolloutState"] = "FAILED"
        deployment["rolloutStateReason"] = "ECS deployment circuit breaker: tasks failed to start."
        self.event(service, f"(deployment {deployment['id']}) deployment failed: tasks failed to start.")
        previous = self.services[service.arn].last_completed_task_definition
        if breaker.get("rollback") and previous:
            rollback = self.new_deployment(
                service,
                previous,
                f"ECS deployment circuit breaker: rolling back to deploymentId {deployment['id']}.",
            )
            # The tasks still running the definition we go back to stay: they become the rollback's tasks.
            for task in self._service_tasks(service):
                if task.alive and task.task.task_definition_arn == previous and task.deployment_id != deployment["id"]:
                    task.deployment_id = rollback["id"]
                    task.task.started_by = rollback["id"]
            self.event(service, f"rolling back to deployment {rollback['id']}.")

    # --- tasks --------------------------------------------------------------------------------
    def _start_task(self, backend, service, deployment) -> TaskRecord | None:
        from types import SimpleNamespace

        from moto.ecs.models import Task

        cluster = backend._get_cluster(service.cluster_name)
        task_definition = backend.describe_task_definition(deployment["taskDefinition"])
        try:
            attachment, ip = self._network_interface(backend, service, task_definition)
            # moto's Task would make its own ENI (and fails to in moto 5.2): it gets a definition without awsvpc.
            containers = task_definition.container_definitions
            definition = SimpleNamespace(arn=task_definition.arn, network_mode="none", container_definitions=containers)
            task = Task(
                cluster=cluster,
                task_definition=definition,
                container_instance_arn=None,
                resource_requirements=None,
                backend=backend,
                group=f"service:{service.name}",
                launch_type=service.launch_type or "FARGATE",
                started_by=deployment["id"],
                platform_version=service.platform_version,
            )
        except Exception as error:  # surfaced as ECS does: an "unable to place" event, then a retry later
            self.services[service.arn].retry_at = time.monotonic() + 15
            self.event(service, f"was unable to place a task. Reason: {getattr(error, 'message', error)}.")
            return None
        if attachment:
            task.attachments = [attachment]
        _as_engine_task(task)
        now = _now()
        task.last_status = "PROVISIONING"
        task.desired_status = "RUNNING"
        task.created_at = now
        task.cpu = task_definition.cpu
        task.memory = task_definition.memory
        task.health_status = "UNKNOWN"
        task.availability_zone = f"{backend.region_name}a"
        task.connectivity = "CONNECTED"
        task.connectivity_at = now
        task.version = 1
        task.enable_execute_command = bool(getattr(service, "enable_execute_command", False))
        task.platform_family = "Linux"
        task.containers = [
            {
                "containerArn": f"arn:aws:ecs:{backend.region_name}:{backend.account_id}:container/"
                f"{cluster.name}/{task.id}/{uuid.uuid4()}",
                "taskArn": task.task_arn,
                "name": c.get("name"),
                "image": c.get("image"),
                "lastStatus": "PENDING",
                "networkInterfaces": [{"attachmentId": task.attachments[0]["id"], "privateIpv4Address": ip}]
                if task.attachments
                else [],
                "healthStatus": "UNKNOWN",
                "cpu": str(c.get("cpu", 0)),
                **({"memory": str(c["memory"])} if c.get("memory") else {}),
            }
            for c in task_definition.container_definitions
        ]
        backend.tasks.setdefault(cluster.name, {})[task.task_arn] = task
        lb = (service.load_balancers or [{}])[0]
        record = TaskRecord(
            task=task,
            service_arn=service.arn,
            service_name=service.name,
            deployment_id=deployment["id"],
            cluster=cluster.name,
            ip=ip,
            host_port=_free_port(self.config.host),
            lb_container=lb.get("containerName"),
        )
        self.tasks[task.task_arn] = record
        containers, error = self._container_specs(backend, task_definition)
        if error:
            record.start_error = ("TaskFailedToStart", error)
            return record
        spec = base.TaskSpec(
            task_arn=task.task_arn,
            task_id=task.id,
            cluster=cluster.name,
            family=task_definition.family,
            revision=task_definition.revision,
            group=task.group,
            host_port=record.host_port,
            containers=tuple(containers),
            cpu=task_definition.cpu,
            memory=task_definition.memory,
        )
        try:
            record.runner = self.runner_for(task_definition)
            record.run = record.runner.start(spec)
        except Exception as error:
            log.exception("ECS engine: runner failed to start %s", task.id)
            record.start_error = ("TaskFailedToStart", f"CannotStartContainerError: {error}")
        return record

    def _network_interface(self, backend, service, task_definition) -> tuple[dict | None, str]:
        """awsvpc: an ENI in the service's first subnet (its private IP is data, never connected to)."""
        from moto.ec2 import ec2_backends
        from moto.ec2.utils import random_private_ip

        vpc = (service.network_configuration or {}).get("awsvpcConfiguration") or {}
        if task_definition.network_mode != "awsvpc" or not vpc.get("subnets"):
            return None, random_private_ip()
        ec2 = ec2_backends[backend.account_id][backend.region_name]
        subnet = ec2.get_subnet(vpc["subnets"][0])
        # An address no other ENI of the subnet holds: targets are ip:port, so a task sharing a running task's
        # address would take that task's target with it when it stops (seen: a crashing task deregistering a
        # healthy one). Random, as AWS's choice is, retried on a clash.
        in_use = {eni.private_ip_address for eni in ec2.enis.values() if getattr(eni.subnet, "id", None) == subnet.id}
        ip = random_private_ip(subnet.cidr_block)
        for _ in range(100):
            if ip not in in_use:
                break
            ip = random_private_ip(subnet.cidr_block)
        eni = ec2.create_network_interface(
            subnet=subnet, private_ip_address=ip, group_ids=vpc.get("securityGroups") or [], description="ECS task"
        )
        eni.status = "in-use"
        eni.device_index = 1
        details = {
            "subnetId": subnet.id,
            "networkInterfaceId": eni.id,
            "macAddress": eni.mac_address,
            "privateDnsName": f"ip-{ip.replace('.', '-')}.ec2.internal",
            "privateIPv4Address": ip,
        }
        attachment = {
            "id": str(uuid.uuid4()),
            "type": "ElasticNetworkInterface",
            "status": "ATTACHED",
            "details": [{"name": key, "value": value} for key, value in details.items()],
        }
        return attachment, ip

    def _release_network_interface(self, record: TaskRecord) -> None:
        from moto.ec2 import ec2_backends

        for attachment in record.task.attachments:
            details = {d["name"]: d["value"] for d in attachment.get("details", [])}
            if "networkInterfaceId" in details:
                backend = record.task._backend
                try:
                    ec2_backends[backend.account_id][backend.region_name].delete_network_interface(
                        details["networkInterfaceId"]
                    )
                except Exception:
                    log.debug("ENI %s already gone", details["networkInterfaceId"])
                attachment["status"] = "DELETED"

    def _container_specs(self, backend, task_definition) -> tuple[list[base.ContainerSpec], str | None]:
        specs = []
        for c in task_definition.container_definitions:
            env = {item["name"]: item.get("value", "") for item in c.get("environment") or []}
            secret_names = []
            for secret in c.get("secrets") or []:
                value, error = resolve_secret(backend.account_id, backend.region_name, secret["valueFrom"])
                if error:
                    return [], error
                env[secret["name"]] = value
                secret_names.append(secret["name"])
            ports = c.get("portMappings") or []
            logging_config = c.get("logConfiguration") or {}
            specs.append(
                base.ContainerSpec(
                    name=c["name"],
                    image=c.get("image", ""),
                    essential=c.get("essential", True),
                    environment=env,
                    secret_names=tuple(secret_names),
                    container_port=ports[0].get("containerPort") if ports else None,
                    command=tuple(c["command"]) if c.get("command") else None,
                    entry_point=tuple(c["entryPoint"]) if c.get("entryPoint") else None,
                    working_directory=c.get("workingDirectory"),
                    user=c.get("user"),
                    read_only_root=bool(c.get("readonlyRootFilesystem")),
                    log_options=dict(logging_config.get("options") or {})
                    if logging_config.get("logDriver") == "awslogs"
                    else {},
                    health_check=c.get("healthCheck"),
                )
            )
        return specs, None

    def _service_of(self, record: TaskRecord):
        for backend in self._backends():
            for service in backend.services.values():
                if service.arn == record.service_arn:
                    return service
        return None

    def _advance_task(self, record: TaskRecord, now: float) -> None:
        if record.done_at is not None:
            return
        task = record.task
        service = self._service_of(record)
        if task.last_status == "PROVISIONING":
            task.last_status = "PENDING"
            return
        if record.start_error and record.stop is None:
            if now - record.created >= 0.5:
                code, reason = record.start_error
                record.stop = (code, reason)
                task.desired_status = "STOPPED"
                task.stopping_at = _now()
                task.stop_code, task.stopped_reason = code, reason
                for container in task.containers:
                    container["lastStatus"] = "STOPPED"
                self._finish(record, service)
                if service is not None:
                    self._task_failed(service, record)
            return
        status = record.run.poll() if record.run else None
        if status is not None:
            self._apply_containers(task, status)
        if record.stop is not None:
            self._advance_stopping(record, status, service, now)
            return
        if status is None:
            return
        if status.phase == base.STOPPED:
            # Not asked to stop: the task failed (container exited, pull or secret failure).
            task.desired_status = "STOPPED"
            task.stopping_at = getattr(task, "stopping_at", None) or _now()
            task.stop_code = status.stop_code or "EssentialContainerExited"
            task.stopped_reason = status.stopped_reason or "Essential container in task exited"
            record.stop = (task.stop_code, task.stopped_reason)
            if service is not None:
                self._remove_targets(service, record, event=True)
            self._finish(record, service)
            if service is not None:
                self._task_failed(service, record)
            return
        if status.phase in (base.PULLING, base.STARTING):
            if status.phase == base.STARTING and getattr(task, "pull_stopped_at", None) is None:
                task.pull_started_at = getattr(task, "pull_started_at", None) or _now()
                task.pull_stopped_at = _now()
            elif status.phase == base.PULLING and getattr(task, "pull_started_at", None) is None:
                task.pull_started_at = _now()
            return
        if status.phase == base.RUNNING and task.last_status != "RUNNING":
            task.last_status = "RUNNING"
            task.started_at = _now()
            task.pull_started_at = getattr(task, "pull_started_at", None) or task.started_at
            task.pull_stopped_at = getattr(task, "pull_stopped_at", None) or task.started_at
            record.running_since = now
            if service is not None:
                self._register_targets(service, record, now)

    def _apply_containers(self, task, status: base.TaskStatus) -> None:
        by_name = {c.name: c for c in status.containers}
        for container in task.containers:
            current = by_name.get(container["name"])
            if current is None:
                continue
            container["lastStatus"] = current.last_status
            container["healthStatus"] = current.health_status
            if current.exit_code is not None:
                container["exitCode"] = current.exit_code
            if current.reason:
                container["reason"] = current.reason
            if current.image_digest:
                container["imageDigest"] = current.image_digest
        healths = {c["healthStatus"] for c in task.containers}
        task.health_status = "UNHEALTHY" if "UNHEALTHY" in healths else "HEALTHY" if "HEALTHY" in healths else "UNKNOWN"

    def _request_stop(
        self, service, record: TaskRecord, code: str, reason: str, now: float, announce: bool = True
    ) -> dict[str, int]:
        """Begin stopping a task: deregister its targets (draining), or stop it at once. Returns {group: count}."""
        by_group: dict[str, int] = {}
        if record.stop is not None or record.done_at is not None:
            return by_group
        record.stop = (code, reason)
        task = record.task
        task.desired_status = "STOPPED"
        task.stopping_at = _now()
        task.stop_code = code
        task.stopped_reason = reason
        draining = [t for t in record.targets.values() if t.drain_until is None]
        if draining:
            for target in draining:
                group = self._target_group(target.group_arn)
                delay = float((group.attributes if group else {}).get("deregistration_delay.timeout_seconds", 300))
                target.drain_until = now + delay
                target.health = rules.TargetHealth(
                    rules.DRAINING,
                    reason=rules.DEREGISTRATION_IN_PROGRESS,
                    description=rules.DESCRIPTIONS[rules.DEREGISTRATION_IN_PROGRESS],
                )
                by_group[target.group_arn] = by_group.get(target.group_arn, 0) + 1
            if announce:
                self._announce_draining(service, by_group, 1)
            if task.last_status == "RUNNING":
                task.last_status = "DEACTIVATING"
        return by_group

    def _announce_draining(self, service, by_group: dict[str, int], tasks: int) -> None:
        if not by_group:
            return
        self.event(service, f"has begun draining connections on {tasks} tasks.")
        for group_arn, count in by_group.items():
            self.event(service, f"deregistered {count} targets in (target-group {group_arn})")

    def _advance_stopping(self, record: TaskRecord, status, service, now: float) -> None:
        task = record.task
        draining = [t for t in record.targets.values() if t.drain_until is not None]
        if any(now < t.drain_until for t in draining):
            return
        if record.targets:
            self._remove_targets(service, record, event=False)
        if not record.stop_sent:
            record.stop_sent = True
            if record.run is not None:
                record.run.stop(record.stop[1])
            if task.last_status not in ("STOPPED",):
                task.last_status = "STOPPING"
        if record.run is None or (status is not None and status.phase == base.STOPPED):
            if status is not None and status.phase == base.STOPPED and task.stop_code is None:
                task.stop_code = status.stop_code
            self._finish(record, service)

    def _finish(self, record: TaskRecord, service) -> None:
        task = record.task
        now = _now()
        task.last_status = "STOPPED"
        task.desired_status = "STOPPED"
        task.stopping_at = getattr(task, "stopping_at", None) or now
        task.execution_stopped_at = now
        task.stopped_at = now
        for container in task.containers:
            container["lastStatus"] = "STOPPED"
        record.done_at = time.monotonic()
        self._release_network_interface(record)
        if record.run is not None:
            try:
                record.run.release()
            except Exception:
                log.exception("ECS engine: releasing %s", task.id)
        if service is not None:
            self.refresh_counts(service)

    # --- target groups ------------------------------------------------------------------------
    def _target_group(self, arn: str):
        from moto.elbv2.models import elbv2_backends

        for account_id in list(elbv2_backends.keys()):
            for region in list(elbv2_backends[account_id].keys()):
                group = elbv2_backends[account_id][region].target_groups.get(arn)
                if group is not None:
                    return group
        return None

    def _register_targets(self, service, record: TaskRecord, now: float) -> None:
        task_definition_containers = {c["name"]: c for c in record.task.containers}
        for lb in service.load_balancers or []:
            arn = lb.get("targetGroupArn")
            group = self._target_group(arn) if arn else None
            if group is None:
                continue
            port = int(lb.get("containerPort") or 0)
            if lb.get("containerName") and lb["containerName"] not in task_definition_containers:
                continue
            group.targets[record.ip] = {"Id": record.ip, "Port": port}
            group.deregistered_targets.pop(record.ip, None)
            record.targets[arn] = Target(arn, record.ip, port, next_check=now + TICK_SECONDS)
            batch = getattr(self, "_registered", None)
            if batch is None:
                self.event(service, f"registered 1 targets in (target-group {arn})")
            else:
                batch.setdefault((service.arn, arn), [service, 0])[1] += 1

    def _remove_targets(self, service, record: TaskRecord, event: bool) -> None:
        for arn, target in list(record.targets.items()):
            group = self._target_group(arn)
            if group is not None and target.target_id in group.targets:
                group.targets.pop(target.target_id, None)
                group.deregistered_targets[target.target_id] = {"Id": target.target_id, "Port": target.port}
            if event and target.drain_until is None and service is not None:
                self.event(service, f"deregistered 1 targets in (target-group {arn})")
            record.targets.pop(arn, None)

    def _watch_health(self, service, tasks: list[TaskRecord], primary: dict, now: float) -> None:
        grace = float(getattr(service, "health_check_grace_period_seconds", None) or 0)
        for record in tasks:
            if record.task.last_status != "RUNNING" or not record.alive or record.run is None:
                continue
            for target in record.targets.values():
                self._health_step(record, target, now)
            if record.running_since is None or now - record.running_since < grace:
                continue
            sick = next(
                (
                    t
                    for t in record.targets.values()
                    if t.unhealthy_since is not None and now - t.unhealthy_since >= UNHEALTHY_NOTICE_SECONDS
                ),
                None,
            )
            if sick is not None:
                self.event(
                    service,
                    f"(port {sick.port}) is unhealthy in (target-group {sick.group_arn}) due to "
                    f"(reason {sick.health.description}).",
                )
                reason = f"Task failed ELB health checks in (target-group {sick.group_arn})"
                self._request_stop(service, record, "ServiceSchedulerInitiated", reason, now)
                self.event(service, f"has stopped 1 running tasks: (task {record.task.id}).")
                self._task_failed(service, record)
            elif record.task.health_status == "UNHEALTHY":
                self.event(service, f"(task {record.task.id}) failed container health checks.")
                reason = "Task failed container health checks"
                self._request_stop(service, record, "ServiceSchedulerInitiated", reason, now)
                self._task_failed(service, record)

    def _health_step(self, record: TaskRecord, target: Target, now: float) -> None:
        group = self._target_group(target.group_arn)
        if group is None:
            return
        if target.check is not None:
            if not target.check.done():
                return
            try:
                result = target.check.result()
            except Exception as error:
                result = base.HealthResult(False, "Target.FailedHealthChecks", str(error))
            target.check = None
            target.health = rules.after_health_check(
                target.health,
                result.ok,
                int(group.healthy_threshold_count or 5),
                int(group.unhealthy_threshold_count or 2),
                result.reason,
                result.description,
            )
            if target.health.state != rules.UNHEALTHY:
                target.unhealthy_since = None
            elif target.unhealthy_since is None:
                target.unhealthy_since = now
        if now < target.next_check:
            return
        enabled = str(getattr(group, "health_check_enabled", True)).lower() != "false"
        if not enabled:
            target.health = rules.TargetHealth(rules.HEALTHY, reason=None, description=None)
            return
        target.next_check = now + float(group.health_check_interval_seconds or 30)
        path = group.health_check_path or "/"
        matcher = (getattr(group, "matcher", None) or {}).get("HttpCode", "200")
        timeout = float(group.health_check_timeout_seconds or 5)
        target.check = self._pool.submit(record.run.check_health, path, matcher, timeout)

    # --- StopTask over HTTP -------------------------------------------------------------------
    def user_stop(self, task_arn_or_id: str, reason: str | None) -> Any:
        record = self.tasks.get(task_arn_or_id) or next(
            (r for r in self.tasks.values() if r.task.id == _short(task_arn_or_id)), None
        )
        if record is None:
            return None
        service = self._service_of(record)
        if service is not None:
            self._request_stop(service, record, "UserInitiated", reason or "Task stopped by user", time.monotonic())
        return record.task


# --- secrets ------------------------------------------------------------------------------------
def resolve_secret(account_id: str, region: str, value_from: str) -> tuple[str, str | None]:
    """A container secret's value from the emulator's Secrets Manager or SSM, in-process.

    Returns ``(value, None)`` or ``("", stoppedReason)`` worded as ECS words it. Values are never logged.
    """
    ref = rules.parse_secret_ref(value_from)
    if ref.service == "ssm":
        from moto.ssm.models import ssm_backends

        try:
            parameter = ssm_backends[ref.account or account_id][ref.region or region].get_parameter(ref.secret_id)
        except Exception:
            parameter = None
        if parameter is None:
            return "", (
                f"{SECRETS_UNREADABLE}unable to retrieve secrets from ssm: service call has been retried 1 time(s): "
                f"invalid ssm parameters: {ref.secret_id}"
            )
        return parameter.value, None
    from moto.secretsmanager.models import secretsmanager_backends

    prefix = (
        f"{SECRETS_UNREADABLE}unable to retrieve secret from asm: service call has been retried 1 time(s): "
        f"failed to fetch secret {ref.secret_id} from secrets manager: "
    )
    backend = secretsmanager_backends[ref.account or account_id][ref.region or region]
    try:
        found = backend.get_secret_value(ref.secret_id, ref.version_id, ref.version_stage)
    except Exception as error:
        kind = type(error).__name__.replace("SecretNotFoundException", "ResourceNotFoundException")
        if kind.endswith("HasNoValueException"):
            kind = "ResourceNotFoundException"
            stage = ref.version_stage or "AWSCURRENT"
            message = f"Secrets Manager can't find the specified secret value for staging label: {stage}"
        elif kind == "ResourceNotFoundException":
            message = "Secrets Manager can't find the specified secret."
        else:
            message = getattr(error, "message", "") or str(error)
        return "", f"{prefix}{kind}: {message}"
    value = found.get("SecretString")
    if value is None:
        return "", f"{prefix}ResourceNotFoundException: Secrets Manager can't find the specified secret value"
    if ref.json_key:
        try:
            data = json.loads(value)
        except ValueError:
            data = None
        if not isinstance(data, dict) or ref.json_key not in data:
            return "", (
                f"{SECRETS_UNREADABLE}unable to retrieve secret from asm: service call has been retried 1 time(s): "
                f"retrieved secret from Secrets Manager did not contain json key {ref.json_key}"
            )
        item = data[ref.json_key]
        value = item if isinstance(item, str) else json.dumps(item)
    return value, None
