"""The iam role's option rules (plugins/module_utils/validation/iam.py): names, path, region and each ARN's shape."""

from __future__ import annotations

import pytest
from ansible_collections.shipyard.fargate.plugins.module_utils.validation import iam as rules

ACCOUNT = "123456789012"
REGION = "us-east-1"
VALID = {
    "iam_name_prefix": "stack-web",
    "iam_state": "present",
    "iam_path": "/",
    "iam_aws_region": REGION,
    "iam_trust_source_conditions": True,
    "iam_log_group_name": "/ecs/stack/web",
    "iam_ecr_repository_arns": [f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/stack/web"],
    "iam_secret_arns": [f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:stack/web-AbCdEf"],
    "iam_kms_key_arn": None,
    "iam_permissions_boundary": None,
    "iam_task_role_managed_policies": [],
    "iam_task_role_policy_statements": [],
}
STATEMENT = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bucket/*"}


def errors(**overrides):
    return rules.iam_errors({**VALID, **overrides})


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({}, id="defaults"),
        pytest.param({"iam_name_prefix": "a" * 54}, id="prefix-54"),
        pytest.param({"iam_name_prefix": "a+=,.@_-"}, id="prefix-chars"),
        pytest.param({"iam_path": "/shipyard/web/"}, id="path"),
        pytest.param(
            {"iam_aws_region": None, "iam_trust_source_conditions": False, "iam_log_group_name": None},
            id="no-region-needed",
        ),
        pytest.param({"iam_state": "absent", "iam_aws_region": None}, id="absent"),
        pytest.param({"iam_ecr_repository_arns": [], "iam_secret_arns": []}, id="empty-lists"),
        pytest.param({"iam_kms_key_arn": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab"}, id="kms"),
        pytest.param({"iam_permissions_boundary": f"arn:aws:iam::{ACCOUNT}:policy/boundary"}, id="boundary"),
        pytest.param({"iam_task_role_managed_policies": ["arn:aws:iam::aws:policy/ReadOnlyAccess"]}, id="managed"),
        pytest.param({"iam_task_role_policy_statements": [STATEMENT]}, id="statement"),
        pytest.param(
            {"iam_task_role_policy_statements": [{"Effect": "Deny", "NotAction": "s3:*", "NotResource": "*"}]},
            id="statement-not",
        ),
    ],
)
def test_valid_options_pass(overrides):
    assert errors(**overrides) == []


@pytest.mark.parametrize(
    ("overrides", "option"),
    [
        pytest.param({"iam_name_prefix": "a" * 55}, "iam_name_prefix", id="prefix-too-long"),
        pytest.param({"iam_name_prefix": "stack/web"}, "iam_name_prefix", id="prefix-bad-char"),
        pytest.param({"iam_path": "shipyard"}, "iam_path", id="path-without-slashes"),
        pytest.param({"iam_path": "/shipyard"}, "iam_path", id="path-without-trailing-slash"),
        pytest.param({"iam_aws_region": None}, "iam_aws_region", id="no-region"),
        pytest.param({"iam_aws_region": "useast1"}, "iam_aws_region", id="region-shape"),
        pytest.param({"iam_log_group_name": "log group"}, "iam_log_group_name", id="log-group-space"),
        pytest.param({"iam_log_group_name": "/ecs/*"}, "iam_log_group_name", id="log-group-wildcard"),
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
        pytest.param(
            {"iam_kms_key_arn": f"arn:aws:kms:{REGION}:{ACCOUNT}:alias/aws/secretsmanager"},
            "iam_kms_key_arn",
            id="kms-alias",
        ),
        pytest.param({"iam_permissions_boundary": "boundary"}, "iam_permissions_boundary", id="boundary"),
        pytest.param(
            {"iam_task_role_managed_policies": ["ReadOnlyAccess"]}, "iam_task_role_managed_policies", id="managed"
        ),
        pytest.param(
            {"iam_task_role_policy_statements": [{"Action": "s3:*", "Resource": "*"}]},
            "iam_task_role_policy_statements",
            id="statement-without-effect",
        ),
        pytest.param(
            {"iam_task_role_policy_statements": [{**STATEMENT, "Effect": "allow"}]},
            "iam_task_role_policy_statements",
            id="statement-effect-case",
        ),
        pytest.param(
            {"iam_task_role_policy_statements": [{"Effect": "Allow", "Resource": "*"}]},
            "iam_task_role_policy_statements",
            id="statement-without-action",
        ),
        pytest.param(
            {"iam_task_role_policy_statements": [{"Effect": "Allow", "Action": "s3:*"}]},
            "iam_task_role_policy_statements",
            id="statement-without-resource",
        ),
    ],
)
def test_invalid_options_are_refused_naming_the_option(overrides, option):
    found = errors(**overrides)
    assert [m for m in found if option in m], found
