# Copyright: Shipyard maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One poll's facts, derived once: our deployment, its tasks, the failed ones, their targets, the stability window.

``derive`` reads an observation against the waiter's state (detail from earlier polls is reused when this poll read
none) and returns ``model.Facts``, which the summary (``progress.summarize``), the verdict (``verdict.evaluate``)
and the state's advance (``loop.advance``) share.

The stability window (``Options.stable_for``): success only once every running new task has been RUNNING, and each
of its targets healthy, that long. ``derive`` keeps its marks (``running_since``, ``healthy_since``) and says since
when everything has been up (``stable_since``).
"""

from __future__ import annotations

from ansible_collections.shipyard.fargate.plugins.module_utils.rollout.model import (
    Facts,
    Observation,
    Options,
    WaitState,
)
from ansible_collections.shipyard.fargate.plugins.module_utils.rollout.payloads import (
    EPOCH,
    as_datetime,
    deployment_tasks,
    find_deployment,
    is_running,
    old_targets,
    stopped_task,
    targets_of,
    task_id,
)


def detail(observation: Observation, state: WaitState) -> tuple:
    """``(tasks, target_health)`` in effect: this poll's detail, else the last one read."""
    tasks = observation.tasks if observation.tasks is not None else state.tasks
    targets = observation.target_health if observation.target_health is not None else state.target_health
    return tasks, targets


def all_stopped(known_stopped, mine) -> tuple:
    """The failed new tasks seen so far (each once, in the order they stopped): ``known_stopped`` and ``mine``'s."""
    known = {s.task_arn: s for s in known_stopped}
    for task in mine:
        stopped = stopped_task(task)
        if stopped is not None and stopped.task_arn not in known:
            known[stopped.task_arn] = stopped
    return tuple(sorted(known.values(), key=lambda s: (s.stopped_at or EPOCH, s.task_arn)))


def derive(observation: Observation, state: WaitState, options: Options | None = None) -> Facts:
    """The facts of this observation (see ``model.Facts``); the window's only when ``options.stable_for`` > 0."""
    options = options or Options()
    service = None if observation.throttled else observation.service
    tasks, target_health = detail(observation, state)
    ours = find_deployment(service, state.deployment_id, state.task_definition_arn) if service else None
    created = as_datetime((ours or {}).get("createdAt"))
    deployment_id = (ours or {}).get("id") or state.deployment_id
    task_definition_arn = (ours or {}).get("taskDefinition") or state.task_definition_arn
    mine = tuple(deployment_tasks(tasks, deployment_id, task_definition_arn))
    running = tuple(t for t in mine if is_running(t)) if service is not None else ()
    rows = tuple(targets_of(running, service, target_health)) if service is not None else ()
    mine_ids = {task_id(t.get("taskArn")) for t in mine}
    facts = Facts(
        service=service,
        ours=ours,
        deployment_id=deployment_id,
        task_definition_arn=task_definition_arn,
        since=state.since or created,
        verdict_since=created or state.since,
        tasks=tasks,
        target_health=target_health,
        mine=mine,
        running=running,
        rows=rows,
        stopped=all_stopped(state.stopped, mine),
        others=frozenset({task_id(t.get("taskArn")) for t in tasks or ()} - mine_ids),
        old_targets=old_targets(service, target_health, rows) if service is not None else (),
        service_deployment=observation.service_deployment
        if observation.service_deployment is not None
        else state.service_deployment,
    )
    if service is None or options.stable_for <= 0:
        return facts
    running_since, healthy_since = _stable_marks(observation, state, facts)
    return _with_window(facts, running_since, healthy_since)


def _with_window(facts: Facts, running_since: dict, healthy_since: dict) -> Facts:
    from dataclasses import replace

    return replace(
        facts,
        running_since=running_since,
        healthy_since=healthy_since,
        stable_since=_stable_since(facts, running_since, healthy_since),
    )


def _stable_marks(observation: Observation, state: WaitState, facts: Facts) -> tuple:
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
    first_look = state.polls == 0
    elapsed = observation.elapsed
    running_since = {}
    for task in facts.running:
        arn = task.get("taskArn")
        if arn in state.running_since:
            running_since[arn] = state.running_since[arn]
            continue
        mark = elapsed
        started = as_datetime(task.get("startedAt"))
        if started is not None and observation.at is not None:
            mark = elapsed - max(0.0, (as_datetime(observation.at) - started).total_seconds())
            if not first_look:
                mark = max(mark, state.elapsed)
        running_since[arn] = mark
    read_at = elapsed if observation.target_health is not None else (state.targets_read_at or elapsed)
    healthy_since = {}
    for task, _tg, key, health in facts.rows:
        if key is None or (health or {}).get("State") != "healthy":
            continue
        if key in state.healthy_since:
            healthy_since[key] = state.healthy_since[key]
        else:
            task_mark = running_since[task.get("taskArn")]
            healthy_since[key] = task_mark if first_look else max(read_at, task_mark)
    return running_since, healthy_since


def _stable_since(facts: Facts, running_since: dict, healthy_since: dict) -> float | None:
    """Since when (this wait's clock) every running new task has been RUNNING and each of its targets healthy.

    None while that is not so: fewer running new tasks in the detail than the deployment wants, a target not
    healthy, or no detail yet. A deployment that wants no task has nothing to wait for (``-inf``).
    """
    desired = (facts.ours or {}).get("desiredCount", 0)
    if not desired:
        return float("-inf")
    running = facts.running
    if len(running) < desired or any(t.get("taskArn") not in running_since for t in running):
        return None
    times = [running_since[t.get("taskArn")] for t in running]
    for _task, _tg, key, _health in facts.rows:
        if key not in healthy_since:
            return None
        times.append(healthy_since[key])
    return max(times)


def stable_since(observation: Observation, state: WaitState) -> float | None:
    """Since when every running new task (and each of its targets) has been up, window or not (see ``derive``)."""
    facts = derive(observation, state, Options(stable_for=1.0))
    return None if facts.service is None else facts.stable_since
