"""shipyard.fargate.ci_access_*_policy: the CI roles' trust and inline policies, as pure functions.

The deploy policy is checked statement by statement (actions, resources, conditions), and against the calls a deploy
really makes (tests/unit/fixtures/ci_access/deploy_calls.yml, recorded on the local stack): every call is allowed,
and every allowed action is one a deploy makes.
"""

from __future__ import annotations

import fnmatch
import json
from pathlib import Path

import pytest
import yaml
from ansible.errors import AnsibleFilterError
from ansible_collections.shipyard.fargate.plugins.filter import ci_access_policy as plugin
from ansible_collections.shipyard.fargate.plugins.module_utils import ci_access_policy as policies

ACCOUNT = "123456789012"
REGION = "eu-west-1"
CLUSTER = "shop"
PROVIDER = f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"
FIXTURES = Path(__file__).parent / "fixtures" / "ci_access"


def service(name, **overrides):
    return {
        "name": name,
        "repository": f"shop/{name}",
        "log_group": f"/ecs/shop/{name}",
        "execution_role": f"shop-{name}-execution",
        "task_role": f"shop-{name}-task",
        "secret": f"shop/{name}",
        **overrides,
    }


SERVICES = [service("web"), service("api")]


def deploy(services=SERVICES, **kwargs):
    kwargs.setdefault("cluster_name", CLUSTER)
    kwargs.setdefault("region", REGION)
    kwargs.setdefault("account_id", ACCOUNT)
    return plugin.ci_access_deploy_policy(services, **kwargs)


def by_sid(document):
    statements = {s["Sid"]: s for s in document["Statement"]}
    assert len(statements) == len(document["Statement"]), "Sids must be unique"
    return statements


def resources(statement):
    value = statement["Resource"]
    return value if isinstance(value, list) else [value]


def test_registered_under_their_collection_names():
    assert plugin.FilterModule().filters() == {
        "ci_access_deploy_policy": plugin.ci_access_deploy_policy,
        "ci_access_provision_policy": plugin.ci_access_provision_policy,
        "ci_access_trust_policy": plugin.ci_access_trust_policy,
    }


# --- the deploy policy, statement by statement ----------------------------------------------------------------------

ECS = f"arn:aws:ecs:{REGION}:{ACCOUNT}"
LOGS = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group"
ROLES = [f"arn:aws:iam::{ACCOUNT}:role/shop-{s}-{kind}" for s in ("api", "web") for kind in ("execution", "task")]
EXPECTED = {
    "ECRAuthToken": (["ecr:GetAuthorizationToken"], ["*"], None),
    "ECRPushPull": (
        policies.ECR_PUSH_ACTIONS,
        [f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/shop/api", f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/shop/web"],
        None,
    ),
    "TaskDefinitions": (
        ["ecs:DescribeTaskDefinition", "ecs:ListTaskDefinitions", "ecs:RegisterTaskDefinition"],
        ["*"],
        None,
    ),
    "Services": (
        ["ecs:DescribeServices", "ecs:ListServiceDeployments", "ecs:UpdateService"],
        [f"{ECS}:service/shop/api", f"{ECS}:service/shop/web"],
        None,
    ),
    "ServiceDeployments": (
        ["ecs:DescribeServiceDeployments", "ecs:StopServiceDeployment"],
        [f"{ECS}:service-deployment/shop/api/*", f"{ECS}:service-deployment/shop/web/*"],
        None,
    ),
    "ListTasks": (["ecs:ListTasks"], ["*"], {"ArnEquals": {"ecs:cluster": f"{ECS}:cluster/shop"}}),
    "Tasks": (["ecs:DescribeTasks", "ecs:StopTask"], [f"{ECS}:task/shop/*"], None),
    "ReleaseTask": (
        ["ecs:RunTask"],
        [f"{ECS}:task-definition/*"],
        {"ArnEquals": {"ecs:cluster": f"{ECS}:cluster/shop"}},
    ),
    "TargetHealth": (["elasticloadbalancing:DescribeTargetHealth"], ["*"], None),
    "LogGroupsDescribe": (["logs:DescribeLogGroups"], [f"{LOGS}:*"], None),
    "Logs": (
        ["logs:GetLogEvents"],
        [f"{LOGS}:/ecs/shop/api:*", f"{LOGS}:/ecs/shop/web:*"],
        None,
    ),
    "SecretsDescribe": (
        ["secretsmanager:DescribeSecret"],
        [
            f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:shop/api-??????",
            f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:shop/web-??????",
        ],
        None,
    ),
    "RolesRead": (
        ["iam:GetRole"],
        ROLES,
        None,
    ),
    "PassRoles": (["iam:PassRole"], ROLES, {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}),
}


@pytest.mark.parametrize("sid", sorted(EXPECTED))
def test_each_deploy_statement_has_exactly_its_actions_resources_and_condition(sid):
    statement = by_sid(deploy())[sid]
    actions, expected_resources, condition = EXPECTED[sid]
    assert statement["Effect"] == "Allow"
    assert statement["Action"] == sorted(actions)
    assert sorted(resources(statement)) == sorted(expected_resources)
    assert statement.get("Condition") == condition


def test_the_deploy_policy_has_no_other_statement():
    document = deploy()
    assert document["Version"] == "2012-10-17"
    assert [s["Sid"] for s in document["Statement"]] == list(EXPECTED)
    assert json.loads(json.dumps(document)) == document  # plain JSON, what iam_policy's policy_json takes


def test_never_get_secret_value_and_no_action_wildcard():
    text = json.dumps(deploy(deregister_task_definitions=True))
    assert "GetSecretValue" not in text
    for statement in deploy()["Statement"]:
        assert not any("*" in action for action in statement["Action"]), statement


def test_star_only_where_aws_takes_nothing_narrower():
    for statement in deploy(deregister_task_definitions=True)["Statement"]:
        if "*" in resources(statement):
            assert resources(statement) == ["*"]
            assert set(statement["Action"]) <= set(policies.WILDCARD_ACTIONS), statement
    assert set(policies.WILDCARD_ACTIONS) == {
        "ecr:GetAuthorizationToken",
        "ecs:RegisterTaskDefinition",
        "ecs:DescribeTaskDefinition",
        "ecs:ListTaskDefinitions",
        "ecs:DeregisterTaskDefinition",
        "ecs:ListTasks",
        "elasticloadbalancing:DescribeTargetHealth",
    }


def test_deregister_only_when_asked():
    assert "ecs:DeregisterTaskDefinition" not in by_sid(deploy())["TaskDefinitions"]["Action"]
    assert (
        "ecs:DeregisterTaskDefinition" in by_sid(deploy(deregister_task_definitions=True))["TaskDefinitions"]["Action"]
    )


def test_a_service_without_secret_and_roles_under_a_path():
    document = deploy(
        [service("web", secret=None, role_path="/shipyard/")],
        partition="aws-cn",
        region="cn-north-1",
    )
    statements = by_sid(document)
    assert "SecretsDescribe" not in statements
    assert resources(statements["PassRoles"]) == [
        f"arn:aws-cn:iam::{ACCOUNT}:role/shipyard/shop-web-execution",
        f"arn:aws-cn:iam::{ACCOUNT}:role/shipyard/shop-web-task",
    ]
    assert resources(statements["Services"]) == [f"arn:aws-cn:ecs:cn-north-1:{ACCOUNT}:service/shop/web"]


def test_the_same_services_in_another_order_give_the_same_document():
    assert deploy(list(reversed(SERVICES))) == deploy()


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"services": []}, "services"),
        ({"services": "web"}, "services"),
        ({"services": [service("web", repository="shop/*")]}, "services[0].repository"),
        ({"services": [service("web", log_group="/ecs/*")]}, "services[0].log_group"),
        ({"services": [service("web", execution_role="shop-*")]}, "services[0].execution_role"),
        ({"services": [service("w*b")]}, "services[0].name"),
        ({"services": [{"name": "web"}]}, "services[0].repository"),
        ({"cluster_name": "*"}, "cluster_name"),
        ({"account_id": "123"}, "account_id"),
        ({"region": "*"}, "region"),
    ],
)
def test_a_wildcard_or_a_missing_name_fails_naming_the_argument(kwargs, named):
    services = kwargs.pop("services", SERVICES)
    with pytest.raises(AnsibleFilterError, match=f"ci_access_deploy_policy: {named}".replace("[", r"\[")):
        deploy(services, **kwargs)


def test_a_document_above_iams_inline_limit_is_refused():
    many = [service(f"service{i:03d}") for i in range(40)]
    with pytest.raises(AnsibleFilterError, match="10240"):
        deploy(many)


# --- what a deploy really calls: every call allowed, every allowed action called ------------------------------------

BOTOCORE_SERVICES = {
    "CloudWatch Logs": "logs",
    "ECR": "ecr",
    "ECS": "ecs",
    "Elastic Load Balancing v2": "elasticloadbalancing",
    "IAM": "iam",
    "Secrets Manager": "secretsmanager",
}
# Not botocore calls: the image push and pull through the registry API (Docker, registry_image_info/_tag), which ECR
# authorizes as these actions; and iam:PassRole, which RegisterTaskDefinition needs for the roles it names.
IMPLIED = {
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:CompleteLayerUpload",
    "ecr:GetDownloadUrlForLayer",
    "ecr:InitiateLayerUpload",
    "ecr:PutImage",
    "ecr:UploadLayerPart",
    "ecs:StopTask",  # the release step's one-off task, stopped on its timeout (not in a recorded run)
    "iam:PassRole",
}


def _recorded_actions():
    calls = yaml.safe_load((FIXTURES / "deploy_calls.yml").read_text())
    return {f"{BOTOCORE_SERVICES[service]}:{api}" for service, apis in calls.items() for api in apis}


def _allowed(document):
    return {action for s in document["Statement"] if s["Effect"] == "Allow" for action in s["Action"]}


def test_every_call_a_deploy_makes_is_allowed():
    allowed = _allowed(deploy())
    missing = sorted(a for a in _recorded_actions() if not any(fnmatch.fnmatchcase(a, p) for p in allowed))
    assert not missing, missing


def test_every_allowed_action_is_one_a_deploy_needs():
    extra = _allowed(deploy()) - _recorded_actions() - IMPLIED
    assert not extra, sorted(extra)


# --- the trust policy ------------------------------------------------------------------------------------------------


def trust(**kwargs):
    kwargs.setdefault("repository", "acme/shop")
    return plugin.ci_access_trust_policy(PROVIDER, **kwargs)


def test_trust_admits_only_the_environment_of_the_repository():
    assert trust(environment="production") == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "GitHubActions",
                "Effect": "Allow",
                "Principal": {"Federated": PROVIDER},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {
                        "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
                        "token.actions.githubusercontent.com:sub": "repo:acme/shop:environment:production",
                    }
                },
            }
        ],
    }


def test_trust_for_a_branch_and_for_both():
    condition = trust(branch="main")["Statement"][0]["Condition"]
    assert condition == {
        "StringEquals": {
            "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
            "token.actions.githubusercontent.com:sub": "repo:acme/shop:ref:refs/heads/main",
        }
    }
    both = trust(environment="production", branch="main")["Statement"][0]["Condition"]["StringEquals"]
    assert both["token.actions.githubusercontent.com:sub"] == [
        "repo:acme/shop:environment:production",
        "repo:acme/shop:ref:refs/heads/main",
    ]


def test_trust_names_the_issuer_of_the_provider():
    other = f"arn:aws:iam::{ACCOUNT}:oidc-provider/ghe.example.com/_services/token"
    document = plugin.ci_access_trust_policy(other, repository="acme/shop", branch="main", audience="x")
    assert document["Statement"][0]["Condition"]["StringEquals"] == {
        "ghe.example.com/_services/token:aud": "x",
        "ghe.example.com/_services/token:sub": "repo:acme/shop:ref:refs/heads/main",
    }


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"environment": "production", "repository": "acme/*"}, "repository"),
        ({"environment": "production", "repository": "*"}, "repository"),
        ({"environment": "production", "repository": "not-a-repo"}, "repository"),
        ({"environment": "prod*"}, "environment"),
        ({"environment": "a:b"}, "environment"),
        ({"branch": "*"}, "branch"),
        ({"branch": "refs/heads/main"}, "branch"),
        ({}, "environment"),
        ({"environment": "production", "audience": ""}, "audience"),
    ],
)
def test_trust_refuses_wildcards_and_a_whole_repository(kwargs, named):
    with pytest.raises(AnsibleFilterError, match=f"ci_access_trust_policy: {named}"):
        trust(**kwargs)


def test_trust_refuses_what_is_not_a_provider_arn():
    with pytest.raises(AnsibleFilterError, match="_input"):
        plugin.ci_access_trust_policy(f"arn:aws:iam::{ACCOUNT}:role/x", repository="acme/shop", branch="main")


# --- the provisioning policy: broader, but bounded ----------------------------------------------------------------


def provision(**kwargs):
    kwargs.setdefault("cluster_name", CLUSTER)
    kwargs.setdefault("region", REGION)
    kwargs.setdefault("account_id", ACCOUNT)
    kwargs.setdefault("protected_role_names", ["shop-github-deploy", "shop-github-provision"])
    return plugin.ci_access_provision_policy("shop", **kwargs)


def test_provision_names_the_stack_where_aws_allows_it():
    statements = by_sid(provision())
    assert resources(statements["ECR"]) == [f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/shop/*"]
    assert resources(statements["Secrets"]) == [f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:shop/*"]
    assert resources(statements["Roles"]) == [f"arn:aws:iam::{ACCOUNT}:role/shop-*"]
    assert resources(statements["Logs"]) == [f"{LOGS}:/ecs/shop/*"]
    assert f"{ECS}:service/shop/*" in resources(statements["ECS"])
    assert statements["PassRoles"]["Condition"] == {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}
    assert set(statements["ServiceLinkedRoles"]["Condition"]["StringEquals"]["iam:AWSServiceName"]) == {
        "ecs.amazonaws.com",
        "ecs.application-autoscaling.amazonaws.com",
        "elasticloadbalancing.amazonaws.com",
    }


def test_provision_may_not_touch_the_ci_roles():
    deny = by_sid(provision())["NotTheCIRoles"]
    assert deny["Effect"] == "Deny"
    assert resources(deny) == [
        f"arn:aws:iam::{ACCOUNT}:role/shop-github-deploy",
        f"arn:aws:iam::{ACCOUNT}:role/shop-github-provision",
    ]
    for action in ("iam:PutRolePolicy", "iam:AttachRolePolicy", "iam:UpdateAssumeRolePolicy", "iam:PassRole"):
        assert action in deny["Action"]
    assert not any(a.startswith(("iam:Get", "iam:List")) for a in deny["Action"])


def test_provision_never_allows_everything():
    for statement in provision()["Statement"]:
        assert "*" not in statement["Action"]
        assert not any(action.endswith(":*") and statement["Resource"] == "*" for action in statement["Action"])
    assert len(json.dumps(provision(), separators=(",", ":"))) <= policies.INLINE_POLICY_MAX


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"role_paths": "/"}, "role_paths"),
        ({"role_paths": ["x"]}, "role_paths"),
        ({"protected_role_names": ["a*"]}, "protected_role_names"),
        ({"cluster_name": None}, "cluster_name"),
    ],
)
def test_provision_refuses_bad_arguments(kwargs, named):
    with pytest.raises(AnsibleFilterError, match=f"ci_access_provision_policy: {named}"):
        provision(**kwargs)
