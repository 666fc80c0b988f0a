# Copyright: Shipyard maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``shipyard.fargate.execution_role_policy`` filter (documentation: execution_role_policy.yml beside it).

A pure function: the inline policy document of an ECS task execution role, scoped to exactly the
resources of one service. No AWS call, no template state: the same arguments give the same document.
"""

from __future__ import annotations

import re

from ansible.errors import AnsibleFilterError

POLICY_VERSION = "2012-10-17"

# ECR image pull (on the repositories only). GetAuthorizationToken is account-wide: see _statements().
ECR_PULL_ACTIONS = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
LOGS_ACTIONS = ["logs:CreateLogStream", "logs:PutLogEvents"]
SECRETS_ACTIONS = ["secretsmanager:GetSecretValue"]
KMS_ACTIONS = ["kms:Decrypt"]

_PARTITION = r"aws(?:-[a-z]+)*"
_REGION = r"[a-z]{2}(?:-[a-z]+)+-\d"
_ACCOUNT = r"\d{12}"
# No `*` or `?` anywhere: each pattern names exactly one resource.
_ARN_PATTERNS = {
    "repository_arns": re.compile(
        rf"^arn:{_PARTITION}:ecr:{_REGION}:{_ACCOUNT}:repository/[a-z0-9]+(?:[._/-][a-z0-9]+)*$"
    ),
    "secret_arns": re.compile(rf"^arn:{_PARTITION}:secretsmanager:{_REGION}:{_ACCOUNT}:secret:[\w/+=.@-]+$"),
    "kms_key_arn": re.compile(rf"^arn:{_PARTITION}:kms:{_REGION}:{_ACCOUNT}:key/[\w-]+$"),
}
_LOG_GROUP_NAME = re.compile(r"^[\w/.#-]{1,512}$")


def _fail(option: str, problem: str) -> AnsibleFilterError:
    return AnsibleFilterError(f"execution_role_policy: {option} {problem}")


def _arn_list(option: str, value) -> list[str]:
    """The ARNs of one option, checked, without duplicates, sorted (a stable document)."""
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise _fail(option, f"must be a list of ARNs, got {type(value).__name__}")
    for arn in value:
        _check_arn(option, arn)
    return sorted(set(value))


def _check_arn(option: str, arn) -> str:
    if not isinstance(arn, str) or not _ARN_PATTERNS[option].match(arn):
        raise _fail(option, f"has {arn!r}, which is not the ARN of one resource of the expected type (no wildcards)")
    return arn


def _log_group_arn(log_group_name, region, account_id, partition) -> str:
    if not isinstance(log_group_name, str) or not _LOG_GROUP_NAME.match(log_group_name):
        raise _fail("log_group_name", f"{log_group_name!r} is not a CloudWatch Logs log group name")
    if not isinstance(region, str) or not re.fullmatch(_REGION, region):
        raise _fail("region", f"{region!r} is not an AWS region (needed with log_group_name)")
    if not isinstance(account_id, str) or not re.fullmatch(_ACCOUNT, account_id):
        raise _fail("account_id", f"{account_id!r} is not a 12-digit AWS account id (needed with log_group_name)")
    if not isinstance(partition, str) or not re.fullmatch(_PARTITION, partition):
        raise _fail("partition", f"{partition!r} is not an AWS partition")
    # `:*` covers the group's log streams (log-group:NAME:log-stream:STREAM), which is where
    # CreateLogStream and PutLogEvents act; nothing outside this one group.
    return f"arn:{partition}:logs:{region}:{account_id}:log-group:{log_group_name}:*"


def _statement(sid: str, actions: list[str], resources: list[str] | str) -> dict:
    return {"Sid": sid, "Effect": "Allow", "Action": sorted(actions), "Resource": resources}


def execution_role_policy(
    repository_arns,
    log_group_name=None,
    secret_arns=None,
    kms_key_arn=None,
    region=None,
    account_id=None,
    partition="aws",
) -> dict:
    """The execution role's inline policy document (a dict; ``to_json`` it where a string is needed).

    Statements, each present only when its input is:
      - ECRAuthToken: ecr:GetAuthorizationToken on ``*``, with repository_arns.
      - ECRPull: layer and image reads on repository_arns.
      - Logs: CreateLogStream/PutLogEvents on the streams of log_group_name.
      - Secrets: GetSecretValue on secret_arns.
      - KMS: kms:Decrypt on kms_key_arn.
    """
    repositories = _arn_list("repository_arns", repository_arns)
    secrets = _arn_list("secret_arns", secret_arns)
    statements = []
    if repositories:
        # GetAuthorizationToken authorizes against the registry, not a repository: AWS accepts only
        # `*` as its resource (no resource-level permissions). The pull itself is scoped below.
        statements.append(_statement("ECRAuthToken", ["ecr:GetAuthorizationToken"], "*"))
        statements.append(_statement("ECRPull", ECR_PULL_ACTIONS, repositories))
    if log_group_name is not None:
        statements.append(
            _statement("Logs", LOGS_ACTIONS, [_log_group_arn(log_group_name, region, account_id, partition)])
        )
    if secrets:
        statements.append(_statement("Secrets", SECRETS_ACTIONS, secrets))
    if kms_key_arn is not None:
        statements.append(_statement("KMS", KMS_ACTIONS, [_check_arn("kms_key_arn", kms_key_arn)]))
    return {"Version": POLICY_VERSION, "Statement": statements}


class FilterModule:
    """Shipyard's IAM policy filters."""

    def filters(self):
        return {"execution_role_policy": execution_role_policy}
