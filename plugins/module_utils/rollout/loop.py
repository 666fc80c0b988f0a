# Copyright: Shipyard maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The waiting loop: the start state, one poll (``observe``), the state after it (``advance``), the loop itself
(``run``, ``wait_for``) and its replay on recorded answers (``replay``).

Pure: the AWS calls, the clock, sleeping and random numbers come in as arguments. ``observe`` is the whole of one
poll (DescribeServices, the detail calls ``polling.needs_detail`` asks for, a failure's stopped tasks) and runs where
the calls are made: in the ``ecs_rollout`` module's wait step (the whole wait in one run, ``run``), its observe
step (one module run per poll, where the module runs on another host than the controller) and in ``replay``.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import timedelta

from ansible_collections.shipyard.fargate.plugins.module_utils.rollout.facts import derive
from ansible_collections.shipyard.fargate.plugins.module_utils.rollout.model import (
    WAITING,
    DetailCalls,
    Facts,
    Observation,
    Options,
    Outcome,
    Verdict,
    WaitState,
)
from ansible_collections.shipyard.fargate.plugins.module_utils.rollout.payloads import (
    EPOCH,
    as_datetime,
    events_since,
    find_deployment,
    primary,
    target_groups,
    task_definition_label,
    task_id,
)
from ansible_collections.shipyard.fargate.plugins.module_utils.rollout.polling import (
    needs_detail,
    needs_failure_detail,
    next_poll_delay,
    vanished,
)
from ansible_collections.shipyard.fargate.plugins.module_utils.rollout.progress import (
    progress_line,
    retried_text,
    summarize,
    summary_changed,
    timeline_entry,
    window_moved,
)
from ansible_collections.shipyard.fargate.plugins.module_utils.rollout.verdict import evaluate


def watched_task_definition(service: dict, task_definition_arn: str | None, deployment_id: str | None) -> str | None:
    """The task definition a wait looks for: the one rolled out, else (no deployment id) the primary deployment's."""
    if task_definition_arn or deployment_id:
        return task_definition_arn
    return (primary(service) or {}).get("taskDefinition") or service.get("taskDefinition")


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
        newest = max(others, key=lambda d: as_datetime(d.get("createdAt")) or EPOCH)
        previous_task_definition_arn = newest.get("taskDefinition")
    state = WaitState(
        service_name=service.get("serviceName") or "",
        deployment_id=(ours or {}).get("id") or deployment_id,
        task_definition_arn=(ours or {}).get("taskDefinition") or task_definition_arn,
        since=as_datetime((ours or {}).get("createdAt")),
        previous_deployment_ids=tuple(d.get("id") for d in others),
        previous_task_definition_arn=previous_task_definition_arn,
    )
    label = task_definition_label(state.task_definition_arn)
    what = f"watching deployment {state.deployment_id or '?'} (task definition {label})"
    return replace(state, timeline=(timeline_entry(0.0, "start", what),))


def observe(
    fetch_service, fetch_detail, state: WaitState, options: Options | None = None, *, elapsed=0.0, at=None, first=None
) -> Observation:
    """One whole poll: DescribeServices (``fetch_service()``, or ``first``: the service as the caller just read it,
    its calls already counted), then in the same go the detail calls it needs (``fetch_detail(observation, state,
    calls)``) and, for a failure that names no task yet or a counted task gone missing, the stopped tasks."""
    options = options or Options()
    if first is not None:
        observation = replace(first, elapsed=elapsed, api_calls=0, at=at)
    else:
        observation = replace(fetch_service(), elapsed=elapsed, at=at)
    if observation.throttled or observation.service is None:
        return observation
    preliminary = summarize(observation, state, options)
    read_at = state.targets_read_at
    fresh = read_at is not None and elapsed - read_at <= options.targets_max_age
    calls = needs_detail(
        state.summary,
        preliminary,
        targets_fresh=fresh,
        deployment_api=state.deployment_api,
        cutover=options.success_at == "cutover",
    )
    if calls:
        observation = replace(fetch_detail(observation, state, calls), elapsed=elapsed, at=at)
        if observation.throttled:
            return observation
    verdict = evaluate(observation, state, options)
    if needs_failure_detail(verdict, calls, observation) or (
        verdict.kind == WAITING and vanished(state, observation, calls)
    ):
        detailed = fetch_detail(observation, state, DetailCalls(tasks=True, stopped=True))
        if not detailed.throttled:
            observation = replace(detailed, elapsed=elapsed, at=at)
    return observation


def watch(
    observe_once,
    state: WaitState,
    options: Options | None = None,
    *,
    clock,
    sleep,
    delay: float = 0.0,
    rng=None,
    slice_seconds: float = 20.0,
) -> Observation:
    """Poll in this process until a poll moves anything (or decides): the module's observe step, one run for a
    stretch of quiet polls instead of one run each.

    ``observe_once(state, elapsed)`` makes one whole poll (``observe``) at ``elapsed`` on the wait's clock
    (``clock()``); the first comes after ``delay``. A poll that changes nothing in the state but its counters (no
    new count, event, detail, mark, window second or verdict) is quiet: the next one comes after the usual delay
    (``polling.next_poll_delay``); after ``slice_seconds`` the last one is returned anyway. The poll returned carries
    the quiet ones before it as ``quiet_polls``/``quiet_calls``: ``advance`` on the caller's state then gives what
    advancing it through each would have (quiet polls add to the counters only).
    """
    options = options or Options()
    rng = rng or random.SystemRandom()
    quiet_polls = quiet_calls = quiet_retries = 0
    began = None
    current = state
    while True:
        sleep(delay)
        elapsed = clock()
        began = elapsed if began is None else began
        observation = observe_once(current, elapsed)
        facts = derive(observation, current, options)
        verdict = evaluate(observation, current, options, facts)
        after, changed = advance(current, observation, verdict, observation.at, options, facts)
        counters = {
            "elapsed": current.elapsed,
            "polls": current.polls,
            "api_calls": current.api_calls,
            "api_retries": current.api_retries,
        }
        # Retries alone do not end the run: their timeline line comes with the poll returned (``quiet_retries``).
        grown = after.timeline[len(current.timeline) :]
        counters["timeline"] = current.timeline + tuple(entry for entry in grown if entry["kind"] != "retried")
        moved = changed or window_moved(current.summary, after.summary) or replace(after, **counters) != current
        if verdict.done or moved or observation.throttled or elapsed - began >= slice_seconds:
            return replace(observation, quiet_polls=quiet_polls, quiet_calls=quiet_calls, quiet_retries=quiet_retries)
        quiet_polls += 1
        quiet_calls += observation.api_calls
        quiet_retries += observation.api_retries
        delay = next_poll_delay(after, False, False, rng, options)
        delay = max(0.0, min(delay, options.timeout - elapsed))
        current = replace(after, delay=delay)


def advance(
    state: WaitState,
    observation: Observation,
    verdict: Verdict,
    now=None,
    options: Options | None = None,
    facts: Facts | None = None,
) -> tuple:
    """The state after this observation, and whether anything moved (``(state, changed)``).

    A progress line goes to the timeline on a change, and each whole second the stability window moved.
    """
    options = options or Options()
    elapsed = observation.elapsed
    timeline = list(state.timeline)
    base = replace(
        state,
        elapsed=elapsed,
        polls=state.polls + 1 + observation.quiet_polls,
        api_calls=state.api_calls + observation.api_calls + observation.quiet_calls,
        api_retries=state.api_retries + observation.api_retries + observation.quiet_retries,
    )
    if observation.deployment_api is not None:
        base = replace(base, deployment_api=observation.deployment_api)
    retried = observation.api_retries + observation.quiet_retries
    if retried:
        timeline.append(timeline_entry(elapsed, "retried", retried_text(retried), now))
    if observation.throttled:
        timeline.append(timeline_entry(elapsed, "throttled", "AWS throttled the poll; backing off", now))
        new = replace(base, throttles=state.throttles + 1, timeline=tuple(timeline))
        if verdict.done:
            new = replace(new, timeline=(*new.timeline, timeline_entry(elapsed, "verdict", verdict.message, now)))
        return new, False
    facts = facts or derive(observation, state, options)
    service = observation.service
    record = observation.service_deployment
    new = replace(
        base,
        throttles=0,
        deployment_id=facts.deployment_id,
        task_definition_arn=facts.task_definition_arn,
        since=facts.since,
        tasks=facts.tasks,
        target_health=facts.target_health,
        targets_read_at=elapsed if observation.target_health is not None else state.targets_read_at,
        service_deployment=record if record is not None else state.service_deployment,
        service_deployment_arn=(record or {}).get("serviceDeploymentArn") or state.service_deployment_arn,
    )
    # New service events since the deployment began, oldest first.
    seen = set(state.seen_event_ids)
    for event in reversed(events_since((service or {}).get("events"), facts.since)):
        if event.get("id") not in seen:
            seen.add(event.get("id"))
            timeline.append(timeline_entry(elapsed, "event", event.get("message", ""), event.get("createdAt")))
    unhealthy_since = {}
    target_reasons = dict(state.target_reasons)
    for task, tg_arn, key, health in facts.rows:
        if health and health.get("State") == "unhealthy":
            unhealthy_since[key] = state.unhealthy_since.get(key, elapsed)
            target_reasons[task_id(task.get("taskArn"))] = (tg_arn, health.get("Reason"), health.get("Description"))
    # The window's marks are kept only when there is a window (without one, nothing reads them).
    if service is None or options.stable_for <= 0:
        running_since, healthy_since = (
            (state.running_since, state.healthy_since) if options.stable_for > 0 else ({}, {})
        )
    else:
        running_since, healthy_since = facts.running_since, facts.healthy_since
    summary = summarize(observation, state, options, facts)
    changed = summary_changed(state.summary, summary)
    if changed or window_moved(state.summary, summary):
        timeline.append(timeline_entry(elapsed, "progress", progress_line(summary.service_name, summary, elapsed), now))
    if verdict.done:
        timeline.append(timeline_entry(elapsed, "verdict", verdict.message, now))
    new = replace(
        new,
        summary=summary,
        stopped=facts.stopped,
        unhealthy_since=unhealthy_since,
        running_since=running_since,
        healthy_since=healthy_since,
        target_reasons=target_reasons,
        seen_event_ids=frozenset(seen),
        last_change=elapsed if changed else state.last_change,
        timeline=tuple(timeline),
    )
    return new, changed


def run(
    poll,
    state: WaitState,
    options: Options | None = None,
    *,
    clock,
    rng=None,
    report=None,
    max_polls: int | None = None,
    first: Observation | None = None,
) -> Outcome:
    """Poll until a verdict: ``poll(state, delay, elapsed)`` sleeps ``delay`` seconds, makes one whole poll
    (``observe``) and returns its observation, made at ``elapsed`` seconds of this wait; ``first``: the first
    poll's observation when the caller already made it (elapsed 0). Each poll's facts are derived once and shared
    by the verdict, the summary and the state's advance; ``report(line)`` gets one progress line per change."""
    options = options or Options()
    rng = rng or random.SystemRandom()
    started = clock()
    observation = first
    delay = 0.0
    while True:
        if observation is None:
            observation = poll(state, delay, clock() - started + delay)
        facts = derive(observation, state, options)
        verdict = evaluate(observation, state, options, facts)
        before = state.summary
        state, changed = advance(state, observation, verdict, observation.at, options, facts)
        elapsed = observation.elapsed
        if (changed or window_moved(before, state.summary)) and report is not None:
            report(progress_line(state.summary.service_name, state.summary, elapsed))
        if verdict.done or (max_polls is not None and state.polls >= max_polls):
            return Outcome(verdict, state, elapsed)
        delay = next_poll_delay(state, changed, observation.throttled, rng, options)
        delay = max(0.0, min(delay, options.timeout - elapsed))
        state = replace(state, delay=delay)
        observation = None


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
    """Poll until a verdict, every effect passed in (``run`` with ``observe`` as its poll).

    ``fetch_service()`` -> Observation without detail (``throttled=True`` when AWS throttled it);
    ``fetch_detail(observation, state, calls)`` -> the observation with ``tasks``/``target_health`` for
    the DetailCalls asked; ``clock()`` monotonic seconds; ``sleep(seconds)``; ``report(line)`` gets one
    progress line per change; ``now()`` a wall-clock datetime for the timeline. ``max_polls`` (replays)
    ends the loop with the WAITING verdict after that many polls. ``initial``: the service as the caller
    just read it (UpdateService's or DescribeServices' answer, its calls already counted), taken as the
    first poll instead of asking again.
    """
    options = options or Options()
    started = clock()
    polled = [initial is not None]

    def poll(current, delay, _planned):
        if polled[0]:  # the first poll comes at once (``sleep`` moves a replay to its next recorded poll)
            sleep(delay)
        polled[0] = True
        at = now() if now else None
        return observe(fetch_service, fetch_detail, current, options, elapsed=clock() - started, at=at)

    first = None
    if initial is not None:
        at = now() if now else None
        first = observe(fetch_service, fetch_detail, state, options, elapsed=clock() - started, at=at, first=initial)
    return run(poll, state, options, clock=clock, rng=rng, report=report, max_polls=max_polls, first=first)


def replay(
    observations, state: WaitState, options: Options | None = None, rng=None, report=None, started_at=None
) -> Outcome:
    """Run ``wait_for`` over recorded observations (one per poll), on a clock that only sleeping moves.

    ``started_at`` (a datetime): the wall clock when the replayed wait began (it moves with the replay's clock), for
    the stability window to read the tasks' ``startedAt``; None: no wall clock (the window counts from the polls).

    Each observation holds a whole poll's answers; its detail is handed out only when ``wait_for`` asks, as
    AWS would answer: without ``stopped`` the listing holds no task whose desiredStatus is STOPPED. API calls
    counted: DescribeServices 1, tasks 2 (ListTasks RUNNING + DescribeTasks), stopped 1 more (ListTasks
    STOPPED), DescribeTargetHealth one per target group, the deployment API 1 (DescribeServiceDeployments; with
    ListServiceDeployments once first). A recording whose observations carry no ``service_deployment`` replays an
    endpoint without the deployment API: its first look asks once (ListServiceDeployments, refused). A recording
    that ends before a verdict gives the WAITING verdict of its last poll.
    """
    polls = list(observations)
    clock = {"now": 0.0, "poll": 0}
    api = any(poll.service_deployment is not None for poll in polls)

    def fetch_service():
        poll = polls[clock["poll"]]
        return replace(poll, tasks=None, target_health=None, service_deployment=None, api_calls=1)

    def fetch_detail(observation, current, calls):
        poll = polls[clock["poll"]]
        api_calls = observation.api_calls
        tasks = observation.tasks
        target_health = observation.target_health
        if calls.tasks or calls.stopped:
            tasks = tuple(t for t in poll.tasks or () if calls.stopped or t.get("desiredStatus") != "STOPPED")
            api_calls += 2 + (1 if calls.stopped else 0)
        if calls.targets:
            target_health = poll.target_health
            api_calls += len(target_groups(poll.service or {}))
        record, known = observation.service_deployment, observation.deployment_api
        if calls.deployment:
            # DescribeServiceDeployments (after ListServiceDeployments to find ours); no API: one refused call.
            api_calls += (1 if current.service_deployment_arn else 2) if api else 1
            record, known = (poll.service_deployment, True) if api else (None, False)
        return replace(
            observation,
            tasks=tasks,
            target_health=target_health,
            api_calls=api_calls,
            service_deployment=record,
            deployment_api=known,
        )

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
        now=None if started_at is None else lambda: as_datetime(started_at) + timedelta(seconds=clock["now"]),
        max_polls=len(polls),
    )
