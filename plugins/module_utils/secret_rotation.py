# Copyright: Shipyard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whether a service's tasks run with a secret value older than the one Secrets Manager holds (pure functions).

ECS reads a task's secrets once, when the task starts. A secret changed after the oldest RUNNING task of the
service's PRIMARY deployment started is therefore not seen by that task: the service must be rolled (a new
deployment, UpdateService ``forceNewDeployment``) for its tasks to read it. ``shipyard.fargate.ecs_rollout``
(option ``roll_on_secret_change``) makes the reads (DescribeTaskDefinition, ListTasks + DescribeTasks,
DescribeSecret: never GetSecretValue) and asks :func:`decide` here. Unit tests: tests/unit/test_secret_rotation.py.
:func:`observe` makes those reads through a ``StepCalls``-like ``call`` (ecs_rollout, service_deploy_info).
"""

from __future__ import annotations

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code

MAX_DESCRIBE_TASKS = 100  # DescribeTasks takes at most 100 tasks a call

# arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 chars>[:<json-key>:<version-stage>:<version-id>]
_SECRET_ARN_PARTS = 7


def secret_id(value_from):
    """The secret ARN a container's ``secrets[].valueFrom`` names (None: an SSM parameter, or not an ARN)."""
    parts = (value_from or "").split(":")
    if len(parts) >= _SECRET_ARN_PARTS and parts[2] == "secretsmanager" and parts[5] == "secret":
        return ":".join(parts[:_SECRET_ARN_PARTS])
    return None


def referenced_secrets(task_definition):
    """The Secrets Manager secrets (ARNs, sorted, once each) a task definition's containers read."""
    found = set()
    for container in (task_definition or {}).get("containerDefinitions") or []:
        for secret in container.get("secrets") or []:
            ident = secret_id(secret.get("valueFrom"))
            if ident:
                found.add(ident)
    return sorted(found)


def primary_task_starts(service, tasks):
    """``startedAt`` of the RUNNING tasks of the service's PRIMARY deployment (ECS sets a service task's
    ``startedBy`` to its deployment's id)."""
    primary = next((d for d in (service or {}).get("deployments") or [] if d.get("status") == "PRIMARY"), None)
    if primary is None:
        return []
    return [
        task["startedAt"]
        for task in tasks or []
        if task.get("lastStatus") == "RUNNING" and task.get("startedAt") and task.get("startedBy") == primary.get("id")
    ]


def _stamp(when):
    return when.isoformat(timespec="seconds") if hasattr(when, "isoformat") else str(when)


def decide(changed_at, task_starts):
    """Roll or not. ``changed_at``: secret name -> its ``LastChangedDate`` (None: never changed); ``task_starts``: the
    ``startedAt`` of the RUNNING tasks of the PRIMARY deployment. Only a change strictly after the oldest task
    started counts (an equal time is the value that task read). No task running: nothing runs an old value.

    Returns ``{"roll", "reason", "secrets", "tasks_started_at"}``: ``secrets`` the names changed since (sorted),
    ``reason`` one sentence (None when there is nothing to roll).
    """
    started = min(task_starts) if task_starts else None
    if started is None:
        return {"roll": False, "reason": None, "secrets": [], "tasks_started_at": None}
    newer = sorted((name, when) for name, when in (changed_at or {}).items() if when is not None and when > started)
    if not newer:
        return {"roll": False, "reason": None, "secrets": [], "tasks_started_at": _stamp(started)}
    changes = ", ".join(f"{name} changed at {_stamp(when)}" for name, when in newer)
    noun = "secret" if len(newer) == 1 else "secrets"
    reason = f"{noun} {changes} after the tasks started at {_stamp(started)}: rolling the service so they read it"
    return {
        "roll": True,
        "reason": reason,
        "secrets": [name for name, _when in newer],
        "tasks_started_at": _stamp(started),
    }


def observe(call, cluster, service, task_definition, known=None):
    """Read what :func:`decide` needs for ``service`` (running on ``task_definition``) and decide.

    ``call(operation, api="ecs", **kwargs)`` makes one AWS call (``StepCalls``); ``known``: secrets described
    already, by the id the task definition names them with (DescribeSecret is then not made again). A secret that is
    gone is left out: there is no new value to read (the tasks' own start fails on it, and says so).
    """
    secrets = referenced_secrets(task_definition)
    if not secrets:
        return decide({}, [])
    arns, token = [], None
    while True:
        kwargs = {"cluster": cluster, "serviceName": service["serviceName"], "desiredStatus": "RUNNING"}
        page = call("list_tasks", **(dict(kwargs, nextToken=token) if token else kwargs))
        arns.extend(page.get("taskArns") or [])
        token = page.get("nextToken")
        if not token:
            break
    tasks = []
    for start in range(0, len(arns), MAX_DESCRIBE_TASKS):
        tasks += call("describe_tasks", cluster=cluster, tasks=arns[start : start + MAX_DESCRIBE_TASKS])["tasks"]
    starts = primary_task_starts(service, tasks)
    changed = {}
    for ident in secrets if starts else []:
        described = (known or {}).get(ident)
        if described is None:
            try:
                described = call("describe_secret", api="secretsmanager", SecretId=ident)
            except is_boto3_error_code("ResourceNotFoundException"):
                continue
        changed[described.get("Name") or ident] = described.get("LastChangedDate")
    return decide(changed, starts)
