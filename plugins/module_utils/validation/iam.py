# Copyright: Shipyard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The rules of the ``shipyard.fargate.iam`` role's options (filter ``iam_option_errors``): names, path and the
shape of each ARN (one named resource, no wildcard)."""

from ansible_collections.shipyard.fargate.plugins.module_utils.validation import (
    Problems,
    as_list,
    matches,
    not_matching,
)

NAME_PREFIX = r"^[\w+=,.@-]{1,54}$"  # + "-execution" stays within IAM's 64 characters
PATH = r"^/(?:[\x21-\x7e]{0,510}/)?$"
REGION = r"^[a-z]{2}(?:-[a-z]+)+-\d$"
LOG_GROUP_NAME = r"^[\w/.#-]{1,512}$"
_POLICY_ARN = r"^arn:aws(?:-[a-z]+)*:iam::(?:\d{12}|aws):policy/[\w+=,.@/-]+$"
ARNS = {
    "iam_ecr_repository_arns": r"^arn:aws(?:-[a-z]+)*:ecr:[a-z0-9-]+:\d{12}:repository/[a-z0-9]+(?:[._/-][a-z0-9]+)*$",
    "iam_secret_arns": r"^arn:aws(?:-[a-z]+)*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[\w/+=.@-]+$",
    "iam_kms_key_arn": r"^arn:aws(?:-[a-z]+)*:kms:[a-z0-9-]+:\d{12}:key/[\w-]+$",
    "iam_permissions_boundary": _POLICY_ARN,
    "iam_task_role_managed_policies": _POLICY_ARN,
}


def _statement_valid(statement):
    return (
        isinstance(statement, dict)
        and statement.get("Effect") in ("Allow", "Deny")
        and ("Action" in statement or "NotAction" in statement)
        and ("Resource" in statement or "NotResource" in statement)
    )


def iam_errors(options):
    """The problems of the iam role's options (a dict of iam_* variables), one message each."""
    o = options
    p = Problems()
    prefix = o.get("iam_name_prefix")
    p.check(
        matches(NAME_PREFIX, prefix),
        "iam_name_prefix",
        f"iam_name_prefix '{prefix}' is not a valid role name prefix: 1 to 54 letters, digits and +=,.@_- (the role "
        "names add '-execution' and '-task', within IAM's 64 characters).",
    )
    path = o.get("iam_path", "/")
    p.check(
        matches(PATH, path),
        "iam_path",
        f"iam_path '{path}' is not an IAM path: '/' or '/name/.../' (printable ASCII, up to 512).",
    )
    region = o.get("iam_aws_region")
    log_group = o.get("iam_log_group_name")
    p.check(
        o.get("iam_state", "present") == "absent"
        or matches(REGION, region)
        or not (o.get("iam_trust_source_conditions") or log_group),
        "iam_aws_region",
        f"iam_aws_region '{region}' is not an AWS region; it is needed for the log group ARN and the trust policy's "
        "aws:SourceArn (set it, or shipyard_aws_region).",
    )
    p.check(
        log_group is None or matches(LOG_GROUP_NAME, log_group),
        "iam_log_group_name",
        f"iam_log_group_name '{log_group}' is not a log group name: 1 to 512 of letters, digits, _-/.#",
    )
    bad = {
        option: not_matching(
            pattern,
            [v for v in as_list(o.get(option)) if v]
            if option in ("iam_kms_key_arn", "iam_permissions_boundary")
            else o.get(option),
        )
        for option, pattern in ARNS.items()
    }
    p.check(
        not bad["iam_ecr_repository_arns"],
        "iam_ecr_repository_arns",
        "iam_ecr_repository_arns must hold ECR repository ARNs (arn:aws:ecr:REGION:ACCOUNT:repository/NAME, no "
        "wildcard): " + ", ".join(bad["iam_ecr_repository_arns"]),
    )
    p.check(
        not bad["iam_secret_arns"],
        "iam_secret_arns",
        "iam_secret_arns must hold full Secrets Manager secret ARNs "
        "(arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-SUFFIX, no wildcard): " + ", ".join(bad["iam_secret_arns"]),
    )
    p.check(
        not bad["iam_kms_key_arn"],
        "iam_kms_key_arn",
        "iam_kms_key_arn must be a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID; not an alias, no wildcard).",
    )
    p.check(
        not bad["iam_permissions_boundary"],
        "iam_permissions_boundary",
        "iam_permissions_boundary must be the ARN of a managed policy (arn:aws:iam::ACCOUNT|aws:policy/NAME).",
    )
    p.check(
        not bad["iam_task_role_managed_policies"],
        "iam_task_role_managed_policies",
        "iam_task_role_managed_policies must hold managed policy ARNs (arn:aws:iam::ACCOUNT|aws:policy/NAME): "
        + ", ".join(bad["iam_task_role_managed_policies"]),
    )
    p.check(
        all(_statement_valid(s) for s in as_list(o.get("iam_task_role_policy_statements"))),
        "iam_task_role_policy_statements",
        "iam_task_role_policy_statements: each statement needs Effect (Allow or Deny), Action (or NotAction) and "
        "Resource (or NotResource), as in an IAM policy document.",
    )
    return p.messages()
