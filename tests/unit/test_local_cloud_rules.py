"""The local cloud's pure rules: rolling-update arithmetic, circuit breaker, target health, secrets, simulation."""

from __future__ import annotations

import pytest

from shipyard_local.cloud import rules
from shipyard_local.cloud.runners import base
from shipyard_local.cloud.runners.simulated import SimulatedTaskRun, SpecError, Story, parse


@pytest.mark.parametrize(
    ("desired", "threshold"), [(0, 3), (1, 3), (2, 3), (6, 3), (7, 4), (10, 5), (399, 200), (1000, 200)]
)
def test_circuit_breaker_threshold_is_half_the_desired_count_between_3_and_200(desired, threshold):
    assert rules.circuit_breaker_threshold(desired) == threshold


def test_bounds_round_the_minimum_up_and_the_maximum_down():
    assert rules.task_bounds(3, 50, 150) == (2, 4)
    assert rules.task_bounds(2, 100, 200) == (2, 4)


def test_a_new_deployment_starts_everything_within_maximum_percent_and_stops_nothing_healthy_yet():
    plan = rules.rollout_plan(2, 100, 200, primary_alive=0, primary_healthy=0, old_alive=2, old_healthy=2)
    assert plan == rules.RolloutPlan(start=2, stop_old_unhealthy=0, stop_old_healthy=0, stop_primary=0)


def test_old_tasks_stop_only_as_new_ones_turn_healthy():
    plan = rules.rollout_plan(2, 100, 200, primary_alive=2, primary_healthy=1, old_alive=2, old_healthy=2)
    assert (plan.start, plan.stop_old_healthy) == (0, 1)
    plan = rules.rollout_plan(2, 100, 200, primary_alive=2, primary_healthy=2, old_alive=2, old_healthy=2)
    assert plan.stop_old_healthy == 2


def test_with_no_room_above_desired_ecs_stops_first_within_minimum_healthy():
    plan = rules.rollout_plan(2, 50, 100, primary_alive=0, primary_healthy=0, old_alive=2, old_healthy=2)
    assert (plan.start, plan.stop_old_healthy) == (0, 1)
    plan = rules.rollout_plan(2, 50, 100, primary_alive=0, primary_healthy=0, old_alive=1, old_healthy=1)
    assert (plan.start, plan.stop_old_healthy) == (1, 0)


def test_a_failed_deployment_starts_nothing_and_keeps_the_old_tasks():
    plan = rules.rollout_plan(2, 100, 200, 0, 0, 2, 2, may_start=False)
    assert plan == rules.RolloutPlan(0, 0, 0, 0)


def test_old_tasks_that_do_not_serve_always_stop_and_a_lower_desired_count_stops_surplus():
    assert rules.rollout_plan(2, 100, 200, 2, 0, 3, 1).stop_old_unhealthy == 2
    assert rules.rollout_plan(1, 100, 200, 3, 3, 0, 0).stop_primary == 2


def test_target_health_follows_the_threshold_counts():
    state = rules.TargetHealth(rules.INITIAL)
    assert state.reason == rules.REGISTRATION_IN_PROGRESS
    state = rules.after_health_check(state, True, 2, 2)
    assert (state.state, state.reason) == (rules.INITIAL, rules.INITIAL_HEALTH_CHECKING)
    state = rules.after_health_check(state, True, 2, 2)
    assert (state.state, state.reason) == (rules.HEALTHY, None)
    state = rules.after_health_check(state, False, 2, 2, "Target.Timeout", "Request timed out")
    assert state.state == rules.HEALTHY  # one failure is not enough
    state = rules.after_health_check(state, False, 2, 2, "Target.Timeout", "Request timed out")
    assert (state.state, state.reason) == (rules.UNHEALTHY, "Target.Timeout")
    draining = rules.TargetHealth(rules.DRAINING, reason=rules.DEREGISTRATION_IN_PROGRESS)
    assert rules.after_health_check(draining, True, 2, 2) == draining


def test_secret_references():
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:web/app-AbCdEf"
    assert rules.parse_secret_ref(arn) == rules.SecretRef("secretsmanager", arn, "us-east-1", "123456789012")
    ref = rules.parse_secret_ref(f"{arn}:password::")
    assert (ref.secret_id, ref.json_key, ref.version_stage) == (arn, "password", None)
    ref = rules.parse_secret_ref("arn:aws:ssm:us-east-1:123456789012:parameter/web/db")
    assert (ref.service, ref.secret_id) == ("ssm", "/web/db")
    assert rules.parse_secret_ref("web/app").service == "secretsmanager"


@pytest.mark.parametrize(
    ("matcher", "code", "ok"), [("200", 200, True), ("200-399", 302, True), ("200,204", 500, False)]
)
def test_matcher(matcher, code, ok):
    assert rules.matcher_accepts(matcher, code) is ok


def test_simulate_spec_parses_and_refuses_what_it_does_not_know():
    assert parse("") == Story()
    assert parse("start=2,exit=1@3,reason=boom, bang") == Story(start=2, exit_code=1, exit_after=3, reason="boom, bang")
    assert parse("pull=fail").pull_fails
    assert parse("healthy=false,code=502") == Story(healthy="false", code=502)
    for bad in ("start=soon", "healthy=maybe", "exit=x", "pull=slow", "colour=red", "start"):
        with pytest.raises(SpecError):
            parse(bad)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _spec(simulate: str) -> base.TaskSpec:
    container = base.ContainerSpec(name="app", image="web:1", environment={"SHIPYARD_SIMULATE": simulate})
    return base.TaskSpec("arn:task/1", "1", "c", "web", 1, "service:web", 40000, (container,))


def test_simulated_task_tells_its_story_on_the_clock():
    clock = Clock()
    run = SimulatedTaskRun(_spec("start=2,exit=3@5,reason=boom"), parse("start=2,exit=3@5,reason=boom"), clock)
    assert run.poll().phase == base.PULLING
    clock.now = 1.5
    assert run.poll().phase == base.STARTING
    clock.now = 2.0
    assert run.poll().phase == base.RUNNING
    assert run.check_health("/health", "200", 2).ok
    clock.now = 7.0
    status = run.poll()
    assert (status.phase, status.stop_code, status.stopped_reason) == (
        base.STOPPED, "EssentialContainerExited", "Essential container in task exited",
    )  # fmt: skip
    assert (status.containers[0].exit_code, status.containers[0].reason) == (3, "boom")


def test_simulated_failures_and_stop():
    clock = Clock()
    unhealthy = SimulatedTaskRun(_spec(""), parse("start=0,healthy=false,code=503"), clock)
    result = unhealthy.check_health("/", "200-399", 2)
    assert (result.ok, result.reason, result.description) == (
        False, "Target.ResponseCodeMismatch", "Health checks failed with these codes: [503]",
    )  # fmt: skip
    pull_run = SimulatedTaskRun(_spec(""), parse("pull=fail"), clock)
    secret_run = SimulatedTaskRun(_spec(""), parse("secret=fail"), clock)
    clock.now = 1
    pull = pull_run.poll()
    assert pull.stop_code == "TaskFailedToStart"
    assert pull.stopped_reason.startswith("CannotPullContainerError")
    secret = secret_run.poll()
    assert secret.stopped_reason.startswith("ResourceInitializationError: unable to pull secrets or registry auth")
    running = SimulatedTaskRun(_spec(""), parse("start=0,stop=1"), clock)
    running.stop("Scaling activity")
    assert running.poll().phase == base.RUNNING
    clock.now = 3.5
    assert running.poll().phase == base.STOPPED
