# Copyright: Shipyard maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The waiter's state, a poll's observation and a wait's outcome across the module boundary, as JSON-able dicts.

The action plugin keeps the state between polls; the module's observe step needs it to decide, in the same run,
which detail calls the poll needs (``loop.observe``): what crosses for a poll is what those decisions read, not the
timeline. A wait made whole in one module run (the wait step) returns its outcome with the whole state, timeline
included. Tasks cross reduced to what the decisions read (``payloads.compact_task``).
"""

from __future__ import annotations

from dataclasses import asdict, fields

from ansible_collections.shipyard.fargate.plugins.module_utils.rollout.model import (
    Observation,
    Outcome,
    StoppedTask,
    Summary,
    Verdict,
    WaitState,
)
from ansible_collections.shipyard.fargate.plugins.module_utils.rollout.payloads import as_datetime, compact_task

_SUMMARY_FIELDS = tuple(f.name for f in fields(Summary))
_STOPPED_FIELDS = tuple(f.name for f in fields(StoppedTask))


def _iso(value):
    value = as_datetime(value)
    return value.isoformat() if value is not None else None


def _keyed(marks: dict) -> list:
    """``{(tg, id, port): seconds}`` -> ``[[tg, id, port, seconds], ...]`` (JSON has no tuple keys)."""
    return [[*key, value] for key, value in marks.items()]


def _unkeyed(rows) -> dict:
    return {tuple(row[:3]): row[3] for row in rows or ()}


def _tasks(tasks):
    return None if tasks is None else [compact_task(t) for t in tasks]


def state_to_wire(state: WaitState, whole: bool = False) -> dict:
    """What ``loop.observe`` reads of the state, for the module's observe step; ``whole``: the timeline and the
    throttle count too (a wait's outcome)."""
    stopped = []
    for s in state.stopped:
        row = asdict(s)
        row["containers"] = [list(c) for c in s.containers]
        row["stopped_at"] = _iso(s.stopped_at)
        stopped.append(row)
    wire = {
        "service_name": state.service_name,
        "deployment_id": state.deployment_id,
        "task_definition_arn": state.task_definition_arn,
        "since": _iso(state.since),
        "previous_deployment_ids": list(state.previous_deployment_ids),
        "previous_task_definition_arn": state.previous_task_definition_arn,
        "elapsed": state.elapsed,
        "polls": state.polls,
        "summary": None if state.summary is None else {name: getattr(state.summary, name) for name in _SUMMARY_FIELDS},
        "tasks": _tasks(state.tasks),
        "target_health": state.target_health,
        "targets_read_at": state.targets_read_at,
        "stopped": stopped,
        "unhealthy_since": _keyed(state.unhealthy_since),
        "running_since": dict(state.running_since),
        "healthy_since": _keyed(state.healthy_since),
        "target_reasons": {key: list(value) for key, value in state.target_reasons.items()},
        "deployment_api": state.deployment_api,
        "service_deployment_arn": state.service_deployment_arn,
        "service_deployment": state.service_deployment,
        # What the module's own polling (loop.watch) reads: the events already seen, the last change and delay,
        # and the pace's counts.
        "seen_event_ids": sorted(state.seen_event_ids),
        "last_change": state.last_change,
        "delay": state.delay,
        "api_calls": state.api_calls,
        "api_retries": state.api_retries,
        "calls_before": state.calls_before,
        "seconds_before": state.seconds_before,
    }
    if whole:
        wire.update(timeline=[dict(entry) for entry in state.timeline], throttles=state.throttles)
    return wire


def state_from_wire(wire: dict) -> WaitState:
    summary = wire.get("summary")
    stopped = tuple(
        StoppedTask(
            **{
                **{name: row.get(name) for name in _STOPPED_FIELDS},
                "containers": tuple(tuple(c) for c in row.get("containers") or ()),
                "stopped_at": as_datetime(row.get("stopped_at")),
            }
        )
        for row in wire.get("stopped") or ()
    )
    tasks = wire.get("tasks")
    return WaitState(
        service_name=wire.get("service_name") or "",
        deployment_id=wire.get("deployment_id"),
        task_definition_arn=wire.get("task_definition_arn"),
        since=as_datetime(wire.get("since")),
        previous_deployment_ids=tuple(wire.get("previous_deployment_ids") or ()),
        previous_task_definition_arn=wire.get("previous_task_definition_arn"),
        elapsed=float(wire.get("elapsed") or 0.0),
        polls=int(wire.get("polls") or 0),
        summary=None if summary is None else Summary(**{k: v for k, v in summary.items() if k in _SUMMARY_FIELDS}),
        tasks=None if tasks is None else tuple(tasks),
        target_health=wire.get("target_health"),
        targets_read_at=wire.get("targets_read_at"),
        stopped=stopped,
        unhealthy_since=_unkeyed(wire.get("unhealthy_since")),
        running_since=dict(wire.get("running_since") or {}),
        healthy_since=_unkeyed(wire.get("healthy_since")),
        target_reasons={key: tuple(value) for key, value in (wire.get("target_reasons") or {}).items()},
        deployment_api=wire.get("deployment_api"),
        service_deployment_arn=wire.get("service_deployment_arn"),
        service_deployment=wire.get("service_deployment"),
        seen_event_ids=frozenset(wire.get("seen_event_ids") or ()),
        last_change=float(wire.get("last_change") or 0.0),
        delay=float(wire.get("delay") or 0.0),
        api_calls=int(wire.get("api_calls") or 0),
        api_retries=int(wire.get("api_retries") or 0),
        calls_before=int(wire.get("calls_before") or 0),
        seconds_before=float(wire.get("seconds_before") or 0.0),
        throttles=int(wire.get("throttles") or 0),
        timeline=tuple(dict(entry) for entry in wire.get("timeline") or ()),
    )


def observation_to_wire(observation: Observation) -> dict:
    """A poll's answers for the action plugin (tasks reduced; ``elapsed`` and ``at`` as the poll made them)."""
    return {
        "service": observation.service,
        "failures": list(observation.failures),
        "tasks": _tasks(observation.tasks),
        "target_health": observation.target_health,
        "throttled": observation.throttled,
        "api_calls": observation.api_calls,
        "api_retries": observation.api_retries,
        "elapsed": observation.elapsed,
        "at": _iso(observation.at),
        "service_deployment": observation.service_deployment,
        "deployment_api": observation.deployment_api,
        "quiet_polls": observation.quiet_polls,
        "quiet_calls": observation.quiet_calls,
        "quiet_retries": observation.quiet_retries,
    }


def observation_from_wire(wire: dict) -> Observation:
    tasks = wire.get("tasks")
    return Observation(
        service=wire.get("service"),
        failures=tuple(wire.get("failures") or ()),
        tasks=None if tasks is None else tuple(tasks),
        target_health=wire.get("target_health"),
        elapsed=float(wire.get("elapsed") or 0.0),
        throttled=bool(wire.get("throttled")),
        api_calls=int(wire.get("api_calls") or 0),
        api_retries=int(wire.get("api_retries") or 0),
        at=as_datetime(wire.get("at")),
        service_deployment=wire.get("service_deployment"),
        deployment_api=wire.get("deployment_api"),
        quiet_polls=int(wire.get("quiet_polls") or 0),
        quiet_calls=int(wire.get("quiet_calls") or 0),
        quiet_retries=int(wire.get("quiet_retries") or 0),
    )


def outcome_to_wire(outcome: Outcome) -> dict:
    """A wait's outcome (the wait step's result): the verdict, the whole state, the elapsed time."""
    verdict = asdict(outcome.verdict)
    verdict["task_ids"] = list(outcome.verdict.task_ids)
    return {"verdict": verdict, "state": state_to_wire(outcome.state, whole=True), "elapsed": outcome.elapsed}


def outcome_from_wire(wire: dict) -> Outcome:
    verdict = dict(wire["verdict"])
    verdict["task_ids"] = tuple(verdict.get("task_ids") or ())
    return Outcome(
        verdict=Verdict(**{f.name: verdict.get(f.name) for f in fields(Verdict) if f.name in verdict}),
        state=state_from_wire(wire["state"]),
        elapsed=float(wire.get("elapsed") or 0.0),
    )
