# Copyright: Shipyard maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading AWS answers: DescribeServices (deployments, events), DescribeTasks, DescribeTargetHealth,
DescribeTaskDefinition, as boto3 returns them (or as JSON brings them back: ISO strings for datetimes).

Small pure readers; no boto3 or Ansible import.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from ansible_collections.shipyard.fargate.plugins.module_utils.rollout.model import Observation, StoppedTask

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
UTC = timezone.utc  # noqa: UP017
EPOCH = datetime.min.replace(tzinfo=UTC)
_CONTAINER_HEALTH_STOP = "failed container health checks"


# ---------------------------------------------------------------------------------------------------------
# Ids, labels, times


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


def as_datetime(value) -> datetime | None:
    """boto3 gives aware datetimes; recorded JSON may give ISO strings. Naive values are taken as UTC."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if isinstance(value, (int, float)):
        value = datetime.fromtimestamp(value, tz=UTC)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


def after_newest_event(service: dict | None) -> datetime | None:
    """Just after the service's newest event, on ECS's own clock: a ``since`` that makes all events so far history."""
    events = (service or {}).get("events") or []
    newest = as_datetime(events[0].get("createdAt")) if events else None
    return newest + timedelta(microseconds=1) if newest else None


def same_task_definition(arn: str | None, wanted: str | None) -> bool:
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
        matching = [d for d in deployments if same_task_definition(d.get("taskDefinition"), task_definition_arn)]
        if matching:
            return max(matching, key=lambda d: as_datetime(d.get("createdAt")) or EPOCH)
    return None


def primary(service: dict) -> dict | None:
    return next((d for d in service.get("deployments") or [] if d.get("status") == "PRIMARY"), None)


def deployment_tasks(tasks, deployment_id: str | None, task_definition_arn: str | None) -> list:
    """The tasks of our deployment: started by it (the service scheduler sets startedBy to its id)."""
    mine = []
    for task in tasks or ():
        started_by = task.get("startedBy")
        if started_by:
            if started_by == deployment_id:
                mine.append(task)
        elif same_task_definition(task.get("taskDefinitionArn"), task_definition_arn):
            mine.append(task)
    return mine


def is_stopping(task: dict) -> bool:
    return task.get("desiredStatus") == "STOPPED" or task.get("lastStatus") in ("DEACTIVATING", "STOPPING", "STOPPED")


def is_running(task: dict) -> bool:
    return task.get("lastStatus") == "RUNNING" and task.get("desiredStatus") == "RUNNING"


def task_ips(task: dict) -> set:
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
    if not is_stopping(task):
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
        stopped_at=as_datetime(task.get("stoppedAt") or task.get("stoppingAt")),
    )


# ---------------------------------------------------------------------------------------------------------
# Service events


def trouble_events(events, since=None, deployment_id: str | None = None) -> list:
    """The service events (newest first, as DescribeServices lists them) that mean trouble.

    Events older than ``since`` (the deployment's createdAt) are history and ignored; an event that
    names another deployment than ``deployment_id`` is about that one. Returns ``(event, pattern)``
    pairs, newest first.
    """
    since = as_datetime(since)
    found = []
    for event in events or ():
        created = as_datetime(event.get("createdAt"))
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


def events_since(events, since) -> list:
    since = as_datetime(since)
    recent = []
    for event in events or ():
        created = as_datetime(event.get("createdAt"))
        if since is not None and created is not None and created < since:
            break
        recent.append(event)
    return recent


def rolling_back_to(events, since) -> str | None:
    for event in events_since(events, since):
        match = _ROLLING_BACK.search(event.get("message") or "")
        if match:
            return match.group(1)
    return None


# ---------------------------------------------------------------------------------------------------------
# Targets


def target_groups(service: dict) -> list:
    """(target group ARN, container port) of each attached target group (classic ELBs cannot be checked)."""
    return [
        (lb["targetGroupArn"], lb.get("containerPort"))
        for lb in service.get("loadBalancers") or ()
        if lb.get("targetGroupArn")
    ]


def targets_of(tasks, service: dict, target_health: dict | None) -> list:
    """One row per (running new task, target group): (task, tg arn, key, TargetHealth or None)."""
    rows = []
    for task in tasks:
        ips = task_ips(task)
        for tg_arn, port in target_groups(service):
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


def old_targets(service: dict, target_health: dict | None, rows) -> tuple:
    """The targets of the attached target groups that are not our running new tasks': (tg arn, id, port, health)."""
    ours = {key for _task, _tg, key, _health in rows if key is not None}
    found = []
    for tg_arn, port in target_groups(service):
        for description in (target_health or {}).get(tg_arn) or ():
            target = description.get("Target") or {}
            key = (tg_arn, target.get("Id"), target.get("Port"))
            if key in ours or (port is not None and target.get("Port") not in (None, port)):
                continue
            found.append((tg_arn, target.get("Id"), target.get("Port"), description.get("TargetHealth") or {}))
    return tuple(found)


def task_event_id(events, since, others: set) -> str | None:
    """The newest event since ``since`` that names a task, unless every task it names belongs to another deployment."""
    for event in events_since(events, since):
        named = set(_EVENT_TASK.findall(event.get("message") or ""))
        if named and not named <= others:
            return event.get("id")
    return None


# ---------------------------------------------------------------------------------------------------------
# Task definitions, whole answers


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


# What the waiter reads of a task (DescribeTasks); the rest stays behind (answers between module runs stay small).
_TASK_KEYS = (
    "taskArn", "startedBy", "taskDefinitionArn", "lastStatus", "desiredStatus", "stoppedReason", "stopCode",
    "stoppedAt", "stoppingAt", "startedAt", "createdAt", "group",
)  # fmt: skip


def compact_task(task: dict) -> dict:
    """A DescribeTasks task reduced to what the decisions read: its ids, statuses, times, stop reason, private IPs
    and each container's name, exit code and reason."""
    small = {key: task[key] for key in _TASK_KEYS if task.get(key) is not None}
    ips = sorted(task_ips(task))
    if ips:
        small["attachments"] = [{"details": [{"name": "privateIPv4Address", "value": ip} for ip in ips]}]
    containers = []
    for container in task.get("containers") or ():
        kept = {key: container[key] for key in ("name", "exitCode", "reason", "lastStatus") if key in container}
        containers.append(kept)
    if containers:
        small["containers"] = containers
    return small
