"""The local cloud's ECS engine: services that start tasks, roll out deployments and watch target health.

moto stores ECS services but runs nothing. This engine lives in the emulator process, next to moto's
backends, and makes a service behave as AWS documents it, observable through the ordinary API:

- **Deployments.** CreateService, and UpdateService with a new task definition or
  ``forceNewDeployment``, create a PRIMARY deployment; the previous one becomes ACTIVE. ``rolloutState``
  goes IN_PROGRESS -> COMPLETED (old deployments drained and gone) or FAILED (circuit breaker).
- **Tasks** are moto Task objects (DescribeTasks, ListTasks, StopTask work over HTTP) that go
  PROVISIONING -> PENDING -> RUNNING -> (DEACTIVATING while draining ->) STOPPING -> STOPPED, with
  ``stopCode``, ``stoppedReason`` and per-container exit codes. A runner (:mod:`..runners`) makes each
  task happen: real containers, or a scripted story (``SHIPYARD_SIMULATE``, :mod:`..runners.simulated`).
- **Rolling update.** ``minimumHealthyPercent`` / ``maximumPercent`` bound starts and stops
  (:func:`..rules.rollout_plan`). A new task counts as healthy only once it is healthy in every target group
  of the service; old tasks are deregistered, drain for the target group's
  ``deregistration_delay.timeout_seconds``, then stop.
- **Target health.** Registered targets start ``initial`` (Elb.RegistrationInProgress); health checks run
  every ``HealthCheckIntervalSeconds`` against the task (``TaskRun.check_health``) with the healthy and
  unhealthy threshold counts. An unhealthy target past the service's health check grace period gets its
  task stopped ("Task failed ELB health checks in (target-group ...)"). DescribeTargetHealth reports it.
- **Circuit breaker.** ``failedTasks`` of the PRIMARY deployment reaching
  :func:`..rules.circuit_breaker_threshold` fails the deployment; with ``rollback`` a new deployment goes
  back to the task definition of the last COMPLETED deployment, keeping its running tasks.
- **Service deployments** (:mod:`.deployments`): every deployment CreateService / UpdateService starts has a service
  deployment and a target service revision; ListServiceDeployments, DescribeServiceDeployments,
  StopServiceDeployment (rollback) and DescribeServiceRevisions answer in botocore's shapes, the status following
  the rollout (SUCCESSFUL, STOPPED when superseded, ROLLBACK_IN_PROGRESS -> ROLLBACK_SUCCESSFUL, ...).
- **Events** in ECS's wording, newest first.
- **Standalone tasks.** RunTask (launch type or capacity provider FARGATE, awsvpc ``networkConfiguration``,
  ``overrides.containerOverrides`` with ``command`` and ``environment``, ``startedBy``, ``group``, ``count``) makes
  tasks that go PROVISIONING -> PENDING -> RUNNING -> STOPPED through the same runner as a service's, secrets resolved
  the same way: when the essential container exits, ``stopCode`` EssentialContainerExited, "Essential container in
  task exited" and the container's real exit code; StopTask stops one at once (UserInitiated, the reason given).

Simplifications (documented in local/README.md): one task per tick per service is never a limit (tasks start
as fast as the plan allows); a rollback adopts the still-running tasks of the definition it returns to;
RunTask honours only the ``command`` and ``environment`` container overrides (no placement, no EC2 instances);
stopped tasks are kept for an hour.
State lives in memory only: ``down`` forgets it, like every other emulator resource.

Time: every duration above (start-up, health-check intervals, grace periods, draining, stop timeouts, the
0.25 s reconcile tick) is measured on the engine's :mod:`..clock` (``SHIPYARD_TIME_SCALE`` speeds it up; unit
tests drive a virtual one with :meth:`Engine.tick`).

Where each concern lives (one file each):

- :mod:`.engine`: the :class:`Engine`: reconcile loop, services, deployments, rolling update, circuit breaker,
  events; what the load balancer asks;
- :mod:`.tasks`: task construction (moto Task, awsvpc network interface, container specs);
- :mod:`.lifecycle`: a task's states, from PROVISIONING to STOPPED;
- :mod:`.health`: target registration, health checks, unhealthy tasks, draining;
- :mod:`.secrets`: container secrets from Secrets Manager / SSM (:func:`resolve_secret`);
- :mod:`.deployments`: service deployments and service revisions (the ECS deployment API);
- :mod:`.records`: what the engine keeps next to moto's objects.
"""

from __future__ import annotations

from .engine import DEFAULT_DEPLOYMENT_CONFIGURATION, STOPPED_TASK_TTL, TICK_SECONDS, Engine
from .records import ServiceRecord, Target, TaskRecord
from .secrets import SECRETS_UNREADABLE, resolve_secret

__all__ = [
    "DEFAULT_DEPLOYMENT_CONFIGURATION",
    "SECRETS_UNREADABLE",
    "STOPPED_TASK_TTL",
    "TICK_SECONDS",
    "Engine",
    "ServiceRecord",
    "Target",
    "TaskRecord",
    "resolve_secret",
]
