"""The records the engine keeps next to moto's objects: a task's targets, a task, a service.

Every float time here is the engine clock's ``now()`` (simulated monotonic seconds, :mod:`..clock`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .. import rules

PENDING_STATES = ("PROVISIONING", "PENDING", "ACTIVATING")


@dataclass
class Target:
    group_arn: str
    target_id: str  # the task's private IP (data: never connected to)
    port: int  # containerPort
    health: rules.TargetHealth = field(default_factory=lambda: rules.TargetHealth(rules.INITIAL))
    next_check: float = 0.0
    check: Any = None  # a Future of the running health check
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
    created: float = 0.0  # clock.now() when the engine made it
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
    revisions: dict[str, str] = field(default_factory=dict)  # engine deployment id -> service revision ARN
    last_revision: str | None = None  # the revision of the last COMPLETED deployment (its task definition: above)


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


def as_engine_task(task) -> None:
    """Make a moto Task an engine task (its status no longer advances by moto's state machine)."""
    cls = type(task)
    if cls not in _engine_task_classes:
        _engine_task_classes[cls] = type("EngineTask", (_EngineTask, cls), {})
    task.__class__ = _engine_task_classes[cls]
