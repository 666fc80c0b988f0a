"""The contract between the local cloud's ECS engine and a task runner.

The engine (``shipyard_local.cloud.ecs``) decides *what* happens to a task: when it starts, when it
stops, whether its targets are healthy. A runner makes one task *happen*: real containers
(:mod:`.docker`) or a scripted story (:mod:`.simulated`). The engine calls a runner from its own
thread only; a runner may use threads of its own, and every method must return quickly (no call
blocks longer than about a second: pulls and starts run in the background and are seen via ``poll``).

The ``PORT`` contract: every task gets its own free TCP port on 127.0.0.1 (``TaskSpec.host_port``), from a range
below the kernel's ephemeral ports, handed out in turn (``..ecs.tasks.HostPorts``).
The runner passes it to the essential app container as the environment variable ``PORT`` and the
container must listen there (host network). The local load balancer and the health checks reach the
task at ``127.0.0.1:host_port``, whatever ``containerPort`` the task definition declares.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

# Task phases a runner reports; the engine maps them onto ECS lastStatus values.
PULLING = "PULLING"  # image being fetched (ECS: PENDING)
STARTING = "STARTING"  # container created/started, not known to be up yet (ECS: PENDING -> RUNNING)
RUNNING = "RUNNING"  # every essential container runs
STOPPED = "STOPPED"  # finished: see exit codes / stop_code / stopped_reason


@dataclass(frozen=True)
class ContainerSpec:
    """One container of the task definition, secrets already resolved into ``environment``."""

    name: str
    image: str  # as in the task definition (ECR host names are data: runners map them to the local registry)
    essential: bool = True
    environment: dict[str, str] = field(default_factory=dict)  # plain env + resolved secrets (never log values)
    secret_names: tuple[str, ...] = ()  # which keys of ``environment`` came from secrets (for redaction)
    container_port: int | None = None
    command: tuple[str, ...] | None = None
    entry_point: tuple[str, ...] | None = None
    working_directory: str | None = None
    user: str | None = None
    read_only_root: bool = False
    log_options: dict[str, str] = field(default_factory=dict)  # awslogs options: awslogs-group, -stream-prefix, -region
    health_check: dict | None = None  # the task definition's container healthCheck, as AWS returns it


@dataclass(frozen=True)
class TaskSpec:
    task_arn: str
    task_id: str
    cluster: str
    family: str
    revision: int
    group: str  # "service:web" or "family:web"
    host_port: int  # this task's own port on 127.0.0.1 (the PORT contract above)
    containers: tuple[ContainerSpec, ...]
    cpu: str | None = None
    memory: str | None = None


@dataclass
class ContainerStatus:
    name: str
    last_status: str = "PENDING"  # PENDING | RUNNING | STOPPED
    exit_code: int | None = None
    reason: str | None = None  # e.g. "CannotPullContainerError: ..." or "OutOfMemoryError: ..."
    health_status: str = "UNKNOWN"  # HEALTHY | UNHEALTHY | UNKNOWN (the container healthCheck, if any)
    image_digest: str | None = None


@dataclass
class TaskStatus:
    phase: str  # PULLING | STARTING | RUNNING | STOPPED
    containers: list[ContainerStatus]
    stop_code: str | None = None  # TaskFailedToStart | EssentialContainerExited | UserInitiated | ...
    stopped_reason: str | None = None  # e.g. "Essential container in task exited"


@dataclass
class HealthResult:
    """One target health check: ``ok`` plus the ELB reason code/description when it is not."""

    ok: bool
    reason: str | None = None  # Target.ResponseCodeMismatch | Target.Timeout | Target.FailedHealthChecks
    description: str | None = None  # "Health checks failed with these codes: [500]"


class TaskRun(Protocol):
    """One started task. All methods return quickly."""

    spec: TaskSpec

    def poll(self) -> TaskStatus: ...

    def check_health(self, path: str, matcher: str, timeout: float) -> HealthResult:
        """One HTTP health check against 127.0.0.1:host_port+path (``matcher``: "200" or "200-399")."""
        ...

    def stop(self, reason: str, grace_seconds: float = 30.0) -> None:
        """Begin stopping (SIGTERM, then SIGKILL after grace); ``poll`` reports STOPPED when done."""
        ...

    def release(self) -> None:
        """Forget the task after it stopped: remove containers and any resource it still holds."""
        ...


class Runner(Protocol):
    name: str  # "docker" | "simulated"

    def start(self, spec: TaskSpec) -> TaskRun:
        """Begin running ``spec`` (pull + start in the background) and return its handle at once."""
        ...

    def shutdown(self) -> None:
        """Stop and remove everything this runner started (the stack's ``down``)."""
        ...
