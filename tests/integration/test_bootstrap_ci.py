"""playbooks/bootstrap_ci.yml against the emulator over HTTP, on a stack of its own.

Bad input refused before any change -> apply -> re-apply (changed=0) -> --check --diff on the converged stack
(changed=0) -> the documents IAM holds, read back with boto3, statement by statement. The policy documents themselves
are unit-tested (tests/unit/test_filter_ci_access_policy.py), and the OIDC module's lifecycle runs against moto
in-process (tests/unit/test_module_iam_openid_connect_provider.py).
"""

from __future__ import annotations

import json
import re
import shutil
import uuid
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.stack
PLAYBOOK = "playbooks/bootstrap_ci.yml"
ACCOUNT = "123456789012"  # the emulator's account
REGION = "us-east-1"
ISSUER = "token.actions.githubusercontent.com"
PROVIDER_ARN = f"arn:aws:iam::{ACCOUNT}:oidc-provider/{ISSUER}"
CHECK_TASK = "shipyard.fargate.ci_access : Check the options that depend on each other"
# The resource "*" is allowed for these actions only (AWS takes nothing narrower: the role's documentation says why).
STAR_ACTIONS = {
    "ecr:GetAuthorizationToken",
    "ecs:RegisterTaskDefinition",
    "ecs:DescribeTaskDefinition",
    "ecs:ListTaskDefinitions",
    "ecs:ListTasks",
    "elasticloadbalancing:DescribeTargetHealth",
}


@pytest.fixture
def inventory(tmp_path):
    """A copy of the local inventory with a stack of its own and these CI settings."""
    stack = f"ci{uuid.uuid4().hex[:6]}"
    root = tmp_path / "local"
    shutil.copytree(REPO / "inventories" / "local", root)
    settings = {
        "shipyard_stack_name": stack,
        "dns_zone_name": f"{stack}.test",
        "ci_access_github_repository": "acme/shop",
        "ci_access_github_environment": "production",
        "ci_access_provision_role": True,
    }
    (root / "group_vars" / "all" / "zz_test.yml").write_text(yaml.safe_dump(settings))
    return stack, str(root)


@pytest.fixture
def cleanup(aws):
    """Delete the roles the test made (the provider is account-wide: other stacks share it)."""
    made = []
    yield made
    iam = aws("iam")
    for name in made:
        try:
            for policy in iam.list_role_policies(RoleName=name)["PolicyNames"]:
                iam.delete_role_policy(RoleName=name, PolicyName=policy)
            iam.delete_role(RoleName=name)
        except iam.exceptions.NoSuchEntityException:
            pass


def _changed(run) -> int:
    recap = run.recap()
    assert recap, run.output[-3000:]
    return sum(host["changed"] for host in recap.values())


def _no_role(iam, name):
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.get_role(RoleName=name)


def test_bad_repository_is_refused_before_any_change(inventory, run_playbook, aws):
    stack, root = inventory
    run = run_playbook(PLAYBOOK, "-i", root, "-e", "ci_access_github_repository=not-a-repo")
    assert run.returncode != 0, run.output[-3000:]
    tasks = re.findall(r"^TASK \[(.*?)\]", run.output, re.M)
    assert tasks[-1] == CHECK_TASK, f"the run went on after the check: {tasks[-3:]}"
    failure = "\n".join(line for line in run.output.splitlines() if line.startswith("[ERROR]") or "fatal:" in line)
    assert "ci_access_github_repository 'not-a-repo' is not a GitHub repository 'owner/name'" in run.output, failure
    iam = aws("iam")
    _no_role(iam, f"{stack}-github-deploy")
    _no_role(iam, f"{stack}-github-provision")


def _statements(document) -> dict:
    return {s["Sid"]: s for s in document["Statement"]}


def _resources(statement) -> list:
    value = statement["Resource"]
    return sorted(value if isinstance(value, list) else [value])


def test_bootstrap_apply_reapply_check_and_read_back(inventory, run_playbook, aws, cleanup):
    stack, root = inventory
    deploy_role, provision_role = f"{stack}-github-deploy", f"{stack}-github-provision"
    cleanup += [deploy_role, provision_role]

    applied = run_playbook(PLAYBOOK, "-i", root, "--diff")
    assert applied.returncode == 0, applied.output[-4000:]
    assert _changed(applied) >= 4, applied.output[-3000:]  # two roles and their inline policies (the provider: once)
    assert f"role/{deploy_role}" in applied.output  # the ARN to set in GitHub is printed

    again = run_playbook(PLAYBOOK, "-i", root)
    assert again.returncode == 0, again.output[-4000:]
    assert _changed(again) == 0, again.output[-4000:]

    checked = run_playbook(PLAYBOOK, "-i", root, "--check", "--diff")
    assert checked.returncode == 0, checked.output[-4000:]
    assert _changed(checked) == 0, checked.output[-4000:]

    iam = aws("iam")
    provider = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=PROVIDER_ARN)
    assert provider["Url"] == ISSUER
    assert "sts.amazonaws.com" in provider["ClientIDList"]

    # Trust: only acme/shop's jobs of the environment production, with GitHub's audience for STS.
    role = iam.get_role(RoleName=deploy_role)["Role"]
    assert role["AssumeRolePolicyDocument"] == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "GitHubActions",
                "Effect": "Allow",
                "Principal": {"Federated": PROVIDER_ARN},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {
                        f"{ISSUER}:aud": "sts.amazonaws.com",
                        f"{ISSUER}:sub": "repo:acme/shop:environment:production",
                    }
                },
            }
        ],
    }
    assert role["MaxSessionDuration"] == 3600
    assert {t["Key"]: t["Value"] for t in role.get("Tags", [])}["shipyard:stack"] == stack
    assert iam.list_attached_role_policies(RoleName=deploy_role)["AttachedPolicies"] == []
    assert iam.list_role_policies(RoleName=deploy_role)["PolicyNames"] == ["shipyard-ci-deploy"]

    document = iam.get_role_policy(RoleName=deploy_role, PolicyName="shipyard-ci-deploy")["PolicyDocument"]
    assert "GetSecretValue" not in json.dumps(document)
    statements = _statements(document)
    ecs, logs = f"arn:aws:ecs:{REGION}:{ACCOUNT}", f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group"
    roles = sorted(
        f"arn:aws:iam::{ACCOUNT}:role/{stack}-{s}-{k}" for s in ("api", "web") for k in ("execution", "task")
    )
    expected = {
        "ECRAuthToken": (["ecr:GetAuthorizationToken"], ["*"]),
        "ECRPushPull": (
            [
                "ecr:BatchCheckLayerAvailability",
                "ecr:BatchGetImage",
                "ecr:CompleteLayerUpload",
                "ecr:DescribeRepositories",
                "ecr:GetDownloadUrlForLayer",
                "ecr:InitiateLayerUpload",
                "ecr:PutImage",
                "ecr:UploadLayerPart",
            ],
            [f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/{stack}/{s}" for s in ("api", "web")],
        ),
        "TaskDefinitions": (
            ["ecs:DescribeTaskDefinition", "ecs:ListTaskDefinitions", "ecs:RegisterTaskDefinition"],
            ["*"],
        ),
        "Services": (
            ["ecs:DescribeServices", "ecs:ListServiceDeployments", "ecs:UpdateService"],
            [f"{ecs}:service/{stack}/{s}" for s in ("api", "web")],
        ),
        "ServiceDeployments": (
            ["ecs:DescribeServiceDeployments", "ecs:StopServiceDeployment"],
            [f"{ecs}:service-deployment/{stack}/{s}/*" for s in ("api", "web")],
        ),
        "ListTasks": (["ecs:ListTasks"], ["*"]),
        "Tasks": (["ecs:DescribeTasks", "ecs:StopTask"], [f"{ecs}:task/{stack}/*"]),
        "ReleaseTask": (["ecs:RunTask"], [f"{ecs}:task-definition/*"]),
        "TargetHealth": (["elasticloadbalancing:DescribeTargetHealth"], ["*"]),
        "LogGroupsDescribe": (["logs:DescribeLogGroups"], [f"{logs}:*"]),
        "Logs": (
            ["logs:GetLogEvents"],
            [f"{logs}:/ecs/{stack}/{s}:*" for s in ("api", "web")],
        ),
        "SecretsDescribe": (
            ["secretsmanager:DescribeSecret"],
            [f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{stack}/{s}-??????" for s in ("api", "web")],
        ),
        "RolesRead": (
            ["iam:GetRole"],
            roles,
        ),
        "PassRoles": (["iam:PassRole"], roles),
    }
    assert sorted(statements) == sorted(expected)
    for sid, (actions, resources) in expected.items():
        statement = statements[sid]
        assert statement["Effect"] == "Allow", sid
        assert sorted(statement["Action"]) == sorted(actions), sid
        assert _resources(statement) == sorted(resources), sid
        if "*" in _resources(statement):
            assert set(statement["Action"]) <= STAR_ACTIONS, sid
    assert statements["PassRoles"]["Condition"] == {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}
    assert statements["ListTasks"]["Condition"] == {"ArnEquals": {"ecs:cluster": f"{ecs}:cluster/{stack}"}}
    assert statements["ReleaseTask"]["Condition"] == {"ArnEquals": {"ecs:cluster": f"{ecs}:cluster/{stack}"}}
    assert [sid for sid, s in statements.items() if "Condition" in s] == ["ListTasks", "ReleaseTask", "PassRoles"]

    # The opt-in provisioning role: same trust, broader policy, but never over the CI roles.
    provisioning = iam.get_role(RoleName=provision_role)["Role"]
    assert provisioning["AssumeRolePolicyDocument"] == role["AssumeRolePolicyDocument"]
    broad = iam.get_role_policy(RoleName=provision_role, PolicyName="shipyard-ci-provision")["PolicyDocument"]
    deny = _statements(broad)["NotTheCIRoles"]
    assert deny["Effect"] == "Deny"
    assert _resources(deny) == sorted(f"arn:aws:iam::{ACCOUNT}:role/{name}" for name in (deploy_role, provision_role))
