# Copyright: Shipyard maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where a rollout stands, in numbers (``Summary``) and in words: progress lines, stopped tasks, the timeline, the
module's result."""

from __future__ import annotations

from dataclasses import replace

from ansible_collections.shipyard.fargate.plugins.module_utils.rollout.facts import derive
from ansible_collections.shipyard.fargate.plugins.module_utils.rollout.model import (
    Facts,
    Observation,
    Options,
    Outcome,
    StoppedTask,
    Summary,
    Verdict,
    WaitState,
)
from ansible_collections.shipyard.fargate.plugins.module_utils.rollout.payloads import (
    as_datetime,
    target_groups,
    task_event_id,
    task_id,
)

# An old target in one of these states gets no new requests: it drains, or the target group no longer has it.
_NOT_SERVING = ("draining", "unused")


def old_draining(facts: Facts) -> bool:
    """Every target of the attached target groups that is not one of our running new tasks' drains (or is gone)."""
    return all((health or {}).get("State") in _NOT_SERVING for _tg, _id, _port, health in facts.old_targets)


def summarize(
    observation: Observation, state: WaitState, options: Options | None = None, facts: Facts | None = None
) -> Summary:
    """Where the rollout stands on this observation (detail from earlier polls is reused)."""
    service = observation.service
    if service is None or observation.throttled:
        return state.summary or Summary(service_name=state.service_name)
    options = options or Options()
    facts = facts or derive(observation, state, options)
    window = options.stable_for
    up_since = facts.stable_since if window > 0 else None
    stable = None if up_since is None else max(0.0, min(window, observation.elapsed - up_since))
    deployment = facts.ours or {}
    groups = target_groups(service)
    targets_total = None
    targets_healthy = 0
    if groups:
        # One target per desired task in each target group; healthy ones count among running new tasks.
        targets_total = deployment.get("desiredCount", 0) * len(groups)
        healthy = sum(1 for row in facts.rows if (row[3] or {}).get("State") == "healthy")
        targets_healthy = min(targets_total, healthy)
    draining = None
    if options.success_at == "cutover" and groups and facts.target_health is not None:
        draining = old_draining(facts)
    events = service.get("events") or ()
    return Summary(
        service_name=service.get("serviceName") or state.service_name,
        service_status=service.get("status"),
        deployment_id=facts.deployment_id,
        deployment_status=deployment.get("status"),
        rollout_state=deployment.get("rolloutState"),
        desired=deployment.get("desiredCount", 0),
        running=deployment.get("runningCount", 0),
        pending=deployment.get("pendingCount", 0),
        deployment_failed_tasks=deployment.get("failedTasks", 0),
        failed=max(len(facts.stopped), deployment.get("failedTasks", 0)),
        targets_healthy=targets_healthy,
        targets_total=targets_total,
        latest_event_id=events[0].get("id") if events else None,
        task_event_id=task_event_id(events, facts.since, facts.others),
        tasks_known=len(facts.running),
        stable_for=stable,
        stable_window=window,
        old_draining=draining,
    )


def summary_changed(prev: Summary | None, cur: Summary) -> bool:
    """Whether anything moved since the previous poll (the first poll always counts as a change)."""
    return prev is None or prev != cur


def counts(summary: Summary) -> str:
    """``2/2 new tasks running, 0 failed, targets 2/2 healthy, stable for 4/10 s``."""
    text = f"{summary.running}/{summary.desired} new tasks running, {summary.failed} failed"
    if summary.targets_total is not None:
        text += f", targets {summary.targets_healthy}/{summary.targets_total} healthy"
    if summary.stable_window and summary.stable_for is not None:
        text += f", stable for {int(summary.stable_for)}/{summary.stable_window:g} s"
    return text


def window_moved(prev: Summary | None, cur: Summary | None) -> bool:
    """Whether the stability window's count moved by a whole second (worth a progress line, not a change). No
    summary yet (the wait's first polls were throttled): nothing moved."""
    if cur is None or not cur.stable_window or cur.stable_for is None:
        return False
    return prev is None or prev.stable_for is None or int(prev.stable_for) != int(cur.stable_for)


def progress_line(service_name: str, summary: Summary, elapsed: float) -> str:
    """``web: 2/2 new tasks running, 0 failed, targets 2/2 healthy, stable for 4/10 s (34s)``.

    No targets without a load balancer; the stability window only while every new task is up (and a window is set).
    """
    return f"{service_name}: {counts(summary)} ({int(elapsed)}s)"


def container_text(containers) -> str:
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


def stopped_text(stopped: StoppedTask, said: str = "") -> str:
    """One failed task in words; its stoppedReason is left out when ``said`` (an event) already quotes it."""
    text = f"task {stopped.task_id} stopped"
    if stopped.stop_code:
        text += f" ({stopped.stop_code})"
    if not (stopped.stopped_reason and stopped.stopped_reason in said):
        text += f": {stopped.stopped_reason or 'no reason given'}"
    containers = container_text(stopped.containers)
    if containers:
        text += f"; {containers}"
    return text


def retried_text(retries: int) -> str:
    """A poll's timeline line when botocore made attempts again (throttled, a 5xx, a dropped connection)."""
    return f"AWS throttled/failed {retries} call{'s' if retries != 1 else ''}; retried with backoff"


def calls_text(calls: int, retries: int = 0) -> str:
    """``12 AWS calls`` or, when AWS throttled or failed some and they were made again, ``12 AWS calls (3 retried)``."""
    return f"{calls} AWS calls" + (f" ({retries} retried)" if retries > 0 else "")


def timeline_entry(elapsed: float, kind: str, message: str, at=None) -> dict:
    """One timeline row: seconds since the wait began, a kind (start, event, progress, throttled, retried,
    verdict)."""
    at = as_datetime(at)
    return {
        "elapsed": round(float(elapsed), 1),
        "at": at.isoformat() if at else None,
        "kind": kind,
        "message": message,
    }


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
        "api_retries": state.api_retries,
        "polls": state.polls,
        "summary": state.summary.as_dict() if state.summary else None,
        "timeline": list(state.timeline),
        "deployment_source": verdict.source,
        "service_deployment_arn": state.service_deployment_arn,
    }
