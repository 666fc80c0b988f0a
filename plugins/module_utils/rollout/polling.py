# Copyright: Shipyard maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The polling policy: which detail calls a poll needs, when the next poll comes, and the pace that keeps a wait
within its budget of AWS calls."""

from __future__ import annotations

from ansible_collections.shipyard.fargate.plugins.module_utils.rollout.model import (
    FAILED,
    DetailCalls,
    Observation,
    Options,
    Summary,
    Verdict,
    WaitState,
)

_WINDOW_MARGIN = 0.05  # the poll that closes the window comes this much after it ends (clocks are floats)


def needs_detail(
    prev: Summary | None,
    cur: Summary,
    targets_fresh: bool = False,
    deployment_api: bool | None = False,
    cutover: bool = False,
) -> DetailCalls:
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
    - With success at ``cutover``: targets too while every new target is healthy but an old one still serves.
    - Our deployment from ECS's deployment API: on every poll while ``deployment_api`` is None (not known yet
      whether the endpoint has it: the first look, or a look that AWS failed with a 5xx or a dropped connection);
      where it has it (True), on the first look and whenever the deployment's own status moved in DescribeServices
      (its status, rollout state, or the service's), a task of it failed (what ECS's circuit breaker counts), or it
      looks done: that record then decides (``verdict.evaluate``).

    GetLogEvents is for a FAILED verdict that names ``log_task_arn`` only.
    """
    # Not known yet whether the endpoint has the API (the first look, or a look AWS failed): asked on every poll.
    deployment = deployment_api is None or (
        deployment_api is not False
        and (
            prev is None
            or (prev.deployment_id, prev.deployment_status, prev.rollout_state, prev.service_status)
            != (cur.deployment_id, cur.deployment_status, cur.rollout_state, cur.service_status)
            or cur.deployment_failed_tasks > prev.deployment_failed_tasks
            or (cur.looks_done() and not prev.looks_done())
        )
    )
    if prev is not None and prev.deployment_id != cur.deployment_id:
        prev = None  # our deployment was found only now: its counts start afresh
    no_task = cur.running == 0 and cur.pending == 0 and cur.deployment_failed_tasks == 0
    if no_task and (prev is None or prev.running + prev.pending == 0):
        return DetailCalls(deployment=deployment)  # no task to describe, no target to check (none went away either)
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
        if cutover and not stopped and not waiting_on_targets and cur.running >= cur.desired:
            targets = targets or cur.old_draining is not True  # the old targets: still serving?
    return DetailCalls(tasks=tasks, stopped=stopped, targets=targets, deployment=deployment)


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
