"""module_utils/rollout.py: the verdicts of ecs_rollout on recorded ECS and ELBv2 answers, poll by poll.

Each story in fixtures/rollout/ is a sequence of polls, each holding the DescribeServices, DescribeTasks and
DescribeTargetHealth (per target group) responses as boto3 returns them (timestamps become timezone-aware
datetimes on load, as botocore parses them). ``replay`` feeds them through the real waiting loop with a
clock that only sleeping moves, so the loop (detail calls, delays, timeline) is tested with the verdicts.
"""

from __future__ import annotations

import copy
import itertools
import json
import random
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from ansible_collections.shipyard.fargate.plugins.module_utils.rollout import loop, model, payloads, polling, progress
from ansible_collections.shipyard.fargate.plugins.module_utils.rollout import verdict as verdicts
from dateutil.tz import tzlocal

# These recordings come from an endpoint without ECS's deployment API: the first look asks for it once
# (ListServiceDeployments, refused), then never again.
PROBE = 1

FIXTURES = Path(__file__).parent / "fixtures" / "rollout"
TIMESTAMPS = {
    "createdAt",
    "updatedAt",
    "startedAt",
    "stoppedAt",
    "stoppingAt",
    "executionStoppedAt",
    "pullStartedAt",
    "pullStoppedAt",
    "connectivityAt",
}
TG = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/6d0ecf831eec9f09"
TG_ADMIN = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-admin/9c1b2a7d3e4f5a6b"
DEP_NEW = "ecs-svc/1571272475813219068"
DEP_OLD = "ecs-svc/4408993298399279146"
TASK_A = "38676af394b24924f8b461b817ba618a"


def as_boto3(value):
    """JSON -> what boto3 returns: ISO timestamps become aware datetimes (in the local zone, like botocore)."""
    if isinstance(value, dict):
        return {
            key: datetime.fromisoformat(item).astimezone(tzlocal())
            if key in TIMESTAMPS and isinstance(item, str)
            else as_boto3(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [as_boto3(item) for item in value]
    return value


def load(name):
    story = json.loads((FIXTURES / f"{name}.json").read_text())
    observations = []
    for poll in story["polls"]:
        if poll.get("throttled"):
            observation = model.Observation(throttled=True)
        else:
            observation = payloads.observation_from_responses(
                as_boto3(poll["describe_services"]),
                as_boto3(poll["describe_tasks"]) if poll["describe_tasks"] is not None else None,
                as_boto3(poll["describe_target_health"]) if poll["describe_target_health"] is not None else None,
            )
        observations.extend([observation] * poll.get("repeat", 1))
    return story, observations


def run(name, rng=None, **options):
    """Replay a story from the service as the first poll shows it; returns (outcome, progress lines)."""
    story, observations = load(name)
    settings = model.Options(**{**story["options"], **options})
    state = loop.start_state(observations[0].service, deployment_id=story["deployment_id"])
    lines = []
    outcome = loop.replay(observations, state, settings, rng=rng, report=lines.append)
    return outcome, lines


def timeline_kinds(outcome, kind):
    return [entry["message"] for entry in outcome.state.timeline if entry["kind"] == kind]


# ---------------------------------------------------------------------------------------------------------
# The stories


def test_healthy_rollout_succeeds_once_completed_and_every_new_target_is_healthy():
    outcome, lines = run("healthy")
    verdict = outcome.verdict
    assert verdict.kind == model.SUCCEEDED
    assert verdict.reason_code is None
    assert verdict.deployment_id == DEP_NEW
    assert "web: deployment ecs-svc/1571272475813219068 (task definition web:7) completed" in verdict.message
    assert "targets 2/2 healthy" in verdict.message
    # One progress line per change, not per poll (2 s apart); the last poll is the first that can succeed.
    assert lines == [
        "web: 0/2 new tasks running, 0 failed, targets 0/2 healthy (0s)",
        "web: 0/2 new tasks running, 0 failed, targets 0/2 healthy (2s)",
        "web: 2/2 new tasks running, 0 failed, targets 0/2 healthy (4s)",
        "web: 2/2 new tasks running, 0 failed, targets 1/2 healthy (6s)",
        "web: 2/2 new tasks running, 0 failed, targets 2/2 healthy (8s)",
        "web: 2/2 new tasks running, 0 failed, targets 2/2 healthy (10s)",
    ]
    assert outcome.state.polls == 6
    # 6 DescribeServices; nothing while the new tasks are only pending; ListTasks RUNNING + DescribeTasks once
    # they run; DescribeTargetHealth while the targets come up; on the COMPLETED poll the tasks again (an event
    # names tasks this recording never listed) but not the targets: all healthy in a reading 2 s old.
    assert outcome.state.api_calls == 6 + (2 + 1) + 1 + 1 + 2 + PROBE
    # The old placement failure and the old failed deployment in the history are not ours.
    events = timeline_kinds(outcome, "event")
    assert not any("unable to place" in message for message in events)
    assert "(service web) (deployment ecs-svc/1571272475813219068) deployment completed." in events
    assert timeline_kinds(outcome, "verdict") == [verdict.message]


def test_slow_start_waits_through_pending_tasks_and_health_checks_failing_within_the_grace_period():
    outcome, lines = run("slow_start")
    assert outcome.verdict.kind == model.SUCCEEDED
    # Targets were unhealthy (502) for a while before turning healthy: within the grace, no failure.
    _story, observations = load("slow_start")
    unhealthy = [o for o in observations if any(d["TargetHealth"]["State"] == "unhealthy" for d in o.target_health[TG])]
    assert len(unhealthy) == 7
    # 9 polls of PENDING tasks, then 7 of unhealthy targets: one progress line each, not one per poll.
    assert [line.rsplit(" (", 1)[0] for line in lines] == [
        "web: 0/2 new tasks running, 0 failed, targets 0/2 healthy",
        "web: 2/2 new tasks running, 0 failed, targets 0/2 healthy",
        "web: 2/2 new tasks running, 0 failed, targets 1/2 healthy",
        "web: 2/2 new tasks running, 0 failed, targets 2/2 healthy",
        "web: 2/2 new tasks running, 0 failed, targets 2/2 healthy",
    ]
    assert outcome.state.polls == 19
    assert outcome.elapsed > 30  # the delay grew while nothing moved


def test_a_target_unhealthy_longer_than_the_grace_fails_with_the_load_balancers_reason():
    outcome, _lines = run("slow_start", unhealthy_grace=5)
    # The service's own healthCheckGracePeriodSeconds (90 s) is longer: still a success at 5 s.
    assert outcome.verdict.kind == model.SUCCEEDED
    _story, observations = load("slow_start")
    observations = [replace(o, service={**o.service, "healthCheckGracePeriodSeconds": 0}) for o in observations]
    state = loop.start_state(observations[0].service, deployment_id=DEP_NEW)
    outcome = loop.replay(observations, state, model.Options(unhealthy_grace=5))
    verdict = outcome.verdict
    assert (verdict.kind, verdict.reason_code) == (model.FAILED, "targets_unhealthy")
    assert "unhealthy in target group web" in verdict.message
    assert "Target.ResponseCodeMismatch: Health checks failed with these codes: [502]" in verdict.message
    assert verdict.task_ids == (TASK_A,)
    assert verdict.log_task_arn.endswith(TASK_A)


def test_crash_loop_fails_on_the_first_stopped_task_with_exit_code_and_stop_code():
    outcome, lines = run("crash_loop")
    verdict = outcome.verdict
    assert (verdict.kind, verdict.reason_code) == (model.FAILED, "tasks_stopped")
    assert verdict.message.startswith(
        "web: deployment ecs-svc/1571272475813219068 failed: 1 new task stopped (tolerated: 0): "
        f"task {TASK_A} stopped (EssentialContainerExited): Essential container in task exited; "
        "container web exit code 1"
    )
    assert verdict.task_ids == (TASK_A,)
    assert verdict.log_task_arn == f"arn:aws:ecs:us-east-1:123456789012:task/shipyard/{TASK_A}"
    assert verdict.log_container == "web"
    assert lines[-1] == "web: 1/2 new tasks running, 1 failed, targets 0/2 healthy (4s)"


def test_crash_loop_within_the_tolerance_fails_on_the_next_stopped_task():
    outcome, _lines = run("crash_loop", tolerated_stopped_tasks=1)
    verdict = outcome.verdict
    assert (verdict.kind, verdict.reason_code) == (model.FAILED, "tasks_stopped")
    assert "2 new tasks stopped (tolerated: 1)" in verdict.message
    assert "container web exit code 137 (OutOfMemoryError: Container killed due to memory usage)" in verdict.message
    assert verdict.log_task_arn.endswith(verdict.task_ids[-1])
    assert outcome.state.polls == 4


def test_crash_loop_tolerated_until_ecs_says_it_cannot_start_tasks():
    outcome, _lines = run("crash_loop", tolerated_stopped_tasks=5)
    verdict = outcome.verdict
    assert (verdict.kind, verdict.reason_code) == (model.FAILED, "trouble_event")
    assert "is unable to consistently start tasks successfully" in verdict.message
    assert "exit code 137" in verdict.message  # the stopped tasks explain it


def test_image_pull_failure_names_the_missing_image():
    outcome, _lines = run("image_pull_failure")
    verdict = outcome.verdict
    assert (verdict.kind, verdict.reason_code) == (model.FAILED, "tasks_stopped")
    assert "(TaskFailedToStart): CannotPullContainerError: pull image manifest has been retried" in verdict.message
    assert "web:4f1c2e9: not found" in verdict.message
    assert "exit code" not in verdict.message  # the container never ran


def test_secret_fetch_failure_is_reported_by_the_service_event_before_the_tolerance_runs_out():
    outcome, _lines = run("secret_fetch_failure")
    verdict = outcome.verdict
    assert (verdict.kind, verdict.reason_code) == (model.FAILED, "trouble_event")
    assert "ECS reported unable to place a task: (service web) was unable to place a task." in verdict.message
    assert "unable to pull secrets or registry auth" in verdict.message
    assert "secretsmanager:GetSecretValue" in verdict.message
    assert "ResourceInitializationError" in verdict.message  # ECS's reason, as the task's stoppedReason names it
    # The stopped task is named, its stoppedReason (already quoted by the event) is not repeated.
    assert verdict.message.endswith(f"; task {TASK_A} stopped (TaskFailedToStart)")
    assert verdict.log_container == "web"


def test_failing_health_check_reports_the_target_health_reason_and_the_elb_stop():
    outcome, _lines = run("failing_health_check")
    verdict = outcome.verdict
    assert (verdict.kind, verdict.reason_code) == (model.FAILED, "targets_unhealthy")
    assert "failing the load balancer health checks" in verdict.message
    assert (
        f"task {TASK_A} stopped (ServiceSchedulerInitiated): Task failed ELB health checks in (target-group {TG})"
        in (verdict.message)
    )
    assert "last target health in web: Target.ResponseCodeMismatch: Health checks failed with these codes: [502]" in (
        verdict.message
    )
    assert verdict.log_task_arn.endswith(TASK_A)


def test_circuit_breaker_rollback_names_the_deployment_ecs_returns_to():
    outcome, _lines = run("circuit_breaker_rollback")
    verdict = outcome.verdict
    assert (verdict.kind, verdict.reason_code) == (model.FAILED, "circuit_breaker_rollback")
    assert verdict.rollback_deployment_id == DEP_OLD
    assert verdict.message.startswith(
        "web: deployment ecs-svc/1571272475813219068 failed (ECS deployment circuit breaker: tasks failed to start.) "
        "and ECS is rolling back to deployment ecs-svc/4408993298399279146 (task definition web:6)"
    )
    # The three crashed tasks explain why; the scale-in of the fourth is not a failure.
    assert verdict.message.count("(EssentialContainerExited)") == 3
    assert "Scaling activity" not in verdict.message
    assert progress.result(outcome)["previous_task_definition_arn"].endswith("task-definition/web:6")


def test_circuit_breaker_rollback_announced_by_the_event_before_the_deployments_flip():
    _story, observations = load("circuit_breaker_rollback")
    last = observations[-1]
    # ECS has written "rolling back" but DescribeServices still shows ours PRIMARY and in progress.
    ours = {**payloads.find_deployment(last.service, DEP_NEW), "status": "PRIMARY", "rolloutState": "IN_PROGRESS"}
    service = {**last.service, "deployments": [ours]}
    state = loop.start_state(observations[0].service, deployment_id=DEP_NEW)
    verdict = verdicts.evaluate(replace(last, service=service), state, model.Options(tolerated_stopped_tasks=3))
    assert (verdict.reason_code, verdict.rollback_deployment_id) == ("circuit_breaker_rollback", DEP_OLD)
    assert "(task definition web:6)" in verdict.message


def test_circuit_breaker_rollback_is_waited_for_until_the_deployment_ecs_returns_to_completes():
    failed, _lines = run("circuit_breaker_rollback")
    story, observations = load("circuit_breaker_rollback_completed")
    service = observations[0].service
    # As ecs_rollout starts the wait for ECS's rollback: that deployment, from the poll that saw the rollback, with
    # every event so far (the failure included) history.
    assert failed.verdict.rollback_deployment_id == story["deployment_id"] == DEP_OLD
    state = loop.start_state(service, deployment_id=failed.verdict.rollback_deployment_id)
    state = replace(state, since=payloads.after_newest_event(service))
    lines = []
    outcome = loop.replay(observations, state, model.Options(), report=lines.append)
    verdict = outcome.verdict
    assert (verdict.kind, verdict.reason_code) == (model.SUCCEEDED, None)
    assert verdict.message.startswith(f"web: deployment {DEP_OLD} (task definition web:6) completed")
    assert "targets 2/2 healthy" in verdict.message
    assert outcome.state.polls == 2  # the first poll (rollback in progress) waits
    assert progress.result(outcome)["task_definition_arn"].endswith("task-definition/web:6")


@pytest.mark.parametrize(
    ("story", "reason_code", "aws_reason"),
    [
        pytest.param("crash_loop", "tasks_stopped", "container web exit code 1", id="crash"),
        pytest.param("image_pull_failure", "tasks_stopped", "CannotPullContainerError", id="image-pull"),
        pytest.param("secret_fetch_failure", "trouble_event", "ResourceInitializationError", id="secret-fetch"),
        pytest.param("failing_health_check", "targets_unhealthy", "Task failed ELB health checks", id="health-check"),
    ],
)
def test_a_failure_ecs_does_not_roll_back_names_its_aws_reason_and_the_revision_to_roll_back_to(
    story, reason_code, aws_reason
):
    """With ECS's circuit breaker off, ecs_rollout rolls back itself: to the revision the service ran before."""
    outcome, _lines = run(story)
    result = progress.result(outcome)
    assert (result["verdict"], result["reason_code"]) == (model.FAILED, reason_code)
    assert aws_reason in result["message"]
    assert result["rollback_deployment_id"] is None  # nobody else is rolling back
    assert result["task_definition_arn"].endswith("task-definition/web:7")
    assert result["previous_task_definition_arn"].endswith("task-definition/web:6")


def test_circuit_breaker_without_rollback_is_a_failed_deployment():
    outcome, _lines = run("circuit_breaker_failed")
    verdict = outcome.verdict
    assert (verdict.kind, verdict.reason_code) == (model.FAILED, "deployment_failed")
    assert verdict.message.startswith(
        "web: deployment ecs-svc/1571272475813219068 failed: ECS deployment circuit breaker: tasks failed to start."
    )
    assert verdict.rollback_deployment_id is None


def test_superseded_by_someone_elses_deployment():
    outcome, _lines = run("superseded")
    verdict = outcome.verdict
    assert (verdict.kind, verdict.reason_code) == (model.FAILED, "superseded")
    assert verdict.message == (
        "web: deployment ecs-svc/1571272475813219068 was superseded by deployment ecs-svc/6564300971027597161 "
        "(task definition web:8) before it completed"
    )


def test_throttled_polls_are_waited_out_not_taken_for_a_missing_service():
    outcome, _lines = run("throttling")
    assert outcome.verdict.kind == model.SUCCEEDED
    assert len(timeline_kinds(outcome, "throttled")) == 3
    # Throttled polls are API calls too: 6 DescribeServices; one detail round (ListTasks + DescribeTasks + 1 target
    # group) when the new tasks run; none on the first poll (tasks only pending) nor on the COMPLETED one (the
    # targets were all healthy in a fresh reading).
    assert outcome.state.api_calls == 6 + 3 + PROBE
    assert outcome.state.throttles == 0


def test_service_deleted_mid_wait():
    outcome, _lines = run("service_missing")
    verdict = outcome.verdict
    assert (verdict.kind, verdict.reason_code) == (model.FAILED, "service_missing")
    assert verdict.message == (
        "web: the service no longer exists "
        "(DescribeServices: MISSING arn:aws:ecs:us-east-1:123456789012:service/shipyard/web)"
    )


def test_service_being_deleted_mid_wait():
    outcome, _lines = run("service_draining")
    verdict = outcome.verdict
    assert (verdict.kind, verdict.reason_code) == (model.FAILED, "service_inactive")
    assert "web: the service is DRAINING" in verdict.message
    # Tasks stopped by the user are not counted as failures of the new image.
    assert outcome.state.stopped == ()


def test_desired_count_zero_succeeds_at_once_without_detail_calls():
    outcome, lines = run("desired_zero")
    assert outcome.verdict.kind == model.SUCCEEDED
    assert outcome.state.polls == 1
    assert outcome.state.api_calls == 1 + PROBE  # DescribeServices only: no task, no target to look at
    assert lines == ["web: 0/0 new tasks running, 0 failed, targets 0/0 healthy (0s)"]


def test_old_targets_draining_do_not_block_success():
    outcome, _lines = run("draining")
    assert outcome.verdict.kind == model.SUCCEEDED
    assert "targets 2/2 healthy" in outcome.verdict.message
    _story, observations = load("draining")
    states = [d["TargetHealth"]["State"] for d in observations[-1].target_health[TG]]
    assert states.count("draining") == 2


def test_two_target_groups_need_every_new_target_healthy_in_both():
    outcome, lines = run("two_target_groups")
    assert outcome.verdict.kind == model.SUCCEEDED
    assert outcome.state.polls == 3  # COMPLETED on the 2nd poll, but the admin target group was still checking
    assert lines[-2].startswith("web: 2/2 new tasks running, 0 failed, targets 3/4 healthy")
    assert lines[-1].startswith("web: 2/2 new tasks running, 0 failed, targets 4/4 healthy")


def test_two_target_groups_failing_in_the_second_names_it():
    outcome, _lines = run("two_target_groups_unhealthy")
    verdict = outcome.verdict
    assert (verdict.kind, verdict.reason_code) == (model.FAILED, "targets_unhealthy")
    assert f"Task failed ELB health checks in (target-group {TG_ADMIN})" in verdict.message
    assert "last target health in web-admin: Target.Timeout: Request timed out" in verdict.message


def test_service_without_load_balancer_has_no_target_checks():
    outcome, lines = run("no_load_balancer")
    assert outcome.verdict.kind == model.SUCCEEDED
    assert lines[-1] == "worker: 2/2 new tasks running, 0 failed (4s)"
    assert "targets" not in outcome.verdict.message
    # No DescribeTargetHealth: 3 DescribeServices, one detail round of ListTasks + DescribeTasks (when they run).
    assert outcome.state.api_calls == 3 + 2 + PROBE


def test_timeout_reports_where_it_stuck():
    outcome, _lines = run("timeout")
    verdict = outcome.verdict
    assert (verdict.kind, verdict.reason_code) == (model.FAILED, "timeout")
    assert verdict.message == (
        "web: timed out after 60s waiting for deployment ecs-svc/1571272475813219068: "
        "1/2 new tasks running, 0 failed, targets 1/2 healthy"
    )
    assert outcome.elapsed == pytest.approx(60)
    # Fast for the first 10 s, then slower while nothing moves: far fewer polls than seconds.
    assert outcome.state.polls < 25
    # Detail calls only when something changed: one round (ListTasks, DescribeTasks, DescribeTargetHealth)
    # on the first poll, then DescribeServices alone while nothing moves.
    assert outcome.state.api_calls == outcome.state.polls + 3 + PROBE


def test_unable_to_place_a_task_fails_fast():
    outcome, _lines = run("unable_to_place")
    verdict = outcome.verdict
    assert (verdict.kind, verdict.reason_code) == (model.FAILED, "trouble_event")
    assert "was unable to place a task because no container instance met all of its requirements" in verdict.message


def test_watching_a_deployment_someone_else_started_finds_it_by_task_definition():
    _story, observations = load("healthy")
    state = loop.start_state(
        observations[0].service, task_definition_arn="arn:aws:ecs:us-east-1:123456789012:task-definition/web:7"
    )
    assert state.deployment_id == DEP_NEW
    assert state.previous_task_definition_arn.endswith("task-definition/web:6")
    assert loop.replay(observations, state).verdict.kind == model.SUCCEEDED


def test_a_task_definition_without_deployment_is_not_waited_for():
    _story, observations = load("healthy")
    state = loop.start_state(observations[0].service, task_definition_arn="web:99")
    verdict = verdicts.evaluate(observations[0], state)
    assert (verdict.kind, verdict.reason_code) == (model.FAILED, "deployment_not_found")
    assert "web:99" in verdict.message


def test_result_is_snake_case_with_timeline_elapsed_and_api_calls():
    outcome, _lines = run("healthy")
    result = progress.result(outcome)
    assert result["verdict"] == "SUCCEEDED"
    assert result["deployment_id"] == DEP_NEW
    assert result["api_calls"] == outcome.state.api_calls > 0
    assert result["summary"]["running_count"] == 2
    assert result["timeline"][0] == {
        "elapsed": 0.0,
        "at": None,
        "kind": "start",
        "message": "watching deployment ecs-svc/1571272475813219068 (task definition web:7)",
    }
    event = next(entry for entry in result["timeline"] if entry["kind"] == "event")
    assert event["at"].startswith("2026-11-26T") or event["at"].startswith("2026-11-25T")
    json.dumps(result)  # plain data, as a module returns it


# ---------------------------------------------------------------------------------------------------------
# The stability window (Options.stable_for): stories built on the recorded worker (no load balancer) and web stories

WORKER_A = "ff21fe4aec38859aaabfcd82486490b0"
WORKER_NEW = "0c5e1d7f2b9a4e6c8d3f1a2b4c6d8e0f"
# The wall clock of a replayed wait: its second poll (2 s in) is when the worker's tasks report startedAt.
WORKER_WAIT_STARTS = datetime.fromisoformat("2026-11-26T12:00:15.123000+00:00")


def _worker_polls():
    """The recorded worker story: tasks pending, running (startedAt 12:00:17.123), the deployment COMPLETED."""
    _story, (pending, running, completed) = load("no_load_balancer")
    return pending, running, completed


def _exits(completed, pending, *, replaced_running: bool = False):
    """``completed`` after one new task exited with code 1 (the deployment stays COMPLETED, as ECS leaves it) and ECS
    started a replacement: pending (the counts show it), or already running with only the service event to tell."""
    service = copy.deepcopy(completed.service)
    tasks = copy.deepcopy(list(completed.tasks))
    crashed = next(t for t in tasks if t["taskArn"].endswith(WORKER_A))
    crashed.update(
        lastStatus="STOPPED", desiredStatus="STOPPED", stopCode="EssentialContainerExited",
        stoppedReason="Essential container in task exited", stoppedAt=crashed["startedAt"] + timedelta(seconds=3),
    )  # fmt: skip
    crashed["containers"][0].update(lastStatus="STOPPED", exitCode=1)
    fresh = copy.deepcopy(pending.tasks[0])
    fresh["taskArn"] = fresh["taskArn"].rsplit("/", 1)[0] + f"/{WORKER_NEW}"
    if replaced_running:
        fresh.update(lastStatus="RUNNING", startedAt=crashed["stoppedAt"] + timedelta(seconds=1))
        event = {"id": "e-restart", "createdAt": crashed["stoppedAt"] + timedelta(seconds=1),
                 "message": f"(service worker) has started 1 tasks: (task {WORKER_NEW})."}  # fmt: skip
        service["events"].insert(0, event)
    else:
        service["deployments"][0].update(runningCount=1, pendingCount=1)
    return replace(completed, service=service, tasks=(*tasks, fresh))


def _replay(observations, window, started_at=WORKER_WAIT_STARTS, state=None):
    state = state or loop.start_state(observations[0].service, deployment_id=DEP_NEW)
    lines = []
    options = model.Options(stable_for=window)
    outcome = loop.replay(observations, state, options, report=lines.append, started_at=started_at)
    return outcome, lines


def test_a_task_that_exits_inside_the_window_fails_the_rollout_with_its_exit_code():
    pending, running, completed = _worker_polls()
    crashed = _exits(completed, pending)
    outcome, lines = _replay([pending, running, completed, completed, crashed], window=10)
    verdict = outcome.verdict
    assert (verdict.kind, verdict.reason_code) == (model.FAILED, "tasks_stopped")
    assert verdict.message.startswith(
        f"worker: deployment {DEP_NEW} failed: 1 new task stopped (tolerated: 0) after the deployment completed, "
        f"within the 10 s stability window: task {WORKER_A} stopped (EssentialContainerExited): "
        "Essential container in task exited; container worker exit code 1"
    )
    assert verdict.log_task_arn.endswith(WORKER_A)  # the log lines follow, as for any stopped task
    assert verdict.log_container == "worker"
    # The window was shown while it counted: from the tasks' startedAt (seen on the 2nd poll, 2 s in).
    assert "worker: 2/2 new tasks running, 0 failed, stable for 2/10 s (4s)" in lines
    assert "worker: 2/2 new tasks running, 0 failed, stable for 4/10 s (6s)" in lines
    assert progress.result(outcome)["failed_task_ids"] == [WORKER_A]


def test_without_a_window_the_same_story_is_called_a_success_as_soon_as_ecs_says_completed():
    pending, running, completed = _worker_polls()
    outcome, lines = _replay([pending, running, completed, completed, _exits(completed, pending)], window=0)
    # Today's behaviour, and the bug the window is for: success on the first COMPLETED poll, before the crash.
    assert outcome.verdict.kind == model.SUCCEEDED
    assert outcome.state.polls == 3
    assert not any("stable for" in line for line in lines)
    assert "stable for" not in outcome.verdict.message
    assert outcome.state.running_since == {}  # no window, no marks (and no extra listing of stopped tasks)


def test_a_task_replaced_between_two_polls_with_no_count_to_show_it_is_still_caught():
    pending, running, completed = _worker_polls()
    replaced = _exits(completed, pending, replaced_running=True)
    assert payloads.find_deployment(replaced.service, DEP_NEW)["runningCount"] == 2  # the counts did not move
    outcome, _lines = _replay([pending, running, completed, replaced], window=10)
    verdict = outcome.verdict
    assert (verdict.kind, verdict.reason_code) == (model.FAILED, "tasks_stopped")
    assert f"task {WORKER_A} stopped (EssentialContainerExited)" in verdict.message
    assert "exit code 1" in verdict.message


def test_a_healthy_worker_succeeds_only_once_its_tasks_ran_for_the_whole_window():
    pending, running, completed = _worker_polls()
    outcome, lines = _replay([pending, running, *[completed] * 10], window=10)
    verdict = outcome.verdict
    assert verdict.kind == model.SUCCEEDED
    # RUNNING since 2 s in (startedAt), COMPLETED at 4 s: success at 12 s, not at the COMPLETED poll.
    assert outcome.elapsed == pytest.approx(12)
    assert verdict.message == (
        f"worker: deployment {DEP_NEW} (task definition web:7) completed: 2/2 new tasks running, 0 failed, "
        "stable for 10/10 s"
    )
    # The window shows from the poll that sees every new task running, one line per poll (not a change: the polls
    # stay 2 s apart only because the deployment completed at 4 s).
    assert [line for line in lines if "stable for" in line] == [
        f"worker: 2/2 new tasks running, 0 failed, stable for {n}/10 s ({n + 2}s)" for n in (0, 2, 4, 6, 8, 10)
    ]
    summary = progress.result(outcome)["summary"]
    assert (summary["stable_for"], summary["stable_window"]) == (10.0, 10)
    # The window costs polls, not detail calls: DescribeServices alone while nothing moves.
    assert outcome.state.api_calls == outcome.state.polls + 2 + PROBE


def test_a_healthy_web_rollout_counts_the_window_from_the_last_target_turning_healthy():
    _story, observations = load("healthy")
    outcome, lines = _replay([*observations, *[observations[-1]] * 6], window=10, started_at=None)
    assert outcome.verdict.kind == model.SUCCEEDED
    # Both new targets healthy in the reading at 8 s (COMPLETED at 10 s): success at 18 s.
    assert outcome.elapsed == pytest.approx(18)
    assert "web: 2/2 new tasks running, 0 failed, targets 2/2 healthy, stable for 2/10 s (10s)" in lines
    assert outcome.verdict.message.endswith("targets 2/2 healthy, stable for 10/10 s")
    # The same recording with no window: success on the COMPLETED poll, as before.
    assert _replay([*observations, *[observations[-1]] * 6], window=0)[0].elapsed == pytest.approx(10)


def test_a_deployment_that_wants_no_task_has_no_window_to_wait_for():
    outcome, _lines = run("desired_zero", stable_for=10)
    assert (outcome.verdict.kind, outcome.state.polls) == (model.SUCCEEDED, 1)


def test_a_wait_attached_to_tasks_already_up_does_not_start_their_window_again():
    _pending, _running, completed = _worker_polls()
    state = loop.start_state(completed.service, deployment_id=DEP_NEW)
    long_ago = WORKER_WAIT_STARTS + timedelta(seconds=60)  # the tasks started 58 s before this wait
    outcome, _lines = _replay([completed] * 5, window=10, started_at=long_ago, state=state)
    assert (outcome.verdict.kind, outcome.state.polls) == (model.SUCCEEDED, 1)
    # Started 5 s before the wait: 5 s more; the poll that closes the window comes then, not at the next 2 s step.
    recent = WORKER_WAIT_STARTS + timedelta(seconds=7)
    outcome, lines = _replay([completed] * 5, window=10, started_at=recent, state=state)
    assert outcome.verdict.kind == model.SUCCEEDED
    assert outcome.elapsed == pytest.approx(5.05)
    assert lines[0] == "worker: 2/2 new tasks running, 0 failed, stable for 5/10 s (0s)"


def test_a_controller_clock_ahead_of_aws_shortens_the_window_by_one_poll_at_most():
    pending, running, completed = _worker_polls()
    ahead = WORKER_WAIT_STARTS + timedelta(seconds=300)
    outcome, _lines = _replay([pending, running, *[completed] * 10], window=10, started_at=ahead)
    assert outcome.verdict.kind == model.SUCCEEDED
    # Seen RUNNING on the poll at 2 s, not on the one at 0 s: counted from 0 s at the earliest, not 5 minutes back.
    assert outcome.elapsed == pytest.approx(10)


def test_a_target_that_turns_unhealthy_inside_the_window_starts_it_again():
    _story, observations = load("healthy")
    last = observations[-1]
    sick = copy.deepcopy(last.target_health)
    sick[TG][0]["TargetHealth"] = {"State": "unhealthy", "Reason": "Target.Timeout", "Description": "timed out"}
    flapping = replace(last, target_health=sick)
    # Both healthy at 8 s, COMPLETED at 10 s; one target unhealthy from 12 s to 16 s: the reading at 14 s (the one
    # before was 6 s old) sees it, and the one at 16 s.
    polls = [*observations, flapping, flapping, flapping, *[last] * 12]
    outcome, lines = _replay(polls, window=10, started_at=None)
    assert outcome.verdict.kind == model.SUCCEEDED
    assert "web: 2/2 new tasks running, 0 failed, targets 1/2 healthy (14s)" in lines
    # Healthy again in the reading at 18 s: the window counts from there, not from 8 s (which would succeed at 18 s).
    assert "web: 2/2 new tasks running, 0 failed, targets 2/2 healthy, stable for 0/10 s (18s)" in lines
    assert outcome.elapsed == pytest.approx(28)


# ---------------------------------------------------------------------------------------------------------
# Pieces


@pytest.mark.parametrize(
    ("message", "label"),
    [
        (
            "(service web) was unable to place a task because no container instance met all of its requirements.",
            "unable to place a task",
        ),
        ("(service web) is unable to consistently start tasks successfully.", "unable to consistently start tasks"),
        ("(service web) (deployment ecs-svc/1) deployment failed: tasks failed to start.", "deployment failed"),
        ("(service web) rolling back to deployment ecs-svc/456.", "rolling back"),
        (
            "(service web) failed to launch a task with (error CannotPullContainerError: ...).",
            "CannotPullContainerError",
        ),
        ("(service web) was unable to assume the role arn:aws:iam::1:role/x.", "unable to"),
    ],
)
def test_trouble_events_recognise_ecs_wording(message, label):
    assert [found for _event, found in payloads.trouble_events([{"message": message}])] == [label]


@pytest.mark.parametrize(
    "message",
    [
        "(service web) has reached a steady state.",
        "(service web) has started 2 tasks: (task 1a2b) (task 3c4d).",
        "(service web) (deployment ecs-svc/123) deployment completed.",
        "(service web) registered 2 targets in (target-group arn:aws:elasticloadbalancing:x)",
        "(service web, taskSet ecs-svc/1) has begun draining connections on 2 tasks.",
        "(service web) has stopped 1 running tasks: (task 1a2b).",
    ],
)
def test_trouble_events_ignore_normal_progress(message):
    assert payloads.trouble_events([{"message": message}]) == []


def test_trouble_events_ignore_history_and_other_deployments():
    since = datetime(2026, 11, 26, 12, 0, tzinfo=tzlocal())
    events = [  # newest first
        {"createdAt": since + timedelta(seconds=9), "message": "(service web) was unable to place a task. Reason: x."},
        {
            "createdAt": since + timedelta(seconds=5),
            "message": "(service web) (deployment ecs-svc/9) deployment failed.",
        },
        {"createdAt": since - timedelta(seconds=1), "message": "(service web) was unable to place a task. Reason: y."},
    ]
    found = payloads.trouble_events(events, since, deployment_id="ecs-svc/1")
    assert [event["message"] for event, _label in found] == [events[0]["message"]]


def test_stopped_tasks_that_are_not_failures():
    base = {"taskArn": "arn:aws:ecs:us-east-1:1:task/c/abc", "desiredStatus": "STOPPED", "lastStatus": "STOPPED"}
    assert payloads.stopped_task({**base, "stopCode": "UserInitiated", "stoppedReason": "Task stopped by user"}) is None
    scale_in = {**base, "stopCode": "ServiceSchedulerInitiated", "stoppedReason": "Scaling activity initiated by (x)"}
    assert payloads.stopped_task(scale_in) is None
    assert payloads.stopped_task({**base, "stopCode": "SpotInterruption", "stoppedReason": "Spot"}) is None
    health = {**base, "stopCode": "ServiceSchedulerInitiated", "stoppedReason": "Task failed container health checks"}
    assert payloads.stopped_task(health).elb is False
    running = {**base, "desiredStatus": "RUNNING", "lastStatus": "RUNNING", "stopCode": "EssentialContainerExited"}
    assert payloads.stopped_task(running) is None


def test_find_deployment_by_id_or_newest_of_the_task_definition():
    service = {
        "deployments": [
            {"id": "ecs-svc/2", "taskDefinition": "arn:aws:ecs:r:1:task-definition/web:7", "createdAt": "2026-01-02"},
            {"id": "ecs-svc/1", "taskDefinition": "arn:aws:ecs:r:1:task-definition/web:7", "createdAt": "2026-01-01"},
        ]
    }
    assert payloads.find_deployment(service, "ecs-svc/1")["id"] == "ecs-svc/1"
    assert payloads.find_deployment(service, task_definition_arn="web:7")["id"] == "ecs-svc/2"
    assert payloads.find_deployment(service, "ecs-svc/3") is None
    assert payloads.find_deployment(None, "ecs-svc/1") is None


def test_log_target_follows_the_awslogs_stream_naming():
    definition = {
        "taskDefinition": {
            "containerDefinitions": [
                {
                    "name": "web",
                    "logConfiguration": {
                        "logDriver": "awslogs",
                        "options": {
                            "awslogs-group": "/shipyard/web",
                            "awslogs-region": "us-east-1",
                            "awslogs-stream-prefix": "ecs",
                        },
                    },
                },
                {"name": "sidecar", "logConfiguration": {"logDriver": "json-file", "options": {}}},
            ]
        }
    }
    task_arn = f"arn:aws:ecs:us-east-1:123456789012:task/shipyard/{TASK_A}"
    assert payloads.log_target(definition, "web", task_arn) == ("/shipyard/web", f"ecs/web/{TASK_A}")
    assert payloads.log_target(definition["taskDefinition"], "web", task_arn)[1] == f"ecs/web/{TASK_A}"
    assert payloads.log_target(definition, "sidecar", task_arn) is None
    assert payloads.log_target(definition, "absent", task_arn) is None


def test_attach_log_tail_keeps_the_last_lines():
    verdict = model.Verdict(model.FAILED, "tasks_stopped", "web: failed", log_task_arn="x/t1", log_container="web")
    events = [{"timestamp": n, "message": f"line {n}\n"} for n in range(30)]
    message = progress.attach_log_tail(verdict, events, max_lines=3).message
    assert message == "web: failed\nLast log lines of web (task t1):\nline 27\nline 28\nline 29"
    assert progress.attach_log_tail(verdict, []) is verdict


def summary(**fields):
    fields.setdefault("tasks_known", fields.get("running", 0))  # the task detail knows every running task
    return model.Summary(service_name="web", **fields)


def test_progress_line():
    line = progress.progress_line("web", summary(desired=2, running=1, targets_healthy=1, targets_total=2), 34.7)
    assert line == "web: 1/2 new tasks running, 0 failed, targets 1/2 healthy (34s)"
    assert progress.progress_line("worker", summary(desired=3, running=3, failed=2), 5) == (
        "worker: 3/3 new tasks running, 2 failed (5s)"
    )


def test_summary_changed():
    assert progress.summary_changed(None, summary())
    assert not progress.summary_changed(summary(running=1), summary(running=1))
    assert progress.summary_changed(summary(running=1), summary(running=2))
    assert progress.summary_changed(summary(targets_healthy=0), summary(targets_healthy=1))


def test_needs_detail():
    quiet = summary(desired=2, running=2, targets_healthy=2, targets_total=2, latest_event_id="e1")
    assert polling.needs_detail(None, quiet) == model.DetailCalls(tasks=True, targets=False)
    assert not polling.needs_detail(quiet, quiet)
    # An event alone (about targets, steady state, another deployment's tasks) needs no task detail.
    assert not polling.needs_detail(quiet, replace(quiet, latest_event_id="e2"))
    assert polling.needs_detail(quiet, replace(quiet, task_event_id="e2")) == model.DetailCalls(tasks=True)
    waiting = replace(quiet, targets_healthy=1)
    assert polling.needs_detail(waiting, waiting) == model.DetailCalls(tasks=False, targets=True)
    no_lb = summary(desired=2, running=2, targets_total=None)
    assert not polling.needs_detail(no_lb, no_lb)
    assert polling.needs_detail(None, no_lb) == model.DetailCalls(tasks=True, targets=False)
    assert not polling.needs_detail(None, summary(desired=0))
    # Only pending new tasks: nothing to describe yet (no target, no failure).
    pending = summary(desired=2, pending=2, targets_total=2)
    assert not polling.needs_detail(None, pending)
    assert not polling.needs_detail(pending, replace(pending, latest_event_id="e2"))
    # The task detail was read while one new task was still starting: read it again, or its target is never seen.
    stale = replace(waiting, tasks_known=1)
    assert polling.needs_detail(stale, stale) == model.DetailCalls(tasks=True, targets=True)


def test_stopped_tasks_are_listed_only_when_a_count_says_one_of_ours_stopped():
    running = summary(desired=2, running=2, targets_total=2, targets_healthy=0, latest_event_id="e1")
    # Counts that only grow, or an event: ListTasks RUNNING at most, never ListTasks STOPPED.
    assert not polling.needs_detail(replace(running, running=1, pending=1), running).stopped
    assert not polling.needs_detail(running, replace(running, task_event_id="e9")).stopped
    # failedTasks went up, fewer tasks run, fewer run and wait together: list the stopped ones too (with the
    # running ones, in the same DescribeTasks), but skip the targets (the stopped task's drain).
    for moved in (
        replace(running, deployment_failed_tasks=1),
        replace(running, running=1, pending=1),
        replace(running, running=1),
    ):
        assert polling.needs_detail(running, moved) == model.DetailCalls(tasks=True, stopped=True, targets=False)
    # A first look lists the stopped tasks only when ECS already counts failures.
    assert not polling.needs_detail(None, running).stopped
    assert polling.needs_detail(None, replace(running, deployment_failed_tasks=2)).stopped
    # All tasks gone without failedTasks (a failure ECS did not count): still looked at.
    gone = replace(running, running=0, targets_healthy=0)
    assert polling.needs_detail(running, gone) == model.DetailCalls(tasks=True, stopped=True)


def test_the_success_poll_reads_targets_again_only_when_the_last_reading_is_not_fresh():
    done = summary(
        desired=2, running=2, targets_total=2, targets_healthy=2, deployment_status="PRIMARY",
        rollout_state="COMPLETED",
    )  # fmt: skip
    before = replace(done, rollout_state="IN_PROGRESS")
    assert not polling.needs_detail(before, done, targets_fresh=True)
    assert polling.needs_detail(before, done, targets_fresh=False) == model.DetailCalls(targets=True)
    assert polling.needs_detail(before, replace(done, targets_healthy=1), targets_fresh=True).targets


def detail_calls_of(monkeypatch, name, **options):
    """Replay a story and return the DetailCalls the loop asked for, poll by poll (None: no detail asked)."""
    asked = []
    original = polling.needs_detail

    def spy(prev, cur, **kwargs):
        calls = original(prev, cur, **kwargs)
        asked.append(calls)
        return calls

    monkeypatch.setattr(loop, "needs_detail", spy)
    outcome, _lines = run(name, **options)
    return outcome, asked


def test_replays_skip_detail_calls_while_the_counts_do_not_move(monkeypatch):
    outcome, asked = detail_calls_of(monkeypatch, "timeout")
    # One round on the first look (1 running new task, 1 pending); then 11 polls with the same counts and events:
    # DescribeServices alone, though one target is still not healthy... because it belongs to the pending task.
    assert asked[0] == model.DetailCalls(tasks=True, targets=True, deployment=True)  # + the deployment API probe
    assert asked[1:] == [model.DetailCalls()] * (outcome.state.polls - 1)
    outcome, asked = detail_calls_of(monkeypatch, "healthy")
    assert outcome.verdict.kind == model.SUCCEEDED
    assert not any(calls.stopped for calls in asked)  # nothing stopped: ListTasks STOPPED never made
    assert asked[:2] == [model.DetailCalls(deployment=True), model.DetailCalls()]  # no task yet, then pending only


def test_a_crash_is_caught_by_the_stopped_listing_the_counts_asked_for(monkeypatch):
    outcome, asked = detail_calls_of(monkeypatch, "crash_loop")
    assert outcome.verdict.reason_code == "tasks_stopped"
    # failedTasks 0 -> 1 and one running task fewer on the third poll: that poll, and only it, lists stopped tasks.
    assert [calls.stopped for calls in asked] == [False, False, True]
    # Without that listing (the replay hands out what AWS would), the crashed task is not seen on that poll.
    _story, observations = load("crash_loop")
    state = loop.start_state(observations[0].service, deployment_id=DEP_NEW)
    monkeypatch.setattr(loop, "needs_detail", lambda prev, cur, **_: model.DetailCalls(tasks=cur.running > 0))
    blind = loop.replay(observations[:3], state)
    assert blind.verdict.kind == model.WAITING


def test_an_event_naming_only_another_deployments_known_task_is_not_a_task_event():
    _story, observations = load("crash_loop")
    poll = observations[2]
    state = loop.start_state(observations[0].service, deployment_id=DEP_NEW)
    ours = progress.summarize(poll, replace(state, tasks=poll.tasks))
    assert ours.task_event_id is not None  # "has started 1 tasks: (task ...)": a task of ours
    old_task = {"taskArn": "arn:aws:ecs:us-east-1:123456789012:task/shipyard/0ld", "startedBy": DEP_OLD}
    event = {"id": "e-old", "createdAt": "2030-01-01T00:00:00+00:00",
             "message": "(service web) has stopped 1 running tasks: (task 0ld)."}  # fmt: skip
    service = {**poll.service, "events": [event, *poll.service["events"]]}
    known = replace(poll, service=service, tasks=(*poll.tasks, old_task))  # ListTasks lists every task
    assert progress.summarize(known, state).task_event_id == ours.task_event_id
    # Unknown to the waiter, the same task might be ours: it counts.
    assert progress.summarize(replace(poll, service=service), state).task_event_id == "e-old"


def test_wait_for_starts_from_the_service_the_caller_already_has():
    _story, observations = load("healthy")
    polls = []

    def fetch_service():
        polls.append(len(polls))
        return replace(observations[len(polls)], tasks=None, target_health=None, api_calls=1)

    def fetch_detail(observation, _state, calls):
        poll = observations[len(polls)]
        return replace(observation, tasks=poll.tasks, target_health=poll.target_health, api_calls=2 + calls.targets)

    clock = [0.0]
    state = loop.start_state(observations[0].service, deployment_id=DEP_NEW)
    outcome = loop.wait_for(
        fetch_service,
        fetch_detail,
        state,
        clock=lambda: clock[0],
        sleep=lambda seconds: clock.__setitem__(0, clock[0] + seconds),
        rng=seeded(1),
        initial=observations[0],
        max_polls=len(observations),
    )
    assert outcome.verdict.kind == model.SUCCEEDED
    # The first look is the caller's (UpdateService's answer): one DescribeServices fewer, and not counted here.
    assert len(polls) == outcome.state.polls - 1
    assert outcome.state.timeline[1]["elapsed"] == 0.0


def seeded(seed):
    return random.Random(seed)  # noqa: S311 - reproducible poll jitter, not security


def delay(rng=None, changed=False, throttled=False, **state):
    return polling.next_poll_delay(model.WaitState(service_name="web", **state), changed, throttled, rng or seeded(1))


def test_poll_delay_is_fast_at_the_start_and_after_a_change():
    assert delay(elapsed=3, delay=2) == 2
    assert delay(elapsed=300, delay=15, changed=True) == 2
    # Fast for fast_period (10 s) after the last change, not just for the one poll after it.
    assert delay(elapsed=300, last_change=292, delay=2) == 2
    assert delay(elapsed=300, last_change=289, delay=2) == 3


def test_poll_delay_grows_while_nothing_moves_up_to_the_cap():
    delays = []
    previous = 2.0
    for elapsed in range(10, 200, 10):
        previous = delay(elapsed=elapsed, delay=previous)
        delays.append(previous)
    assert delays[:4] == [3.0, 4.0, 4.0, 4.0]
    assert all(b >= a for a, b in itertools.pairwise(delays))
    assert max(delays) == 4  # a task that stops in a quiet stretch is still seen within 5 s


def test_throttled_poll_delay_is_full_jitter_within_the_exponential_ceiling():
    rng = seeded(42)
    for throttles, ceiling in [(1, 4), (2, 8), (3, 16), (4, 30), (9, 30)]:
        samples = [delay(rng, throttled=True, elapsed=100, throttles=throttles) for _ in range(200)]
        assert all(2 <= sample <= ceiling for sample in samples)
        assert max(samples) - min(samples) > (ceiling - 2) / 2  # spread over the range, not a fixed step
    same = [delay(seeded(7), throttled=True, throttles=3) for _ in range(2)]
    assert same[0] == same[1]  # seeded: reproducible


def test_wait_for_never_sleeps_past_the_timeout():
    sleeps = []
    clock = [0.0]

    def sleep(seconds):
        sleeps.append(seconds)
        clock[0] += seconds

    _story, observations = load("timeout")
    stuck = observations[1]
    state = loop.start_state(observations[0].service, deployment_id=DEP_NEW)
    outcome = loop.wait_for(
        lambda: replace(stuck, tasks=None, target_health=None),
        lambda observation, _state, _calls: replace(observation, tasks=stuck.tasks, target_health=stuck.target_health),
        state,
        model.Options(timeout=25),
        clock=lambda: clock[0],
        sleep=sleep,
        rng=seeded(3),
        max_polls=200,  # a broken timeout fails the test instead of hanging it
    )
    assert outcome.verdict.reason_code == "timeout"
    assert sum(sleeps) == pytest.approx(25)
    assert sleeps[:5] == [2.0] * 5
    assert sleeps[5:8] == [3.0, 4.0, 4.0]


def test_rolling_back_to_a_deployment_is_not_trouble_for_that_deployment():
    event = {"id": "e9", "createdAt": "2026-11-26T12:00:05+00:00",
             "message": "(service web) rolling back to deployment ecs-svc/111."}  # fmt: skip
    assert payloads.trouble_events([event], deployment_id="ecs-svc/111") == []
    assert [label for _, label in payloads.trouble_events([event], deployment_id="ecs-svc/222")] == ["rolling back"]


def test_after_newest_event_makes_every_event_so_far_history():
    message = "(service web) is unable to consistently start tasks successfully."
    service = {"events": [{"id": "e2", "createdAt": "2026-11-26T12:00:05+00:00", "message": message}]}
    since = payloads.after_newest_event(service)
    assert payloads.trouble_events(service["events"], since=since) == []
    assert payloads.after_newest_event({"events": []}) is None


def test_pace_holds_the_next_poll_back_after_a_burst_of_calls():
    # 3 calls before the wait and 30 in it, after 20 s: the 34th call may come at (34 - 6) / 54 per minute.
    assert delay(changed=True, elapsed=20, api_calls=30, calls_before=3) == pytest.approx(28 * 60 / 54 - 20)
    assert delay(changed=True, elapsed=20, api_calls=30, calls_before=3, seconds_before=20) == 2  # time to spare
    assert delay(changed=True, elapsed=2, api_calls=4, calls_before=3) == 2  # the burst: the first polls are free
    off = model.Options(calls_per_minute=0)
    state = model.WaitState(service_name="web", elapsed=20, api_calls=30, calls_before=3)
    assert polling.next_poll_delay(state, True, False, seeded(1), off) == 2


def _calls_per_minute_when_something_changes_on_every_poll(options):
    """Two observations in turn (0/2 and 2/2 running): every poll is a change with detail calls."""
    _story, observations = load("healthy")
    turn = [observations[1], observations[2]]
    polls = []

    def fetch_service():
        polls.append(None)
        return replace(turn[len(polls) % 2], tasks=None, target_health=None, api_calls=1)

    def fetch_detail(observation, _state, calls):
        poll = turn[len(polls) % 2]
        return replace(observation, tasks=poll.tasks, target_health=poll.target_health, api_calls=3)

    clock = [0.0]
    state = loop.start_state(observations[0].service, deployment_id=DEP_NEW)
    outcome = loop.wait_for(
        fetch_service,
        fetch_detail,
        replace(state, calls_before=3, seconds_before=1.0),
        options,
        clock=lambda: clock[0],
        sleep=lambda seconds: clock.__setitem__(0, clock[0] + seconds),
        rng=seeded(1),
        max_polls=80,
    )
    assert outcome.verdict.kind == model.WAITING, outcome.verdict
    assert outcome.elapsed > 60
    return (3 + outcome.state.api_calls) * 60 / (1.0 + outcome.elapsed)


def test_changes_on_every_poll_for_minutes_stay_within_60_calls_a_minute():
    assert _calls_per_minute_when_something_changes_on_every_poll(model.Options(calls_per_minute=0)) > 90
    assert _calls_per_minute_when_something_changes_on_every_poll(model.Options()) <= 60


def test_a_rollback_that_happened_between_two_polls_still_names_the_crashed_tasks(monkeypatch):
    # Tasks that crash at once: by the second poll ECS has failed the deployment, rolled back, and dropped it
    # from DescribeServices (no counts left to move). The verdict looks for the stopped tasks once.
    _story, observations = load("circuit_breaker_rollback")
    first, last = observations[0], observations[-1]
    # The first look is UpdateService's answer: the new deployment has no task yet.
    fresh = [dict(d, pendingCount=0, runningCount=0) if d["id"] == DEP_NEW else d for d in first.service["deployments"]]
    first = replace(first, service=dict(first.service, deployments=fresh))
    service = dict(last.service, deployments=[d for d in last.service["deployments"] if d["id"] != DEP_NEW])
    state = loop.start_state(first.service, deployment_id=DEP_NEW)
    asked = []

    def fetch_detail(observation, _state, calls):
        asked.append(calls)
        tasks = tuple(t for t in last.tasks if calls.stopped or t.get("desiredStatus") != "STOPPED")
        return replace(observation, tasks=tasks, api_calls=observation.api_calls + 3)

    polls = iter([replace(first, tasks=None, target_health=None), replace(last, service=service, tasks=None)])
    clock = [0.0]
    outcome = loop.wait_for(
        lambda: next(polls),
        fetch_detail,
        state,
        clock=lambda: clock[0],
        sleep=lambda seconds: clock.__setitem__(0, clock[0] + seconds),
        rng=seeded(1),
        max_polls=5,
    )
    verdict = outcome.verdict
    assert (verdict.kind, verdict.reason_code) == (model.FAILED, "circuit_breaker_rollback")
    assert asked[-1].stopped
    assert verdict.message.count("(EssentialContainerExited)") == 3
    assert verdict.log_task_arn is not None
    assert not polling.needs_failure_detail(verdict, model.DetailCalls(), last)  # it names a task now


# ---------------------------------------------------------------------------------------------------------
# The action plugin's rollback, on recorded polls


class _Clock:
    """A clock that only sleeping moves, for the action plugin's loop."""

    def __init__(self):
        self.now = 0.0

    def monotonic(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def _recorded_action(monkeypatch, observations, args, transport="ssh"):
    """An ecs_rollout action whose module steps answer from ``observations``, one recorded poll per poll.

    The observe step (``transport`` other than local: one module run per poll) runs as the module's does: the state
    it gets over the wire, ``loop.observe`` with the detail calls it decides on, the answer back over the wire. With
    ``transport="local"`` the wait is the module's wait step: ``loop.run`` over the same polls in the "module", its
    progress lines written to the plugin's file, the outcome back over the wire."""
    from types import SimpleNamespace

    from ansible_collections.shipyard.fargate.plugins.action import ecs_rollout as plugin
    from ansible_collections.shipyard.fargate.plugins.module_utils.rollout import wire

    monkeypatch.setattr(plugin, "time", _Clock())
    action = object.__new__(plugin.ActionModule)
    action._task = SimpleNamespace(args=args, check_mode=False)
    action._args, action._task_vars, action._calls, action._last_service = args, {}, 0, None
    action._retries = 0
    action._startup, action._overheads = plugin.STARTUP_GUESS, []
    action._connection = SimpleNamespace(transport=transport)
    polls, at, steps = list(observations), [0], []

    def fetch_detail(observation, _state, calls):
        poll = polls[at[0]]
        tasks = [t for t in poll.tasks or () if calls.stopped or t.get("desiredStatus") != "STOPPED"]
        return replace(observation, tasks=tuple(tasks), target_health=poll.target_health, api_calls=3)

    def step(name, **extra):
        steps.append((name, extra))
        if name == "start":
            service = polls[at[0]].service
            return {"changed": True, "service": service, "task_definition_arn": args["task_definition"]}
        if name == "observe":
            state = wire.state_from_wire(json.loads(json.dumps(extra["_state"])))
            options = model.options_from(args)

            def observe_once(current, elapsed):  # each poll of the run: the next recorded one
                at[0] = min(at[0] + 1, len(polls) - 1)
                fetch = lambda: replace(polls[at[0]], tasks=None, target_health=None, api_calls=1)  # noqa: E731
                return loop.observe(fetch, fetch_detail, current, options, elapsed=elapsed)

            clock = plugin.time
            base = clock.monotonic() + extra["_delay"]
            observation = loop.watch(
                observe_once,
                state,
                options,
                clock=lambda: extra["_elapsed"] + clock.monotonic() - base,
                sleep=clock.sleep,
                delay=extra["_delay"],
            )
            answer = wire.observation_to_wire(observation)
            return {"observation": json.loads(json.dumps(answer, default=str)), "busy": 0.0}
        if name == "wait":
            state = wire.state_from_wire(json.loads(json.dumps(extra["_state"])))
            first = extra["_first"] and wire.observation_from_wire(json.loads(json.dumps(extra["_first"], default=str)))
            options = model.options_from(args)
            clock, seen = plugin.time, {}
            began = clock.monotonic()

            def poll(current, delay, _planned):  # each poll: the next recorded one
                clock.sleep(delay)
                at[0] = min(at[0] + 1, len(polls) - 1)
                fetch = lambda: replace(polls[at[0]], tasks=None, target_health=None, api_calls=1)  # noqa: E731
                observation = loop.observe(fetch, fetch_detail, current, options, elapsed=clock.monotonic() - began)
                seen["service"] = observation.service or seen.get("service")
                return observation

            with open(extra["_progress_file"], "a", encoding="utf-8") as out:
                outcome = loop.run(
                    poll,
                    state,
                    options,
                    clock=lambda: clock.monotonic() - began,
                    report=lambda line: out.write(line + "\n") and out.flush(),
                    first=first or None,
                )
            answer = {"outcome": wire.outcome_to_wire(outcome), "last_service": seen.get("service")}
            return json.loads(json.dumps(answer, default=str))
        if name == "logs":
            return {"events": [], "api_calls": 0}
        raise AssertionError(f"unexpected step {name} {extra}")

    action._step = step
    return action, plugin, steps


# ssh: one module run per poll; local: the whole wait (each of the two) in one run of the module's wait step.
@pytest.mark.parametrize("transport", ["ssh", "local"])
def test_the_action_waits_for_the_circuit_breakers_rollback_even_with_rollback_off(monkeypatch, transport):
    _story, failing = load("circuit_breaker_rollback")
    _story, rolling_back = load("circuit_breaker_rollback_completed")
    args = {
        "cluster": "shipyard",
        "service": "web",
        "task_definition": "arn:aws:ecs:us-east-1:123456789012:task-definition/web:7",
        "tolerated_stopped_tasks": 3,
        "rollback": False,
    }
    action, plugin, steps = _recorded_action(monkeypatch, [*failing, rolling_back[-1]], args, transport)
    with pytest.raises(plugin.StepFailed) as failed:
        action._run(args)
    result = failed.value.result
    assert result["reason_code"] == "circuit_breaker_rollback", result["msg"]
    waits = [name for name, _extra in steps if name in ("observe", "wait")]
    assert waits == ["wait", "wait"] if transport == "local" else set(waits) == {"observe"}
    # ECS rolls back: ecs_rollout waits for that deployment and starts no rollback of its own (no UpdateService).
    assert "rollback" not in [name for name, _extra in steps]
    rollback = result["rollback"]
    assert (rollback["verdict"], rollback["deployment_id"]) == ("SUCCEEDED", DEP_OLD)
    assert rollback["task_definition_arn"].endswith("task-definition/web:6")
    assert f"Rollback to web:6: web: deployment {DEP_OLD} (task definition web:6) completed" in result["msg"]
    assert result["changed"] is True
