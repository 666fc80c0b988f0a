"""shipyard.fargate.ecs_task_run: its decisions on recorded answers, its input checks and its RunTask request.

Each story in fixtures/ecs_task_run/ holds what the local cloud's ECS answered for one one-off task (RunTask's task,
then DescribeTasks at each change of status, GetLogEvents at the end), recorded with the engine on a virtual clock.
``replay`` feeds the DescribeTasks answers through the action plugin's real waiting loop (``wait_task``) on a clock
that only sleeping moves, then builds the message as the plugin does.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from ansible.module_utils.testing import patch_module_args
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.shipyard.fargate.plugins.action import ecs_task_run as plugin
from ansible_collections.shipyard.fargate.plugins.module_utils.rollout import payloads
from ansible_collections.shipyard.fargate.plugins.modules import ecs_task_run as module

FIXTURES = Path(__file__).parent / "fixtures" / "ecs_task_run"
THROTTLED = object()
PARAMS = {
    "cluster": "shop", "task_definition": "web:7", "container": None, "command": ["npm", "run", "migrate"],
    "environment": None, "subnets": ["subnet-1"], "security_groups": ["sg-1"], "assign_public_ip": False,
    "launch_type": None, "capacity_provider_strategy": None, "platform_version": None, "started_by": "shipyard",
    "wait": True, "timeout": 600, "log_lines": 20,
}  # fmt: skip


def load(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def replay(story: dict, timeout: float | None = None, polls=None):
    """Run ``wait_task`` over the story's DescribeTasks answers (THROTTLED: a throttled poll); returns
    ``(waited, lines, sleeps, message)`` where ``message`` is the plugin's failure message (None on success)."""
    answers = []
    for poll in polls if polls is not None else story["polls"]:
        answers.extend([poll] * (poll.get("repeat", 1) if isinstance(poll, dict) else 1))
    clock = {"now": 0.0, "next": 0}
    sleeps: list[float] = []
    lines: list[str] = []

    def fetch():
        answer = answers[min(clock["next"], len(answers) - 1)]
        clock["next"] += 1
        if answer is THROTTLED:
            return None, True, 1
        return (answer["describe_tasks"]["tasks"] or [None])[0], False, 1

    def sleep(seconds):
        sleeps.append(seconds)
        clock["now"] += seconds

    task = story["run_task"]["tasks"][0]
    timeout = story["timeout"] if timeout is None else timeout
    waited = plugin.wait_task(
        fetch, story["container"], timeout, clock=lambda: clock["now"], sleep=sleep,
        rng=random.Random(7),  # noqa: S311 - poll jitter, not security
        report=lines.append, label="migrate", initial=task,
    )  # fmt: skip
    message = None
    if waited.judgement.kind != plugin.SUCCEEDED:
        message = plugin.failure_message("migrate", waited.judgement, waited.elapsed, timeout, task["taskArn"])
        events = (story.get("get_log_events") or {}).get("events")
        message = plugin.with_log_tail(message, task["taskArn"], story["container"], events, 20)
    return waited, lines, sleeps, message


def test_exit_0_succeeds_after_a_line_per_status():
    story = load("succeeded")
    waited, lines, sleeps, message = replay(story)
    assert waited.judgement.kind == plugin.SUCCEEDED
    assert waited.judgement.exit_code == 0
    assert waited.judgement.stop_code == "EssentialContainerExited"
    assert message is None
    assert [line.split(": ")[1].split(" (")[0] for line in lines] == ["PROVISIONING", "PENDING", "RUNNING", "STOPPED"]
    assert sleeps == [2.0, 2.0, 2.0]  # fast polls while things move
    assert waited.api_calls == 3  # RunTask's answer was the first look: no DescribeTasks for it
    events = story["get_log_events"]["events"]
    assert plugin.log_lines(events, 20) == ["> migrate", "Batch 3 run: 1 migrations"]
    assert plugin.log_lines(events, 1) == ["Batch 3 run: 1 migrations"]
    assert plugin.log_lines(events, 0) == []


def test_exit_3_fails_with_the_exit_code_the_reason_and_the_last_log_lines():
    story = load("exit_code_3")
    waited, _lines, _sleeps, message = replay(story)
    assert waited.judgement.kind == plugin.FAILED
    assert waited.judgement.exit_code == 3
    task_id = story["run_task"]["tasks"][0]["taskArn"].rsplit("/", 1)[1]
    head, _, tail = message.partition("\n")
    assert head == (
        f"migrate failed with exit code 3 after {int(waited.elapsed)}s: task {task_id} stopped "
        "(EssentialContainerExited): Essential container in task exited; container app exit code 3"
    )
    assert tail == f'Last log lines of app (task {task_id}):\n> migrate\nerror: relation "notes" already exists\n' + (
        "npm ERR! code 3"
    )


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("pull_failure", "CannotPullContainerError: pull image manifest has been retried"),
        ("secret_failure", "ResourceInitializationError: unable to pull secrets or registry auth"),
    ],
)
def test_a_task_that_never_starts_fails_with_that_reason(name, reason):
    waited, _lines, _sleeps, message = replay(load(name))
    assert waited.judgement.kind == plugin.FAILED
    assert waited.judgement.exit_code is None
    assert waited.judgement.stop_code == "TaskFailedToStart"
    assert message.startswith("migrate never ran its command after ")
    assert f"(TaskFailedToStart): {reason}" in message
    assert "Last log lines" not in message  # no stream: the container never started


def test_the_timeout_ends_the_wait_and_the_message_says_the_task_was_stopped():
    story = load("still_running")
    waited, lines, sleeps, message = replay(story, timeout=30)
    assert waited.judgement.kind == plugin.TIMED_OUT
    assert waited.elapsed == pytest.approx(30)
    assert sum(sleeps) == pytest.approx(30)  # the last sleep stops at the timeout, not after it
    assert max(sleeps) <= 4.0  # quiet stretch: polls slow down to 4 s, no further
    assert sleeps[-2] == 4.0
    assert [line.split(": ")[1].split(" (")[0] for line in lines] == ["PROVISIONING", "PENDING", "RUNNING"]
    task_id = story["run_task"]["tasks"][0]["taskArn"].rsplit("/", 1)[1]
    assert message.startswith(f"migrate timed out after 30s: task {task_id} stopped (StopTask)\n")
    assert message.endswith("waiting for lock")


def test_throttled_polls_back_off_with_jitter_and_the_verdict_still_comes():
    story = load("exit_code_3")
    polls = [story["polls"][0], THROTTLED, THROTTLED, THROTTLED, *story["polls"][1:]]
    waited, lines, sleeps, _message = replay(story, polls=polls)
    assert waited.judgement.exit_code == 3
    throttled = sleeps[1:4]
    assert all(2.0 <= delay <= 30.0 for delay in throttled)
    assert len(set(throttled)) == 3  # jittered
    assert len(lines) == 4  # a throttled poll reports nothing


def test_a_task_ecs_no_longer_knows_fails_at_once():
    story = load("succeeded")
    gone = {"describe_tasks": {"tasks": [], "failures": [{"arn": "x", "reason": "MISSING"}]}}
    waited, _lines, _sleeps, message = replay(story, polls=[story["polls"][0], gone])
    assert waited.judgement.kind == plugin.FAILED
    assert "DescribeTasks no longer knows the task (MISSING)" in message


def test_the_decision_is_the_named_containers_exit_code():
    task = {
        "taskArn": "arn:aws:ecs:us-east-1:123456789012:task/shop/abc",
        "lastStatus": "STOPPED",
        "desiredStatus": "STOPPED",
        "stopCode": "EssentialContainerExited",
        "stoppedReason": "Essential container in task exited",
        "containers": [{"name": "app", "exitCode": 0}, {"name": "sidecar", "exitCode": 1}],
    }
    assert plugin.judge(task, "app", 5, 600).kind == plugin.SUCCEEDED
    assert plugin.judge(task, "sidecar", 5, 600).kind == plugin.FAILED
    stopped_by_user = {**task, "stopCode": "UserInitiated", "stoppedReason": "by hand"}
    judged = plugin.judge(stopped_by_user, "sidecar", 5, 600)
    assert (judged.kind, judged.stop_code) == (plugin.FAILED, "UserInitiated")
    assert "(UserInitiated): by hand" in judged.detail
    assert plugin.judge({**task, "lastStatus": "RUNNING"}, "app", 599, 600).kind == plugin.WAITING
    assert plugin.judge({**task, "lastStatus": "RUNNING"}, "app", 600, 600).kind == plugin.TIMED_OUT


def test_stopped_task_any_reason_reads_a_task_stopped_by_a_user():
    task = {"taskArn": "t/abc", "lastStatus": "STOPPED", "stopCode": "UserInitiated", "stoppedReason": "by hand"}
    assert payloads.stopped_task(task) is None  # not a rollout failure
    assert payloads.stopped_task(task, any_reason=True).stop_code == "UserInitiated"


# --- the module's pure parts -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"cluster": " "}, "cluster must not be empty"),
        ({"container": ""}, "container must not be empty"),
        ({"command": []}, "command must be a non-empty list"),
        ({"environment": {"1BAD": "x"}}, "environment: '1BAD' is not a variable name"),
        ({"environment": {"A": {"b": 1}}}, "environment: the value of A"),
        ({"launch_type": "FARGATE", "capacity_provider_strategy": [{"capacity_provider": "FARGATE"}]}, "exclusive"),
        ({"started_by": "a b"}, "started_by must be"),
        ({"started_by": "x" * 129}, "started_by must be"),
        ({"timeout": -1}, "timeout must be 0 or more"),
        ({"timeout": 0}, "timeout must be above 0"),
        ({"log_lines": -5}, "log_lines must be 0 or more"),
        ({"subnets": [""]}, "subnets must not hold an empty ID"),
    ],
)
def test_bad_input_names_the_option(changes, named):
    errors = module.validate({**PARAMS, **changes})
    assert any(named in error for error in errors), errors


def test_good_input_passes():
    assert module.validate(PARAMS) == []
    assert module.validate({**PARAMS, "timeout": 0, "wait": False}) == []


def _definition(*containers):
    return {
        "taskDefinitionArn": "arn:aws:ecs:us-east-1:123456789012:task-definition/web:7",
        "networkMode": "awsvpc",
        "containerDefinitions": [{"name": name, "essential": essential} for name, essential in containers],
    }


def test_the_container_is_the_only_essential_one_or_must_be_named():
    assert module.choose_container(_definition(("app", True), ("log-router", False)), None) == ("app", None)
    assert module.choose_container(_definition(("app", True), ("worker", True)), "worker") == ("worker", None)
    name, error = module.choose_container(_definition(("app", True), ("worker", True)), None)
    assert name is None
    assert error.startswith("container: task definition web:7 has 2 essential containers (app, worker)")
    name, error = module.choose_container(_definition(("app", True)), "api")
    assert error == "container 'api' is not in task definition web:7 (its containers: app)"


def test_the_run_task_request_overrides_one_container_in_the_network_given():
    params = {**PARAMS, "environment": {"BATCH": 500, "DRY_RUN": False}}
    request = module.run_task_request(params, _definition(("app", True)), "app")
    assert request == {
        "cluster": "shop",
        "taskDefinition": "arn:aws:ecs:us-east-1:123456789012:task-definition/web:7",
        "startedBy": "shipyard",
        "count": 1,
        "launchType": "FARGATE",
        "overrides": {
            "containerOverrides": [
                {
                    "name": "app",
                    "command": ["npm", "run", "migrate"],
                    "environment": [{"name": "BATCH", "value": "500"}, {"name": "DRY_RUN", "value": "false"}],
                }
            ]
        },
        "networkConfiguration": {
            "awsvpcConfiguration": {"subnets": ["subnet-1"], "assignPublicIp": "DISABLED", "securityGroups": ["sg-1"]}
        },
    }
    spot = {**PARAMS, "capacity_provider_strategy": [{"capacity_provider": "FARGATE_SPOT", "weight": 1, "base": 0}]}
    request = module.run_task_request(spot, _definition(("app", True)), "app")
    assert "launchType" not in request
    assert request["capacityProviderStrategy"] == [{"capacityProvider": "FARGATE_SPOT", "weight": 1, "base": 0}]


def test_what_would_run_names_the_variables_never_their_values():
    params = {**PARAMS, "environment": {"API_TOKEN": "s3cret-value"}}
    text = module.describe_command(params, _definition(("app", True)), "app")
    assert text == "npm run migrate in container app of web:7 on cluster shop (environment: API_TOKEN)"
    assert "s3cret-value" not in text


def test_the_module_refuses_bad_input_before_any_aws_client(monkeypatch, capsys):
    def no_client(*_args, **_kwargs):
        raise AssertionError("an AWS client was made before the input was checked")

    monkeypatch.setattr(AnsibleAWSModule, "client", no_client)
    args = {"cluster": "shop", "task_definition": "web:7", "started_by": "a b", "timeout": -1, "region": "us-east-1"}
    with patch_module_args(args), pytest.raises(SystemExit):
        module.main()
    result = json.loads(capsys.readouterr().out)
    assert result["failed"] is True
    assert "started_by must be" in result["msg"]
    assert "timeout must be 0 or more" in result["msg"]


# --- the plugin's steps, on a fake module ------------------------------------------------------------------------


def _plugin(args, answers, calls):
    """The action plugin with ``_execute_module`` answering each step from ``answers[step]`` (a list, in order)."""
    from unittest import mock

    task = mock.MagicMock(args=args, async_val=0, check_mode=False)
    action = plugin.ActionModule(task, mock.MagicMock(), mock.MagicMock(), None, None, None)

    def execute(module_name, module_args, task_vars):
        calls.append((module_args["_step"], {k: v for k, v in module_args.items() if k.startswith("_")}))
        return answers[module_args["_step"]].pop(0)

    action._execute_module = execute
    return action


def test_the_plugin_stops_a_task_that_outlives_its_timeout_and_reads_its_log(monkeypatch):
    story = load("still_running")
    task = story["run_task"]["tasks"][0]
    running = story["polls"][-1]["describe_tasks"]["tasks"][0]
    now = {"t": 0.0}
    monkeypatch.setattr(plugin.time, "monotonic", lambda: now["t"])
    monkeypatch.setattr(plugin.time, "sleep", lambda seconds: now.__setitem__("t", now["t"] + seconds))
    start = {
        "container": "app",
        "task_definition_arn": task["taskDefinitionArn"],
        "task": task,
        "api_calls": 2,
        "log_group": "/ecs/migrate",
        "log_prefix": "web/app",
        "description": "npm run migrate in container app",
    }
    answers = {
        "start": [start],
        "observe": [{"task": running, "api_calls": 1}] * 20,
        "stop": [{"task": {**running, "desiredStatus": "STOPPED", "stopCode": "UserInitiated"}, "api_calls": 1}],
        "logs": [story["get_log_events"] | {"api_calls": 1}],
    }  # fmt: skip
    calls = []
    result = _plugin({"cluster": "shop", "task_definition": "migrate:1", "timeout": 10}, answers, calls).run(
        task_vars={}
    )
    assert result["failed"] is True
    assert result["timed_out"] is True
    assert result["stop_code"] == "UserInitiated"
    task_id = task["taskArn"].rsplit("/", 1)[1]
    assert result["log_stream"] == f"web/app/{task_id}"
    assert result["log_lines"] == ["waiting for lock"]
    assert result["msg"].startswith(f"one-off task (migrate:1, container app) timed out after 10s: task {task_id}")
    stop = next(extra for step, extra in calls if step == "stop")
    assert stop == {"_step": "stop", "_task_arn": task["taskArn"], "_reason": f"{plugin.MODULE}: timed out after 10s"}
    assert [step for step, _ in calls][-2:] == ["stop", "logs"]
    assert result["api_calls"] == 2 + sum(1 for step, _ in calls if step == "observe") + 2


def test_the_plugin_refuses_its_internal_options_in_a_task():
    with pytest.raises(plugin.AnsibleActionFail, match=r"_step: internal options of shipyard\.fargate\.ecs_task_run"):
        _plugin({"cluster": "shop", "task_definition": "web:7", "_step": "stop"}, {}, []).run(task_vars={})
