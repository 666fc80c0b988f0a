"""The simulated runner: no containers, a scripted story per task, quick and deterministic.

A task runs simulated when one of its containers has the environment variable ``SHIPYARD_SIMULATE``
in the task definition (or when the stack's default runner is ``simulated``: ``SHIPYARD_TASK_RUNNER``).
Its value is a comma-separated list of ``key=value`` settings; an empty value means "healthy":

=================  =============================================================================================
``start=S``        seconds from start to RUNNING (half "pulling", half "starting"); default 1
``healthy=V``      target health checks: ``true`` (HTTP 200, default), ``false`` (HTTP ``code``), ``timeout``
``code=N``         the HTTP status a failing health check gets (default 500)
``warmup=S``       health checks fail (HTTP 503) for the first S seconds of RUNNING, then follow ``healthy``
``exit=C@S``       the essential container exits with code C, S seconds after RUNNING (``exit=C``: at once)
``pull=fail``      the image cannot be pulled: CannotPullContainerError, the task never runs
``secret=fail``    a secret cannot be read: ResourceInitializationError, the task never runs
``stop=S``         seconds from a stop request to STOPPED (default 0.5)
``log=TEXT``       a line the essential container writes to its log when it starts RUNNING (repeat it for more
                   lines, in order; no commas): shipped to its ``awslogs`` group and stream as the docker runner does
``reason=TEXT``    the container's reason when it exits (``exit=``); must come last, may contain commas
=================  =============================================================================================

Examples: ``start=2`` (healthy), ``exit=1@3`` (a crash loop), ``healthy=false,code=502``, ``pull=fail``.
A one-off task (RunTask; the story may come in a ``containerOverrides`` environment): ``exit=3@1,log=migrating,
log=relation "notes" already exists`` runs one second, writes two log lines and exits with code 3.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from . import base

ENV_VAR = "SHIPYARD_SIMULATE"


class SpecError(ValueError):
    """A ``SHIPYARD_SIMULATE`` value this runner does not understand."""


@dataclass(frozen=True)
class Story:
    start: float = 1.0
    healthy: str = "true"  # true | false | timeout
    code: int = 500
    warmup: float = 0.0
    exit_code: int | None = None
    exit_after: float = 0.0
    pull_fails: bool = False
    secret_fails: bool = False
    stop: float = 0.5
    reason: str | None = None
    logs: tuple[str, ...] = ()


def _seconds(key: str, raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise SpecError(f"{ENV_VAR}: {key} takes seconds, got {raw!r}") from None
    if value < 0:
        raise SpecError(f"{ENV_VAR}: {key} must not be negative, got {raw!r}")
    return value


def parse(spec: str) -> Story:
    """``"start=2,exit=1@3,reason=boom"`` -> :class:`Story`; raises :class:`SpecError` naming the bad setting."""
    values: dict = {}
    text = (spec or "").strip()
    reason = None
    if "reason=" in text:
        text, reason = text.split("reason=", 1)
        text = text.rstrip(", ")
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, sep, raw = item.partition("=")
        if not sep:
            raise SpecError(f"{ENV_VAR}: expected key=value, got {item!r}")
        if key in ("start", "warmup", "stop"):
            values[key] = _seconds(key, raw)
        elif key == "healthy":
            if raw not in ("true", "false", "timeout"):
                raise SpecError(f"{ENV_VAR}: healthy is true, false or timeout, got {raw!r}")
            values["healthy"] = raw
        elif key == "code":
            if not raw.isdigit() or not 100 <= int(raw) <= 599:
                raise SpecError(f"{ENV_VAR}: code is an HTTP status, got {raw!r}")
            values["code"] = int(raw)
        elif key == "exit":
            code, _, after = raw.partition("@")
            try:
                values["exit_code"] = int(code)
            except ValueError:
                raise SpecError(f"{ENV_VAR}: exit takes CODE or CODE@SECONDS, got {raw!r}") from None
            values["exit_after"] = _seconds("exit", after) if after else 0.0
        elif key == "log":
            values["logs"] = (*values.get("logs", ()), raw)
        elif key in ("pull", "secret"):
            if raw != "fail":
                raise SpecError(f"{ENV_VAR}: {key} takes only 'fail', got {raw!r}")
            values[f"{key}_fails"] = True
        else:
            raise SpecError(f"{ENV_VAR}: unknown setting {key!r}")
    return Story(**values, reason=reason or None)


def story_of(spec: base.TaskSpec) -> Story:
    for container in spec.containers:
        if ENV_VAR in container.environment:
            return parse(container.environment[ENV_VAR])
    return Story()


def _essential(spec: base.TaskSpec) -> base.ContainerSpec:
    return next((c for c in spec.containers if c.essential), spec.containers[0])


class SimulatedTaskRun:
    """One task's story, driven by the monotonic clock (``clock`` is injectable for unit tests)."""

    def __init__(
        self, spec: base.TaskSpec, story: Story, clock=time.monotonic, on_release=None, logs=None, wall=time.time
    ) -> None:
        """``logs``: a CloudWatch Logs sink (:class:`.docker.LogSink`) for the story's ``log=`` lines (None: none
        shipped); ``wall``: epoch seconds for their timestamps."""
        self.spec = spec
        self._logs = logs
        self._wall = wall
        self._logged = False
        self._on_release = on_release
        self.story = story
        self._clock = clock
        self._started = clock()
        self._stop_at: float | None = None
        self._stop_reason: str | None = None
        self._lock = threading.Lock()

    # --- the story ------------------------------------------------------------------------
    def _elapsed(self) -> float:
        return self._clock() - self._started

    def _running_since(self) -> float:
        """Seconds in RUNNING (negative before)."""
        return self._elapsed() - self.story.start

    def _containers(self, last_status: str, exit_code: int | None = None, reason: str | None = None):
        main = _essential(self.spec).name
        statuses = []
        for c in self.spec.containers:
            code = None
            if last_status == "STOPPED" and exit_code is not None:
                code = exit_code if c.name == main else 0
            statuses.append(
                base.ContainerStatus(
                    name=c.name,
                    last_status=last_status,
                    exit_code=code,
                    reason=reason if c.name == main else None,
                    health_status="HEALTHY" if last_status == "RUNNING" and c.health_check else "UNKNOWN",
                    image_digest=None if last_status == "PENDING" else "sha256:" + "0" * 64,
                )
            )
        return statuses

    def _ship_logs(self) -> None:
        """Once RUNNING: the essential container's awslogs stream (when its group exists) and the story's lines."""
        with self._lock:  # poll also runs in health-check threads: the lines go out once
            if self._logged:
                return
            self._logged = True
        container = _essential(self.spec)
        options = container.log_options
        group = options.get("awslogs-group")
        if not self._logs or not group:
            return
        try:
            if not self._logs.group_exists(group):
                if str(options.get("awslogs-create-group", "")).lower() != "true":
                    return
                self._logs.create_group(group)
            stream = f"{container.name}/{self.spec.task_id}"
            if options.get("awslogs-stream-prefix"):
                stream = f"{options['awslogs-stream-prefix']}/{stream}"  # as the docker runner's log_stream_name
            self._logs.ensure_stream(group, stream)
            stamp = int(self._wall() * 1000)
            if self.story.logs:
                self._logs.put(group, stream, [{"timestamp": stamp, "message": line} for line in self.story.logs])
        except Exception:  # noqa: S110 - a log group deleted under the task: the story goes on without its lines
            pass

    def poll(self) -> base.TaskStatus:
        story, elapsed = self.story, self._elapsed()
        with self._lock:
            stop_at, stop_reason = self._stop_at, self._stop_reason
        half = story.start / 2
        if story.secret_fails and elapsed >= half:
            reason = (
                "ResourceInitializationError: unable to pull secrets or registry auth: execution resource "
                "retrieval failed: unable to retrieve secret from asm: service call has been retried 1 time(s): "
                "failed to fetch secret from secrets manager: AccessDeniedException: (simulated) not authorized "
                "to perform: secretsmanager:GetSecretValue"
            )
            return base.TaskStatus(base.STOPPED, self._containers("STOPPED"), "TaskFailedToStart", reason)
        if story.pull_fails and elapsed >= half:
            image = _essential(self.spec).image
            reason = (
                f"CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref "
                f"{image}: {image}: not found"
            )
            containers = self._containers("STOPPED", None, reason)
            return base.TaskStatus(base.STOPPED, containers, "TaskFailedToStart", reason)
        if stop_at is not None and self._clock() >= stop_at:
            if self._running_since() >= 0:
                return base.TaskStatus(base.STOPPED, self._containers("STOPPED", 0), "UserInitiated", stop_reason)
            return base.TaskStatus(base.STOPPED, self._containers("STOPPED"), "TaskFailedToStart", stop_reason)
        running = self._running_since()
        if running < 0:
            phase = base.PULLING if elapsed < half else base.STARTING
            return base.TaskStatus(phase, self._containers("PENDING"))
        self._ship_logs()
        if story.exit_code is not None and running >= story.exit_after:
            return base.TaskStatus(
                base.STOPPED,
                self._containers("STOPPED", story.exit_code, story.reason),
                "EssentialContainerExited",
                "Essential container in task exited",
            )
        return base.TaskStatus(base.RUNNING, self._containers("RUNNING"))

    def check_health(self, path: str, matcher: str, timeout: float) -> base.HealthResult:
        from ..rules import matcher_accepts

        status = self.poll()
        if status.phase != base.RUNNING:
            return base.HealthResult(False, "Target.FailedHealthChecks", "Health checks failed")
        if self._running_since() < self.story.warmup:
            code = 503
        elif self.story.healthy == "timeout":
            return base.HealthResult(False, "Target.Timeout", "Request timed out")
        else:
            code = 200 if self.story.healthy == "true" else self.story.code
        if matcher_accepts(matcher, code):
            return base.HealthResult(True)
        return base.HealthResult(
            False, "Target.ResponseCodeMismatch", f"Health checks failed with these codes: [{code}]"
        )

    def stop(self, reason: str, grace_seconds: float = 30.0) -> None:
        with self._lock:
            if self._stop_at is None:
                self._stop_at = self._clock() + min(self.story.stop, grace_seconds)
                self._stop_reason = reason

    def release(self) -> None:
        """A simulated task holds no resources: the runner only forgets it."""
        if self._on_release:
            self._on_release(self)


class SimulatedRunner:
    name = "simulated"

    def __init__(self, clock=time.monotonic, logs=None, wall=time.time) -> None:
        """``logs``: where the stories' ``log=`` lines go (a :class:`.docker.LogSink`; None: nowhere)."""
        self._clock = clock
        self._logs = logs
        self._wall = wall
        self._runs: dict[str, SimulatedTaskRun] = {}

    def start(self, spec: base.TaskSpec) -> SimulatedTaskRun:
        run = SimulatedTaskRun(spec, story_of(spec), self._clock, self._forget, logs=self._logs, wall=self._wall)
        self._runs[spec.task_arn] = run
        return run

    def _forget(self, run: SimulatedTaskRun) -> None:
        self._runs.pop(run.spec.task_arn, None)

    def shutdown(self) -> None:
        for run in list(self._runs.values()):
            run.stop("Runner shut down", 0)
        self._runs.clear()


def create_runner(config=None) -> SimulatedRunner:
    return SimulatedRunner()
