# Copyright: Shipyard maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The verdict on one observation: is an ECS service deployment done, still going, or failed, and why.

First match wins:

1. the service is gone (``service_missing``) or being deleted (``service_inactive``);
2. our deployment was never found (``deployment_not_found``), was replaced by ECS rolling back to an
   older deployment (``circuit_breaker_rollback``) or by someone else's newer one (``superseded``), or
   ECS marked it FAILED (``deployment_failed``). Where the endpoint has ECS's deployment API, our service
   deployment's own status decides (ROLLBACK_*: ``circuit_breaker_rollback``; STOPPED: ``superseded`` when another
   deployment is PRIMARY, else ``deployment_failed``; SUCCESSFUL: completed); elsewhere DescribeServices'
   rolloutState and the service events do (``Verdict.source`` says which);
3. more new tasks stopped than tolerated: ``targets_unhealthy`` when ECS stopped them for failing the
   load balancer's health checks, ``tasks_stopped`` otherwise (crash, image pull, secrets, container
   health check);
4. a target of a running new task stayed unhealthy longer than allowed (``targets_unhealthy``);
5. a service event since the deployment started means trouble (``trouble_event``);
6. success: our deployment is PRIMARY and COMPLETED, running equals desired, nothing pending, and
   every target of every running new task is healthy in each attached target group (old targets
   that drain are not ours and do not count); at cutover (``Options.success_at``), instead of COMPLETED: every
   old target of those target groups draining (or gone); with a stability window (``Options.stable_for``), only
   once every running new task has been RUNNING, and each of its targets healthy, for that long; a new task that
   stops inside the window is a stopped task (rule 3);
7. the timeout (``timeout``, with the last observed state); otherwise WAITING.
"""

from __future__ import annotations

from ansible_collections.shipyard.fargate.plugins.module_utils.rollout import service_deployments
from ansible_collections.shipyard.fargate.plugins.module_utils.rollout.facts import derive
from ansible_collections.shipyard.fargate.plugins.module_utils.rollout.model import (
    FAILED,
    SOURCE_DEPLOYMENT_API,
    SOURCE_EVENTS,
    SUCCEEDED,
    WAITING,
    Facts,
    Observation,
    Options,
    StoppedTask,
    Verdict,
    WaitState,
)
from ansible_collections.shipyard.fargate.plugins.module_utils.rollout.payloads import (
    as_datetime,
    find_deployment,
    primary,
    rolling_back_to,
    target_group_name,
    target_groups,
    task_definition_label,
    task_id,
    trouble_events,
)
from ansible_collections.shipyard.fargate.plugins.module_utils.rollout.progress import (
    counts,
    old_draining,
    stopped_text,
    summarize,
)

# What the service events say about the deployment itself: the deployment API says it instead, where there is one.
_DEPLOYMENT_LEVEL_TROUBLE = ("deployment failed", "rolling back")


def _verdict(kind, deployment_id, reason_code=None, message="", **extra) -> Verdict:
    return Verdict(kind=kind, reason_code=reason_code, message=message, deployment_id=deployment_id, **extra)


def _failure_detail(stopped_tasks, said: str = "") -> str:
    return "; ".join(stopped_text(s, said) for s in stopped_tasks)


def _with_tasks(message: str, stopped_tasks) -> str:
    return f"{message}; {_failure_detail(stopped_tasks, message)}" if stopped_tasks else message


def log_container(stopped: StoppedTask, service: dict | None) -> str | None:
    """The container whose log explains the failure: one that exited non-zero, else the load-balanced one."""
    for name, exit_code, _reason in stopped.containers:
        if exit_code not in (None, 0):
            return name
    for lb in (service or {}).get("loadBalancers") or ():
        if lb.get("containerName"):
            return lb["containerName"]
    return stopped.containers[0][0] if stopped.containers else None


def _log_fields(stopped_tasks, service) -> dict:
    if not stopped_tasks:
        return {}
    last = stopped_tasks[-1]
    return {
        "task_ids": tuple(s.task_id for s in stopped_tasks),
        "log_task_arn": last.task_arn,
        "log_container": log_container(last, service),
    }


def _rollback(name, ours_id, reason, target, stopped_tasks, service, source) -> Verdict:
    why = f" ({reason})" if reason else ""
    to = f"deployment {target.get('id')}" if target.get("id") else "the previous deployment"
    message = (
        f"{name}: deployment {ours_id} failed{why} and ECS is rolling back to {to} "
        f"(task definition {task_definition_label(target.get('taskDefinition'))})"
    )
    return _verdict(
        FAILED,
        ours_id,
        "circuit_breaker_rollback",
        _with_tasks(message, stopped_tasks),
        rollback_deployment_id=target.get("id"),
        source=source,
        **_log_fields(stopped_tasks, service),
    )


def _is_rollback(primary_: dict, state: WaitState, rolling_back: str | None, ours: dict | None) -> bool:
    """An older deployment made PRIMARY again (ECS's rollback re-activates it), or ECS said so."""
    if primary_.get("id") == rolling_back or primary_.get("id") in state.previous_deployment_ids:
        return True
    ours_created = as_datetime((ours or {}).get("createdAt")) or state.since
    primary_created = as_datetime(primary_.get("createdAt"))
    return bool(ours_created and primary_created and primary_created < ours_created)


def _superseded(name, ours_id, primary_, source, why="") -> Verdict:
    by = ""
    if primary_ is not None:
        label = task_definition_label(primary_.get("taskDefinition"))
        by = f" by deployment {primary_.get('id')} (task definition {label})"
    return _verdict(
        FAILED, ours_id, "superseded", f"{name}: deployment {ours_id} was superseded{by} before it completed{why}",
        source=source,
    )  # fmt: skip


def _rollback_target(service, primary_, ours_id, state) -> dict:
    if primary_ is not None and primary_.get("id") != ours_id:
        return primary_
    return {"id": None, "taskDefinition": state.previous_task_definition_arn}


def _by_deployment_api(name, facts: Facts, state: WaitState, primary_) -> Verdict | None:
    """Rule 2 from ECS's deployment API: our service deployment's own status (None: it says nothing final)."""
    record = facts.service_deployment
    status = service_deployments.status(record)
    ours_id = facts.deployment_id
    why = service_deployments.reason(record)
    if status in service_deployments.ROLLED_BACK:
        target = _rollback_target(facts.service, primary_, ours_id, state)
        reason = f"{status}: {why}" if why else status
        return _rollback(name, ours_id, reason, target, facts.stopped, facts.service, SOURCE_DEPLOYMENT_API)
    if status in service_deployments.STOPPED:
        if primary_ is not None and primary_.get("id") != ours_id:
            return _superseded(name, ours_id, primary_, SOURCE_DEPLOYMENT_API, f" ({status}: {why})" if why else "")
        message = f"{name}: deployment {ours_id} failed: ECS {status.lower().replace('_', ' ')} it"
        message += f" ({why})" if why else ""
        return _verdict(
            FAILED, ours_id, "deployment_failed", _with_tasks(message, facts.stopped),
            source=SOURCE_DEPLOYMENT_API, **_log_fields(facts.stopped, facts.service),
        )  # fmt: skip
    return None


def evaluate(
    observation: Observation, state: WaitState, options: Options | None = None, facts: Facts | None = None
) -> Verdict:
    """The verdict on one observation (see the module docstring for the order of the rules)."""
    options = options or Options()
    name = state.service_name
    ours_id = state.deployment_id
    api = observation.service_deployment is not None or (
        state.service_deployment is not None and state.deployment_api is not False
    )
    source = SOURCE_DEPLOYMENT_API if api else SOURCE_EVENTS
    if observation.throttled:
        return _timeout_or_waiting(observation, state, options, ours_id, "throttled; waiting", source)
    service = observation.service
    if service is None:
        missing = [f for f in observation.failures if f.get("reason") == "MISSING"]
        detail = ", ".join(f"{f.get('reason')} {f.get('arn')}" for f in (missing or observation.failures))
        return _verdict(
            FAILED,
            ours_id,
            "service_missing",
            f"{name}: the service no longer exists (DescribeServices: {detail or 'no service returned'})",
            source=source,
        )
    name = service.get("serviceName") or name
    if service.get("status") in ("DRAINING", "INACTIVE"):
        status = service["status"]
        return _verdict(
            FAILED,
            ours_id,
            "service_inactive",
            f"{name}: the service is {status} (deleted or being deleted) while waiting for deployment {ours_id}",
            source=source,
        )

    facts = facts or derive(observation, state, options)
    ours = facts.ours
    ours_id = facts.deployment_id
    stopped_tasks = facts.stopped
    primary_ = primary(service)
    events = service.get("events") or ()
    since = facts.verdict_since
    record = facts.service_deployment if api else None

    # 2. Our deployment: not found, replaced, failed.
    if ours is None and ours_id is None:
        wanted = task_definition_label(state.task_definition_arn) or "?"
        return _verdict(
            FAILED,
            None,
            "deployment_not_found",
            f"{name}: no deployment of task definition {wanted} in the service",
            source=source,
        )
    if record is not None:
        decided = _by_deployment_api(name, facts, state, primary_)
        if decided is not None:
            return decided
        rolling_back = None  # the deployment API says how it went: no reading of the events' words
    else:
        rolling_back = rolling_back_to(events, since)
    if ours is None:
        if primary_ is not None and _is_rollback(primary_, state, rolling_back, None):
            return _rollback(name, ours_id, None, primary_, stopped_tasks, service, source)
        return _superseded(name, ours_id, primary_, source)
    reason = ours.get("rolloutStateReason") if ours.get("rolloutState") == "FAILED" else None
    if primary_ is not None and primary_.get("id") != ours_id:
        if ours.get("rolloutState") == "FAILED" or _is_rollback(primary_, state, rolling_back, ours):
            return _rollback(name, ours_id, reason, primary_, stopped_tasks, service, source)
        return _superseded(name, ours_id, primary_, source)
    if rolling_back and rolling_back != ours_id:
        # ECS said so before DescribeServices shows the older deployment PRIMARY again.
        target = find_deployment(service, rolling_back) or {
            "id": rolling_back,
            "taskDefinition": state.previous_task_definition_arn,
        }
        return _rollback(name, ours_id, reason, target, stopped_tasks, service, source)
    if ours.get("rolloutState") == "FAILED":
        message = f"{name}: deployment {ours_id} failed: {reason or 'rolloutState FAILED'}"
        return _verdict(
            FAILED,
            ours_id,
            "deployment_failed",
            _with_tasks(message, stopped_tasks),
            source=source,
            **_log_fields(stopped_tasks, service),
        )

    # 3. Failed new tasks beyond the tolerance.
    if len(stopped_tasks) > options.tolerated_stopped_tasks:
        completed = ours.get("rolloutState") == "COMPLETED"
        return _tasks_failed(name, ours_id, stopped_tasks, options, state, service, completed, source)

    # 4. Targets of running new tasks unhealthy for too long.
    grace = max(options.unhealthy_grace, service.get("healthCheckGracePeriodSeconds") or 0)
    for task, tg_arn, key, health in facts.rows:
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
                    log_container=log_container(_as_stopped_view(task), service),
                    source=source,
                )

    # 5. Service events that mean trouble (with the deployment API: the task-level ones only).
    trouble = [
        (event, label)
        for event, label in trouble_events(events, since, ours_id)
        if record is None or label not in _DEPLOYMENT_LEVEL_TROUBLE
    ]
    if trouble:
        event, label = trouble[-1]  # the first one that happened
        return _verdict(
            FAILED,
            ours_id,
            "trouble_event",
            _with_tasks(
                f"{name}: deployment {ours_id} failed: ECS reported {label}: {event.get('message')}", stopped_tasks
            ),
            source=source,
            **_log_fields(stopped_tasks, service),
        )

    # 6. Success (at completion or at cutover; with a stability window: once it is over).
    cutover = options.success_at == "cutover" and _cut_over(ours, facts)
    if cutover or _succeeded(ours, facts, record):
        summary = summarize(observation, state, options, facts)
        if options.stable_for <= 0 or (summary.stable_for or 0.0) >= options.stable_for:
            label = task_definition_label(facts.task_definition_arn)
            done = "serving; old tasks draining" if cutover and not _succeeded(ours, facts, record) else "completed"
            return _verdict(
                SUCCEEDED,
                ours_id,
                None,
                f"{name}: deployment {ours_id} (task definition {label}) {done}: {counts(summary)}",
                source=source,
            )
        return _timeout_or_waiting(observation, state, options, ours_id, f"waiting: {counts(summary)}", source)

    # 7. Timeout.
    return _timeout_or_waiting(observation, state, options, ours_id, "waiting", source)


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


def _tasks_failed(name, ours_id, stopped_tasks, options, state, service, completed, source) -> Verdict:
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
            text = stopped_text(s)
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
            source=source,
            **_log_fields(stopped_tasks, service),
        )
    return _verdict(
        FAILED,
        ours_id,
        "tasks_stopped",
        f"{head}: {_failure_detail(stopped_tasks)}",
        source=source,
        **_log_fields(stopped_tasks, service),
    )


def _all_up(ours: dict, facts: Facts) -> bool:
    """Running equals desired with nothing pending, and every target of every running new task healthy."""
    desired = ours.get("desiredCount", 0)
    if ours.get("runningCount", 0) != desired or ours.get("pendingCount", 0) != 0:
        return False
    if desired == 0 or not target_groups(facts.service):
        return True
    if facts.tasks is None or len(facts.running) < desired:
        return False  # no detail yet, or DescribeTasks lags behind
    return all((health or {}).get("State") == "healthy" for _task, _tg, _key, health in facts.rows)


def _succeeded(ours: dict, facts: Facts, record: dict | None) -> bool:
    if ours.get("status") != "PRIMARY":
        return False
    rollout = ours.get("rolloutState")
    if record is not None and service_deployments.status(record) == service_deployments.SUCCESSFUL:
        pass  # ECS's deployment API says the deployment is done
    elif rollout is None:
        if len(facts.service.get("deployments") or ()) != 1:
            return False
    elif rollout != "COMPLETED":
        return False
    return _all_up(ours, facts)


def _cut_over(ours: dict, facts: Facts) -> bool:
    """At cutover: ours PRIMARY and all up, and every old target draining or gone (needs a load balancer)."""
    if ours.get("status") != "PRIMARY" or ours.get("rolloutState") == "FAILED":
        return False
    if not target_groups(facts.service) or facts.target_health is None:
        return False
    return _all_up(ours, facts) and old_draining(facts)


def _timeout_or_waiting(observation, state, options, ours_id, what, source=SOURCE_EVENTS) -> Verdict:
    if observation.elapsed >= options.timeout:
        where = counts(state.summary) if state.summary else "no observation yet"
        return _verdict(
            FAILED,
            ours_id,
            "timeout",
            f"{state.service_name}: timed out after {int(observation.elapsed)}s waiting for deployment "
            f"{ours_id}: {where}",
            source=source,
        )
    return _verdict(WAITING, ours_id, None, f"{state.service_name}: {what}", source=source)
