"""The iam role against the emulator over HTTP.

check -> apply -> re-apply (changed=0) -> verify with boto3: the trust policy, the execution role's inline
policy scoped exactly to the given ARNs (no `*` but for ecr:GetAuthorizationToken), no managed policy on
it, the task role's managed and inline extensions, path, boundary and tags; bad input refused before any
AWS call naming the option; state absent removes both roles.
"""

from __future__ import annotations

import contextlib

import pytest

pytestmark = pytest.mark.stack
PLAYBOOK = "tests/integration/playbooks/iam_role.yml"
FIRST_AWS_TASK = "Find the account id and partition"
ACCOUNT = "123456789012"  # the emulator's account
REGION = "us-east-1"
BOUNDARY = "arn:aws:iam::aws:policy/PowerUserAccess"
TASK_MANAGED = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"
TASK_STATEMENT = {
    "Sid": "ReadUploads",
    "Effect": "Allow",
    "Action": ["s3:GetObject"],
    "Resource": ["arn:aws:s3:::uploads-bucket/*"],
}


@pytest.fixture
def service(unique_name):
    """The inputs the registry and secrets roles would hand over for one service."""
    return {
        "repository": f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/{unique_name}/web",
        "log_group": f"/ecs/{unique_name}/web",
        "secrets": [
            f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{unique_name}/web-AbCdEf",
            f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{unique_name}/web-db-QwErTy",
        ],
        "kms_key": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    }


@pytest.fixture
def iam_role(unique_name, service, aws, role_runner):
    """``iam_role(*args, **role_vars)`` runs the role for one service; both roles are deleted afterwards."""
    base = {
        "iam_name_prefix": f"{unique_name}-web",
        "iam_ecr_repository_arns": [service["repository"]],
        "iam_log_group_name": service["log_group"],
        "iam_secret_arns": service["secrets"],
    }
    run = role_runner(PLAYBOOK, base)
    run.execution = f"{unique_name}-web-execution"
    run.task = f"{unique_name}-web-task"
    yield run
    iam = aws("iam")
    for name in (run.execution, run.task):
        with contextlib.suppress(iam.exceptions.NoSuchEntityException):
            for policy in iam.list_role_policies(RoleName=name)["PolicyNames"]:
                iam.delete_role_policy(RoleName=name, PolicyName=policy)
            for attached in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]:
                iam.detach_role_policy(RoleName=name, PolicyArn=attached["PolicyArn"])
            iam.delete_role(RoleName=name)


def _role(aws, name):
    try:
        return aws("iam").get_role(RoleName=name)["Role"]
    except aws("iam").exceptions.NoSuchEntityException:
        return None


def _inline(aws, role, policy):
    return aws("iam").get_role_policy(RoleName=role, PolicyName=policy)["PolicyDocument"]


def _managed(aws, role):
    return sorted(p["PolicyArn"] for p in aws("iam").list_attached_role_policies(RoleName=role)["AttachedPolicies"])


def _as_list(value):
    return value if isinstance(value, list) else [value]


def test_check_mode_changes_nothing(iam_role, aws):
    run = iam_role("--check")
    assert run.returncode == 0, run.output
    assert run.recap()["web"]["changed"] == 2, run.output  # two roles would be created
    assert _role(aws, iam_role.execution) is None
    assert _role(aws, iam_role.task) is None
    assert run.fact == {
        "execution_role": {"name": iam_role.execution, "exists": False, "arn": None},
        "task_role": {"name": iam_role.task, "exists": False, "arn": None},
    }


def test_apply_then_reapply_reports_no_change(iam_role, aws):
    first = iam_role()
    assert first.returncode == 0, first.output
    assert first.recap()["web"]["changed"] == 3, first.output  # two roles and the execution policy

    second = iam_role()
    assert second.returncode == 0, second.output
    assert second.recap()["web"]["changed"] == 0, second.output

    checked = iam_role("--check")
    assert checked.returncode == 0, checked.output
    assert checked.recap()["web"]["changed"] == 0, checked.output

    execution, task = _role(aws, iam_role.execution), _role(aws, iam_role.task)
    assert second.fact == {
        "execution_role": {"name": iam_role.execution, "exists": True, "arn": execution["Arn"]},
        "task_role": {"name": iam_role.task, "exists": True, "arn": task["Arn"]},
    }


def test_both_roles_trust_only_ecs_tasks_of_this_account_and_region(iam_role, aws):
    assert iam_role().returncode == 0
    for name in (iam_role.execution, iam_role.task):
        trust = _role(aws, name)["AssumeRolePolicyDocument"]
        assert trust["Statement"] == [
            {
                "Sid": "ECSTasksAssumeRole",
                "Effect": "Allow",
                "Principal": {"Service": "ecs-tasks.amazonaws.com"},
                "Action": "sts:AssumeRole",
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": ACCOUNT},
                    "ArnLike": {"aws:SourceArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:*"},
                },
            }
        ], name


def test_trust_conditions_can_be_turned_off(iam_role, aws):
    assert iam_role(iam_trust_source_conditions=False).returncode == 0
    statement = _role(aws, iam_role.execution)["AssumeRolePolicyDocument"]["Statement"][0]
    assert "Condition" not in statement
    assert statement["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}


def test_execution_policy_is_scoped_exactly_to_the_service(iam_role, service, aws):
    run = iam_role(iam_kms_key_arn=service["kms_key"])
    assert run.returncode == 0, run.output
    document = _inline(aws, iam_role.execution, "shipyard-execution")
    statements = {s["Sid"]: s for s in document["Statement"]}
    assert set(statements) == {"ECRAuthToken", "ECRPull", "Logs", "Secrets", "KMS"}
    assert statements["ECRAuthToken"]["Action"] == ["ecr:GetAuthorizationToken"]
    assert _as_list(statements["ECRAuthToken"]["Resource"]) == ["*"]
    assert sorted(statements["ECRPull"]["Action"]) == [
        "ecr:BatchCheckLayerAvailability",
        "ecr:BatchGetImage",
        "ecr:GetDownloadUrlForLayer",
    ]
    assert _as_list(statements["ECRPull"]["Resource"]) == [service["repository"]]
    assert sorted(statements["Logs"]["Action"]) == ["logs:CreateLogStream", "logs:PutLogEvents"]
    assert _as_list(statements["Logs"]["Resource"]) == [
        f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{service['log_group']}:*"
    ]
    assert statements["Secrets"]["Action"] == ["secretsmanager:GetSecretValue"]
    assert sorted(_as_list(statements["Secrets"]["Resource"])) == sorted(service["secrets"])
    assert statements["KMS"]["Action"] == ["kms:Decrypt"]
    assert _as_list(statements["KMS"]["Resource"]) == [service["kms_key"]]
    # No `*` resource but for GetAuthorizationToken (the log group ARN's `:*` suffix names its streams).
    for sid, statement in statements.items():
        assert statement["Effect"] == "Allow"
        assert all("*" not in action for action in statement["Action"]), sid
        if sid != "ECRAuthToken":
            assert all("*" not in arn.removesuffix(":*") for arn in _as_list(statement["Resource"])), sid
    # The execution role has that inline policy and nothing else: no managed policy.
    assert aws("iam").list_role_policies(RoleName=iam_role.execution)["PolicyNames"] == ["shipyard-execution"]
    assert _managed(aws, iam_role.execution) == []


def test_kms_statement_only_with_a_key_and_removed_with_it(iam_role, service, aws):
    assert iam_role(iam_kms_key_arn=service["kms_key"]).returncode == 0
    assert "KMS" in {s["Sid"] for s in _inline(aws, iam_role.execution, "shipyard-execution")["Statement"]}
    run = iam_role()
    assert run.returncode == 0, run.output
    assert run.recap()["web"]["changed"] == 1, run.output
    assert "KMS" not in {s["Sid"] for s in _inline(aws, iam_role.execution, "shipyard-execution")["Statement"]}


def test_managed_policies_attached_elsewhere_are_detached_from_the_execution_role(iam_role, aws):
    assert iam_role().returncode == 0
    broad = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
    aws("iam").attach_role_policy(RoleName=iam_role.execution, PolicyArn=broad)
    run = iam_role()
    assert run.returncode == 0, run.output
    assert run.recap()["web"]["changed"] == 1, run.output
    assert _managed(aws, iam_role.execution) == []


def test_task_role_is_empty_by_default(iam_role, aws):
    assert iam_role().returncode == 0
    assert aws("iam").list_role_policies(RoleName=iam_role.task)["PolicyNames"] == []
    assert _managed(aws, iam_role.task) == []


def test_task_role_takes_managed_and_inline_policies_and_drops_them_again(iam_role, aws):
    extended = iam_role(iam_task_role_managed_policies=[TASK_MANAGED], iam_task_role_policy_statements=[TASK_STATEMENT])
    assert extended.returncode == 0, extended.output
    assert _managed(aws, iam_role.task) == [TASK_MANAGED]
    assert _inline(aws, iam_role.task, "shipyard-task") == {"Version": "2012-10-17", "Statement": [TASK_STATEMENT]}
    again = iam_role(iam_task_role_managed_policies=[TASK_MANAGED], iam_task_role_policy_statements=[TASK_STATEMENT])
    assert again.recap()["web"]["changed"] == 0, again.output

    emptied = iam_role()
    assert emptied.returncode == 0, emptied.output
    assert emptied.recap()["web"]["changed"] == 2, emptied.output
    assert _managed(aws, iam_role.task) == []
    assert aws("iam").list_role_policies(RoleName=iam_role.task)["PolicyNames"] == []


def test_path_boundary_and_tags(iam_role, aws):
    run = iam_role(iam_path="/shipyard/", iam_permissions_boundary=BOUNDARY, iam_tags={"shipyard:stack": "test"})
    assert run.returncode == 0, run.output
    for name in (iam_role.execution, iam_role.task):
        role = _role(aws, name)
        assert role["Path"] == "/shipyard/"
        assert role["Arn"] == f"arn:aws:iam::{ACCOUNT}:role/shipyard/{name}"
        assert role["PermissionsBoundary"]["PermissionsBoundaryArn"] == BOUNDARY
        assert {t["Key"]: t["Value"] for t in role["Tags"]} == {"shipyard:stack": "test"}
    assert run.fact["execution_role"]["arn"] == f"arn:aws:iam::{ACCOUNT}:role/shipyard/{iam_role.execution}"


def test_inputs_left_empty_leave_their_statements_out(iam_role, aws):
    run = iam_role(iam_ecr_repository_arns=[], iam_secret_arns=[])
    assert run.returncode == 0, run.output
    document = _inline(aws, iam_role.execution, "shipyard-execution")
    assert [s["Sid"] for s in document["Statement"]] == ["Logs"]  # no ECR (not even the auth token), no secrets


@pytest.mark.parametrize(
    ("role_vars", "option"),
    [
        pytest.param({"iam_name_prefix": "x" * 55}, "iam_name_prefix", id="prefix-too-long"),
        pytest.param({"iam_name_prefix": "has space"}, "iam_name_prefix", id="prefix-bad-char"),
        pytest.param({"iam_state": "gone"}, "iam_state", id="bad-state"),
        pytest.param({"iam_path": "shipyard"}, "iam_path", id="path-without-slashes"),
        pytest.param({"iam_ecr_repository_arns": ["*"]}, "iam_ecr_repository_arns", id="ecr-star"),
        pytest.param(
            {"iam_ecr_repository_arns": [f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/*"]},
            "iam_ecr_repository_arns",
            id="ecr-wildcard",
        ),
        pytest.param({"iam_ecr_repository_arns": "not-a-list"}, "iam_ecr_repository_arns", id="ecr-not-list"),
        pytest.param(
            {"iam_secret_arns": [f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:*"]},
            "iam_secret_arns",
            id="secret-wildcard",
        ),
        pytest.param({"iam_kms_key_arn": "alias/aws/secretsmanager"}, "iam_kms_key_arn", id="kms-alias"),
        pytest.param({"iam_log_group_name": "/ecs/*"}, "iam_log_group_name", id="log-group-wildcard"),
        pytest.param({"iam_aws_region": ""}, "iam_aws_region", id="no-region"),
        pytest.param({"iam_permissions_boundary": "PowerUserAccess"}, "iam_permissions_boundary", id="boundary"),
        pytest.param({"iam_task_role_managed_policies": ["S3"]}, "iam_task_role_managed_policies", id="managed"),
        pytest.param(
            {"iam_task_role_policy_statements": [{"Action": "s3:*", "Resource": "*"}]},
            "iam_task_role_policy_statements",
            id="statement-without-effect",
        ),
    ],
)
def test_bad_input_stops_before_any_aws_call_naming_the_option(iam_role, aws, role_vars, option):
    run = iam_role(**role_vars)
    assert run.returncode != 0, run.output
    assert run.recap()["web"]["failed"] == 1, run.output
    assert option in run.output
    assert FIRST_AWS_TASK not in run.output, run.output
    assert _role(aws, iam_role.execution) is None


def test_state_absent_deletes_both_roles_with_their_policies(iam_role, aws):
    applied = iam_role(iam_task_role_managed_policies=[TASK_MANAGED], iam_task_role_policy_statements=[TASK_STATEMENT])
    assert applied.returncode == 0, applied.output

    checked = iam_role("--check", iam_state="absent")
    assert checked.returncode == 0, checked.output
    assert checked.recap()["web"]["changed"] == 1, checked.output
    assert _role(aws, iam_role.execution) is not None
    assert _role(aws, iam_role.task) is not None

    deleted = iam_role(iam_state="absent")
    assert deleted.returncode == 0, deleted.output
    assert deleted.recap()["web"]["changed"] == 1, deleted.output
    assert _role(aws, iam_role.execution) is None
    assert _role(aws, iam_role.task) is None
    assert deleted.fact == {
        "execution_role": {"name": iam_role.execution, "exists": False, "arn": None},
        "task_role": {"name": iam_role.task, "exists": False, "arn": None},
    }
    again = iam_role(iam_state="absent")
    assert again.returncode == 0, again.output
    assert again.recap()["web"]["changed"] == 0, again.output
