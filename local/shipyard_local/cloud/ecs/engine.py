"""The Engine: one reconcile loop over every ECS service of the emulator, deployments, rollouts, events.

The other concerns of the engine live beside it, each in its own file (mixed into :class:`Engine`):
:mod:`.tasks` (task construction), :mod:`.lifecycle` (a task's states), :mod:`.health` (targets, health checks,
draining), :mod:`.secrets` (container secrets). The package docstring (:mod:`.`) says what ECS behaviour it gives.
"""

from __future__ import annotations

import logging
import threading
import uuid
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any

from .. import rules
from ..clock import Clock, RealClock
from .deployments import ServiceDeploymentTracker
from .health import TargetHealthChecks
from .lifecycle import TaskLifecycle
from .records import PENDING_STATES, ServiceRecord, Target, TaskRecord
from .tasks import HostPorts, TaskFactory

log = logging.getLogger("shipyard_local.cloud")

TICK_SECONDS = 0.25  # simulated seconds between reconcile steps (the clock's scale shortens them)
MIN_REAL_TICK = 0.02  # real seconds: the shortest a scaled tick gets
STOPPED_TASK_TTL = 3600.0
DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock"
DEFAULT_DEPLOYMENT_CONFIGURATION = {
    "deploymentCircuitBreaker": {"enable": False, "rollback": False},
    "maximumPercent": 200,
    "minimumHealthyPercent": 100,
}


def _short(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


class Engine(TaskFactory, TaskLifecycle, TargetHealthChecks, ServiceDeploymentTracker):
    """Reconciles every ECS service of the emulator, every ``TICK_SECONDS``, under :attr:`lock`.

    The patched moto request handlers (:mod:`.patches`) take the same lock, so an HTTP reader always
    sees a consistent state.
    """

    def __init__(
        self,
        config,
        default_runner: str = "docker",
        runners: dict[str, Any] | None = None,
        *,
        clock: Clock | None = None,
        docker_host: str | None = None,
        executor: Executor | None = None,
    ) -> None:
        """``clock``: the simulated world's time (default: real time at ``config.time_scale``, else 1).
        ``docker_host``: the Docker engine the docker runner uses (the stack passes it; default the system socket).
        ``executor``: runs target health checks (default: a pool of 8 threads; unit tests pass one that runs
        each check at once, so a tick on a virtual clock sees its result).
        """
        self.config = config
        self.clock: Clock = clock or RealClock(float(getattr(config, "time_scale", 1.0) or 1.0))
        self.docker_host = docker_host or DEFAULT_DOCKER_HOST
        self.lock = threading.RLock()
        self.default_runner = default_runner
        self.runner_note: str | None = None
        self._runners: dict[str, Any] = dict(runners or {})
        self.tasks: dict[str, TaskRecord] = {}
        self.task_ports = HostPorts(config.host)  # each task's own port on 127.0.0.1 (tasks.py)
        self.services: dict[str, ServiceRecord] = {}
        # During a tick: every ECS service of the emulator by its ARN. moto computes ``service.arn`` anew on each
        # read (environment look-ups included); asked per task and per service, every tick, that was most of the
        # engine's CPU with a few dozen services (measured: 15 % of a CPU for 60 services of 2 tasks).
        self._tick_services: dict[str, Any] | None = None
        self._sd_init()  # service deployments and revisions (.deployments)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool = executor or ThreadPoolExecutor(max_workers=8, thread_name_prefix="shipyard-health")

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="shipyard-ecs-engine", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        # At a high time scale a tick is still at least MIN_REAL_TICK real seconds apart: no busy loop.
        tick = max(TICK_SECONDS, MIN_REAL_TICK * self.clock.scale)
        while not self.clock.wait(self._stop, tick):
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
        from ..runners.simulated import SimulatedRunner

        # Log lines carry real timestamps, as the docker runner's (CloudWatch Logs drops events older than 14 days).
        self._runners[name] = SimulatedRunner(clock=self.clock.now, logs=self._log_sink())
        return self._runners[name]

    def _log_sink(self):
        """The emulator's CloudWatch Logs, in-process: where simulated tasks' ``log=`` lines go (None: unavailable)."""
        try:
            from ..runners.docker import DEFAULT_ACCOUNT, MotoLogSink
        except ImportError:
            return None
        return MotoLogSink(DEFAULT_ACCOUNT, getattr(self.config, "region", None) or "us-east-1")

    def _make_docker_runner(self):
        from ..runners import docker

        return docker.DockerRunner(self.config, self.docker_host, clock=self.clock)

    def runner_for(self, task_definition, containers=None) -> Any:
        """Simulated when a container's environment (the task definition's, or ``containers``: the resolved
        :class:`..runners.base.ContainerSpec` list, RunTask overrides included) sets ``SHIPYARD_SIMULATE``."""
        from ..runners.simulated import ENV_VAR

        for container in task_definition.container_definitions:
            if any(item.get("name") == ENV_VAR for item in container.get("environment") or []):
                return self.runner("simulated")
        if any(ENV_VAR in spec.environment for spec in containers or ()):
            return self.runner("simulated")
        return self.runner(self.default_runner)

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

    def _backends(self):
        from moto.ecs.models import ecs_backends

        for account_id in list(ecs_backends.keys()):
            regions = ecs_backends[account_id]
            for region in list(regions.keys()):
                yield regions[region]

    def tick(self) -> None:
        now = self.clock.now()
        self._registered: dict[tuple[str, str], list] = {}
        self._tick_services = self._services_by_arn()  # no service comes or goes during a tick (self.lock)
        try:
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
        finally:
            self._tick_services = None
        for arn, record in list(self.tasks.items()):
            if record.done_at is not None and now - record.done_at > STOPPED_TASK_TTL:
                self.tasks.pop(arn, None)
                for backend in self._backends():
                    backend.tasks.get(record.cluster, {}).pop(arn, None)

    def adopt_service(self, service, created: bool) -> None:
        """Called by the CreateService handler: the service's first deployment starts from nothing."""
        self.services[service.arn] = ServiceRecord(service.arn)
        service.running_count = 0
        service.pending_count = 0
        if created and service.deployments:
            deployment = service.deployments[0]
            deployment.update(
                createdAt=self.clock.wall(),  # the engine's clock, as every later deployment's
                updatedAt=self.clock.wall(),
                runningCount=0,
                pendingCount=0,
                failedTasks=0,
                rolloutState="IN_PROGRESS",
                rolloutStateReason=f"ECS deployment {deployment['id']} in progress.",
            )
            self.open_service_deployment(service, deployment)

    def new_deployment(
        self, service, task_definition: str, reason: str | None = None, *, rollback: bool = False
    ) -> dict:
        """A new PRIMARY deployment of ``task_definition``. Unless it is a ``rollback`` (:meth:`roll_back`), it
        gets its own service deployment (:meth:`open_service_deployment`: the unfinished one before is STOPPED)."""
        from moto.moto_api._internal import mock_random

        deployment_id = f"ecs-svc/{mock_random.randint(10**18, 10**19 - 1)}"
        now = self.clock.wall()
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
        if not rollback:
            self.open_service_deployment(service, deployment)
        return deployment

    def roll_back(self, service, task_definition: str, reason: str, revision_arn: str | None, rolled_back: str) -> dict:
        """A new PRIMARY deployment back to ``task_definition`` (the revision ``revision_arn``) from the deployment
        ``rolled_back`` (an id): the tasks still running that definition, other than the rolled-back deployment's, stay
        as the rollback's tasks. The service deployment that rolls back keeps its ARN."""
        rollback = self.new_deployment(service, task_definition, reason, rollback=True)
        if revision_arn is None:
            revision_arn = self._new_revision(service, task_definition).arn
        self.services[service.arn].revisions[rollback["id"]] = revision_arn
        for task in self._service_tasks(service):
            if (
                task.alive
                and task.task.task_definition_arn == task_definition
                and task.deployment_id not in (rollback["id"], rolled_back)
            ):
                task.deployment_id = rollback["id"]
                task.task.started_by = rollback["id"]
        self.event(service, f"rolling back to deployment {rollback['id']}.")
        return rollback

    def event(self, service, message: str) -> None:
        text = f"(service {service.name}) {message}"
        service.events.insert(0, {"id": str(uuid.uuid4()), "createdAt": self.clock.wall(), "message": text})
        del service.events[100:]
        log.info("%s: %s", service.name, message)

    def _config(self, service) -> dict:
        config = dict(DEFAULT_DEPLOYMENT_CONFIGURATION)
        config.update(getattr(service, "deployment_configuration", None) or {})
        return config

    def _service_tasks(self, service) -> list[TaskRecord]:
        arn = service.arn  # once, not once per task
        return [r for r in self.tasks.values() if r.service_arn == arn and r.done_at is None]

    def _services_by_arn(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for backend in self._backends():
            for service in backend.services.values():
                found.setdefault(service.arn, service)  # the first backend's, as a search in order finds it
        return found

    def _service_of(self, record: TaskRecord):
        if not record.service_arn:
            return None  # a standalone task (RunTask)
        services = self._tick_services if self._tick_services is not None else self._services_by_arn()
        return services.get(record.service_arn)

    def _reconcile_service(self, backend, service, now: float) -> None:
        record = self.services[service.arn]
        tasks = self._service_tasks(service)
        if service.status != "ACTIVE" or not service.deployments:
            if service.status != "ACTIVE":
                self.forget_service_deployments(service.arn)
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
            primary["updatedAt"] = self.clock.wall()
            record.last_completed_task_definition = primary["taskDefinition"]
            record.last_revision = record.revisions.get(primary["id"], record.last_revision)
            self.event(service, f"(deployment {primary['id']}) deployment completed.")
        if settled and primary["rolloutState"] == "COMPLETED" and not record.steady:
            record.steady = True
            self.event(service, "has reached a steady state.")
        self.track_service_deployments(service)

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
                deployment.update(
                    runningCount=running, pendingCount=pending, desiredCount=desired, updatedAt=self.clock.wall()
                )
        service.running_count = sum(t.task.last_status == "RUNNING" and t.alive for t in live)
        service.pending_count = sum(t.task.last_status in PENDING_STATES and t.alive for t in live)

    def refresh_counts(self, service) -> None:
        self._count(service, self._service_tasks(service))

    def _task_failed(self, service, record: TaskRecord) -> None:
        deployment = next((d for d in service.deployments if d["id"] == record.deployment_id), None)
        if deployment is None or deployment["rolloutState"] != "IN_PROGRESS":
            return
        deployment["failedTasks"] = deployment.get("failedTasks", 0) + 1
        deployment["updatedAt"] = self.clock.wall()
        self.services[service.arn].steady = False
        breaker = self._config(service).get("deploymentCircuitBreaker") or {}
        if deployment["status"] != "PRIMARY" or not breaker.get("enable"):
            return
        if deployment["failedTasks"] < rules.circuit_breaker_threshold(service.desired_count or 0):
            return
        deployment["rolloutState"] = "FAILED"
        deployment["rolloutStateReason"] = "ECS deployment circuit breaker: tasks failed to start."
        self.event(service, f"(deployment {deployment['id']}) deployment failed: tasks failed to start.")
        service_record = self.services[service.arn]
        previous = service_record.last_completed_task_definition
        rollback = None
        if breaker.get("rollback") and previous:
            rollback = self.roll_back(
                service,
                previous,
                f"ECS deployment circuit breaker: rolling back to deploymentId {deployment['id']}.",
                service_record.last_revision,
                deployment["id"],
            )
        self.service_deployment_failed(service, deployment, rollback)

    def user_stop(self, task_arn_or_id: str, reason: str | None) -> Any:
        record = self.tasks.get(task_arn_or_id) or next(
            (r for r in self.tasks.values() if r.task.id == _short(task_arn_or_id)), None
        )
        if record is None:
            return None
        # A service's task drains its targets first; a standalone (RunTask) one has none and stops at once.
        service = self._service_of(record)
        self._request_stop(service, record, "UserInitiated", reason or "Task stopped by user", self.clock.now())
        return record.task
