"""shipyard.fargate.execution_role_policy: the execution role's inline policy, as a pure function."""

from __future__ import annotations

import json

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.shipyard.fargate.plugins.filter import execution_role_policy as plugin

ACCOUNT = "123456789012"
REGION = "us-east-1"
REPOSITORY = f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/shipyard-local/web"
SIDECAR = f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/shipyard-local/envoy"
SECRET = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:shipyard-local/web-AbCdEf"
SECRET_2 = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:shipyard-local/web-db-QwErTy"
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
LOG_GROUP = "/ecs/shipyard-local/web"
LOG_GROUP_ARN = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{LOG_GROUP}:*"


def policy(repositories=(REPOSITORY,), **kwargs):
    kwargs.setdefault("region", REGION)
    kwargs.setdefault("account_id", ACCOUNT)
    return plugin.execution_role_policy(list(repositories), **kwargs)


def by_sid(document):
    return {statement["Sid"]: statement for statement in document["Statement"]}


def test_registered_under_its_collection_name():
    assert plugin.FilterModule().filters() == {"execution_role_policy": plugin.execution_role_policy}


def test_full_document_is_exactly_scoped():
    document = policy(log_group_name=LOG_GROUP, secret_arns=[SECRET], kms_key_arn=KEY)
    assert document == {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "ECRAuthToken", "Effect": "Allow", "Action": ["ecr:GetAuthorizationToken"], "Resource": "*"},
            {
                "Sid": "ECRPull",
                "Effect": "Allow",
                "Action": ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                "Resource": [REPOSITORY],
            },
            {
                "Sid": "Logs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": [LOG_GROUP_ARN],
            },
            {"Sid": "Secrets", "Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"], "Resource": [SECRET]},
            {"Sid": "KMS", "Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": [KEY]},
        ],
    }
    # It is a plain JSON document (what iam_policy's policy_json takes).
    assert json.loads(json.dumps(document)) == document


def test_only_get_authorization_token_has_a_wildcard_resource():
    document = policy(repositories=[REPOSITORY, SIDECAR], log_group_name=LOG_GROUP, secret_arns=[SECRET, SECRET_2])
    for statement in document["Statement"]:
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        if statement["Action"] == ["ecr:GetAuthorizationToken"]:
            assert resources == ["*"]
        else:
            assert all("*" not in arn.removesuffix(":*") for arn in resources), statement
            assert all(":*" not in arn or arn == LOG_GROUP_ARN for arn in resources), statement
        assert statement["Effect"] == "Allow"
        assert not any("*" in action for action in statement["Action"]), statement


def test_lists_are_sorted_and_deduplicated_so_the_document_is_stable():
    one = policy(repositories=[SIDECAR, REPOSITORY, SIDECAR], secret_arns=[SECRET_2, SECRET, SECRET_2])
    two = policy(repositories=[REPOSITORY, SIDECAR], secret_arns=[SECRET, SECRET_2])
    assert one == two
    assert by_sid(one)["ECRPull"]["Resource"] == [SIDECAR, REPOSITORY]  # sorted: envoy < web
    assert by_sid(one)["Secrets"]["Resource"] == [SECRET, SECRET_2]


@pytest.mark.parametrize(
    ("kwargs", "sids"),
    [
        pytest.param({}, ["ECRAuthToken", "ECRPull"], id="repository-only"),
        pytest.param({"repositories": []}, [], id="nothing"),
        pytest.param({"repositories": [], "log_group_name": LOG_GROUP}, ["Logs"], id="no-ecr-no-auth-token"),
        pytest.param({"secret_arns": [SECRET]}, ["ECRAuthToken", "ECRPull", "Secrets"], id="no-kms-without-key"),
        pytest.param({"secret_arns": []}, ["ECRAuthToken", "ECRPull"], id="empty-secrets"),
        pytest.param({"secret_arns": None, "kms_key_arn": None}, ["ECRAuthToken", "ECRPull"], id="nulls"),
    ],
)
def test_a_statement_is_there_only_when_its_input_is(kwargs, sids):
    assert [s["Sid"] for s in policy(**kwargs)["Statement"]] == sids


def test_partition_and_region_come_into_the_log_group_arn():
    document = policy(
        repositories=[], log_group_name="web", region="cn-north-1", account_id=ACCOUNT, partition="aws-cn"
    )
    assert by_sid(document)["Logs"]["Resource"] == [f"arn:aws-cn:logs:cn-north-1:{ACCOUNT}:log-group:web:*"]


@pytest.mark.parametrize(
    ("kwargs", "option"),
    [
        pytest.param({"repositories": ["*"]}, "repository_arns", id="repository-star"),
        pytest.param(
            {"repositories": [f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/*"]}, "repository_arns", id="repo-wildcard"
        ),
        pytest.param({"repositories": [SECRET]}, "repository_arns", id="repo-wrong-service"),
        pytest.param({"repositories": REPOSITORY}, "repository_arns", id="repo-string-not-list"),
        pytest.param({"repositories": ["shipyard-local/web"]}, "repository_arns", id="repo-name-not-arn"),
        pytest.param({"secret_arns": [f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:*"]}, "secret_arns", id="s*"),
        pytest.param({"secret_arns": [REPOSITORY]}, "secret_arns", id="secret-wrong-service"),
        pytest.param({"secret_arns": [SECRET, None]}, "secret_arns", id="secret-null"),
        pytest.param({"kms_key_arn": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/*"}, "kms_key_arn", id="kms-wildcard"),
        pytest.param({"kms_key_arn": f"arn:aws:kms:{REGION}:{ACCOUNT}:alias/web"}, "kms_key_arn", id="kms-alias"),
        pytest.param({"log_group_name": "/ecs/*"}, "log_group_name", id="log-group-wildcard"),
        pytest.param({"log_group_name": ""}, "log_group_name", id="log-group-empty"),
        pytest.param({"log_group_name": LOG_GROUP, "region": None}, "region", id="log-group-needs-region"),
        pytest.param({"log_group_name": LOG_GROUP, "account_id": "12345"}, "account_id", id="log-group-bad-account"),
        pytest.param({"log_group_name": LOG_GROUP, "partition": "*"}, "partition", id="bad-partition"),
    ],
)
def test_bad_input_fails_naming_the_argument(kwargs, option):
    with pytest.raises(AnsibleFilterError, match=rf"^execution_role_policy: {option} "):
        policy(**kwargs)
