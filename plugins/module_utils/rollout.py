# Copyright: Shipyard maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The decisions of ``ecs_rollout``: is an ECS service deployment done, still going, or failed, and why.

Everything here is a pure function of what the AWS APIs returned (DescribeServices, DescribeTasks,
DescribeTargetHealth, DescribeTaskDefinition, GetLogEvents), as boto3 returns it, plus the waiter's own
state. No boto3 or Ansible import: an action plugin on the controller and a module on the target both
import it. The waiting loop (``wait_for``) is pure too: it gets its AWS calls, clock, sleep and random
numbers as arguments, so it runs unchanged on recorded payloads (``replay``).

The verdict on one observation (``evaluate``), first match wins:

1. the service is gone (``service_missing``) or being deleted (``service_inactive``);
2. our deployment was never found (``deployment_not_found``), was replaced by ECS rolling back to an
   older deployment (``circuit_breaker_rollback``) or by someone else's newer one (``superseded``), or
   ECS marked it FAILED (``deployment_failed``);
3. more new tasks stopped than tolerated: ``targets_unhealthy`` when ECS stopped them for failing the
   load balancer's health checks, ``tasks_stopped`` otherwise (crash, image pull, secrets, container
   health check);
4. a target of a running new task stayed unhealthy longer than allowed (``targets_unhealthy``);
5. a service event since the deployment started means trouble (``trouble_event``);
6. success: our deployment is PRIMARY and COMPLETED, running equals desired, nothing pending, and
   every target of every running new task is healthy in each attached target group (old targets
   that drain are not ours and do not count); with a stability window (``Options.stable_for``), only
   once every running new task has been RUNNING, and each of its targets healthy, for that long
   (``stable_since``); a new task that stops inside the window is a stopped task (rule 3);
7. the timeout (``timeout``, with the last observed state); otherwise WAITING.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone

WAITING = "WAITING"
SUCCEEDED = "SUCCEEDED"
FAILED = "FAILED"

REASON_CODES = (
    "service_missing",
    "service_inactive",
    "deployment_not_found",
    "circuit_breaker_rollback",
    "superseded",
    "deployment_failed",
    "tasks_stopped",
    "targets_unhealthy",
    "trouble_event",
    "timeout",
)

# ECS service events (DescribeServices events[].message) that mean the deployment is in trouble.
# Matched case-insensitively; a message that names a deployment must name ours.
TROUBLE_PATTERNS = (
    ("unable to place a task", re.compile(r"unable to place a task", re.IGNORECASE)),
    ("unable to pull secrets or registry auth", re.compile(r"unable to pull secrets or registry auth", re.IGNORECASE)),
    ("CannotPullContainerError", re.compile(r"CannotPullContainerError", re.IGNORECASE)),
    ("ResourceInitializationError", re.compile(r"ResourceInitializationError", re.IGNORECASE)),
    ("CannotStartContainerError", re.compile(r"CannotStartContainerError", re.IGNORECASE)),
    (
        "unable to consistently start tasks",
        re.compile(r"is unable to consistently start tasks successfully", re.IGNORECASE),
    ),
    ("deployment failed", re.compile(r"deployment failed", re.IGNORECASE)),
    ("rolling back", re.compile(r"rolling back to deployment", re.IGNORECASE)),
    ("failed to launch a task", re.compile(r"failed to launch a task", re.IGNORECASE)),
    ("unable to", re.compile(r"\((?:service|task) [^)]*\) (?:was|is) unable to ", re.IGNORECASE)),
)
_EVENT_DEPLOYMENT = re.compile(r"\(deployment (ecs-svc/\d+)\)")
_EVENT_TASK = re.compile(r"\(task ([0-9A-Za-z-]+)\)")
_ROLLING_BACK = re.compile(r"rolling back to deployment (ecs-svc/\d+)", re.IGNORECASE)

# DescribeTasks stopCode values that are the task's own failure (not a scale-in, a user or Spot).
_FAILURE_STOP_CODES = ("TaskFailedToStart", "EssentialContainerExited")
_ELB_STOP = "Task failed ELB health checks"
# datetime.UTC is Python 3.11+; module_utils also import on the older Pythons of managed hosts.
_UTC = timezone.utc  # noqa: UP017
_EPOCH = datetime.min.replace(tzinfo=_UTC)
_CONTAINER_HEALTH_STOP = "failed container health checks"
# The module's default stability window (seconds; see its stable_for option for why this value).
DEFAULT_STABLE_FOR = 10
_WINDOW_MARGIN = 0.05  # the poll that closes the window comes this much after it ends (clocks are floats)


@dataclass(frozen=True)
class Options:
    """How to judge and how to poll (the module's options, in seconds)."""

    timeout: float = 600.0
    # New tasks of the deployment that may stop with a failure before the rollout fails.
    tolerated_stopped_tasks: int = 0
    # How long a target of a running new task may stay `unhealthy` before the rollout fails (at least
    # the service's healthCheckGracePeriodSeconds, when that is longer).
    unhealthy_grace: float = 60.0
    # Polls are fast_delay apart during the first fast_period seconds and for fast_period seconds after any
    # change, then grow by `growth` per quiet poll up to max_delay: 4 s keeps a task that stops during a quiet
    # stretch reported within 5 s, at about 15 DescribeServices a minute.
    fast_delay: float = 2.0
    fast_period: float = 10.0
    max_delay: float = 4.0
    growth: float = 1.5
    throttle_cap: float = 30.0
    # A target health reading at most this old in which every new target was healthy still counts for the
    # success verdict once DescribeServices says the deployment completed; older, it is read again.
    targets_max_age: float = 5.0
    # The pace: the next poll waits until the calls made so far, plus `calls_per_poll` for it and less a burst
    # of `call_burst` (the start, the first details), fit in `calls_per_minute` of the time since the rollout
    # began (0 turns the pace off). 6 + 54/min keeps any rollout of a minute or more within 60 calls a minute.
    calls_per_minute: float = 54.0
    call_burst: int = 6
    calls_per_poll: int = 1
    # The stability window: success only once every running new task has been RUNNING (and each of its targets
    # healthy) this long. 0 judges each poll alone (success as soon as everything is up); the module's default
    # is DEFAULT_STABLE_FOR.
    stable_for: float = 0.0


@dataclass(frozen=True)
class Observation:
    """One poll: what the AWS APIs said, and when (seconds since the wait began).

    ``service`` is ``services[0]`` of DescribeServices (None when absent, ``failures`` then says why);
    ``tasks`` the DescribeTasks tasks of the deployment (None: not fetched on this poll);
    ``target_health`` maps each target group ARN to its ``TargetHealthDescriptions`` (None: not fetched);
    ``throttled``: the poll was throttled and returned nothing; ``at``: the wall clock (aware datetime) when it
    was made, None when unknown (what task timestamps are compared with).
    """

    service: dict | None = None
    failures: tuple = ()
    tasks: tuple | None = None
    target_health: dict | None = None
    elapsed: float = 0.0
    throttled: bool = False
    api_calls: int = 0
    at: datetime | None = None


@dataclass(frozen=True)
class StoppedTask:
    """A new task that stopped with a failure, reduced to what a message needs."""

    task_arn: str
    stopped_reason: str
    stop_code: str | None
    elb: bool
    containers: tuple = ()  # (name, exit code or None, reason or None)
    stopped_at: datetime | None = None

    @property
    def task_id(self) -> str:
        return task_id(self.task_arn)


@dataclass(frozen=True)
class Summary:
    """Where a rollout stands; two equal summaries mean nothing moved."""

    service_name: str
    service_status: str | None = None
    deployment_id: str | None = None
    deployment_status: str | None = None
    rollout_state: str | None = None
    desired: int = 0
    running: int = 0
    pending: int = 0
    deployment_failed_tasks: int = 0
    failed: int = 0
    targets_healthy: int = 0
    targets_total: int | None = None  # None: no load balancer
    latest_event_id: str | None = None
    # The newest service event since the deployment began that names a task not known to be another
    # deployment's ("has started 1 tasks: (task ...)"): a task of ours may have come or gone.
    task_event_id: str | None = None
    # Running new tasks the last DescribeTasks detail knows; fewer than ``running``: the detail is stale.
    tasks_known: int = field(default=0, compare=False)
    # The stability window: seconds every running new task (and its targets) has been up, None while not all
    # are; and the window asked for (0: none). Time alone moves them: not a change.
    stable_for: float | None = field(default=None, compare=False)
    stable_window: float = field(default=0.0, compare=False)

    def task_level(self) -> tuple:
        """The part of DescribeServices that says our tasks moved (what decides whether to describe them again).

        Not the rollout state, the deployment status or events about other deployments' tasks: those need no
        task detail (a COMPLETED rollout needs a fresh look at the targets only).
        """
        return (
            self.service_status,
            self.deployment_id,
            self.desired,
            self.running,
            self.pending,
            self.deployment_failed_tasks,
            self.task_event_id,
        )

    def looks_done(self) -> bool:
        """Everything DescribeServices tells says success: only the targets' health can still hold it back."""
        return (
            self.deployment_status == "PRIMARY"
            and self.rollout_state in (None, "COMPLETED")
            and self.running == self.desired
            and self.pending == 0
        )

    def as_dict(self) -> dict:
        return {
            "service_name": self.service_name,
            "service_status": self.service_status,
            "deployment_id": self.deployment_id,
            "deployment_status": self.deployment_status,
            "rollout_state": self.rollout_state,
            "desired_count": self.desired,
            "running_count": self.running,
            "pending_count": self.pending,
            "failed_tasks": self.failed,
            "targets_healthy": self.targets_healthy,
            "targets_total": self.targets_total,
            "stable_for": None if self.stable_for is None else round(self.stable_for, 1),
            "stable_window": self.stable_window,
        }


@dataclass(frozen=True)
class Verdict:
    """The decision on one observation. ``log_task_arn``/``log_container``: whose log explains a failure."""

    kind: str
    reason_code: str | None = None
    message: str = ""
    deployment_id: str | None = None
    task_ids: tuple = ()
    log_task_arn: str | None = None
    log_container: str | None = None
    rollback_deployment_id: str | None = None

    @property
    def done(self) -> bool:
        return self.kind != WAITING


@dataclass(frozen=True)
class DetailCalls:
    """Which detail calls a poll needs.

    ``tasks``: ListTasks (desiredStatus RUNNING) and DescribeTasks of what it lists; ``stopped``: also ListTasks
    (desiredStatus STOPPED), its tasks described in the same DescribeTasks (implies ``tasks``); ``targets``:
    DescribeTargetHealth, one call per target group.
    """

    tasks: bool = False
    stopped: bool = False
    targets: bool = False

    def __bool__(self) -> bool:
        return self.tasks or self.stopped or self.targets


@dataclass(frozen=True)
class WaitState:
    """What the waiter remembers between polls (replaced, never mutated)."""

    service_name: str
    deployment_id: str | None = None
    task_definition_arn: str | None = None
    since: datetime | None = None  # our deployment's createdAt: older service events are not ours
    previous_deployment_ids: tuple = ()
    previous_task_definition_arn: str | None = None
    elapsed: float = 0.0
    polls: int = 0
    api_calls: int = 0
    delay: float = 0.0
    throttles: int = 0  # consecutive throttled polls
    summary: Summary | None = None
    tasks: tuple | None = None  # last DescribeTasks detail (reused while nothing changes)
    target_health: dict | None = None  # last DescribeTargetHealth detail
    targets_read_at: float | None = None  # elapsed when target_health was last read
    stopped: tuple = ()  # StoppedTask, each failed new task once
    unhealthy_since: dict = field(default_factory=dict)  # (tg, id, port) -> elapsed first seen unhealthy
    # The stability window's marks, on this wait's clock (negative: before the wait began): since when each
    # running new task has been RUNNING (task ARN ->) and each of its targets healthy ((tg, id, port) ->).
    running_since: dict = field(default_factory=dict)
    healthy_since: dict = field(default_factory=dict)
    target_reasons: dict = field(default_factory=dict)  # task id -> (tg arn, Reason, Description)
    seen_event_ids: frozenset = frozenset()
    last_change: float = 0.0
    timeline: tuple = ()
    # What came before this wait and counts for the pace (the start step's calls, a failed rollout's wait before
    # its rollback): calls made and seconds spent.
    calls_before: int = 0
    seconds_before: float = 0.0


@dataclass(frozen=True)
class Outcome:
    """What ``wait_for`` returns: the final verdict, the last state (where it stuck) and the elapsed time."""

    verdict: Verdict
    state: WaitState
    elapsed: float


# ---------------------------------------------------------------------------------------------------------
# Small readers of AWS payloads


def task_id(task_arn: str) -> str:
    """``arn:aws:ecs:...:task/cluster/1a2b...`` -> ``1a2b...``."""
    return (task_arn or "").rsplit("/", 1)[-1]


def target_group_name(target_group_arn: str) -> str:
    """``arn:...:targetgroup/web-tg/6d0ecf831eec9f09`` -> ``web-tg``."""
    parts = (target_group_arn or "").split("/")
    return parts[1] if len(parts) >= 3 else target_group_arn


def task_definition_label(task_definition_arn: str | None) -> str:
    """``arn:...:task-definition/web:7`` -> ``web:7``."""
    return (task_definition_arn or "").rsplit("/", 1)[-1]


def _as_datetime(value) -> datetime | None:
    """boto3 gives aware datetimes; recorded JSON may give ISO strings. Naive values are taken as UTC."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if isinstance(value, (int, float)):
        value = datetime.fromtimestamp(value, tz=_UTC)
    if value.tzinfo is None:
        value = value.replace(tzinfo=_UTC)
    return value


def after_newest_event(service: dict | None) -> datetime | None:
    """Just after the service's newest event, on ECS's own clock: a ``since`` that makes all events so far history."""
    events = (service or {}).get("events") or []
    newest = _as_datetime(events[0].get("createdAt")) if events else None
    return newest + timedelta(microseconds=1) if newest else None


def _same_task_definition(arn: str | None, wanted: str | None) -> bool:
    """A full ARN matches itself and its ``family:revision``."""
    if not arn or not wanted:
        return False
    return arn == wanted or task_definition_label(arn) == task_definition_label(wanted)


def find_deployment(service: dict | None, deployment_id: str | None = None, task_definition_arn: str | None = None):
    """Our deployment in ``service['deployments']``: by id, else the newest one of the task definition."""
    deployments = (service or {}).get("deployments") or []
    if deployment_id:
        return next((d for d in deployments if d.get("id") == deployment_id), None)
    if task_definition_arn:
        matching = [d for d in deployments if _same_task_definition(d.get("taskDefinition"), task_definition_arn)]
        if matching:
            return max(matching, key=lambda d: _as_datetime(d.get("createdAt")) or _EPOCH)
    return None


def _primary(service: dict) -> dict | None:
    return next((d for d in service.get("deployments") or [] if d.get("status") == "PRIMARY"), None)


def _deployment_tasks(tasks, deployment_id: str | None, task_definition_arn: str | None) -> list:
    """The tasks of our deployment: started by it (the service scheduler sets startedBy to its id)."""
    mine = []
    for task in tasks or ():
        started_by = task.get("startedBy")
        if started_by:
            if started_by == deployment_id:
                mine.append(task)
        elif _same_task_definition(task.get("taskDefinitionArn"), task_definition_arn):
            mine.append(task)
    return mine


def _is_stopping(task: dict) -> bool:
    return task.get("desiredStatus") == "STOPPED" or task.get("lastStatus") in ("DEACTIVATING", "STOPPING", "STOPPED")


def _running(task: dict) -> bool:
    return task.get("lastStatus") == "RUNNING" and task.get("desiredStatus") == "RUNNING"


def _task_ips(task: dict) -> set:
    """The task's private IPs (awsvpc: the ENI attachment; containers repeat it)."""
    ips = set()
    for attachment in task.get("attachments") or ():
        for detail in attachment.get("details") or ():
            if detail.get("name") == "privateIPv4Address" and detail.get("value"):
                ips.add(detail["value"])
    for container in task.get("containers") or ():
        for interface in container.get("networkInterfaces") or ():
            if interface.get("privateIpv4Address"):
                ips.add(interface["privateIpv4Address"])
    return ips


def stopped_task(task: dict, any_reason: bool = False) -> StoppedTask | None:
    """The task as a failure, or None when it did not stop or stopped for a reason that is not its fault.

    Failures: stopCode TaskFailedToStart (image pull, secrets, ...) or EssentialContainerExited; stopped by
    the scheduler for failing the load balancer's or the container's health checks. Not failures: scale-in
    ("Scaling activity initiated by (deployment ...)"), UserInitiated, SpotInterruption, TerminationNotice.
    ``any_reason``: every stopped task, whatever stopped it (a one-off task, ``ecs_task_run``, judges its exit code).
    """
    if not _is_stopping(task):
        return None
    reason = task.get("stoppedReason") or ""
    code = task.get("stopCode")
    elb = reason.startswith(_ELB_STOP)
    if not (any_reason or elb or code in _FAILURE_STOP_CODES or _CONTAINER_HEALTH_STOP in reason.lower()):
        return None
    containers = tuple(
        (c.get("name"), c.get("exitCode"), c.get("reason")) for c in task.get("containers") or () if c.get("name")
    )
    return StoppedTask(
        task_arn=task.get("taskArn", ""),
        stopped_reason=reason,
        stop_code=code,
        elb=elb,
        containers=containers,
        stopped_at=_as_datetime(task.get("stoppedAt") or task.get("stoppingAt")),
    )


def _container_text(containers) -> str:
    parts = []
    for name, exit_code, reason in containers:
        if exit_code is None and not reason:
            continue
        text = f"container {name}"
        if exit_code is not None:
            text += f" exit code {exit_code}"
        if reason:
            text += f" ({reason})"
        parts.append(text)
    return ", ".join(parts)


def _stopped_text(stopped: StoppedTask, said: str = "") -> str:
    """One failed task in words; its stoppedReason is left out when ``said`` (an event) already quotes it."""
    text = f"task {stopped.task_id} stopped"
    if stopped.stop_code:
        text += f" ({stopped.stop_code})"
    if not (stopped.stopped_reason and stopped.stopped_reason in said):
        text += f": {stopped.stopped_reason or 'no reason given'}"
    containers = _container_text(stopped.containers)
    if containers:
        text += f"; {containers}"
    return text


stopped_text = _stopped_text  # public name: ecs_task_run's messages say a stopped task the same way


def _log_container(stopped: StoppedTask, service: dict | None) -> str | None:
    """The container whose log explains the failure: one that exited non-zero, else the load-balanced one."""
    for name, exit_code, _reason in stopped.containers:
        if exit_code not in (None, 0):
            return name
    for lb in (service or {}).get("loadBalancers") or ():
        if lb.get("containerName"):
            return lb["containerName"]
    return stopped.containers[0][0] if stopped.containers else None


# ---------------------------------------------------------------------------------------------------------
# Service events


def trouble_events(events, since=None, deployment_id: str | None = None) -> list:
    """The service events (newest first, as DescribeServices lists them) that mean trouble.

    Events older than ``since`` (the deployment's createdAt) are history and ignored; an event that
    names another deployment than ``deployment_id`` is about that one. Returns ``(event, pattern)``
    pairs, newest first.
    """
    since = _as_datetime(since)
    found = []
    for event in events or ():
        created = _as_datetime(event.get("createdAt"))
        if since is not None and created is not None and created < since:
            break  # newest first: everything after this is older still
        message = event.get("message") or ""
        named = _EVENT_DEPLOYMENT.search(message)
        if named and deployment_id and named.group(1) != deployment_id:
            continue
        back_to = _ROLLING_BACK.search(message)
        if back_to and deployment_id and back_to.group(1) == deployment_id:
            continue  # ECS rolling back *to* this deployment: that is its start, not its trouble
        for label, pattern in TROUBLE_PATTERNS:
            if pattern.search(message):
                found.append((event, label))
                break
    return found


def _events_since(events, since) -> list:
    since = _as_datetime(since)
    recent = []
    for event in events or ():
        created = _as_datetime(event.get("createdAt"))
        if since is not None and created is not None and created < since:
            break
        recent.append(event)
    return recent


def _rolling_back_to(events, since) -> str | None:
    for event in _events_since(events, since):
        match = _ROLLING_BACK.search(event.get("message") or "")
        if match:
            return match.group(1)
    return None


# ---------------------------------------------------------------------------------------------------------
# Targets


def _target_groups(service: dict) -> list:
    """(target group ARN, container port) of each attached target group (classic ELBs cannot be checked)."""
    return [
        (lb["targetGroupArn"], lb.get("containerPort"))
        for lb in service.get("loadBalancers") or ()
        if lb.get("targetGroupArn")
    ]


def _targets_of(tasks, service: dict, target_health: dict | None) -> list:
    """One row per (running new task, target group): (task, tg arn, key, TargetHealth or None)."""
    rows = []
    for task in tasks:
        ips = _task_ips(task)
        for tg_arn, port in _target_groups(service):
            health = None
            key = None
            for description in (target_health or {}).get(tg_arn) or ():
                target = description.get("Target") or {}
                if target.get("Id") in ips and (port is None or target.get("Port") == port):
                    health = description.get("TargetHealth") or {}
                    key = (tg_arn, target.get("Id"), target.get("Port"))
                    break
            rows.append((task, tg_arn, key, health))
    return rows


# ---------------------------------------------------------------------------------------------------------
# The stability window


def _running_new(observation: Observation, state: WaitState) -> tuple:
    """``(our deployment or {}, its running tasks, target health)`` on this observation (detail reused)."""
    tasks, target_health = _detail(observation, state)
    ours = find_deployment(observation.service, state.deployment_id, state.task_definition_arn) or {}
    deployment_id = ours.get("id") or state.deployment_id
    task_definition_arn = ours.get("taskDefinition") or state.task_definition_arn
    running = [t for t in _deployment_tasks(tasks, deployment_id, task_definition_arn) if _running(t)]
    return ours, running, target_health


def stable_marks(observation: Observation, state: WaitState) -> tuple:
    """``(running_since, healthy_since)`` after this observation: the window's marks (see ``WaitState``).

    A running new task keeps its mark while it runs. A task first seen RUNNING counts from its own ``startedAt``
    (DescribeTasks, ECS's clock) compared with ``observation.at``, so a wait that attaches to tasks that have run
    for a while (a re-run, a watched deployment) does not start their window again; but not from before the
    previous poll, which did not see it running (a controller clock ahead of AWS's cannot shorten the window).
    Without either timestamp it counts from this poll. A target keeps its mark while it stays ``healthy``; first
    seen healthy, it counts from the reading that showed it (on the wait's first look: from its task's mark, as
    nothing says when it turned healthy). A task or target that stops, or turns anything but healthy, loses its
    mark: its window starts again when it is back.
    """
    service = observation.service
    if service is None or observation.throttled:
        return state.running_since, state.healthy_since
    _ours, running, target_health = _running_new(observation, state)
    first_look = state.polls == 0
    elapsed = observation.elapsed
    running_since = {}
    for task in running:
        arn = task.get("taskArn")
        if arn in state.running_since:
            running_since[arn] = state.running_since[arn]
            continue
        mark = elapsed
        started = _as_datetime(task.get("startedAt"))
        if started is not None and observation.at is not None:
            mark = elapsed - max(0.0, (_as_datetime(observation.at) - started).total_seconds())
            if not first_look:
                mark = max(mark, state.elapsed)
        running_since[arn] = mark
    read_at = elapsed if observation.target_health is not None else (state.targets_read_at or elapsed)
    healthy_since = {}
    for task, _tg, key, health in _targets_of(running, service, target_health):
        if key is None or (health or {}).get("State") != "healthy":
            continue
        if key in state.healthy_since:
            healthy_since[key] = state.healthy_since[key]
        else:
            task_mark = running_since[task.get("taskArn")]
            healthy_since[key] = task_mark if first_look else max(read_at, task_mark)
    return running_since, healthy_since


def stable_since(observation: Observation, state: WaitState, marks: tuple | None = None) -> float | None:
    """Since when (this wait's clock) every running new task has been RUNNING and each of its targets healthy.

    None while that is not so: fewer running new tasks in the detail than the deployment wants, a target not
    healthy, or no detail yet. A deployment that wants no task has nothing to wait for (``-inf``).
    """
    service = observation.service
    if service is None or observation.throttled:
        return None
    ours, running, target_health = _running_new(observation, state)
    desired = ours.get("desiredCount", 0)
    if not desired:
        return float("-inf")
    running_since, healthy_since = marks if marks is not None else stable_marks(observation, state)
    if len(running) < desired or any(t.get("taskArn") not in running_since for t in running):
        return None
    times = [running_since[t.get("taskArn")] for t in running]
    for _task, _tg, key, _health in _targets_of(running, service, target_health):
        if key not in healthy_since:
            return None
        times.append(healthy_since[key])
    return max(times)


def vanished(state: WaitState, observation: Observation, calls: DetailCalls) -> bool:
    """Whether a new task the window counted is missing from this poll's running listing (it stopped, or stops).

    ECS can replace a task between two polls with no count to show it (a task that exits just after it started
    and a new one already running): its stopped task is then listed too, for the failure's exit code and reason.
    Not when this poll listed the stopped tasks already, or listed no tasks.
    """
    if calls.stopped or not calls.tasks or observation.tasks is None or not state.running_since:
        return False
    listed = {t.get("taskArn") for t in observation.tasks if t.get("desiredStatus") != "STOPPED"}
    return any(arn not in listed for arn in state.running_since)


# ---------------------------------------------------------------------------------------------------------
# Summary and progress


def _detail(observation: Observation, state: WaitState):
    tasks = observation.tasks if observation.tasks is not None else state.tasks
    targets = observation.target_health if observation.target_health is not None else state.target_health
    return tasks, targets


def _all_stopped(state: WaitState, tasks, deployment_id, task_definition_arn) -> tuple:
    """The failed new tasks seen so far (each once, in the order they stopped)."""
    known = {s.task_arn: s for s in state.stopped}
    for task in _deployment_tasks(tasks, deployment_id, task_definition_arn):
        stopped = stopped_task(task)
        if stopped is not None and stopped.task_arn not in known:
            known[stopped.task_arn] = stopped
    return tuple(sorted(known.values(), key=lambda s: (s.stopped_at or _EPOCH, s.task_arn)))


def summarize(observation: Observation, state: WaitState, options: Options | None = None) -> Summary:
    """Where the rollout stands on this observation (detail from earlier polls is reused)."""
    service = observation.service
    if service is None:
        return state.summary or Summary(service_name=state.service_name)
    window = (options or Options()).stable_for
    up_since = stable_since(observation, state) if window > 0 else None
    stable = None if up_since is None else max(0.0, min(window, observation.elapsed - up_since))
    deployment = find_deployment(service, state.deployment_id, state.task_definition_arn) or {}
    deployment_id = deployment.get("id") or state.deployment_id
    task_definition_arn = deployment.get("taskDefinition") or state.task_definition_arn
    tasks, target_health = _detail(observation, state)
    mine = _deployment_tasks(tasks, deployment_id, task_definition_arn)
    running = [t for t in mine if _running(t)]
    targets_total = None
    targets_healthy = 0
    groups = _target_groups(service)
    if groups:
        # One target per desired task in each target group; healthy ones count among running new tasks.
        targets_total = deployment.get("desiredCount", 0) * len(groups)
        rows = _targets_of(running, service, target_health)
        targets_healthy = min(targets_total, sum(1 for row in rows if (row[3] or {}).get("State") == "healthy"))
    events = service.get("events") or ()
    failed = len(_all_stopped(state, tasks, deployment_id, task_definition_arn))
    mine_ids = {task_id(t.get("taskArn")) for t in mine}
    others = {task_id(t.get("taskArn")) for t in tasks or ()} - mine_ids
    since = state.since or _as_datetime(deployment.get("createdAt"))
    return Summary(
        service_name=service.get("serviceName") or state.service_name,
        service_status=service.get("status"),
        deployment_id=deployment_id,
        deployment_status=deployment.get("status"),
        rollout_state=deployment.get("rolloutState"),
        desired=deployment.get("desiredCount", 0),
        running=deployment.get("runningCount", 0),
        pending=deployment.get("pendingCount", 0),
        deployment_failed_tasks=deployment.get("failedTasks", 0),
        failed=max(failed, deployment.get("failedTasks", 0)),
        targets_healthy=targets_healthy,
        targets_total=targets_total,
        latest_event_id=events[0].get("id") if events else None,
        task_event_id=_task_event_id(events, since, others),
        tasks_known=len(running),
        stable_for=stable,
        stable_window=window,
    )


def _task_event_id(events, since, others: set) -> str | None:
    """The newest event since ``since`` that names a task, unless every task it names belongs to another deployment."""
    for event in _events_since(events, since):
        named = set(_EVENT_TASK.findall(event.get("message") or ""))
        if named and not named <= others:
            return event.get("id")
    return None


def summary_changed(prev: Summary | None, cur: Summary) -> bool:
    """Whether anything moved since the previous poll (the first poll always counts as a change)."""
    return prev is None or prev != cur


def _counts(summary: Summary) -> str:
    text = f"{summary.running}/{summary.desired} new tasks running, {summary.failed} failed"
    if summary.targets_total is not None:
        text += f", targets {summary.targets_healthy}/{summary.targets_total} healthy"
    if summary.stable_window and summary.stable_for is not None:
        text += f", stable for {int(summary.stable_for)}/{summary.stable_window:g} s"
    return text


def window_moved(prev: Summary | None, cur: Summary) -> bool:
    """Whether the stability window's count moved by a whole second (worth a progress line, not a change)."""
    if not cur.stable_window or cur.stable_for is None:
        return False
    return prev is None or prev.stable_for is None or int(prev.stable_for) != int(cur.stable_for)


def progress_line(service_name: str, summary: Summary, elapsed: float) -> str:
    """``web: 2/2 new tasks running, 0 failed, targets 2/2 healthy, stable for 4/10 s (34s)``.

    No targets without a load balancer; the stability window only while every new task is up (and a window is set).
    """
    return f"{service_name}: {_counts(summary)} ({int(elapsed)}s)"


def needs_detail(prev: Summary | None, cur: Summary, targets_fresh: bool = False) -> DetailCalls:
    """Which detail calls this poll needs, given the DescribeServices-level summaries (``prev``: the last poll's).

    - Nothing while the deployment has no running task and none failed: pending tasks have no target yet, and
      one that fails on its way to RUNNING moves ``failedTasks`` or the counts.
    - Tasks (ListTasks RUNNING + DescribeTasks) when our running tasks are there and our counts moved, a new
      service event names a task that is not another deployment's, or the last task detail knows fewer running
      new tasks than ECS counts (it was read mid-start).
    - Stopped tasks too (ListTasks STOPPED) only when a count says a task of ours stopped: ``failedTasks`` went
      up, or fewer tasks run, or fewer run and wait together; on the first look, when ``failedTasks`` is not 0.
    - Targets (DescribeTargetHealth) only with a load balancer and running new tasks: while the new targets are
      not all healthy, except on a poll that lists stopped tasks (their targets drain: nothing to learn there);
      once everything else says success (``looks_done``), also when all were healthy but the reading is not
      ``targets_fresh`` (younger than ``Options.targets_max_age``).

    GetLogEvents is for a FAILED verdict that names ``log_task_arn`` only.
    """
    if prev is not None and prev.deployment_id != cur.deployment_id:
        prev = None  # our deployment was found only now: its counts start afresh
    no_task = cur.running == 0 and cur.pending == 0 and cur.deployment_failed_tasks == 0
    if no_task and (prev is None or prev.running + prev.pending == 0):
        return DetailCalls()  # no task to describe, no target to check (none went away either)
    if prev is None:
        stopped = cur.deployment_failed_tasks > 0
    else:
        stopped = (
            cur.deployment_failed_tasks > prev.deployment_failed_tasks
            or cur.running < prev.running
            or cur.running + cur.pending < prev.running + prev.pending
        )
    moved = prev is None or prev.task_level() != cur.task_level()
    tasks = stopped or (cur.running > 0 and moved) or cur.tasks_known < min(cur.running, cur.desired)
    targets = False
    if cur.targets_total is not None and cur.desired and cur.running:
        groups = cur.targets_total // cur.desired
        waiting_on_targets = cur.targets_healthy < min(cur.running, cur.desired) * groups
        # Done but for the targets: read them unless a fresh reading found them all healthy. Before that: while
        # they come up, not on a poll where tasks stopped (their targets drain).
        done = cur.looks_done()
        targets = (waiting_on_targets or not targets_fresh) if done else (waiting_on_targets and not stopped)
    return DetailCalls(tasks=tasks, stopped=stopped, targets=targets)


def next_poll_delay(state: WaitState, changed: bool, throttled: bool, rng, options: Options | None = None) -> float:
    """Seconds until the next poll.

    Throttled: full-jitter exponential backoff, uniform in [fast, min(cap, fast * 2**n)] for the n-th
    throttled poll in a row. Otherwise fast (2 s) during the first ``fast_period`` seconds (10 s) and for as
    long after any change (things that just moved tend to move again: a failure right after tasks start is
    seen within one fast poll), then x1.5 per quiet poll up to the cap (4 s). While the stability window counts, no
    later than the poll that can close it.
    """
    options = options or Options()
    if throttled:
        attempts = max(1, state.throttles)
        ceiling = min(options.throttle_cap, options.fast_delay * 2**attempts)
        delay = rng.uniform(options.fast_delay, max(options.fast_delay, ceiling))
    elif changed or state.elapsed - state.last_change < options.fast_period:
        delay = options.fast_delay
    else:
        delay = min(options.max_delay, max(options.fast_delay, state.delay) * options.growth)
    stable = state.summary.stable_for if state.summary is not None and not throttled else None
    if options.stable_for > 0 and stable is not None and stable < options.stable_for:
        delay = min(delay, options.stable_for - stable + _WINDOW_MARGIN)
    return max(delay, pace(state, options))


def pace(state: WaitState, options: Options) -> float:
    """The least delay that keeps the calls within ``options.calls_per_minute``.

    Counted from the rollout's start: the calls made so far (``calls_before`` + this wait's) plus the next
    poll's ``calls_per_poll``, less ``call_burst``, must fit in the time spent by then (``seconds_before`` +
    ``elapsed`` + the delay). The adaptive polling stays under it on its own; the pace is the guarantee when
    changes keep coming (detail calls on every poll), and it never delays the first polls.
    """
    if not options.calls_per_minute:
        return 0.0
    calls = state.calls_before + state.api_calls + options.calls_per_poll - options.call_burst
    return max(0.0, calls * 60.0 / options.calls_per_minute - (state.seconds_before + state.elapsed))


def needs_failure_detail(verdict: Verdict, calls: DetailCalls, observation: Observation) -> bool:
    """Whether a failure verdict should look for our stopped tasks before it is final.

    ECS can fail a deployment and roll it back between two polls (tasks that crash at once): the deployment may
    then be gone from DescribeServices, its counts with it, and no poll listed its stopped tasks. One listing of
    the stopped tasks (ListTasks STOPPED + DescribeTasks) gives the verdict their exit codes and reasons, and the
    log lines. Not when this poll listed them already, or the verdict names a task already.
    """
    return (
        verdict.kind == FAILED
        and verdict.reason_code in ("circuit_breaker_rollback", "deployment_failed", "trouble_event")
        and verdict.log_task_arn is None
        and not calls.stopped
        and observation.service is not None
    )


# ---------------------------------------------------------------------------------------------------------
# The decision


def _verdict(kind, deployment_id, reason_code=None, message="", **extra) -> Verdict:
    return Verdict(kind=kind, reason_code=reason_code, message=message, deployment_id=deployment_id, **extra)


def _failure_detail(stopped_tasks, said: str = "") -> str:
    return "; ".join(_stopped_text(s, said) for s in stopped_tasks)


def _with_tasks(message: str, stopped_tasks) -> str:
    return f"{message}; {_failure_detail(stopped_tasks, message)}" if stopped_tasks else message


def _log_fields(stopped_tasks, service) -> dict:
    if not stopped_tasks:
        return {}
    last = stopped_tasks[-1]
    return {
        "task_ids": tuple(s.task_id for s in stopped_tasks),
        "log_task_arn": last.task_arn,
        "log_container": _log_container(last, service),
    }


def _rollback(name, ours_id, reason, primary, stopped_tasks, service) -> Verdict:
    why = f" ({reason})" if reason else ""
    message = (
        f"{name}: deployment {ours_id} failed{why} and ECS is rolling back to deployment {primary.get('id')} "
        f"(task definition {task_definition_label(primary.get('taskDefinition'))})"
    )
    return _verdict(
        FAILED,
        ours_id,
        "circuit_breaker_rollback",
        _with_tasks(message, stopped_tasks),
        rollback_deployment_id=primary.get("id"),
        **_log_fields(stopped_tasks, service),
    )


def _is_rollback(primary: dict, state: WaitState, rolling_back_to: str | None, ours: dict | None) -> bool:
    """An older deployment made PRIMARY again (ECS's rollback re-activates it), or ECS said so."""
    if primary.get("id") == rolling_back_to or primary.get("id") in state.previous_deployment_ids:
        return True
    ours_created = _as_datetime((ours or {}).get("createdAt")) or state.since
    primary_created = _as_datetime(primary.get("createdAt"))
    return bool(ours_created and primary_created and primary_created < ours_created)


def evaluate(observation: Observation, state: WaitState, options: Options | None = None) -> Verdict:
    """The verdict on one observation (see the module docstring for the order of the rules)."""
    options = options or Options()
    name = state.service_name
    ours_id = state.deployment_id
    if observation.throttled:
        return _timeout_or_waiting(observation, state, options, ours_id, "throttled; waiting")
    service = observation.service
    if service is None:
        missing = [f for f in observation.failures if f.get("reason") == "MISSING"]
        detail = ", ".join(f"{f.get('reason')} {f.get('arn')}" for f in (missing or observation.failures))
        return _verdict(
            FAILED,
            ours_id,
            "service_missing",
            f"{name}: the service no longer exists (DescribeServices: {detail or 'no service returned'})",
        )
    name = service.get("serviceName") or name
    if service.get("status") in ("DRAINING", "INACTIVE"):
        status = service["status"]
        return _verdict(
            FAILED,
            ours_id,
            "service_inactive",
            f"{name}: the service is {status} (deleted or being deleted) while waiting for deployment {ours_id}",
        )

    ours = find_deployment(service, ours_id, state.task_definition_arn)
    if ours is not None:
        ours_id = ours.get("id")
    since = _as_datetime((ours or {}).get("createdAt")) or state.since
    task_definition_arn = (ours or {}).get("taskDefinition") or state.task_definition_arn
    tasks, target_health = _detail(observation, state)
    stopped_tasks = _all_stopped(state, tasks, ours_id, task_definition_arn)
    primary = _primary(service)
    events = service.get("events") or ()
    rolling_back_to = _rolling_back_to(events, since)

    # 2. Our deployment: not found, replaced, failed.
    if ours is None:
        if ours_id is None:
            wanted = task_definition_label(state.task_definition_arn) or "?"
            return _verdict(
                FAILED,
                None,
                "deployment_not_found",
                f"{name}: no deployment of task definition {wanted} in the service",
            )
        if primary is not None and _is_rollback(primary, state, rolling_back_to, None):
            return _rollback(name, ours_id, None, primary, stopped_tasks, service)
        by = ""
        if primary is not None:
            label = task_definition_label(primary.get("taskDefinition"))
            by = f" by deployment {primary.get('id')} (task definition {label})"
        return _verdict(
            FAILED,
            ours_id,
            "superseded",
            f"{name}: deployment {ours_id} was superseded{by} before it completed",
        )
    reason = ours.get("rolloutStateReason") if ours.get("rolloutState") == "FAILED" else None
    if primary is not None and primary.get("id") != ours_id:
        if ours.get("rolloutState") == "FAILED" or _is_rollback(primary, state, rolling_back_to, ours):
            return _rollback(name, ours_id, reason, primary, stopped_tasks, service)
        return _verdict(
            FAILED,
            ours_id,
            "superseded",
            f"{name}: deployment {ours_id} was superseded by deployment {primary.get('id')} "
            f"(task definition {task_definition_label(primary.get('taskDefinition'))}) before it completed",
        )
    if rolling_back_to and rolling_back_to != ours_id:
        # ECS said so before DescribeServices shows the older deployment PRIMARY again.
        target = find_deployment(service, rolling_back_to) or {
            "id": rolling_back_to,
            "taskDefinition": state.previous_task_definition_arn,
        }
        return _rollback(name, ours_id, reason, target, stopped_tasks, service)
    if ours.get("rolloutState") == "FAILED":
        message = f"{name}: deployment {ours_id} failed: {reason or 'rolloutState FAILED'}"
        return _verdict(
            FAILED,
            ours_id,
            "deployment_failed",
            _with_tasks(message, stopped_tasks),
            **_log_fields(stopped_tasks, service),
        )

    # 3. Failed new tasks beyond the tolerance.
    if len(stopped_tasks) > options.tolerated_stopped_tasks:
        completed = ours.get("rolloutState") == "COMPLETED"
        return _tasks_failed(name, ours_id, stopped_tasks, options, state, service, completed)

    # 4. Targets of running new tasks unhealthy for too long.
    mine = _deployment_tasks(tasks, ours_id, task_definition_arn)
    running = [t for t in mine if _running(t)]
    rows = _targets_of(running, service, target_health)
    grace = max(options.unhealthy_grace, service.get("healthCheckGracePeriodSeconds") or 0)
    for task, tg_arn, key, health in rows:
        if health and health.get("State") == "unhealthy":
            first = state.unhealthy_since.get(key, observation.elapsed)
            if observation.elapsed - first >= grace:
                return _verdict(
                    FAILED,
                    ours_id,
                    "targets_unhealthy",
                    f"{name}: deployment {ours_id} failed: target {key[1]}:{key[2]} of task "
                    f"{task_id(task.get('taskArn'))} unhealthy in target group {target_group_name(tg_arn)} "
                    f"for {int(observation.elapsed - first)}s: {_health_text(health)}",
                    task_ids=(task_id(task.get("taskArn")),),
                    log_task_arn=task.get("taskArn"),
                    log_container=_log_container(_as_stopped_view(task), service),
                )

    # 5. Service events that mean trouble.
    trouble = trouble_events(events, since, ours_id)
    if trouble:
        event, label = trouble[-1]  # the first one that happened
        return _verdict(
            FAILED,
            ours_id,
            "trouble_event",
            _with_tasks(
                f"{name}: deployment {ours_id} failed: ECS reported {label}: {event.get('message')}", stopped_tasks
            ),
            **_log_fields(stopped_tasks, service),
        )

    # 6. Success (with a stability window: once it is over).
    if _succeeded(ours, service, running, rows, tasks):
        summary = summarize(observation, state, options)
        if options.stable_for <= 0 or (summary.stable_for or 0.0) >= options.stable_for:
            return _verdict(
                SUCCEEDED,
                ours_id,
                None,
                f"{name}: deployment {ours_id} (task definition {task_definition_label(task_definition_arn)}) "
                f"completed: {_counts(summary)}",
            )
        return _timeout_or_waiting(observation, state, options, ours_id, f"waiting: {_counts(summary)}")

    # 7. Timeout.
    return _timeout_or_waiting(observation, state, options, ours_id, "waiting")


def _health_text(health: dict) -> str:
    parts = [health.get("State") or "?"]
    if health.get("Reason"):
        parts.append(health["Reason"])
    if health.get("Description"):
        parts.append(health["Description"])
    return ": ".join(parts)


def _as_stopped_view(task: dict) -> StoppedTask:
    containers = tuple((c.get("name"), c.get("exitCode"), c.get("reason")) for c in task.get("containers") or ())
    return StoppedTask(task.get("taskArn", ""), "", None, False, containers)


def _tasks_failed(name, ours_id, stopped_tasks, options, state, service, completed=False) -> Verdict:
    elb = [s for s in stopped_tasks if s.elb]
    count = len(stopped_tasks)
    tolerated = options.tolerated_stopped_tasks
    head = f"{name}: deployment {ours_id} failed: {count} new task{'s' if count != 1 else ''} stopped"
    head += f" (tolerated: {tolerated})"
    if completed and options.stable_for > 0:
        head += f" after the deployment completed, within the {options.stable_for:g} s stability window"
    if elb:
        details = []
        for s in stopped_tasks:
            text = _stopped_text(s)
            seen = state.target_reasons.get(s.task_id)
            if seen:
                text += f"; last target health in {target_group_name(seen[0])}: " + ": ".join(
                    part for part in seen[1:] if part
                )
            details.append(text)
        return _verdict(
            FAILED,
            ours_id,
            "targets_unhealthy",
            f"{head}, failing the load balancer health checks: " + "; ".join(details),
            **_log_fields(stopped_tasks, service),
        )
    return _verdict(
        FAILED,
        ours_id,
        "tasks_stopped",
        f"{head}: {_failure_detail(stopped_tasks)}",
        **_log_fields(stopped_tasks, service),
    )


def _succeeded(ours, service, running, rows, tasks) -> bool:
    if ours.get("status") != "PRIMARY":
        return False
    rollout = ours.get("rolloutState")
    if rollout is None:
        if len(service.get("deployments") or ()) != 1:
            return False
    elif rollout != "COMPLETED":
        return False
    desired = ours.get("desiredCount", 0)
    if ours.get("runningCount", 0) != desired or ours.get("pendingCount", 0) != 0:
        return False
    if desired == 0 or not _target_groups(service):
        return True
    if tasks is None or len(running) < desired:
        return False  # no detail yet, or DescribeTasks lags behind
    return all((health or {}).get("State") == "healthy" for _task, _tg, _key, health in rows)


def _timeout_or_waiting(observation, state, options, ours_id, what) -> Verdict:
    if observation.elapsed >= options.timeout:
        where = _counts(state.summary) if state.summary else "no observation yet"
        return _verdict(
            FAILED,
            ours_id,
            "timeout",
            f"{state.service_name}: timed out after {int(observation.elapsed)}s waiting for deployment "
            f"{ours_id}: {where}",
        )
    return _verdict(WAITING, ours_id, None, f"{state.service_name}: {what}")


# ---------------------------------------------------------------------------------------------------------
# State, timeline, logs


def start_state(
    service: dict,
    deployment_id: str | None = None,
    task_definition_arn: str | None = None,
    previous_task_definition_arn: str | None = None,
) -> WaitState:
    """The waiter's state from the service as UpdateService (or a first DescribeServices) returned it."""
    ours = find_deployment(service, deployment_id, task_definition_arn)
    others = [d for d in service.get("deployments") or () if ours is None or d.get("id") != ours.get("id")]
    if previous_task_definition_arn is None and others:
        newest = max(others, key=lambda d: _as_datetime(d.get("createdAt")) or _EPOCH)
        previous_task_definition_arn = newest.get("taskDefinition")
    state = WaitState(
        service_name=service.get("serviceName") or "",
        deployment_id=(ours or {}).get("id") or deployment_id,
        task_definition_arn=(ours or {}).get("taskDefinition") or task_definition_arn,
        since=_as_datetime((ours or {}).get("createdAt")),
        previous_deployment_ids=tuple(d.get("id") for d in others),
        previous_task_definition_arn=previous_task_definition_arn,
    )
    label = task_definition_label(state.task_definition_arn)
    what = f"watching deployment {state.deployment_id or '?'} (task definition {label})"
    return replace(state, timeline=(timeline_entry(0.0, "start", what),))


def timeline_entry(elapsed: float, kind: str, message: str, at=None) -> dict:
    """One timeline row: seconds since the wait began, a kind (start, event, progress, throttled, verdict)."""
    at = _as_datetime(at)
    return {
        "elapsed": round(float(elapsed), 1),
        "at": at.isoformat() if at else None,
        "kind": kind,
        "message": message,
    }


def advance(state: WaitState, observation: Observation, verdict: Verdict, now=None, options=None) -> tuple:
    """The state after this observation, and whether anything moved (``(state, changed)``).

    A progress line goes to the timeline on a change, and each whole second the stability window moved.
    """
    options = options or Options()
    elapsed = observation.elapsed
    timeline = list(state.timeline)
    base = replace(state, elapsed=elapsed, polls=state.polls + 1, api_calls=state.api_calls + observation.api_calls)
    if observation.throttled:
        timeline.append(timeline_entry(elapsed, "throttled", "AWS throttled the poll; backing off", now))
        new = replace(base, throttles=state.throttles + 1, timeline=tuple(timeline))
        if verdict.done:
            new = replace(new, timeline=(*new.timeline, timeline_entry(elapsed, "verdict", verdict.message, now)))
        return new, False
    service = observation.service
    tasks, target_health = _detail(observation, state)
    ours = find_deployment(service, state.deployment_id, state.task_definition_arn) if service else None
    deployment_id = (ours or {}).get("id") or state.deployment_id
    task_definition_arn = (ours or {}).get("taskDefinition") or state.task_definition_arn
    since = state.since or _as_datetime((ours or {}).get("createdAt"))
    new = replace(
        base,
        throttles=0,
        deployment_id=deployment_id,
        task_definition_arn=task_definition_arn,
        since=since,
        tasks=tasks,
        target_health=target_health,
        targets_read_at=elapsed if observation.target_health is not None else state.targets_read_at,
    )
    # New service events since the deployment began, oldest first.
    seen = set(state.seen_event_ids)
    for event in reversed(_events_since((service or {}).get("events"), since)):
        if event.get("id") not in seen:
            seen.add(event.get("id"))
            timeline.append(timeline_entry(elapsed, "event", event.get("message", ""), event.get("createdAt")))
    stopped = _all_stopped(state, tasks, deployment_id, task_definition_arn)
    unhealthy_since = {}
    target_reasons = dict(state.target_reasons)
    if service is not None:
        running = [t for t in _deployment_tasks(tasks, deployment_id, task_definition_arn) if _running(t)]
        for task, tg_arn, key, health in _targets_of(running, service, target_health):
            if health and health.get("State") == "unhealthy":
                unhealthy_since[key] = state.unhealthy_since.get(key, elapsed)
                target_reasons[task_id(task.get("taskArn"))] = (tg_arn, health.get("Reason"), health.get("Description"))
    # The window's marks are kept only when there is a window (without one, nothing reads them).
    running_since, healthy_since = stable_marks(observation, state) if options.stable_for > 0 else ({}, {})
    summary = summarize(observation, state, options)
    changed = summary_changed(state.summary, summary)
    if changed or window_moved(state.summary, summary):
        timeline.append(timeline_entry(elapsed, "progress", progress_line(summary.service_name, summary, elapsed), now))
    if verdict.done:
        timeline.append(timeline_entry(elapsed, "verdict", verdict.message, now))
    new = replace(
        new,
        summary=summary,
        stopped=stopped,
        unhealthy_since=unhealthy_since,
        running_since=running_since,
        healthy_since=healthy_since,
        target_reasons=target_reasons,
        seen_event_ids=frozenset(seen),
        last_change=elapsed if changed else state.last_change,
        timeline=tuple(timeline),
    )
    return new, changed


def log_target(task_definition: dict, container_name: str, task_arn: str) -> tuple | None:
    """``(log group, log stream)`` of a container of a task, from the task definition's awslogs options.

    The awslogs driver names the stream ``<awslogs-stream-prefix>/<container name>/<task id>``. None when
    the container does not log to CloudWatch Logs with a prefix (the stream name is then not knowable).
    """
    definition = task_definition.get("taskDefinition", task_definition)
    for container in definition.get("containerDefinitions") or ():
        if container.get("name") != container_name:
            continue
        config = container.get("logConfiguration") or {}
        options = config.get("options") or {}
        if config.get("logDriver") != "awslogs" or not options.get("awslogs-group"):
            return None
        prefix = options.get("awslogs-stream-prefix")
        if not prefix:
            return None
        return options["awslogs-group"], f"{prefix}/{container_name}/{task_id(task_arn)}"
    return None


def attach_log_tail(verdict: Verdict, log_events, max_lines: int = 20) -> Verdict:
    """The verdict with the last lines of the failed container's log (GetLogEvents ``events``) appended."""
    lines = [(e.get("message") or "").rstrip("\n") for e in log_events or ()][-max_lines:]
    if not lines:
        return verdict
    who = f"{verdict.log_container} (task {task_id(verdict.log_task_arn or '')})"
    return replace(verdict, message=verdict.message + f"\nLast log lines of {who}:\n" + "\n".join(lines))


def result(outcome: Outcome) -> dict:
    """The module's result fields (snake_case) for an outcome."""
    verdict = outcome.verdict
    state = outcome.state
    return {
        "verdict": verdict.kind,
        "reason_code": verdict.reason_code,
        "message": verdict.message,
        "deployment_id": verdict.deployment_id or state.deployment_id,
        "task_definition_arn": state.task_definition_arn,
        "previous_task_definition_arn": state.previous_task_definition_arn,
        "rollback_deployment_id": verdict.rollback_deployment_id,
        "failed_task_ids": list(verdict.task_ids),
        "elapsed": round(outcome.elapsed, 1),
        "api_calls": state.api_calls,
        "polls": state.polls,
        "summary": state.summary.as_dict() if state.summary else None,
        "timeline": list(state.timeline),
    }


# ---------------------------------------------------------------------------------------------------------
# The loop


def wait_for(
    fetch_service,
    fetch_detail,
    state: WaitState,
    options: Options | None = None,
    *,
    clock,
    sleep,
    rng=None,
    report=None,
    now=None,
    max_polls: int | None = None,
    initial: Observation | None = None,
) -> Outcome:
    """Poll until a verdict: the whole waiting loop, with every effect passed in.

    ``fetch_service()`` -> Observation without detail (``throttled=True`` when AWS throttled it);
    ``fetch_detail(observation, state, calls)`` -> the observation with ``tasks``/``target_health`` for
    the DetailCalls asked; ``clock()`` monotonic seconds; ``sleep(seconds)``; ``report(line)`` gets one
    progress line per change; ``now()`` a wall-clock datetime for the timeline. ``max_polls`` (replays)
    ends the loop with the WAITING verdict after that many polls. ``initial``: the service as the caller
    just read it (UpdateService's or DescribeServices' answer, its calls already counted), taken as the
    first poll instead of asking again.
    """
    options = options or Options()
    rng = rng or random.SystemRandom()
    started = clock()
    while True:
        elapsed = clock() - started
        at = now() if now else None
        if initial is not None:
            observation, initial = replace(initial, elapsed=elapsed, api_calls=0, at=at), None
        else:
            observation = replace(fetch_service(), elapsed=elapsed, at=at)
        if not observation.throttled and observation.service is not None:
            preliminary = summarize(observation, state)
            read_at = state.targets_read_at
            fresh = read_at is not None and elapsed - read_at <= options.targets_max_age
            calls = needs_detail(state.summary, preliminary, targets_fresh=fresh)
            if calls:
                observation = replace(fetch_detail(observation, state, calls), elapsed=elapsed, at=at)
        else:
            calls = DetailCalls()
        verdict = evaluate(observation, state, options)
        if needs_failure_detail(verdict, calls, observation) or (
            verdict.kind == WAITING and vanished(state, observation, calls)
        ):
            detailed = fetch_detail(observation, state, DetailCalls(tasks=True, stopped=True))
            if not detailed.throttled:
                observation = replace(detailed, elapsed=elapsed, at=at)
                verdict = evaluate(observation, state, options)
        before = state.summary
        state, changed = advance(state, observation, verdict, at, options)
        if (changed or window_moved(before, state.summary)) and report is not None:
            report(progress_line(state.summary.service_name, state.summary, elapsed))
        if verdict.done or (max_polls is not None and state.polls >= max_polls):
            return Outcome(verdict, state, elapsed)
        delay = next_poll_delay(state, changed, observation.throttled, rng, options)
        delay = max(0.0, min(delay, options.timeout - elapsed))
        state = replace(state, delay=delay)
        sleep(delay)


def replay(
    observations, state: WaitState, options: Options | None = None, rng=None, report=None, started_at=None
) -> Outcome:
    """Run ``wait_for`` over recorded observations (one per poll), on a clock that only sleeping moves.

    ``started_at`` (a datetime): the wall clock when the replayed wait began (it moves with the replay's clock), for
    the stability window to read the tasks' ``startedAt``; None: no wall clock (the window counts from the polls).

    Each observation holds a whole poll's answers; its detail is handed out only when ``wait_for`` asks, as
    AWS would answer: without ``stopped`` the listing holds no task whose desiredStatus is STOPPED. API calls
    counted: DescribeServices 1, tasks 2 (ListTasks RUNNING + DescribeTasks), stopped 1 more (ListTasks
    STOPPED), DescribeTargetHealth one per target group. A recording that ends before a verdict gives the
    WAITING verdict of its last poll.
    """
    polls = list(observations)
    clock = {"now": 0.0, "poll": 0}

    def fetch_service():
        poll = polls[clock["poll"]]
        return replace(poll, tasks=None, target_health=None, api_calls=1)

    def fetch_detail(observation, _state, calls):
        poll = polls[clock["poll"]]
        api_calls = observation.api_calls
        tasks = observation.tasks
        target_health = observation.target_health
        if calls.tasks or calls.stopped:
            tasks = tuple(t for t in poll.tasks or () if calls.stopped or t.get("desiredStatus") != "STOPPED")
            api_calls += 2 + (1 if calls.stopped else 0)
        if calls.targets:
            target_health = poll.target_health
            api_calls += len(_target_groups(poll.service or {}))
        return replace(observation, tasks=tasks, target_health=target_health, api_calls=api_calls)

    def sleep(seconds):
        clock["poll"] += 1
        clock["now"] += seconds

    return wait_for(
        fetch_service,
        fetch_detail,
        state,
        options,
        clock=lambda: clock["now"],
        sleep=sleep,
        rng=rng or random.Random(0),  # noqa: S311 - poll jitter, not security
        report=report,
        now=None if started_at is None else lambda: _as_datetime(started_at) + timedelta(seconds=clock["now"]),
        max_polls=len(polls),
    )


def observation_from_responses(
    describe_services: dict,
    describe_tasks: dict | None = None,
    target_health: dict | None = None,
    elapsed: float = 0.0,
    throttled: bool = False,
) -> Observation:
    """An Observation from boto3 responses: DescribeServices, DescribeTasks (or None: not fetched) and
    DescribeTargetHealth per target group ARN (or None)."""
    if throttled:
        return Observation(elapsed=elapsed, throttled=True)
    services = describe_services.get("services") or []
    return Observation(
        service=services[0] if services else None,
        failures=tuple(describe_services.get("failures") or ()),
        tasks=None if describe_tasks is None else tuple(describe_tasks.get("tasks") or ()),
        target_health=None
        if target_health is None
        else {arn: list(answer.get("TargetHealthDescriptions") or ()) for arn, answer in target_health.items()},
        elapsed=elapsed,
    )
