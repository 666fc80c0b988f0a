"""shipyard.fargate.service_deploy_info (deploy.yml's one look-up) and the task_definition_changes filter it feeds:
the pure decisions, and one whole look-up over recorded AWS answers (a fake ``call``, a fake registry)."""

from __future__ import annotations

import base64
import copy
from datetime import datetime, timedelta, timezone
from typing import ClassVar

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.shipyard.fargate.plugins.filter.task_definition_changes import task_definition_changes
from ansible_collections.shipyard.fargate.plugins.modules import service_deploy_info as module
from botocore.exceptions import ClientError

ACCOUNT = "123456789012"
T0 = datetime(2026, 12, 6, 9, 0, 0, tzinfo=timezone.utc)  # noqa: UP017 - the collection supports Python < 3.11
TD_ARN = f"arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/shop-web:3"
SECRET_ARN = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:shop/web-AbCdEf"
REPO_URI = f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/shop/web"
DIGEST = "sha256:" + "ab" * 32


def steady_service(**overrides):
    service = {
        "serviceName": "web",
        "status": "ACTIVE",
        "taskDefinition": TD_ARN,
        "desiredCount": 2,
        "runningCount": 2,
        "pendingCount": 0,
        "deployments": [
            {"id": "ecs-svc/1", "status": "PRIMARY", "taskDefinition": TD_ARN, "rolloutState": "COMPLETED"}
        ],
    }
    service.update(overrides)
    return service


# --- pure decisions -------------------------------------------------------------------------------------------


def test_a_steady_service_has_one_completed_primary_deployment_and_every_task_running():
    assert module.steadiness(steady_service()) == (True, None)


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"runningCount": 1}, "1 of 2 task(s) running, 0 pending"),
        ({"pendingCount": 1}, "2 of 2 task(s) running, 1 pending"),
        (
            {"deployments": [{"status": "PRIMARY", "taskDefinition": TD_ARN, "rolloutState": "IN_PROGRESS"}]},
            "its deployment's rollout is IN_PROGRESS",
        ),
        (
            {"deployments": [{"status": "PRIMARY", "taskDefinition": TD_ARN}, {"status": "ACTIVE"}]},
            "2 deployments (a rollout is under way)",
        ),
        (
            {"deployments": [{"status": "PRIMARY", "taskDefinition": TD_ARN[:-1] + "2", "rolloutState": "COMPLETED"}]},
            "its deployment runs another task definition than the service's",
        ),
    ],
)
def test_anything_under_way_is_not_steady_and_says_why(overrides, reason):
    assert module.steadiness(steady_service(**overrides)) == (False, reason)
    assert module.steadiness(None) == (False, "no service")


def test_only_an_active_service_counts():
    gone = steady_service(status="INACTIVE")
    assert module.active_service([gone]) is None
    assert module.active_service([gone, steady_service()])["status"] == "ACTIVE"


def test_the_registry_host_replaces_the_repository_uri_host():
    assert module.registry_uri(REPO_URI, None) == REPO_URI
    assert module.registry_uri(REPO_URI, "127.0.0.1:29050") == "127.0.0.1:29050/shop/web"


# --- one look-up over recorded answers --------------------------------------------------------------------------


def Error(code):
    """What botocore raises for an AWS error answer (is_boto3_error_code matches its code)."""
    return ClientError({"Error": {"Code": code, "Message": code}}, "Operation")


class Recorded:
    """A fake StepCalls: answers by (api, operation), records every call."""

    def __init__(self, answers):
        self.answers, self.calls = answers, []

    @property
    def count(self):
        return len(self.calls)

    def __call__(self, operation, api="ecs", **kwargs):
        self.calls.append((api, operation, kwargs))
        answer = self.answers[(api, operation)]
        answer = answer(kwargs) if callable(answer) else answer
        if isinstance(answer, Exception):
            raise answer
        return copy.deepcopy(answer)


class FakeModule:
    def __init__(self, **params):
        self.params = {
            "cluster": "shop",
            "service": "web",
            "repository": "shop/web",
            "image_tag": "3f2a9c1d0b7e",
            "registry_host": "127.0.0.1:29050",
            "registry_scheme": None,
            "secret_name": "shop/web",
            "roles": ["shop-web-execution", "shop-web-task"],
            "log_group": "/ecs/shop/web",
            "secret_rotation": True,
            "tags": False,
            "scaling_policies": False,
            **params,
        }

    def fail_json(self, **kwargs):
        raise AssertionError(kwargs)


class FakeRegistry:
    asked: ClassVar[list] = []

    def __init__(self, repository, username=None, password=None, scheme=None):
        self.repository, self.username, self.password = repository, username, password

    def head(self, tag):
        FakeRegistry.asked.append((self.repository, tag, self.username, self.password))
        return {"exists": tag == "3f2a9c1d0b7e", "digest": DIGEST if tag == "3f2a9c1d0b7e" else None}


@pytest.fixture(autouse=True)
def fake_registry(monkeypatch):
    monkeypatch.setattr(module, "RegistryClient", FakeRegistry)
    FakeRegistry.asked = []


def answers(overrides=None):
    definition = {
        "taskDefinitionArn": TD_ARN,
        "revision": 3,
        "containerDefinitions": [
            {"name": "app", "secrets": [{"name": "API_KEY", "valueFrom": SECRET_ARN + ":API_KEY::"}]}
        ],
    }
    base = {
        ("ecs", "describe_services"): {"services": [steady_service()], "failures": []},
        ("ecs", "describe_task_definition"): {"taskDefinition": definition},
        ("ecr", "describe_repositories"): {
            "repositories": [{"repositoryName": "shop/web", "repositoryUri": REPO_URI, "registryId": ACCOUNT}]
        },
        ("ecr", "get_authorization_token"): {
            "authorizationData": [{"authorizationToken": base64.b64encode(b"AWS:pw").decode()}]
        },
        ("secretsmanager", "describe_secret"): {"ARN": SECRET_ARN, "Name": "shop/web", "LastChangedDate": T0},
        ("iam", "get_role"): lambda kw: {"Role": {"Arn": f"arn:aws:iam::{ACCOUNT}:role/{kw['RoleName']}"}},
        ("logs", "describe_log_groups"): {
            "logGroups": [
                {"logGroupName": "/ecs/shop/web-old"},
                {
                    "logGroupName": "/ecs/shop/web",
                    "arn": "arn:aws:logs:eu-west-1:123456789012:log-group:/ecs/shop/web:*",
                    "retentionInDays": 30,
                },
            ]
        },
        ("ecs", "list_tasks"): {"taskArns": ["t1", "t2"]},
        ("ecs", "describe_tasks"): {
            "tasks": [
                {"lastStatus": "RUNNING", "startedAt": T0 + timedelta(minutes=5), "startedBy": "ecs-svc/1"},
                {"lastStatus": "RUNNING", "startedAt": T0 + timedelta(minutes=6), "startedBy": "ecs-svc/1"},
            ]
        },
    }
    base.update(overrides or {})
    return base


def test_one_run_finds_everything_the_deploy_needs():
    call = Recorded(answers())
    found = module.look_up(FakeModule(), call)
    assert found["service"]["serviceName"] == "web"
    assert found["cluster_missing"] is False
    assert found["task_definition"]["taskDefinitionArn"] == TD_ARN
    assert (found["steady"], found["steady_reason"]) == (True, None)
    assert found["repository"]["exists"]
    assert found["repository"]["repositoryUri"] == REPO_URI
    # The tag is asked where the registry holds the images, with the decoded ECR login.
    assert found["image"] == {"repository": "127.0.0.1:29050/shop/web", "tag": "3f2a9c1d0b7e", "exists": True,
                              "digest": DIGEST}  # fmt: skip
    assert FakeRegistry.asked == [("127.0.0.1:29050/shop/web", "3f2a9c1d0b7e", "AWS", "pw")]
    assert found["secret"] == {"name": "shop/web", "exists": True, "arn": SECRET_ARN,
                               "last_changed_date": T0.isoformat()}  # fmt: skip
    assert found["roles"]["shop-web-task"] == {
        "name": "shop-web-task",
        "exists": True,
        "arn": f"arn:aws:iam::{ACCOUNT}:role/shop-web-task",
    }
    assert found["log_group"] == {
        "name": "/ecs/shop/web",
        "exists": True,
        "arn": "arn:aws:logs:eu-west-1:123456789012:log-group:/ecs/shop/web",
        "retention_in_days": 30,
    }
    # The secret changed before the tasks started: no roll; it was described once, not again for the decision.
    assert found["secret_rotation"]["roll"] is False
    assert [c[1] for c in call.calls].count("describe_secret") == 1
    assert "get_secret_value" not in [c[1] for c in call.calls]


def test_a_secret_changed_after_the_tasks_started_is_reported_to_roll():
    changed = {"ARN": SECRET_ARN, "Name": "shop/web", "LastChangedDate": T0 + timedelta(hours=1)}
    found = module.look_up(FakeModule(), Recorded(answers({("secretsmanager", "describe_secret"): changed})))
    assert found["secret_rotation"]["roll"] is True
    assert found["secret_rotation"]["secrets"] == ["shop/web"]


def test_what_does_not_exist_is_reported_not_an_error():
    call = Recorded(
        answers(
            {
                ("ecs", "describe_services"): {"services": [steady_service(status="INACTIVE")], "failures": []},
                ("ecr", "describe_repositories"): Error("RepositoryNotFoundException"),
                ("secretsmanager", "describe_secret"): Error("ResourceNotFoundException"),
                ("iam", "get_role"): Error("NoSuchEntity"),
                ("logs", "describe_log_groups"): {"logGroups": []},
            }
        )
    )
    found = module.look_up(FakeModule(), call)
    assert found["service"] is None
    assert found["task_definition"] is None
    assert found["steady"] is False
    assert found["repository"] == {"exists": False}
    assert "image" not in found
    assert found["secret"]["exists"] is False
    assert found["secret"]["arn"] is None
    assert [r["exists"] for r in found["roles"].values()] == [False, False]
    assert found["log_group"]["exists"] is False
    assert found["secret_rotation"] is None  # nothing steady to decide on
    assert FakeRegistry.asked == []


def test_a_missing_cluster_is_no_service():
    call = Recorded(answers({("ecs", "describe_services"): Error("ClusterNotFoundException")}))
    found = module.look_up(
        FakeModule(secret_name=None, roles=[], log_group=None, repository=None, image_tag=None), call
    )
    assert (found["service"], found["cluster_missing"]) == (None, True)
    assert [c[1] for c in call.calls] == ["describe_services"]


def test_the_service_role_gets_the_tags_and_scaling_policies_in_the_same_run():
    tagged = steady_service(tags=[{"key": "Stack", "value": "shop"}, {"key": "Empty"}])
    pages = {
        None: {"ScalingPolicies": [{"PolicyName": "web-memory"}], "NextToken": "p2"},
        "p2": {"ScalingPolicies": [{"PolicyName": "web-cpu"}]},
    }
    call = Recorded(
        answers(
            {
                ("ecs", "describe_services"): {"services": [tagged], "failures": []},
                ("application-autoscaling", "describe_scaling_policies"): lambda kw: pages[kw.get("NextToken")],
            }
        )
    )
    found = module.look_up(
        FakeModule(repository=None, image_tag=None, secret_name=None, roles=[], log_group=None, secret_rotation=False,
                   tags=True, scaling_policies=True),
        call,
    )  # fmt: skip
    assert found["tags"] == {"Stack": "shop", "Empty": ""}
    assert "tags" not in found["service"]  # said once, as a dict
    assert found["scaling_policies"] == ["web-cpu", "web-memory"]
    assert call.calls[0] == ("ecs", "describe_services", {"cluster": "shop", "services": ["web"], "include": ["TAGS"]})
    asked = [kw for api, _, kw in call.calls if api == "application-autoscaling"]
    assert asked == [
        {"ServiceNamespace": "ecs", "ResourceId": "service/shop/web"},
        {"ServiceNamespace": "ecs", "ResourceId": "service/shop/web", "NextToken": "p2"},
    ]
    assert [c[1] for c in call.calls] == ["describe_services", "describe_task_definition",
                                          "describe_scaling_policies", "describe_scaling_policies"]  # fmt: skip


def test_no_service_has_no_tags_but_its_leftover_policies_are_found():
    call = Recorded(
        answers(
            {
                ("ecs", "describe_services"): Error("ClusterNotFoundException"),
                ("application-autoscaling", "describe_scaling_policies"): {
                    "ScalingPolicies": [{"PolicyName": "web-cpu"}]
                },
            }
        )
    )
    found = module.look_up(
        FakeModule(repository=None, image_tag=None, secret_name=None, roles=[], log_group=None, tags=True,
                   scaling_policies=True),
        call,
    )  # fmt: skip
    assert (found["service"], found["tags"], found["scaling_policies"]) == (None, None, ["web-cpu"])


def test_without_the_options_no_tags_and_no_policies_are_asked():
    call = Recorded(answers())
    found = module.look_up(FakeModule(), call)
    assert "tags" not in found
    assert "scaling_policies" not in found
    assert "include" not in call.calls[0][2]
    assert "application-autoscaling" not in [c[0] for c in call.calls]


def test_a_service_under_way_gets_no_rotation_decision():
    busy = steady_service(runningCount=1)
    call = Recorded(answers({("ecs", "describe_services"): {"services": [busy]}}))
    found = module.look_up(FakeModule(), call)
    assert found["steady"] is False
    assert found["secret_rotation"] is None
    assert "list_tasks" not in [c[1] for c in call.calls]


# --- the task definition comparison (the filter) ----------------------------------------------------------------

OPTIONS = {
    "family": "shop-web",
    "requires_compatibilities": ["FARGATE"],
    "network_mode": "awsvpc",
    "cpu": "256",
    "memory": "512",
    "execution_role_arn": f"arn:aws:iam::{ACCOUNT}:role/shop-web-execution",
    "task_role_arn": None,
    "runtime_platform": {"cpuArchitecture": "X86_64", "operatingSystemFamily": "LINUX"},
    "containers": [
        {
            "name": "app",
            "image": f"{REPO_URI}@{DIGEST}",
            "essential": True,
            "portMappings": [{"containerPort": "3000", "hostPort": 3000, "protocol": "tcp"}],
            "environment": [{"name": "NODE_ENV", "value": "production"}],
            "secrets": [{"name": "API_KEY", "valueFrom": SECRET_ARN + ":API_KEY::"}],
            "readonlyRootFilesystem": False,
            "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/shop/web"}},
        }
    ],
}

# What ECS describes for it: numbers as numbers, defaults filled in, fields in another order.
DESCRIBED = {
    "taskDefinitionArn": TD_ARN,
    "family": "shop-web",
    "revision": 3,
    "status": "ACTIVE",
    "networkMode": "awsvpc",
    "requiresCompatibilities": ["FARGATE"],
    "compatibilities": ["EC2", "FARGATE"],
    "cpu": "256",
    "memory": "512",
    "executionRoleArn": f"arn:aws:iam::{ACCOUNT}:role/shop-web-execution",
    "runtimePlatform": {"operatingSystemFamily": "LINUX", "cpuArchitecture": "X86_64"},
    "containerDefinitions": [
        {
            "name": "app",
            "image": f"{REPO_URI}@{DIGEST}",
            "cpu": 0,
            "essential": True,
            "portMappings": [{"containerPort": 3000, "hostPort": 3000, "protocol": "tcp"}],
            "environment": [{"name": "NODE_ENV", "value": "production"}],
            "secrets": [{"name": "API_KEY", "valueFrom": SECRET_ARN + ":API_KEY::"}],
            "mountPoints": [],
            "volumesFrom": [],
            "readonlyRootFilesystem": False,
            "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/shop/web"}},
        }
    ],
}


def test_the_definition_the_service_runs_matches_the_options_that_made_it():
    assert DESCRIBED != OPTIONS  # not trivially equal: the comparison normalizes
    assert task_definition_changes(DESCRIBED, OPTIONS) == {}


def test_a_new_image_is_a_change_named_by_its_field():
    options = copy.deepcopy(OPTIONS)
    options["containers"][0]["image"] = f"{REPO_URI}@sha256:{'cd' * 32}"
    changes = task_definition_changes(DESCRIBED, options)
    assert changes["after"] == {"containerDefinitions": {"app": {"image": f"{REPO_URI}@sha256:{'cd' * 32}"}}}
    assert changes["before"] == {"containerDefinitions": {"app": {"image": f"{REPO_URI}@{DIGEST}"}}}


def test_no_running_definition_is_everything_to_register():
    assert task_definition_changes(None, OPTIONS)["after"]["family"] == "shop-web"


def test_options_without_a_family_are_refused():
    with pytest.raises(AnsibleFilterError, match="ecs_task_definition options"):
        task_definition_changes(DESCRIBED, {"containers": []})


# --- every service of a run in one module run (services) ----------------------------------------------------------


def entry(key, **overrides):
    return {"key": key, "cluster": "shop", "service": key, "repository": f"shop/{key}", "image_tag": "3f2a9c1d0b7e",
            "registry_host": "127.0.0.1:29050", "registry_scheme": None, "secret_name": None, "roles": None,
            "log_group": f"/ecs/shop/{key}", **overrides}  # fmt: skip


def by_service(kwargs_answers):
    """describe_services and describe_repositories answered for whichever service or repository is asked."""

    def services(kw):
        return {"services": [steady_service(serviceName=kw["services"][0])], "failures": []}

    def repositories(kw):
        name = kw["repositoryNames"][0]
        return {"repositories": [{"repositoryName": name, "repositoryUri": f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/"
                                  f"{name}", "registryId": ACCOUNT}]}  # fmt: skip

    return answers({("ecs", "describe_services"): services, ("ecr", "describe_repositories"): repositories,
                    **kwargs_answers})  # fmt: skip


def test_every_service_is_looked_up_in_one_run_each_under_its_key_with_its_own_options():
    made = []

    def make_call():
        made.append(Recorded(by_service({})))
        return made[-1]

    entries = [entry("web"), entry("api", secret_name="shop/api", roles=["shop-api-task"], image_tag="v9")]
    found = module.look_up_many(FakeModule(services=entries), entries, make_call)
    assert list(found) == ["web", "api"]
    assert found["web"]["service"]["serviceName"] == "web"
    assert found["api"]["service"]["serviceName"] == "api"
    # Each service with its own options: only api has a secret and a role; each its own repository and tag.
    assert "secret" not in found["web"]
    assert found["web"]["roles"] == {}
    assert found["api"]["secret"]["name"] == "shop/api"
    assert list(found["api"]["roles"]) == ["shop-api-task"]
    assert found["web"]["image"]["exists"] is True
    assert found["api"]["image"] == {"repository": "127.0.0.1:29050/shop/api", "tag": "v9", "exists": False,
                                     "digest": None}  # fmt: skip
    assert sorted((repo, tag) for repo, tag, *_ in FakeRegistry.asked) == [
        ("127.0.0.1:29050/shop/api", "v9"),
        ("127.0.0.1:29050/shop/web", "3f2a9c1d0b7e"),
    ]
    # One StepCalls per service (their own api_calls), the module's flags for all (the rotation decision).
    assert len(made) == 2
    assert sorted(found[key]["api_calls"] for key in found) == sorted(call.count for call in made)
    assert found["api"]["secret_rotation"] is not None


def test_services_with_the_same_key_are_refused_before_any_call():
    made = []

    def make_call():
        made.append(Recorded(by_service({})))
        return made[-1]

    entries = [entry("web"), entry("web", service="web2")]
    with pytest.raises(module.LookupFailed, match="each key may appear once; repeated: web"):
        module.look_up_many(FakeModule(services=entries), entries, make_call)
    assert made == []


def test_a_wrong_registry_scheme_is_refused_naming_the_service():
    entries = [entry("web"), entry("api", registry_scheme="ftp")]
    with pytest.raises(module.LookupFailed, match=r"registry_scheme must be http or https .* for api"):
        module.look_up_many(FakeModule(services=entries), entries, lambda: Recorded(by_service({})))


def test_an_aws_error_in_one_service_fails_the_whole_look_up():
    def services(kw):
        if kw["services"] == ["api"]:
            raise Error("AccessDeniedException")
        return {"services": [steady_service()], "failures": []}

    entries = [entry("web"), entry("api")]
    with pytest.raises(ClientError, match="AccessDeniedException"):
        module.look_up_many(
            FakeModule(services=entries),
            entries,
            lambda: Recorded(by_service({("ecs", "describe_services"): services})),
        )
