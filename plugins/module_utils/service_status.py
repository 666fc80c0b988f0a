# Copyright: Shipyard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a service runs and whether it is steady: pure functions over ECS / ELBv2 answers (boto3 shapes).

``summarize`` turns DescribeServices, DescribeTaskDefinition, DescribeTasks and DescribeTargetHealth answers into
the status ``shipyard.fargate.ecs_service_status`` returns; ``problems`` says, one sentence each, why a status is
not steady (empty when it is); ``exec_command`` is the ``aws ecs execute-command`` line for a shell in a task.
No AWS calls here: the module does those, the unit tests feed recorded answers.
"""

from __future__ import annotations

import datetime
import re

# datetime.UTC is Python 3.11+; module_utils also import on the older Pythons of managed hosts.
_UTC = datetime.timezone.utc  # noqa: UP017

_COMMIT = re.compile(r"^[0-9a-f]{7,40}$")
_DIGEST = re.compile(r"@(sha256:[0-9a-f]{64})$")


def _iso(value):
    """A boto3 datetime (or epoch seconds, or an ISO string) -> ISO 8601 in UTC; None stays None."""
    if value is None:
        return None
    if isinstance(value, (int, float)):
        value = datetime.datetime.fromtimestamp(value, tz=_UTC)
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=_UTC)
        return value.astimezone(_UTC).isoformat().replace("+00:00", "Z")
    return str(value)


def task_id(task_arn):
    """``arn:aws:ecs:r:a:task/cluster/0123abcd`` -> ``0123abcd`` (the last path element)."""
    return (task_arn or "").rsplit("/", 1)[-1]


def split_image(image):
    """``repo:tag``, ``repo@sha256:...`` or ``repo:tag@sha256:...`` -> (repository, tag or None, digest or None)."""
    digest = None
    match = _DIGEST.search(image or "")
    if match:
        digest = match.group(1)
        image = image[: match.start()]
    repository, tag = image, None
    last = image.rsplit("/", 1)[-1]
    if ":" in last:
        repository, tag = image.rsplit(":", 1)
    return repository, tag, digest


def commit_of(tags):
    """The git commit among an image's tags (the image role tags each build with its commit): the longest
    hexadecimal tag of 7-40 characters, else None."""
    found = sorted((t for t in tags or () if _COMMIT.match(t)), key=len, reverse=True)
    return found[0] if found else None


def essential_container(task_definition, wanted=None):
    """The container of interest: ``wanted`` when given, else the first essential one (else the first)."""
    containers = (task_definition or {}).get("containerDefinitions") or []
    if wanted:
        return next((c for c in containers if c.get("name") == wanted), None)
    return next((c for c in containers if c.get("essential", True)), containers[0] if containers else None)


def primary_deployment(service):
    deployments = service.get("deployments") or []
    return next((d for d in deployments if d.get("status") == "PRIMARY"), deployments[0] if deployments else None)


def _targets(target_health):
    """{target group ARN: DescribeTargetHealth descriptions} -> a flat list, one entry per target."""
    found = []
    for group_arn, descriptions in sorted((target_health or {}).items()):
        for item in descriptions or []:
            target, health = item.get("Target") or {}, item.get("TargetHealth") or {}
            found.append(
                {
                    "target_group": group_arn.rsplit("/", 2)[-2] if group_arn.count("/") >= 2 else group_arn,
                    "target_group_arn": group_arn,
                    "id": target.get("Id"),
                    "port": target.get("Port"),
                    "state": health.get("State"),
                    "reason": health.get("Reason"),
                    "description": health.get("Description"),
                }
            )
    return found


def summarize(service, task_definition, tasks, target_health, events=5, commit=None, container=None):
    """The status of one service.

    ``service``: one DescribeServices entry; ``task_definition``: DescribeTaskDefinition's ``taskDefinition`` of
    the PRIMARY deployment (None: not found); ``tasks``: DescribeTasks entries of its RUNNING tasks;
    ``target_health``: {target group ARN: ``TargetHealthDescriptions``}; ``events``: how many service events;
    ``commit``: the commit the image was built from, when the caller found it; ``container``: the container to
    report (default the essential one).
    """
    primary = primary_deployment(service) or {}
    definition_arn = primary.get("taskDefinition") or service.get("taskDefinition")
    chosen = essential_container(task_definition, container) or {}
    name = chosen.get("name")
    image = chosen.get("image")
    _repository, tag, digest = split_image(image)
    running_tasks = []
    for task in sorted(tasks or [], key=lambda t: t.get("taskArn", "")):
        mine = next((c for c in task.get("containers") or [] if c.get("name") == name), {})
        digest = digest or mine.get("imageDigest")
        running_tasks.append(
            {
                "task_id": task_id(task.get("taskArn")),
                "task_arn": task.get("taskArn"),
                "task_definition": (task.get("taskDefinitionArn") or "").rsplit("/", 1)[-1],
                "last_status": task.get("lastStatus"),
                "health_status": task.get("healthStatus"),
                "started_at": _iso(task.get("startedAt")),
                "image_digest": mine.get("imageDigest"),
                "exec_enabled": bool(task.get("enableExecuteCommand")),
            }
        )
    return {
        "service": service.get("serviceName"),
        "cluster": (service.get("clusterArn") or "").rsplit("/", 1)[-1],
        "status": service.get("status"),
        "task_definition": (definition_arn or "").rsplit("/", 1)[-1] or None,
        "task_definition_arn": definition_arn,
        "container": name,
        "image": image,
        "image_tag": tag,
        "image_digest": digest,
        "commit": commit or (tag if tag and _COMMIT.match(tag) else None),
        "desired": service.get("desiredCount", 0),
        "running": service.get("runningCount", 0),
        "pending": service.get("pendingCount", 0),
        "deployment": {
            "id": primary.get("id"),
            "rollout_state": primary.get("rolloutState"),
            "rollout_state_reason": primary.get("rolloutStateReason"),
            "created_at": _iso(primary.get("createdAt")),
            "updated_at": _iso(primary.get("updatedAt")),
        },
        "deployments": len(service.get("deployments") or []),
        "last_deployed": _iso(primary.get("createdAt")),
        "exec_enabled": bool(service.get("enableExecuteCommand")),
        "tasks": running_tasks,
        "targets": _targets(target_health),
        "events": [
            {"created_at": _iso(e.get("createdAt")), "message": e.get("message")}
            for e in (service.get("events") or [])[: max(events, 0)]
        ],
    }


def problems(status):
    """Why ``status`` (from :func:`summarize`) is not steady, one sentence each; empty when it is steady: ACTIVE, the
    PRIMARY deployment COMPLETED and alone, running == desired, nothing pending, every target healthy."""
    found = []
    name = status.get("service")
    if status.get("status") != "ACTIVE":
        found.append(f"service {name} is {status.get('status') or 'missing'}")
        return found
    deployment = status.get("deployment") or {}
    state = deployment.get("rollout_state")
    if state != "COMPLETED":
        reason = deployment.get("rollout_state_reason")
        found.append(f"deployment {state or 'unknown'} (not COMPLETED)" + (f": {reason}" if reason else ""))
    elif status.get("deployments", 1) > 1:
        found.append(f"{status['deployments']} deployments (an older one is still draining)")
    if status.get("running") != status.get("desired"):
        found.append(f"running {status.get('running')} != desired {status.get('desired')}")
    if status.get("pending"):
        found.append(f"{status['pending']} task(s) pending")
    for target in status.get("targets") or []:
        if target.get("state") != "healthy":
            why = target.get("reason") or "no reason given"
            if target.get("description"):
                why += f": {target['description']}"
            found.append(f"target {target.get('id')}:{target.get('port')} is {target.get('state')} ({why})")
    return found


def exec_command(cluster, task, container, region=None):
    """The ``aws ecs execute-command`` line for an interactive shell in ``container`` of ``task`` (ID or ARN)."""
    line = f"aws ecs execute-command --cluster {cluster} --task {task_id(task)} --container {container}"
    if region:
        line += f" --region {region}"
    return line + " --interactive --command /bin/sh"


def lines(status, problem_list, exec_line=None):
    """The human summary: a list of lines for ``debug``."""
    deployment = status.get("deployment") or {}
    out = [
        f"{status.get('service')} in {status.get('cluster')}: "
        + ("steady" if not problem_list else "NOT steady: " + "; ".join(problem_list)),
        f"  task definition {status.get('task_definition')}, container {status.get('container')}",
        f"  image {status.get('image')} (digest {status.get('image_digest') or '-'}, "
        f"commit {status.get('commit') or '-'})",
        f"  desired {status.get('desired')} / running {status.get('running')} / pending {status.get('pending')}; "
        f"deployment {deployment.get('rollout_state')} since {status.get('last_deployed')}",
    ]
    for target in status.get("targets") or []:
        extra = f" ({target['reason']})" if target.get("reason") else ""
        out.append(f"  target {target.get('id')}:{target.get('port')} {target.get('state')}{extra}")
    for task in status.get("tasks") or []:
        out.append(f"  task {task['task_id']} {task['last_status']} since {task['started_at']}")
    for event in status.get("events") or []:
        out.append(f"  event {event['created_at']} {event['message']}")
    if exec_line:
        out.append(f"  shell: {exec_line}")
    return out
