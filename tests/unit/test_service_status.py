"""service_status: the pure status of an ECS service from recorded ECS / ELBv2 answers (what
shipyard.fargate.ecs_service_status returns and playbooks/status.yml asserts on), and the module's input checks."""

from __future__ import annotations

import datetime
import json

import pytest
from ansible.module_utils.testing import patch_module_args
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.shipyard.fargate.plugins.module_utils import service_status as ss
from ansible_collections.shipyard.fargate.plugins.modules import ecs_service_status

ARN = "arn:aws:ecs:us-east-1:000000000000"
TG = "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/shipyard-local-web/0123456789abcdef"
DIGEST = "sha256:" + "ab" * 32
WHEN = datetime.datetime(2026, 12, 6, 9, 0, tzinfo=datetime.UTC)


def _service(state="COMPLETED", desired=2, running=2, pending=0, deployments=None, exec_enabled=False):
    primary = {
        "id": "ecs-svc/1", "status": "PRIMARY", "taskDefinition": f"{ARN}:task-definition/shipyard-local-web:7",
        "rolloutState": state, "rolloutStateReason": "ECS deployment ecs-svc/1 completed.", "createdAt": WHEN,
        "updatedAt": WHEN,
    }  # fmt: skip
    return {
        "serviceName": "web", "clusterArn": f"{ARN}:cluster/shipyard-local", "status": "ACTIVE",
        "desiredCount": desired, "runningCount": running, "pendingCount": pending,
        "deployments": deployments or [primary], "enableExecuteCommand": exec_enabled,
        "events": [{"createdAt": WHEN, "message": f"event {n}"} for n in range(8)],
    }  # fmt: skip


DEFINITION = {
    "containerDefinitions": [
        {"name": "log-router", "essential": False, "image": "fluent:1"},
        {"name": "app", "essential": True, "image": f"127.0.0.1:5000/shipyard-local/web@{DIGEST}"},
    ]
}
TASKS = [
    {"taskArn": f"{ARN}:task/shipyard-local/{n}", "taskDefinitionArn": f"{ARN}:task-definition/shipyard-local-web:7",
     "lastStatus": "RUNNING", "startedAt": WHEN, "enableExecuteCommand": True,
     "containers": [{"name": "app", "imageDigest": DIGEST}]}
    for n in ("bbbb", "aaaa")
]  # fmt: skip


def _health(*states):
    return {
        TG: [
            {"Target": {"Id": f"10.0.1.{n}", "Port": 8080}, "TargetHealth": {"State": state, **extra}}
            for n, (state, extra) in enumerate(states)
        ]
    }


def test_a_steady_service_has_no_problems_and_reports_what_it_runs():
    status = ss.summarize(_service(), DEFINITION, TASKS, _health(("healthy", {}), ("healthy", {})), events=5)
    assert ss.problems(status) == []
    assert status["task_definition"] == "shipyard-local-web:7"
    assert status["container"] == "app"  # the essential one, not the first
    assert status["image_digest"] == DIGEST
    assert status["image_tag"] is None
    assert (status["desired"], status["running"], status["pending"]) == (2, 2, 0)
    assert status["deployment"]["rollout_state"] == "COMPLETED"
    assert status["last_deployed"] == "2026-12-06T09:00:00Z"
    assert [t["task_id"] for t in status["tasks"]] == ["aaaa", "bbbb"]
    assert [e["message"] for e in status["events"]] == [f"event {n}" for n in range(5)]
    assert [(t["id"], t["port"], t["state"], t["target_group"]) for t in status["targets"]] == [
        ("10.0.1.0", 8080, "healthy", "shipyard-local-web"),
        ("10.0.1.1", 8080, "healthy", "shipyard-local-web"),
    ]
    assert ss.summarize(_service(), DEFINITION, TASKS, {}, events=0)["events"] == []


def test_an_unhealthy_target_is_named_with_the_load_balancers_reason():
    failing = {"Reason": "Target.ResponseCodeMismatch", "Description": "Health checks failed with these codes: [502]"}
    health = _health(("healthy", {}), ("unhealthy", failing))
    status = ss.summarize(_service(), DEFINITION, TASKS, health)
    assert ss.problems(status) == [
        "target 10.0.1.1:8080 is unhealthy (Target.ResponseCodeMismatch: Health checks failed with these codes: [502])"
    ]


def test_a_deployment_in_progress_fewer_running_and_pending_tasks_are_each_named():
    status = ss.summarize(_service(state="IN_PROGRESS", running=1, pending=1), DEFINITION, TASKS[:1], {})
    found = ss.problems(status)
    assert found[0].startswith("deployment IN_PROGRESS (not COMPLETED)")
    assert "running 1 != desired 2" in found
    assert "1 task(s) pending" in found


def test_an_older_deployment_still_draining_is_not_steady_and_a_missing_service_says_so():
    primary = _service()["deployments"][0]
    active = dict(primary, status="ACTIVE", id="ecs-svc/0")
    status = ss.summarize(_service(deployments=[primary, active]), DEFINITION, TASKS, {})
    assert ss.problems(status) == ["2 deployments (an older one is still draining)"]
    assert ss.problems({"service": "web", "status": "INACTIVE"}) == ["service web is INACTIVE"]


def test_image_references_tags_digests_and_the_commit():
    assert ss.split_image("repo.example:5000/team/web:abc1234") == ("repo.example:5000/team/web", "abc1234", None)
    assert ss.split_image(f"web@{DIGEST}") == ("web", None, DIGEST)
    assert ss.split_image(f"web:v1@{DIGEST}") == ("web", "v1", DIGEST)
    assert ss.commit_of(["latest", "abc1234", "0123456789abcdef0123456789abcdef01234567", "v1"]) == (
        "0123456789abcdef0123456789abcdef01234567"
    )
    assert ss.commit_of(["latest", "initial"]) is None
    tagged = dict(DEFINITION, containerDefinitions=[{"name": "app", "image": "web:abc1234", "essential": True}])
    assert ss.summarize(_service(), tagged, [], {})["commit"] == "abc1234"
    assert ecs_service_status.ecr_repository_name(f"1.dkr.ecr.us-east-1.amazonaws.com/shipyard/web@{DIGEST}") == (
        "shipyard/web"
    )
    assert ecs_service_status.ecr_repository_name("nginx:1") is None


def test_the_exec_command_and_the_summary_lines():
    line = ss.exec_command("shipyard-local", f"{ARN}:task/shipyard-local/aaaa", "app", "us-east-1")
    assert line == (
        "aws ecs execute-command --cluster shipyard-local --task aaaa --container app --region us-east-1"
        " --interactive --command /bin/sh"
    )
    status = ss.summarize(_service(running=1), DEFINITION, TASKS, _health(("unhealthy", {"Reason": "Target.Timeout"})))
    shown = ss.lines(status, ss.problems(status), line)
    assert shown[0].startswith("web in shipyard-local: NOT steady: running 1 != desired 2; target 10.0.1.0:8080")
    assert "  target 10.0.1.0:8080 unhealthy (Target.Timeout)" in shown
    assert shown[-1] == f"  shell: {line}"


def test_bad_input_is_refused_naming_the_option():
    ok = {"cluster": "c", "service": "web", "events": 5}
    assert ecs_service_status.validate(ok) is None
    assert ecs_service_status.validate({**ok, "service": " "}) == "service must not be empty"
    assert "events must be between 0 and 100" in ecs_service_status.validate({**ok, "events": -1})


def test_the_module_refuses_bad_input_before_any_aws_client(monkeypatch, capsys):
    def no_client(*_args, **_kwargs):
        raise AssertionError("an AWS client was made before the input was checked")

    monkeypatch.setattr(AnsibleAWSModule, "client", no_client)
    args = {"cluster": "c", "service": "web", "events": 500, "region": "us-east-1"}
    with patch_module_args(args), pytest.raises(SystemExit):
        ecs_service_status.main()
    result = json.loads(capsys.readouterr().out)
    assert result["failed"] is True
    assert result["msg"] == "events must be between 0 and 100, got 500"
