"""shipyard.fargate.ecs_task_definition: normalization, comparison, diff, validation and revision bookkeeping.

The payloads are what ECS's DescribeTaskDefinition returns for what a playbook registers. Each normalization case
starts from two identical definitions and changes one of them only in the way ECS does, so removing that
normalization makes its case fail (the raw dicts are checked to differ).
"""

from __future__ import annotations

import copy

import pytest
from ansible_collections.shipyard.fargate.plugins.module_utils import task_definition as td
from ansible_collections.shipyard.fargate.plugins.modules import ecs_task_definition as module

ACCOUNT = "123456789012"
SECRET_ARN = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:shop/web-AbCdEf"
EXECUTION_ROLE = f"arn:aws:iam::{ACCOUNT}:role/shop-web-execution"
TASK_ROLE = f"arn:aws:iam::{ACCOUNT}:role/shop-web-task"

# What a playbook asks for (module options), as a user writes them: no defaults, any order, numbers as they come.
PARAMS = {
    "family": "shop-web",
    "state": "present",
    "revision": None,
    "network_mode": "awsvpc",
    "requires_compatibilities": ["FARGATE"],
    "cpu": "512",
    "memory": "1024",
    "execution_role_arn": EXECUTION_ROLE,
    "task_role_arn": TASK_ROLE,
    "runtime_platform": None,
    "ephemeral_storage": None,
    "volumes": None,
    "placement_constraints": None,
    "pid_mode": None,
    "ipc_mode": None,
    "keep_revisions": None,
    "tags": None,
    "purge_tags": True,
    "containers": [
        {
            "name": "web",
            "image": f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/shop/web:1.4.2",
            "portMappings": [{"containerPort": 3000}],
            "environment": [{"name": "NODE_ENV", "value": "production"}, {"name": "LOG_LEVEL", "value": "info"}],
            "secrets": [
                {"name": "SESSION_KEY", "valueFrom": f"{SECRET_ARN}:SESSION_KEY::"},
                {"name": "DATABASE_URL", "valueFrom": f"{SECRET_ARN}:DATABASE_URL::"},
            ],
            "readonlyRootFilesystem": True,
            "ulimits": [{"name": "nofile", "softLimit": 65536, "hardLimit": 65536}],
            "healthCheck": {"command": ["CMD-SHELL", "curl -f http://localhost:3000/health || exit 1"]},
            "logConfiguration": {
                "logDriver": "awslogs",
                "options": {
                    "awslogs-group": "/ecs/shop/web",
                    "awslogs-region": "us-east-1",
                    "awslogs-stream-prefix": "web",
                },
            },
        }
    ],
}

# DescribeTaskDefinition(include=[TAGS]) for PARAMS registered on Fargate, as ECS answers it.
DESCRIBED = {
    "taskDefinition": {
        "taskDefinitionArn": f"arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/shop-web:7",
        "containerDefinitions": [
            {
                "name": "web",
                "image": f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/shop/web:1.4.2",
                "cpu": 0,
                "portMappings": [{"containerPort": 3000, "hostPort": 3000, "protocol": "tcp"}],
                "essential": True,
                "environment": [
                    {"name": "LOG_LEVEL", "value": "info"},
                    {"name": "NODE_ENV", "value": "production"},
                ],
                "mountPoints": [],
                "volumesFrom": [],
                "secrets": [
                    {"name": "DATABASE_URL", "valueFrom": f"{SECRET_ARN}:DATABASE_URL::"},
                    {"name": "SESSION_KEY", "valueFrom": f"{SECRET_ARN}:SESSION_KEY::"},
                ],
                "readonlyRootFilesystem": True,
                "ulimits": [{"name": "nofile", "softLimit": 65536, "hardLimit": 65536}],
                "logConfiguration": {
                    "logDriver": "awslogs",
                    "options": {
                        "awslogs-group": "/ecs/shop/web",
                        "awslogs-region": "us-east-1",
                        "awslogs-stream-prefix": "web",
                        "mode": "non-blocking",
                    },
                    "secretOptions": [],
                },
                "healthCheck": {
                    "command": ["CMD-SHELL", "curl -f http://localhost:3000/health || exit 1"],
                    "interval": 30,
                    "timeout": 5,
                    "retries": 3,
                },
                "systemControls": [],
            }
        ],
        "family": "shop-web",
        "taskRoleArn": TASK_ROLE,
        "executionRoleArn": EXECUTION_ROLE,
        "networkMode": "awsvpc",
        "revision": 7,
        "volumes": [],
        "status": "ACTIVE",
        "requiresAttributes": [
            {"name": "com.amazonaws.ecs.capability.logging-driver.awslogs"},
            {"name": "ecs.capability.execution-role-awslogs"},
            {"name": "ecs.capability.secrets.asm.environment-variables"},
            {"name": "com.amazonaws.ecs.capability.task-iam-role"},
            {"name": "ecs.capability.container-health-check"},
            {"name": "ecs.capability.task-eni"},
        ],
        "placementConstraints": [],
        "compatibilities": ["EC2", "FARGATE"],
        "requiresCompatibilities": ["FARGATE"],
        "cpu": "512",
        "memory": "1024",
        "registeredAt": "2025-06-30T09:12:44.123000+00:00",
        "registeredBy": f"arn:aws:sts::{ACCOUNT}:assumed-role/deploy/ci",
    },
    "tags": [{"key": "shipyard:service", "value": "web"}],
}


def params(**overrides):
    return {**copy.deepcopy(PARAMS), **overrides}


def described(**overrides):
    return {**copy.deepcopy(DESCRIBED["taskDefinition"]), **overrides}


def container(definition):
    return definition["containerDefinitions"][0]


# --- a real payload: the same definition needs no new revision -------------------------------------------------


def test_what_ecs_describes_equals_what_the_playbook_registered():
    before, after = td.compare(described(), td.build_request(params()))
    assert before == after


def test_the_raw_payload_and_request_do_differ():
    """Guard for the test above: without normalization they are not equal."""
    request = td.build_request(params())
    assert {k: v for k, v in described().items() if k in td.TASK_KEYS} != request


# --- one normalization at a time -------------------------------------------------------------------------------

# A definition in which nothing is left for ECS to fill in or reorder (one container, Fargate, awsvpc).
EXPLICIT = {
    "family": "shop-web",
    "networkMode": "awsvpc",
    "requiresCompatibilities": ["FARGATE"],
    "cpu": "512",
    "memory": "1024",
    "runtimePlatform": {"cpuArchitecture": "X86_64", "operatingSystemFamily": "LINUX"},
    "containerDefinitions": [
        {
            "name": "web",
            "image": "shop/web:1",
            "essential": True,
            "portMappings": [{"containerPort": 3000, "hostPort": 3000, "protocol": "tcp"}],
            "environment": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
            "secrets": [
                {"name": "S1", "valueFrom": f"{SECRET_ARN}:S1::"},
                {"name": "S2", "valueFrom": f"{SECRET_ARN}:S2::"},
            ],
            "ulimits": [{"name": "core", "softLimit": 0, "hardLimit": 0}, {"name": "nofile", "softLimit": 1024}],
            "healthCheck": {"command": ["CMD", "true"], "interval": 30, "timeout": 5, "retries": 3},
            "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/g"}},
        },
        {"name": "zsidecar", "image": "shop/sidecar:1", "essential": False},
    ],
}


def _set(path, value):
    """A mutation that sets ``path`` (keys and list indexes) to ``value``; ``...`` deletes it."""

    def apply(definition):
        *parents, last = path
        node = definition
        for key in parents:
            node = node[key]
        if value is ...:
            del node[last]
        else:
            node[last] = value

    return apply


def _reverse(path):
    def apply(definition):
        node = definition
        for key in path:
            node = node[key]
        node.reverse()

    return apply


WEB = ("containerDefinitions", 0)

# (what ECS does to the described side, what the playbook leaves out or writes differently on the desired side)
NORMALIZATIONS = {
    "essential defaults to true": ([], [_set((*WEB, "essential"), ...)]),
    "protocol defaults to tcp": ([], [_set((*WEB, "portMappings", 0, "protocol"), ...)]),
    "protocol in upper case": ([_set((*WEB, "portMappings", 0, "protocol"), "TCP")], []),
    "hostPort is containerPort in awsvpc": ([], [_set((*WEB, "portMappings", 0, "hostPort"), ...)]),
    "containerPort given as a string": ([], [_set((*WEB, "portMappings", 0, "containerPort"), "3000")]),
    "empty mountPoints": ([_set((*WEB, "mountPoints"), [])], []),
    "empty volumesFrom": ([_set((*WEB, "volumesFrom"), [])], []),
    "empty systemControls": ([_set((*WEB, "systemControls"), [])], []),
    "empty secretOptions": ([_set((*WEB, "logConfiguration", "secretOptions"), [])], []),
    "empty volumes and placementConstraints": (
        [_set(("volumes",), []), _set(("placementConstraints",), [])],
        [],
    ),
    "container cpu 0": ([_set((*WEB, "cpu"), 0)], []),
    "readonlyRootFilesystem false is unset": ([_set((*WEB, "readonlyRootFilesystem"), False)], []),
    "requiresAttributes, compatibilities, registeredAt/By, revision, status, arn": (
        [
            _set(("requiresAttributes",), [{"name": "ecs.capability.task-eni"}]),
            _set(("compatibilities",), ["EC2", "FARGATE"]),
            _set(("registeredAt",), "2025-06-30T09:12:44.123000+00:00"),
            _set(("registeredBy",), f"arn:aws:sts::{ACCOUNT}:assumed-role/deploy/ci"),
            _set(("revision",), 7),
            _set(("status",), "ACTIVE"),
            _set(("taskDefinitionArn",), f"arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/shop-web:7"),
        ],
        [],
    ),
    "tags are compared separately": ([_set(("tags",), [{"key": "a", "value": "b"}])], []),
    "task cpu as an int": ([], [_set(("cpu",), 512)]),
    "task memory as an int": ([], [_set(("memory",), 1024)]),
    "task cpu in vCPU and memory in GB": ([], [_set(("cpu",), "0.5 vCPU"), _set(("memory",), "1 GB")]),
    "environment order": ([_reverse((*WEB, "environment"))], []),
    "environment value given as a number": ([], [_set((*WEB, "environment", 0, "value"), 1)]),
    "secrets order": ([_reverse((*WEB, "secrets"))], []),
    "ulimits order": ([_reverse((*WEB, "ulimits"))], []),
    "ulimit given as a string": ([], [_set((*WEB, "ulimits", 1, "softLimit"), "1024")]),
    "container order": ([_reverse(("containerDefinitions",))], []),
    "health check defaults": (
        [],
        [
            _set((*WEB, "healthCheck", "interval"), ...),
            _set((*WEB, "healthCheck", "timeout"), ...),
            _set((*WEB, "healthCheck", "retries"), ...),
        ],
    ),
    "health check startPeriod 0": ([_set((*WEB, "healthCheck", "startPeriod"), 0)], []),
    "log option mode filled in by ECS": ([_set((*WEB, "logConfiguration", "options", "mode"), "non-blocking")], []),
    "runtime platform defaults to LINUX X86_64": ([], [_set(("runtimePlatform",), ...)]),
    "empty task role": ([], [_set(("taskRoleArn",), "")]),
    "requiresCompatibilities order": (
        [_set(("requiresCompatibilities",), ["FARGATE", "EC2"])],
        [_set(("requiresCompatibilities",), ["EC2", "FARGATE"])],
    ),
}


@pytest.mark.parametrize(("on_described", "on_desired"), NORMALIZATIONS.values(), ids=NORMALIZATIONS.keys())
def test_each_normalization_makes_the_same_definition_equal(on_described, on_desired):
    current, desired = copy.deepcopy(EXPLICIT), copy.deepcopy(EXPLICIT)
    for mutate in on_described:
        mutate(current)
    for mutate in on_desired:
        mutate(desired)
    assert current != desired  # the case is about a real difference in the raw dicts
    before, after = td.compare(current, desired)
    assert before == after


# --- real changes are seen, and the diff names them ------------------------------------------------------------

CHANGES = {
    "image": (_set((*WEB, "image"), "shop/web:2"), ["containerDefinitions"]),
    "environment value": (_set((*WEB, "environment", 0, "value"), "9"), ["containerDefinitions"]),
    "secret valueFrom": (_set((*WEB, "secrets", 0, "valueFrom"), f"{SECRET_ARN}:OTHER::"), ["containerDefinitions"]),
    "task cpu": (_set(("cpu",), "1024"), ["cpu"]),
    "task memory": (_set(("memory",), "2048"), ["memory"]),
    "task role": (_set(("taskRoleArn",), TASK_ROLE), ["taskRoleArn"]),
    "runtime platform": (_set(("runtimePlatform",), {"cpuArchitecture": "ARM64"}), ["runtimePlatform"]),
    "ephemeral storage": (_set(("ephemeralStorage",), {"sizeInGiB": 30}), ["ephemeralStorage"]),
    "log mode set explicitly": (
        _set((*WEB, "logConfiguration", "options", "mode"), "blocking"),
        ["containerDefinitions"],
    ),
    "health check command": (_set((*WEB, "healthCheck", "command"), ["CMD", "false"]), ["containerDefinitions"]),
    "read-only root filesystem": (_set((*WEB, "readonlyRootFilesystem"), True), ["containerDefinitions"]),
    "sidecar becomes essential": (_set(("containerDefinitions", 1, "essential"), True), ["containerDefinitions"]),
    "network mode": (_set(("networkMode",), "bridge"), ["networkMode"]),
}


@pytest.mark.parametrize(("mutate", "keys"), CHANGES.values(), ids=CHANGES.keys())
def test_a_real_change_is_seen_and_the_diff_names_it(mutate, keys):
    desired = copy.deepcopy(EXPLICIT)
    mutate(desired)
    before, after = td.compare(EXPLICIT, desired)
    assert before != after
    diff = td.differences(before, after)
    assert sorted(set(diff["before"]) | set(diff["after"])) == keys


def test_a_described_log_mode_differs_from_an_asked_one():
    current = copy.deepcopy(EXPLICIT)
    container(current)["logConfiguration"]["options"]["mode"] = "non-blocking"
    desired = copy.deepcopy(EXPLICIT)
    container(desired)["logConfiguration"]["options"]["mode"] = "blocking"
    before, after = td.compare(current, desired)
    assert before != after


def test_the_diff_holds_only_the_changed_fields_of_the_changed_container():
    desired = copy.deepcopy(EXPLICIT)
    container(desired)["image"] = "shop/web:2"
    desired["containerDefinitions"].append({"name": "extra", "image": "x:1"})
    diff = td.differences(*td.compare(EXPLICIT, desired))
    assert diff == {
        "before": {"containerDefinitions": {"web": {"image": "shop/web:1"}}},
        "after": {
            "containerDefinitions": {
                "web": {"image": "shop/web:2"},
                "extra": {"name": "extra", "image": "x:1", "essential": True},
            }
        },
    }


def test_nothing_described_means_everything_is_new():
    before, after = td.compare(None, td.build_request(params()))
    assert before == {}
    assert after["family"] == "shop-web"


# --- the request ------------------------------------------------------------------------------------------------


def test_the_request_is_typed_for_boto3_and_carries_no_unset_option():
    request = td.build_request(
        params(
            cpu="0.5 vCPU",
            memory=1024,
            task_role_arn="",
            ephemeral_storage=30,
            runtime_platform={"cpuArchitecture": "ARM64", "operatingSystemFamily": None},
            containers=[
                {
                    "name": "web",
                    "image": "x:1",
                    "portMappings": [{"containerPort": "3000"}],
                    "essential": "yes",
                    "environment": [{"name": "DEBUG", "value": False}, {"name": "N", "value": 3}],
                    "dockerLabels": {"n": 1},
                }
            ],
        )
    )
    assert request == {
        "family": "shop-web",
        "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE"],
        "cpu": "512",
        "memory": "1024",
        "executionRoleArn": EXECUTION_ROLE,
        "runtimePlatform": {"cpuArchitecture": "ARM64"},
        "ephemeralStorage": {"sizeInGiB": 30},
        "containerDefinitions": [
            {
                "name": "web",
                "image": "x:1",
                "portMappings": [{"containerPort": 3000}],
                "essential": True,
                "environment": [{"name": "DEBUG", "value": "false"}, {"name": "N", "value": "3"}],
                "dockerLabels": {"n": "1"},
            }
        ],
    }


@pytest.mark.parametrize(
    ("value", "kind", "expected"),
    [
        (512, "cpu", "512"),
        ("512", "cpu", "512"),
        ("0.25 vCPU", "cpu", "256"),
        ("2 GB", "memory", "2048"),
        (None, "cpu", None),
    ],
)
def test_units(value, kind, expected):
    assert td.units(value, kind) == expected


# --- validation -------------------------------------------------------------------------------------------------

CONTAINER_KEYS = ("name", "image", "portMappings", "environment", "secrets", "essential", "logConfiguration")


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"cpu": "256", "memory": "4096"}, "memory must be one of 512, 1024, 2048"),
        ({"cpu": "300", "memory": "1024"}, "cpu must be one of 256, 512"),
        ({"cpu": None}, "cpu and memory are required for Fargate"),
        ({"cpu": "lots"}, "cpu 'lots' is not a number of units"),
        ({"network_mode": "bridge"}, "network_mode must be awsvpc"),
        ({"containers": []}, "containers must list at least one"),
        ({"containers": [{"name": "a", "image": "x"}, {"name": "a", "image": "y"}]}, "repeated: a"),
        ({"containers": [{"name": "a"}]}, "containers[0] (a) needs image"),
        ({"containers": [{"name": "a", "image": "x", "port_mappings": []}]}, "unknown keys port_mappings"),
        (
            {"containers": [{"name": "a", "image": "x", "secrets": [{"name": "S", "value": "hunter2"}]}]},
            "need name and valueFrom",
        ),
        (
            {"containers": [{"name": "a", "image": "x", "secrets": [{"name": "S", "valueFrom": "arn", "value": "x"}]}]},
            "never a value",
        ),
        (
            {"containers": [{"name": "a", "image": "x", "portMappings": [{"containerPort": 80, "hostPort": 8080}]}]},
            "hostPort must equal containerPort",
        ),
        ({"containers": [{"name": "a", "image": "x", "essential": "maybe"}]}, "essential must be a boolean"),
        ({"keep_revisions": 0}, "keep_revisions must be 1 or more"),
        ({"ephemeral_storage": 20}, "ephemeral_storage must be 21 to 200"),
    ],
)
def test_bad_options_are_refused_by_name(overrides, named):
    errors = td.validate(
        params(**overrides), container_keys=(*CONTAINER_KEYS, "readonlyRootFilesystem", "ulimits", "healthCheck")
    )
    assert any(named in error for error in errors), errors


def test_good_options_have_no_errors():
    keys = (*CONTAINER_KEYS, "readonlyRootFilesystem", "ulimits", "healthCheck")
    assert td.validate(params(), container_keys=keys) == []
    assert td.validate(params(state="absent", containers=None)) == []


@pytest.mark.parametrize(("cpu", "memory"), [(256, 512), ("1 vCPU", "8 GB"), (4096, 30720), (16384, 122880)])
def test_fargate_sizes_that_exist(cpu, memory):
    assert td.fargate_size_error(cpu, memory) is None


# --- revisions ----------------------------------------------------------------------------------------------------


def _arn(family, revision):
    return f"arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/{family}:{revision}"


def test_only_the_family_itself_counts():
    arns = [_arn("web", 2), _arn("web-api", 9), _arn("web", 10), _arn("web", 1)]
    assert td.family_arns(arns, "web") == [_arn("web", 10), _arn("web", 2), _arn("web", 1)]


@pytest.mark.parametrize(
    ("keep", "pending_new", "expected"),
    [(None, True, []), (3, False, [2, 1]), (3, True, [3, 2, 1]), (1, False, [4, 3, 2, 1]), (9, True, [])],
)
def test_revisions_beyond_the_keep_count(keep, pending_new, expected):
    arns = [_arn("web", r) for r in (3, 5, 1, 4, 2)]
    assert td.beyond_keep(arns, keep, pending_new) == [_arn("web", r) for r in expected]


def test_revision_of():
    assert td.revision_of(_arn("shop-web", 12)) == ("shop-web", 12)


# --- the module's own decisions ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tags", "purge", "expected"),
    [
        (None, True, {"team": "web"}),
        ({"a": 1}, True, {"a": "1"}),
        ({"a": "1"}, False, {"team": "web", "a": "1"}),
        ({}, True, {}),
    ],
)
def test_desired_tags(tags, purge, expected):
    assert module._desired_tags({"tags": tags, "purge_tags": purge}, {"team": "web"}) == expected
