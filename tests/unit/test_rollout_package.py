"""module_utils/rollout/: one poll's facts derived once, the state across the module boundary, one module run per
poll, ECS's deployment API as the authority (event text as the fallback), and success at cutover.

Replays of the recorded stories of test_rollout_decisions.py; the deployment API's answers are shaped as botocore's
ECS model has them (ServiceDeployment: serviceDeploymentArn, status, statusReason, createdAt, ...).
"""

from __future__ import annotations

import json
from dataclasses import replace

import botocore.session
import pytest
from ansible_collections.shipyard.fargate.plugins.module_utils.rollout import (
    facts,
    loop,
    model,
    polling,
    progress,
    service_deployments,
    wire,
)
from ansible_collections.shipyard.fargate.plugins.module_utils.rollout import verdict as verdicts
from test_rollout_decisions import DEP_NEW, DEP_OLD, load

ECS_MODEL = botocore.session.get_session().get_service_model("ecs")
SD_ARN = "arn:aws:ecs:us-east-1:123456789012:service-deployment/shipyard/web/NCWGC2ZR-taawPAYrIaU5"
SD_STATUSES = set(ECS_MODEL.shape_for("ServiceDeploymentStatus").enum)


def record(status, reason="", created=None):
    """A DescribeServiceDeployments ``serviceDeployments[]`` item, with members of botocore's ServiceDeployment."""
    assert status in SD_STATUSES
    item = {"serviceDeploymentArn": SD_ARN, "status": status, "statusReason": reason}
    if created is not None:
        item["createdAt"] = created
    assert set(item) <= set(ECS_MODEL.shape_for("ServiceDeployment").members)
    return item


def replay(observations, options=None, deployment_id=DEP_NEW):
    state = loop.start_state(observations[0].service, deployment_id=deployment_id)
    return loop.replay(observations, state, options or model.Options())


# --- the package's shape ------------------------------------------------------------------------------------------


def test_each_polls_facts_are_derived_once_and_shared_by_verdict_summary_and_advance(monkeypatch):
    _story, observations = load("healthy")
    derived = []
    original = facts.derive

    def counting(*args, **kwargs):
        derived.append(args[0])
        return original(*args, **kwargs)

    def forbidden(*_args, **_kwargs):
        raise AssertionError("facts derived again: the loop hands its facts to the verdict, the summary and advance")

    monkeypatch.setattr(loop, "derive", counting)
    monkeypatch.setattr(verdicts, "derive", forbidden)
    monkeypatch.setattr(progress, "derive", forbidden)
    polls = iter(observations)
    state = loop.start_state(observations[0].service, deployment_id=DEP_NEW)
    outcome = loop.run(
        lambda _state, _delay, elapsed: replace(next(polls), elapsed=elapsed),
        state,
        model.Options(),
        clock=lambda: 0.0,
    )
    assert outcome.verdict.kind == model.SUCCEEDED
    assert len(derived) == outcome.state.polls == len(observations)


def test_internal_options_are_hidden_and_refused_in_a_task():
    import yaml
    from ansible_collections.shipyard.fargate.plugins.action import ecs_rollout as plugin
    from ansible_collections.shipyard.fargate.plugins.modules import ecs_rollout as module

    documented = yaml.safe_load(module.DOCUMENTATION)["options"]
    assert not [name for name in documented if name.startswith("_")]
    # A task's arguments meet the public options only: the internal ones join the spec when the action plugin names
    # a step (what ansible-test's validate-modules reads is the documented spec).
    assert set(module.argument_spec({"cluster": "shop"})) == set(documented)
    assert set(module.argument_spec({"_step": "observe"})) == set(documented) | set(module.INTERNAL_OPTIONS)
    assert not {"step", "detail", "target_groups", "log_task_arn", "rollback_to"} & set(documented)
    assert documented["success_at"]["choices"] == list(model.SUCCESS_AT)
    from types import SimpleNamespace

    action = object.__new__(plugin.ActionModule)
    action._task = SimpleNamespace(args={"cluster": "shop", "service": "web", "_step": "observe"}, check_mode=False)
    with pytest.raises(plugin.AnsibleActionFail, match="_step: internal options"):
        _run(action)


def _run(action):
    # ActionBase.run needs a connection: stubbed, as the refusal comes before anything this plugin does.
    from ansible.plugins.action import ActionBase

    original = ActionBase.run
    ActionBase.run = lambda _self, _tmp=None, _task_vars=None: {}
    try:
        return action.run(task_vars={})
    finally:
        ActionBase.run = original


@pytest.mark.parametrize("story", ["healthy", "crash_loop", "failing_health_check", "no_load_balancer"])
def test_the_state_crosses_the_module_boundary_without_changing_a_decision(story):
    """Poll by poll, the state as the observe step rebuilds it from JSON decides as the controller's own does."""
    _story, observations = load(story)
    options = model.Options(stable_for=10)
    state = loop.start_state(observations[0].service, deployment_id=DEP_NEW)
    for elapsed, observation in enumerate(observations):
        observation = replace(observation, elapsed=float(elapsed * 2))
        crossed = wire.state_from_wire(json.loads(json.dumps(wire.state_to_wire(state), default=str)))
        assert progress.summarize(observation, crossed, options) == progress.summarize(observation, state, options)
        assert verdicts.evaluate(observation, crossed, options) == verdicts.evaluate(observation, state, options)
        back = wire.observation_from_wire(json.loads(json.dumps(wire.observation_to_wire(observation), default=str)))
        assert verdicts.evaluate(back, state, options).kind == verdicts.evaluate(observation, state, options).kind
        verdict = verdicts.evaluate(observation, state, options)
        state, _changed = loop.advance(state, observation, verdict, options=options)
        if verdict.done:
            break


# --- one module run per poll --------------------------------------------------------------------------------------


def test_the_action_makes_one_module_run_per_poll_started_ahead_of_its_time(monkeypatch):
    from test_rollout_decisions import _recorded_action

    _story, observations = load("crash_loop")
    args = {"cluster": "shipyard", "service": "web", "task_definition": "arn:aws:ecs:us-east-1:1:task-definition/web:7"}
    action, plugin, steps = _recorded_action(monkeypatch, observations, {**args, "rollback": False})
    recorded = action._step

    def slow_start(name, **extra):  # every module run costs 0.3 s beyond its own work (the fake clock's seconds)
        plugin.time.now += 0.3
        return recorded(name, **extra)

    action._step = slow_start
    with pytest.raises(plugin.StepFailed) as failed:
        action._run(action._args)
    result = failed.value.result
    assert result["reason_code"] == "tasks_stopped", result["msg"]
    observes = [extra for name, extra in steps if name == "observe"]
    # Each poll is one observe step that decides its own detail calls (the detail used to take a second run); here
    # every poll moves something, so each ends its run: as many runs as polls.
    assert len(observes) == result["polls"]
    assert not any("detail" in extra or "_detail" in extra for extra in observes)
    # Each run starts ahead of its poll by the start-up it measured (0.3 s): Python's start overlaps the delay.
    fast = model.options_from(args).fast_delay
    assert [extra["_delay"] for extra in observes[1:]] == pytest.approx([fast - 0.3] * (len(observes) - 1))


def test_the_rollouts_polls_are_a_second_apart_while_things_move_and_two_at_most():
    options = model.options_from({})
    state = model.WaitState(service_name="web", elapsed=3.0, delay=1.0)
    assert polling.next_poll_delay(state, True, False, None, options) == 1.0
    quiet = replace(state, elapsed=300.0, last_change=0.0)
    delays = [polling.next_poll_delay(replace(quiet, delay=d), False, False, None, options) for d in (1.0, 1.5, 2.0)]
    assert delays == [1.5, 2.0, 2.0]


# --- ECS's deployment API -----------------------------------------------------------------------------------------


def test_the_deployment_api_decides_a_rollback_before_any_event_says_so():
    _story, observations = load("crash_loop")
    # A task failed (failedTasks 0 -> 1): the poll reads ECS's deployment API, which says ROLLBACK_IN_PROGRESS;
    # DescribeServices (ours still PRIMARY) and its events do not say so yet.
    created = observations[0].service["deployments"][0]["createdAt"]
    polls = [replace(o, service_deployment=record("IN_PROGRESS", created=created)) for o in observations[:2]]
    reason = "ECS deployment circuit breaker: tasks failed to start."
    polls.append(replace(observations[2], service_deployment=record("ROLLBACK_IN_PROGRESS", reason)))
    outcome = replay(polls)
    verdict = outcome.verdict
    assert (verdict.kind, verdict.reason_code, verdict.source) == (
        model.FAILED,
        "circuit_breaker_rollback",
        "deployment_api",
    )
    assert f"ROLLBACK_IN_PROGRESS: {reason}" in verdict.message
    assert outcome.state.service_deployment_arn == SD_ARN
    assert progress.result(outcome)["deployment_source"] == "deployment_api"


def test_with_the_deployment_api_an_events_rolling_back_text_is_not_the_authority():
    _story, observations = load("circuit_breaker_rollback")
    first = observations[0]
    event = {"id": "e-rb", "createdAt": first.service["deployments"][0]["createdAt"],
             "message": f"(service web) rolling back to deployment {DEP_OLD}."}  # fmt: skip
    said = replace(first, service={**first.service, "events": [event, *first.service["events"]]})
    fallback = replay([said])
    assert (fallback.verdict.reason_code, fallback.verdict.source) == ("circuit_breaker_rollback", "service_events")
    authority = replay([replace(said, service_deployment=record("IN_PROGRESS"))])
    assert (authority.verdict.kind, authority.verdict.source) == (model.WAITING, "deployment_api")


def test_stopped_is_superseded_when_another_deployment_leads_and_a_failure_when_none_does():
    _story, observations = load("crash_loop")
    alone = replay([replace(observations[1], service_deployment=record("STOPPED", "circuit breaker: tasks failed"))])
    assert (alone.verdict.reason_code, alone.verdict.source) == ("deployment_failed", "deployment_api")
    assert "circuit breaker: tasks failed" in alone.verdict.message
    _story, superseded = load("superseded")
    last = replace(superseded[-1], service_deployment=record("STOPPED", "a newer deployment"))
    state = loop.start_state(superseded[0].service, deployment_id=DEP_NEW)
    assert verdicts.evaluate(last, state).reason_code == "superseded"


def test_successful_in_the_deployment_api_is_completion():
    _story, observations = load("healthy")
    cutover = observations[4]  # every new target healthy, old ones draining; DescribeServices: IN_PROGRESS
    assert replay([cutover]).verdict.kind == model.WAITING
    done = replay([replace(cutover, service_deployment=record("SUCCESSFUL"))])
    assert (done.verdict.kind, done.verdict.source) == (model.SUCCEEDED, "deployment_api")
    assert " completed: 2/2 new tasks running" in done.verdict.message


def test_without_the_deployment_api_the_first_look_asks_once_then_reads_the_events():
    _story, observations = load("healthy")
    outcome = replay(observations)
    assert outcome.verdict.kind == model.SUCCEEDED
    assert (outcome.state.deployment_api, outcome.verdict.source) == (False, "service_events")
    with_api = replay([replace(o, service_deployment=record("IN_PROGRESS")) for o in observations[:-1]]
                      + [replace(observations[-1], service_deployment=record("SUCCESSFUL"))])  # fmt: skip
    assert with_api.verdict.source == "deployment_api"
    assert with_api.state.deployment_api is True


def test_needs_detail_reads_the_deployment_api_on_the_first_look_and_when_the_deployment_moves():
    cur = model.Summary("web", "ACTIVE", DEP_NEW, "PRIMARY", "IN_PROGRESS", desired=2)
    assert polling.needs_detail(None, cur, deployment_api=None).deployment
    assert not polling.needs_detail(cur, cur, deployment_api=True).deployment
    assert not polling.needs_detail(None, cur, deployment_api=False).deployment  # the endpoint has none
    moved = replace(cur, deployment_status="ACTIVE")
    assert polling.needs_detail(cur, moved, deployment_api=True).deployment
    done = replace(cur, rollout_state="COMPLETED", running=2)
    assert polling.needs_detail(replace(cur, running=2), done, deployment_api=True).deployment


def test_our_service_deployment_is_the_one_created_with_our_deployment():
    from datetime import datetime, timedelta, timezone

    t0 = datetime(2026, 12, 6, 9, 0, tzinfo=timezone.utc)  # noqa: UP017
    briefs = [
        {"serviceDeploymentArn": "newer", "createdAt": t0 + timedelta(seconds=40)},
        {"serviceDeploymentArn": "ours", "createdAt": t0 + timedelta(seconds=1)},
        {"serviceDeploymentArn": "older", "createdAt": (t0 - timedelta(hours=1)).isoformat()},
    ]
    assert set(briefs[0]) <= set(ECS_MODEL.shape_for("ServiceDeploymentBrief").members)
    assert service_deployments.pick(briefs, t0)["serviceDeploymentArn"] == "ours"
    assert service_deployments.pick(briefs[2:], t0) is None  # an hour apart: not ours
    assert service_deployments.pick(briefs, None) is None


@pytest.mark.parametrize(
    ("code", "status", "missing"),
    [
        ("UnknownOperationException", 400, True),
        ("InvalidAction", 400, True),
        ("500", 500, True),  # an emulator without the operation: no AWS error code at all
        ("NotImplemented", 501, True),
        ("ServerException", 500, False),  # AWS's own failure: not a missing API
        ("AccessDeniedException", 400, True),  # not allowed by the policy: the events, as without the API
        ("ServiceNotFoundException", 400, False),
    ],
)
def test_which_answers_mean_the_endpoint_has_no_deployment_api(code, status, missing):
    assert service_deployments.not_supported(code, status) is missing


def test_only_a_deployment_under_way_is_rolled_back_by_stop_service_deployment():
    assert ECS_MODEL.shape_for("StopServiceDeploymentStopType").enum == ["ABORT", "ROLLBACK"]
    assert service_deployments.can_stop(record("IN_PROGRESS"))
    assert service_deployments.can_stop(record("PENDING"))
    for status in ("SUCCESSFUL", "STOPPED", "ROLLBACK_IN_PROGRESS", "ROLLBACK_SUCCESSFUL"):
        assert not service_deployments.can_stop(record(status))
    assert not service_deployments.can_stop(None)


# --- success at cutover -------------------------------------------------------------------------------------------


def test_success_at_cutover_ends_the_wait_when_the_old_targets_drain():
    _story, observations = load("healthy")
    completed = replay(observations)
    cutover = replay(observations, model.Options(success_at="cutover"))
    assert cutover.verdict.kind == model.SUCCEEDED
    assert cutover.state.polls < completed.state.polls  # the draining poll, not the COMPLETED one
    assert "serving; old tasks draining" in cutover.verdict.message
    assert cutover.state.summary.old_draining is True
    assert cutover.elapsed < completed.elapsed


def test_cutover_waits_while_an_old_target_still_serves_and_for_the_window():
    _story, observations = load("healthy")
    serving = observations[3]  # one new target healthy, the old ones still healthy
    assert replay([serving], model.Options(success_at="cutover")).verdict.kind == model.WAITING
    both_up = replace(
        observations[4],
        target_health={
            tg: [dict(d, TargetHealth={"State": "healthy"}) for d in rows]
            for tg, rows in observations[4].target_health.items()
        },
    )
    assert replay([both_up], model.Options(success_at="cutover")).verdict.kind == model.WAITING
    windowed = replay(observations[:5], model.Options(success_at="cutover", stable_for=10))
    assert windowed.verdict.kind == model.WAITING  # healthy for less than the window yet


def test_cutover_without_a_load_balancer_is_completion():
    _story, observations = load("no_load_balancer")
    completed = replay(observations)
    cutover = replay(observations, model.Options(success_at="cutover"))
    assert (cutover.verdict.kind, cutover.state.polls) == (completed.verdict.kind, completed.state.polls)
    assert "completed" in cutover.verdict.message


# --- quiet polls in one module run --------------------------------------------------------------------------------


def _advanced(observations, options):
    state = loop.start_state(observations[0].service, deployment_id=DEP_NEW)
    for elapsed, observation in enumerate(observations):
        observation = replace(observation, elapsed=float(elapsed), api_calls=1)
        state, _changed = loop.advance(
            state, observation, verdicts.evaluate(observation, state, options), None, options
        )
    return state


def test_a_module_run_polls_on_through_quiet_polls_and_returns_the_first_that_moves():
    _story, observations = load("timeout")  # the same counts and events poll after poll
    options = model.options_from({"stable_for": 0})
    state = _advanced(observations[:2], options)
    later = replace(observations[1], service={**observations[1].service, "status": "DRAINING"})  # something moves
    sequence = iter([observations[1], observations[1], observations[1], later])
    clock, slept = [float(state.elapsed)], []

    def sleep(seconds):
        slept.append(seconds)
        clock[0] += seconds

    def observe_once(current, elapsed):
        fetched = replace(next(sequence), tasks=None, target_health=None, api_calls=1)
        return loop.observe(lambda: fetched, lambda o, _s, _c: o, current, options, elapsed=elapsed)

    returned = loop.watch(observe_once, state, options, clock=lambda: clock[0], sleep=sleep, delay=1.0)
    assert returned.service["status"] == "DRAINING"
    assert (returned.quiet_polls, returned.quiet_calls) == (3, 3)
    assert slept == [1.0] * 4  # the usual delays between them (fast: the last change is recent)
    # The caller's state after the returned poll counts the quiet ones, as if it had seen each.
    after, _changed = loop.advance(state, returned, verdicts.evaluate(returned, state, options), None, options)
    assert (after.polls, after.api_calls) == (state.polls + 4, state.api_calls + 4)
    assert verdicts.evaluate(returned, state, options).reason_code == "service_inactive"


def test_a_quiet_stretch_ends_the_module_run_after_its_slice():
    _story, observations = load("timeout")
    options = model.options_from({"stable_for": 0})
    state = _advanced(observations[:2], options)
    clock = [state.elapsed]

    def observe_once(current, elapsed):
        fetched = replace(observations[1], tasks=None, target_health=None, api_calls=1)
        return loop.observe(lambda: fetched, lambda o, _s, _c: o, current, options, elapsed=elapsed)

    returned = loop.watch(
        observe_once, state, options, clock=lambda: clock[0], sleep=lambda s: clock.__setitem__(0, clock[0] + s),
        slice_seconds=10,
    )  # fmt: skip
    assert returned.quiet_polls >= 4
    assert returned.elapsed - state.elapsed >= 10


def test_the_rollouts_pace_keeps_a_minute_or_more_of_changes_within_60_calls_a_minute():
    from test_rollout_decisions import _calls_per_minute_when_something_changes_on_every_poll

    options = model.options_from({})
    assert options.call_burst + options.calls_per_minute <= 60  # the bound, by construction
    assert _calls_per_minute_when_something_changes_on_every_poll(replace(options, calls_per_minute=0)) > 90
    assert _calls_per_minute_when_something_changes_on_every_poll(options) <= 60
