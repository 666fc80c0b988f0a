"""Whether a service already runs what a deploy would roll out (plugins/module_utils/deploy_in_place.py): the decision
that lets deploy.yml leave an unchanged service after its look-up, and the look-up's parts it fills in."""

from __future__ import annotations

import copy

import pytest
from ansible_collections.shipyard.fargate.plugins.module_utils import deploy_in_place
from ansible_collections.shipyard.fargate.plugins.modules import service_deploy_info as module
from test_module_service_deploy_info import (  # noqa: F401 - the registry fixture
    ACCOUNT,
    DESCRIBED,
    DIGEST,
    REPO_URI,
    SECRET_ARN,
    TD_ARN,
    FakeModule,
    Recorded,
    fake_registry,
    steady_service,
)
from test_module_service_deploy_info import answers as recorded_answers

EXECUTION_ARN = f"arn:aws:iam::{ACCOUNT}:role/shop-web-execution"
TASK_ARN = f"arn:aws:iam::{ACCOUNT}:role/shop-web-task"
LOG_ARN = "arn:aws:logs:eu-west-1:123456789012:log-group:/ecs/shop/web"

# What the service role's pre-flight settles (roles/service/tasks/validate.yml): the task definition as
# ecs_task_definition options, what only the look-up knows left null.
WANTED = {
    "task_definition": {
        "family": "shop-web",
        "requires_compatibilities": ["FARGATE"],
        "network_mode": "awsvpc",
        "cpu": "256",
        "memory": "512",
        "execution_role_arn": None,
        "task_role_arn": None,
        "runtime_platform": {"cpuArchitecture": "X86_64", "operatingSystemFamily": "LINUX"},
        "containers": [
            {
                "name": "app",
                "image": None,
                "essential": True,
                "portMappings": [{"containerPort": 3000, "hostPort": 3000, "protocol": "tcp"}],
                "environment": [{"name": "NODE_ENV", "value": "production"}],
                "secrets": [{"name": "API_KEY", "valueFrom": None}],
                "readonlyRootFilesystem": False,
                "logConfiguration": {
                    "logDriver": "awslogs",
                    "options": {"awslogs-group": "/ecs/shop/web", "awslogs-region": None,
                                "awslogs-stream-prefix": "app"},
                },
            }
        ],
    },
    "execution_role": "shop-web-execution",
    "task_role": "shop-web-task",
    "log_retention_days": 30,
    "release_tag": None,
    "first_desired_count": 2,
}  # fmt: skip

# What ECS describes for the definition the role registered from the same options (test_module_service_deploy_info's
# description, with a task role and the log options the role sets).
RUNNING = copy.deepcopy(DESCRIBED)
RUNNING["taskRoleArn"] = TASK_ARN
RUNNING["containerDefinitions"][0]["logConfiguration"]["options"].update(
    {"awslogs-region": "eu-west-1", "awslogs-stream-prefix": "app"}
)


def found(**overrides):
    """One service's look-up (service_deploy_info's fields) of a service running RUNNING, steady."""
    look = {
        "service": steady_service(),
        "task_definition": copy.deepcopy(RUNNING),
        "steady": True,
        "steady_reason": None,
        "repository": {"exists": True, "repositoryUri": REPO_URI, "registryId": ACCOUNT},
        "image": {"repository": "127.0.0.1:29050/shop/web", "tag": "3f2a9c1d0b7e", "exists": True, "digest": DIGEST},
        "secret": {"name": "shop/web", "exists": True, "arn": SECRET_ARN},
        "roles": {
            "shop-web-execution": {"name": "shop-web-execution", "exists": True, "arn": EXECUTION_ARN},
            "shop-web-task": {"name": "shop-web-task", "exists": True, "arn": TASK_ARN},
        },
        "log_group": {"name": "/ecs/shop/web", "exists": True, "arn": LOG_ARN, "retention_in_days": 30},
        "secret_rotation": {"roll": False},
    }
    look.update(overrides)
    return look


def wanted(**container):
    want = copy.deepcopy(WANTED)
    want["task_definition"]["containers"][0].update(container)
    return want


def test_the_look_up_fills_in_what_only_it_knows_as_the_roles_publish_it():
    options = deploy_in_place.filled(WANTED, found())
    container = options["containers"][0]
    assert container["image"] == f"{REPO_URI}@{DIGEST}"  # the image role's image_reference: URI @ digest
    assert (options["execution_role_arn"], options["task_role_arn"]) == (EXECUTION_ARN, TASK_ARN)
    assert container["secrets"] == [{"name": "API_KEY", "valueFrom": f"{SECRET_ARN}:API_KEY::"}]
    assert container["logConfiguration"]["options"]["awslogs-region"] == "eu-west-1"  # the log group's region
    assert WANTED["task_definition"]["containers"][0]["image"] is None  # what was handed in is left as it was


def test_a_log_region_the_options_set_is_kept():
    options = deploy_in_place.filled(wanted(logConfiguration={
        "logDriver": "awslogs", "options": {"awslogs-group": "/ecs/shop/web", "awslogs-region": "us-west-2"}}),
        found())  # fmt: skip
    assert options["containers"][0]["logConfiguration"]["options"]["awslogs-region"] == "us-west-2"


def test_a_service_running_what_the_options_describe_steady_is_in_place():
    decision = deploy_in_place.decide(WANTED, found())
    assert decision == {"in_place": True, "reason": f"runs {TD_ARN}, steady", "image": f"{REPO_URI}@{DIGEST}"}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"environment": [{"name": "NODE_ENV", "value": "staging"}]}, "containerDefinitions"),
        ({"portMappings": [{"containerPort": 8080, "hostPort": 8080, "protocol": "tcp"}]}, "containerDefinitions"),
        ({"secrets": [{"name": "API_KEY", "valueFrom": None}, {"name": "DB_URL", "valueFrom": None}]},
         "containerDefinitions"),
        ({"readonlyRootFilesystem": True}, "containerDefinitions"),
        ({"healthCheck": {"command": ["CMD", "true"]}}, "containerDefinitions"),
    ],
)  # fmt: skip
def test_any_change_of_the_container_is_a_deploy_naming_the_field(change, field):
    decision = deploy_in_place.decide(wanted(**change), found())
    assert decision == {"in_place": False, "reason": f"its task definition differs ({field})"}


@pytest.mark.parametrize(("key", "value"), [("cpu", "1024"), ("memory", "2048"), ("family", "shop-web2")])
def test_a_change_of_the_task_is_a_deploy_naming_the_field(key, value):
    want = copy.deepcopy(WANTED)
    want["task_definition"][key] = value
    assert deploy_in_place.decide(want, found()) == {
        "in_place": False,
        "reason": f"its task definition differs ({key})",
    }


def test_a_new_image_digest_or_role_or_secret_is_a_deploy():
    new_digest = found(image={"tag": "v2", "exists": True, "digest": "sha256:" + "cd" * 32})
    assert deploy_in_place.decide(WANTED, new_digest)["reason"] == "its task definition differs (containerDefinitions)"
    roles = found()["roles"]
    roles["shop-web-task"] = {"name": "shop-web-task", "exists": True, "arn": TASK_ARN + "2"}
    assert deploy_in_place.decide(WANTED, found(roles=roles))["reason"] == "its task definition differs (taskRoleArn)"
    secret = found(secret={"name": "shop/web", "exists": True, "arn": SECRET_ARN + "x"})
    assert not deploy_in_place.decide(WANTED, secret)["in_place"]


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"service": None}, "no service"),
        ({"repository": {"exists": False}}, "its repository does not exist"),
        ({"image": {"tag": "3f2a9c1d0b7e", "exists": False, "digest": None}},
         "the image tag 3f2a9c1d0b7e is not in the registry"),
        ({"secret": {"name": "shop/web", "exists": False, "arn": None}}, "its secret does not exist"),
        ({"log_group": {"name": "/ecs/shop/web", "exists": False, "arn": None, "retention_in_days": None}},
         "its log group does not exist"),
        ({"log_group": {"name": "/ecs/shop/web", "exists": True, "arn": LOG_ARN, "retention_in_days": 7}},
         "its log group's retention differs"),
        ({"steady": False, "steady_reason": "2 deployments (a rollout is under way)"},
         "not steady: 2 deployments (a rollout is under way)"),
        ({"secret_rotation": {"roll": True}}, "a secret changed since its tasks started"),
        ({"service": steady_service(desiredCount=0, runningCount=0)}, "at 0 tasks: its first deploy"),
    ],
)  # fmt: skip
def test_anything_else_to_do_is_not_in_place_and_says_why(overrides, reason):
    assert deploy_in_place.decide(WANTED, found(**overrides)) == {"in_place": False, "reason": reason}


def test_a_missing_role_is_not_in_place():
    roles = found()["roles"]
    roles["shop-web-execution"] = {"name": "shop-web-execution", "exists": False, "arn": None}
    decision = deploy_in_place.decide(WANTED, found(roles=roles))
    assert decision["reason"] == "the IAM role shop-web-execution does not exist"


def test_a_release_tag_to_give_is_never_in_place():
    want = dict(WANTED, release_tag="v1.4.0")
    decision = deploy_in_place.decide(want, found())
    assert decision == {"in_place": False, "reason": "the release tag v1.4.0 is to be given"}


def test_a_service_kept_at_0_tasks_on_purpose_is_in_place():
    at_zero = found(service=steady_service(desiredCount=0, runningCount=0))
    assert deploy_in_place.decide(dict(WANTED, first_desired_count=0), at_zero)["in_place"]


@pytest.mark.usefixtures("fake_registry")
def test_the_module_decides_with_wanted_and_not_without():
    recorded = recorded_answers({("ecs", "describe_task_definition"): {"taskDefinition": copy.deepcopy(RUNNING)}})
    with_wanted = module.look_up(FakeModule(wanted=WANTED), Recorded(recorded))
    assert with_wanted["in_place"]["in_place"], with_wanted["in_place"]
    without = module.look_up(FakeModule(), Recorded(recorded))
    assert "in_place" not in without
