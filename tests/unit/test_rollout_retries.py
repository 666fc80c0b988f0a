# Copyright: Shipyard maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Retries made visible (issue 16's faults): StepCalls counts the attempts made again, the waiter's timeline and the
result say so; and ECS's deployment API probe survives a 5xx or a dropped connection (the choice stays open)."""

from __future__ import annotations

import json
from dataclasses import replace

import botocore.exceptions
import pytest
from ansible_collections.shipyard.fargate.plugins.module_utils import step_calls
from ansible_collections.shipyard.fargate.plugins.module_utils.rollout import loop, model, progress, wire
from ansible_collections.shipyard.fargate.plugins.module_utils.rollout import service_deployments as deployments
from test_rollout_decisions import DEP_NEW, load


def _answer(retries, **body):
    return {**body, "ResponseMetadata": {"HTTPStatusCode": 200, "RetryAttempts": retries}}


def _error(code, status, retries=0):
    response = {
        "Error": {"Code": code, "Message": code},
        "ResponseMetadata": {"HTTPStatusCode": status, "RetryAttempts": retries},
    }
    return botocore.exceptions.ClientError(response, "ListServiceDeployments")


class _Client:
    """A stubbed boto3 client: each operation answers from its list (a dict is returned, an exception raised)."""

    def __init__(self, answers):
        self.answers = {name: list(items) for name, items in answers.items()}
        self.calls = []

    def __getattr__(self, operation):
        def method(**kwargs):
            self.calls.append((operation, kwargs))
            answer = self.answers[operation].pop(0)
            if isinstance(answer, Exception):
                raise answer
            return answer

        return method


class _Module:
    def __init__(self, client):
        self.stub = client
        self.asked = []

    def client(self, api, retry_decorator=None, **extra):
        self.asked.append((api, retry_decorator, extra))
        return self.stub


# --- StepCalls --------------------------------------------------------------------------------------------------


def test_step_calls_sums_botocores_retry_attempts_of_answers_and_errors():
    client = _Client(
        {
            "describe_services": [_answer(2, services=[]), _answer(0, services=[])],
            "list_tasks": [_error("InternalFailure", 500, retries=9)],
        }
    )
    call = step_calls.StepCalls(_Module(client), retry=False)
    assert call("describe_services", cluster="c", services=["web"]) == _answer(2, services=[])
    call("describe_services", cluster="c", services=["web"])
    with pytest.raises(botocore.exceptions.ClientError):
        call("list_tasks", cluster="c")  # failed after botocore's retries: they count too
    assert (call.count, call.retries) == (3, 11)


def test_step_calls_counts_the_jittered_backoffs_attempts_again(monkeypatch):
    from ansible_collections.amazon.aws.plugins.module_utils import cloud

    monkeypatch.setattr(cloud.time, "sleep", lambda _seconds: None)
    client = _Client({"update_service": [_error("ThrottlingException", 400, 3), _answer(1, service={})]})
    call = step_calls.StepCalls(_Module(client), retry=True)
    assert call("update_service", cluster="c", service="web")["service"] == {}
    # One call; botocore made 3 + 1 attempts again and the backoff one more.
    assert (call.count, call.retries, len(client.calls)) == (1, 5, 2)


def test_a_probe_makes_one_attempt_and_no_retry():
    client = _Client({"list_service_deployments": [_error("ThrottlingException", 400)]})
    module = _Module(client)
    call = step_calls.StepCalls(module, retry=True)
    with pytest.raises(botocore.exceptions.ClientError):
        call("list_service_deployments", probe=True, cluster="c", service="web")
    assert len(client.calls) == 1
    assert call.retries == 0
    assert module.asked == [("ecs", None, {"config": {"retries": {"total_max_attempts": 1}}})]


def test_step_calls_sharing_clients_make_each_client_once_from_many_threads():
    import threading

    module = _Module(_Client({"describe_services": [_answer(0, services=[]) for _ in range(16)]}))
    clients = {}
    calls = [step_calls.StepCalls(module, retry=False, clients=clients) for _ in range(8)]
    threads = [threading.Thread(target=c, args=("describe_services",), kwargs={"cluster": "c"}) for c in calls * 2]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert module.asked == [("ecs", None, {})]  # one client for all of them
    assert [c.count for c in calls] == [2] * 8  # each counts its own calls


def test_step_calls_without_retry_metadata_counts_none():
    call = step_calls.StepCalls(_Module(_Client({"get_log_events": [{"events": []}]})), retry=False)
    call("get_log_events", api="logs", logGroupName="g", logStreamName="s")
    assert (call.count, call.retries) == (1, 0)


# --- the waiter: state, timeline, wire --------------------------------------------------------------------------


def test_a_poll_with_retries_says_so_in_the_timeline_and_counts_them():
    _story, observations = load("healthy")
    state = loop.start_state(observations[0].service, deployment_id=DEP_NEW)
    observation = replace(observations[0], elapsed=2.0, api_calls=4, api_retries=2, quiet_retries=1)
    verdict = model.Verdict(kind=model.WAITING)
    after, _changed = loop.advance(state, observation, verdict)
    assert after.api_retries == 3
    retried = [entry for entry in after.timeline if entry["kind"] == "retried"]
    assert [entry["message"] for entry in retried] == ["AWS throttled/failed 3 calls; retried with backoff"]
    assert progress.result(model.Outcome(verdict, after, 2.0))["api_retries"] == 3
    # A poll without retries adds no such line.
    again, _changed = loop.advance(after, replace(observations[1], elapsed=3.0), verdict)
    assert [entry["kind"] for entry in again.timeline].count("retried") == 1
    # A throttled poll that botocore retried before giving up says both.
    throttled, _changed = loop.advance(after, model.Observation(elapsed=4.0, throttled=True, api_retries=9), verdict)
    assert [entry["kind"] for entry in throttled.timeline[-2:]] == ["retried", "throttled"]


def test_the_calls_text_names_the_retried_ones_only_when_there_are_some():
    assert progress.calls_text(42) == "42 AWS calls"
    assert progress.calls_text(42, 0) == "42 AWS calls"
    assert progress.calls_text(42, 3) == "42 AWS calls (3 retried)"
    assert progress.retried_text(1) == "AWS throttled/failed 1 call; retried with backoff"


def test_retries_cross_the_module_boundary():
    _story, observations = load("healthy")
    observation = replace(observations[0], api_retries=2, quiet_retries=5)
    back = wire.observation_from_wire(json.loads(json.dumps(wire.observation_to_wire(observation), default=str)))
    assert (back.api_retries, back.quiet_retries) == (2, 5)
    state = replace(loop.start_state(observations[0].service, deployment_id=DEP_NEW), api_retries=7)
    assert wire.state_from_wire(json.loads(json.dumps(wire.state_to_wire(state), default=str))).api_retries == 7


def test_a_quiet_poll_with_retries_does_not_end_the_run_and_its_retries_come_with_the_poll_returned():
    _story, observations = load("healthy")
    steady = replace(observations[0], tasks=None, target_health=None)  # mid-rollout, and it stays so
    state = loop.start_state(steady.service, deployment_id=DEP_NEW)
    options = model.Options(stable_for=0)
    first, _changed = loop.advance(
        state, replace(steady, elapsed=0.0), model.Verdict(kind=model.WAITING), None, options
    )
    clock = {"now": 0.0}
    retries = iter([2, 0, 1, 0])

    def observe_once(_current, elapsed):
        return replace(steady, elapsed=elapsed, api_calls=1, api_retries=next(retries, 0))

    def sleep(seconds):
        clock["now"] += max(seconds, 1.0)

    returned = loop.watch(
        observe_once,
        replace(first, polls=1),
        options,
        clock=lambda: clock["now"],
        sleep=sleep,
        slice_seconds=3.5,
    )
    # Every poll was quiet but for its retries: the run went on to its slice, the retries carried along.
    assert returned.quiet_polls == 2
    assert (returned.quiet_retries, returned.api_retries) == (2, 1)


# --- the action plugin sums them ------------------------------------------------------------------------------------


def test_the_action_sums_each_module_runs_retries_like_its_calls(monkeypatch):
    from ansible_collections.shipyard.fargate.plugins.action import ecs_rollout as plugin

    answers = iter([{"api_calls": 3, "api_retries": 2}, {"api_calls": 1}, {"failed": True, "msg": "no", **_counts()}])
    action = object.__new__(plugin.ActionModule)
    action._args, action._task_vars, action._calls, action._retries = {"service": "web"}, {}, 0, 0
    action._execute_module = lambda **_kwargs: next(answers)
    action._step("start")
    action._step("observe")
    assert (action._calls, action._retries) == (4, 2)
    with pytest.raises(plugin.StepFailed) as failed:
        action._step("logs")
    # ActionModule.run adds the failed step's own counts to the ones before it.
    assert (failed.value.result["api_calls"], failed.value.result["api_retries"]) == (5, 1)
    lines = []
    monkeypatch.setattr(plugin.display, "display", lines.append)
    action._say_calls(model.WaitState(service_name="web"))
    assert lines == ["web: 4 AWS calls (2 retried)"]
    action._retries = 0
    action._say_calls(model.WaitState(service_name="web"))
    assert lines == ["web: 4 AWS calls (2 retried)"]


def _counts():
    return {"api_calls": 5, "api_retries": 1}


# --- ECS's deployment API probe: a 5xx or a dropped connection leaves the choice open -------------------------------


def _probe(answer, deployment_api=None):
    """The module's ``_service_deployment`` for a first look (no ARN yet), its ListServiceDeployments answering
    ``answer``; returns ``(record, deployment_api)`` and the stub's calls."""
    from ansible_collections.shipyard.fargate.plugins.modules import ecs_rollout as module

    _story, observations = load("healthy")
    service = observations[0].service
    state = replace(loop.start_state(service, deployment_id=DEP_NEW), deployment_api=deployment_api)
    client = _Client({"list_service_deployments": [answer]})
    call = step_calls.StepCalls(_Module(client), retry=False)
    return module._service_deployment(call, "shipyard", "web", model.Observation(service=service), state)


@pytest.mark.parametrize(
    "error",
    [
        _error("InternalFailure", 500),
        _error("ServerException", 500),
        _error("ServiceUnavailableException", 503),
        botocore.exceptions.ReadTimeoutError(endpoint_url="http://127.0.0.1:1/"),
        botocore.exceptions.EndpointConnectionError(endpoint_url="http://127.0.0.1:1/"),
        botocore.exceptions.ConnectionClosedError(endpoint_url="http://127.0.0.1:1/"),
    ],
    ids=["InternalFailure", "ServerException", "503", "read-timeout", "no-connection", "connection-closed"],
)
def test_a_probe_that_aws_failed_leaves_the_api_choice_open(error):
    assert _probe(error) == (None, None)
    # Known to have the API already: it stays known (the record is read again on the next poll).
    assert _probe(error, deployment_api=True) == (None, True)


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("UnknownOperationException", 400),
        ("InvalidAction", 400),
        ("NotImplemented", 501),
        ("AccessDeniedException", 400),
        ("", 500),  # an emulator without the operation: a 500 that names no AWS error code
    ],
)
def test_only_an_answer_about_the_operation_decides_the_fallback(code, status):
    assert _probe(_error(code, status)) == (None, False)


@pytest.mark.parametrize(("code", "status"), [("ThrottlingException", 400), ("InvalidParameterException", 400)])
def test_throttling_and_a_wrong_request_still_reach_the_poll(code, status):
    with pytest.raises(botocore.exceptions.ClientError):
        _probe(_error(code, status))


def test_server_failure_is_a_coded_5xx_only():
    assert deployments.server_failure("InternalFailure", 500)
    assert deployments.server_failure("ServiceUnavailable", 503)
    assert not deployments.server_failure("", 500)
    assert not deployments.server_failure("NotImplemented", 501)
    assert not deployments.server_failure("UnknownOperationException", 400)
    assert not deployments.server_failure("InternalFailure", None)


def test_an_undecided_probe_is_asked_again_on_the_next_poll():
    _story, observations = load("healthy")
    state = loop.start_state(observations[0].service, deployment_id=DEP_NEW)
    options = model.Options()
    asked = []

    def fetch_detail(observation, _current, needed):
        asked.append(needed.deployment)
        return replace(observation, deployment_api=None)  # as _service_deployment answers a 5xx

    for elapsed, observation in enumerate(observations[:3]):
        poll = loop.observe(lambda o=observation: o, fetch_detail, state, options, elapsed=float(elapsed))
        state, _changed = loop.advance(state, poll, model.Verdict(kind=model.WAITING), options=options)
        assert state.deployment_api is None
    # Each poll asked again, not only the first look.
    assert asked[:3] == [True, True, True]
    # Once known to have the API, a poll where nothing moved does not ask.
    known = replace(state, deployment_api=True)
    asked.clear()
    loop.observe(lambda: observations[2], fetch_detail, known, options, elapsed=3.0)
    assert True not in asked


def test_a_wait_whose_first_polls_are_throttled_goes_on_to_its_verdict():
    # Under faults the first poll (the start step's) can be throttled: no summary yet, and the wait goes on.
    _story, observations = load("healthy")
    state = loop.start_state(observations[0].service, deployment_id=DEP_NEW)
    polls = iter([model.Observation(throttled=True, api_retries=9), *observations[1:]])
    outcome = loop.run(
        lambda _state, _delay, elapsed: replace(next(polls), elapsed=elapsed),
        state,
        model.Options(stable_for=0),
        clock=lambda: 0.0,
        first=model.Observation(throttled=True, api_retries=9),
        report=lambda _line: None,
    )
    assert outcome.verdict.kind == model.SUCCEEDED
    kinds = [entry["kind"] for entry in outcome.state.timeline]
    assert kinds[1:5] == ["retried", "throttled", "retried", "throttled"]
    assert outcome.state.api_retries == 18
