"""shipyard.fargate.ecs_task_definition against the emulator over HTTP, the module run on its own (conftest's
run_module, no playbook: its roles' flows run it in playbooks).

register -> re-run written differently (changed=0, no new revision) -> a real change (new revision, the diff names
the field) -> check mode registers nothing -> keep_revisions deregisters the oldest -> tags without a new revision
-> state absent; secrets stay valueFrom and their value never appears (not in the module's answer, which is what
-vvv prints). boto3 confirms what ECS holds.
"""

from __future__ import annotations

import contextlib
import copy
import json
import uuid

import pytest

pytestmark = pytest.mark.stack
ACCOUNT = "123456789012"
EXECUTION_ROLE = f"arn:aws:iam::{ACCOUNT}:role/pytest-execution"


def _container(image="shop/web:1", secret_arn=None):
    container = {
        "name": "app",
        "image": image,
        "portMappings": [{"containerPort": 3000}],
        "environment": [
            {"name": "NODE_ENV", "value": "production"},
            {"name": "LOG_LEVEL", "value": "info"},
            {"name": "PORT", "value": "3000"},
        ],
        "readonlyRootFilesystem": True,
        "ulimits": [{"name": "nofile", "softLimit": 65536, "hardLimit": 65536}],
        "healthCheck": {"command": ["CMD-SHELL", "curl -f http://localhost:3000/health || exit 1"]},
        "logConfiguration": {
            "logDriver": "awslogs",
            "options": {
                "awslogs-group": "/ecs/pytest/app",
                "awslogs-region": "us-east-1",
                "awslogs-stream-prefix": "app",
            },
        },
    }
    if secret_arn:
        container["secrets"] = [{"name": "DATABASE_URL", "valueFrom": secret_arn}]
    return container


@pytest.fixture
def task_definition(unique_name, aws, run_module):
    """``task_definition(check_mode=False, diff=False, **options)`` runs the module (conftest's run_module: no
    playbook) on a family of its own, with the options below unless given; cleans the family up after."""

    def run(*, check_mode: bool = False, diff: bool = False, **options):
        settings = {
            "family": unique_name,
            "cpu": 256,
            "memory": 512,
            "execution_role_arn": EXECUTION_ROLE,
            "containers": [_container()],
            **options,
        }
        return run_module("ecs_task_definition", settings, check_mode=check_mode, diff=diff)

    run.family = unique_name
    yield run
    ecs = aws("ecs")
    for revision in _revisions(aws, unique_name):
        with contextlib.suppress(ecs.exceptions.ClientException):
            ecs.deregister_task_definition(taskDefinition=f"{unique_name}:{revision}")


def _revisions(aws, family, status="ACTIVE"):
    """Revision numbers of the family that ECS holds with ``status``, ascending."""
    arns = aws("ecs").list_task_definitions(familyPrefix=family, status=status)["taskDefinitionArns"]
    return sorted(int(arn.rsplit(":", 1)[1]) for arn in arns if arn.rsplit("/", 1)[1].rsplit(":", 1)[0] == family)


def _ok(run, changed: bool):
    assert run.returncode == 0, run.output
    assert run.result["changed"] is changed, run.output


def test_register_then_the_same_definition_written_differently_changes_nothing(task_definition, aws):
    first = task_definition()
    _ok(first, True)
    assert first.result["changed"] is True
    assert first.result["revision"] == 1
    assert first.result["arn"].endswith(f"task-definition/{task_definition.family}:1")
    assert _revisions(aws, task_definition.family) == [1]

    # Environment shuffled, cpu/memory as strings, what ECS would fill in spelled out.
    reordered = copy.deepcopy(_container())
    reordered["environment"].reverse()
    reordered["essential"] = True
    reordered["portMappings"] = [{"containerPort": "3000", "hostPort": 3000, "protocol": "tcp"}]
    reordered["mountPoints"] = []
    reordered["healthCheck"] = {**reordered["healthCheck"], "interval": 30, "timeout": 5, "retries": 3}
    second = task_definition(diff=True, cpu="256", memory="0.5 GB", containers=[reordered])
    _ok(second, False)
    assert second.result["changed"] is False
    assert second.result["revision"] == 1
    assert second.result["arn"] == first.result["arn"]
    assert _revisions(aws, task_definition.family) == [1]

    described = aws("ecs").describe_task_definition(taskDefinition=f"{task_definition.family}:1")["taskDefinition"]
    assert described["cpu"] == "256"
    assert described["memory"] == "512"
    assert described["containerDefinitions"][0]["readonlyRootFilesystem"] is True
    assert described["containerDefinitions"][0]["ulimits"] == [
        {"name": "nofile", "softLimit": 65536, "hardLimit": 65536}
    ]


def test_a_real_change_registers_a_new_revision_and_the_diff_shows_it(task_definition, aws):
    _ok(task_definition(), True)
    changed = task_definition(diff=True, containers=[_container(image="shop/web:2")])
    _ok(changed, True)
    assert changed.result["revision"] == 2
    assert _revisions(aws, task_definition.family) == [1, 2]
    assert changed.result["diff"] == {
        "before": {"containerDefinitions": {"app": {"image": "shop/web:1"}}},
        "after": {"containerDefinitions": {"app": {"image": "shop/web:2"}}},
    }

    described = aws("ecs").describe_task_definition(taskDefinition=f"{task_definition.family}:2")["taskDefinition"]
    assert described["containerDefinitions"][0]["image"] == "shop/web:2"

    bigger = task_definition(diff=True, containers=[_container(image="shop/web:2")], cpu=512, memory=1024)
    _ok(bigger, True)
    assert bigger.result["revision"] == 3
    assert bigger.result["diff"] == {
        "before": {"cpu": "256", "memory": "512"},
        "after": {"cpu": "512", "memory": "1024"},
    }


def test_check_mode_registers_nothing(task_definition, aws):
    new = task_definition(check_mode=True, diff=True)
    _ok(new, True)
    assert new.result["arn"] is None
    assert new.result["revision"] == 1
    assert _revisions(aws, task_definition.family) == []

    _ok(task_definition(), True)
    change = task_definition(check_mode=True, containers=[_container(image="shop/web:2")], keep_revisions=1)
    _ok(change, True)
    assert change.result["revision"] == 2
    assert change.result["task_definition"] == {}
    assert [arn.rsplit("/", 1)[1] for arn in change.result["deregistered"]] == [f"{task_definition.family}:1"]
    assert _revisions(aws, task_definition.family) == [1]
    assert _revisions(aws, task_definition.family, "INACTIVE") == []

    same = task_definition(check_mode=True)
    _ok(same, False)


def test_keep_revisions_deregisters_the_oldest(task_definition, aws):
    for image in ("shop/web:1", "shop/web:2", "shop/web:3"):
        _ok(task_definition(containers=[_container(image=image)]), True)
    assert _revisions(aws, task_definition.family) == [1, 2, 3]

    fourth = task_definition(containers=[_container(image="shop/web:4")], keep_revisions=2)
    _ok(fourth, True)
    assert fourth.result["revision"] == 4
    assert [arn.rsplit(":", 1)[1] for arn in fourth.result["deregistered"]] == ["2", "1"]
    assert _revisions(aws, task_definition.family) == [3, 4]
    assert _revisions(aws, task_definition.family, "INACTIVE") == [1, 2]

    again = task_definition(containers=[_container(image="shop/web:4")], keep_revisions=2)
    _ok(again, False)
    assert _revisions(aws, task_definition.family) == [3, 4]


def test_secrets_stay_value_from_and_the_value_never_shows(task_definition, aws, unique_name):
    value = f"postgres://app:{uuid.uuid4().hex}@db/app"
    secrets = aws("secretsmanager")
    arn = secrets.create_secret(Name=f"{unique_name}/db", SecretString=value)["ARN"]
    try:
        first = task_definition(diff=True, containers=[_container(secret_arn=arn)])
        _ok(first, True)
        again = task_definition(diff=True, containers=[_container(secret_arn=arn)])
        _ok(again, False)
        for run in (first, again):
            assert value not in run.output
        described = aws("ecs").describe_task_definition(taskDefinition=task_definition.family)["taskDefinition"]
        container = described["containerDefinitions"][0]
        assert container["secrets"] == [{"name": "DATABASE_URL", "valueFrom": arn}]
        assert value not in json.dumps(described)
        assert "DATABASE_URL" not in [env["name"] for env in container["environment"]]
    finally:
        secrets.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)


def test_a_secret_value_is_refused_before_any_aws_call(task_definition, aws):
    container = _container()
    container["secrets"] = [{"name": "DATABASE_URL", "value": "plain"}]
    refused = task_definition(containers=[container])
    assert refused.returncode != 0
    assert "valueFrom" in refused.output
    assert _revisions(aws, task_definition.family) == []


def test_a_size_fargate_does_not_offer_is_refused_by_name(task_definition, aws):
    refused = task_definition(cpu=256, memory=4096)
    assert refused.returncode != 0
    assert "memory must be one of 512, 1024, 2048" in refused.output
    assert _revisions(aws, task_definition.family) == []


def test_changed_tags_go_on_the_latest_revision_without_a_new_one(task_definition, aws):
    _ok(task_definition(tags={"team": "web"}), True)
    retagged = task_definition(diff=True, tags={"team": "api", "tier": "front"})
    _ok(retagged, True)
    assert retagged.result["revision"] == 1
    assert retagged.result["diff"] == {
        "before": {"tags": {"team": "web"}},
        "after": {"tags": {"team": "api", "tier": "front"}},
    }
    assert _revisions(aws, task_definition.family) == [1]
    tags = aws("ecs").describe_task_definition(taskDefinition=f"{task_definition.family}:1", include=["TAGS"])["tags"]
    assert sorted((t["key"], t["value"]) for t in tags) == [("team", "api"), ("tier", "front")]
    _ok(task_definition(tags={"team": "api", "tier": "front"}), False)


def test_state_absent_deregisters_one_revision_or_the_whole_family(task_definition, aws):
    for image in ("shop/web:1", "shop/web:2", "shop/web:3"):
        _ok(task_definition(containers=[_container(image=image)]), True)

    _ok(task_definition(check_mode=True, state="absent"), True)
    assert _revisions(aws, task_definition.family) == [1, 2, 3]

    one = task_definition(state="absent", revision=2)
    _ok(one, True)
    assert _revisions(aws, task_definition.family) == [1, 3]
    _ok(task_definition(state="absent", revision=2), False)

    everything = task_definition(state="absent")
    _ok(everything, True)
    assert _revisions(aws, task_definition.family) == []
    _ok(task_definition(state="absent"), False)
