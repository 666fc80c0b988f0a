# Copyright: Shipyard maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The policies of keyless CI access, as the ``shipyard.fargate.ci_access_*`` filters return them
(plugins/filter/ci_access_policy.py; documentation: one ``<filter>.yml`` beside it).

Pure functions: the trust policy of a role that GitHub Actions assumes through the account's OpenID Connect
provider, the deploy role's inline policy (exactly the calls ``playbooks/deploy.yml`` and ``playbooks/rollback.yml``
make for an existing service, on this stack's resources), and the broader, opt-in provisioning role's inline policy
(what ``playbooks/provision.yml`` and ``playbooks/destroy.yml`` need). No AWS call, no template state: the same
arguments give the same document.

The calls a deploy makes, and where each comes from (recorded with ``scripts/record-aws-calls`` into
tests/unit/fixtures/ci_access/deploy_calls.yml; read the code before changing a list here):

- ``shipyard.fargate.service_deploy_info`` (provision.yml's "find the services that exist", one module run: what the
  short path needs) -> ecs:DescribeServices, ecs:DescribeTaskDefinition, ecs:ListTasks, ecs:DescribeTasks,
  ecr:DescribeRepositories, secretsmanager:DescribeSecret (never GetSecretValue: ECS reads the value with the
  service's execution role), iam:GetRole, logs:DescribeLogGroups.
- image role: ``ecr_authorization_token`` -> ecr:GetAuthorizationToken; ``registry_image_info`` /
  ``registry_image_tag`` and the Docker push, through the registry API -> ecr:BatchGetImage,
  ecr:GetDownloadUrlForLayer, ecr:BatchCheckLayerAvailability, ecr:InitiateLayerUpload, ecr:UploadLayerPart,
  ecr:CompleteLayerUpload, ecr:PutImage.
- service ``deploy``: ``ecs_task_definition`` -> ecs:ListTaskDefinitions, ecs:DescribeTaskDefinition,
  ecs:RegisterTaskDefinition (with iam:PassRole on the execution and task roles), ecs:DeregisterTaskDefinition only
  with service_keep_revisions; the release step (``ecs_task_run``) -> ecs:RunTask, ecs:DescribeTasks, ecs:StopTask
  (on its timeout), logs:GetLogEvents.
- ``ecs_rollout`` (plugins/modules/ecs_rollout.py, rollback.yml too) -> ecs:DescribeServices, ecs:UpdateService,
  ecs:ListTasks, ecs:DescribeTasks, ecs:DescribeTaskDefinition, ecs:ListTaskDefinitions (to_previous),
  elasticloadbalancing:DescribeTargetHealth, logs:GetLogEvents; ECS's deployment API where the endpoint has it:
  ecs:ListServiceDeployments (on the service), ecs:DescribeServiceDeployments and ecs:StopServiceDeployment (the
  rollback; on the service's service deployments).
"""

from __future__ import annotations

import json
import re

from ansible_collections.shipyard.fargate.plugins.module_utils.validation import ECS_NAME
from ansible_collections.shipyard.fargate.plugins.module_utils.validation.iam import LOG_GROUP_NAME, PATH, REGION
from ansible_collections.shipyard.fargate.plugins.module_utils.validation.registry import NAME as ECR_NAME
from ansible_collections.shipyard.fargate.plugins.module_utils.validation.secrets import NAME as SECRET_NAME

POLICY_VERSION = "2012-10-17"
GITHUB_ISSUER = "token.actions.githubusercontent.com"
DEFAULT_AUDIENCE = "sts.amazonaws.com"
ECS_TASKS = "ecs-tasks.amazonaws.com"
# IAM's limit for all inline policies of a role together, counted without whitespace.
INLINE_POLICY_MAX = 10240

ECR_PUSH_ACTIONS = [
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:CompleteLayerUpload",
    "ecr:DescribeRepositories",
    "ecr:GetDownloadUrlForLayer",
    "ecr:InitiateLayerUpload",
    "ecr:PutImage",
    "ecr:UploadLayerPart",
]
TASK_DEFINITION_ACTIONS = ["ecs:DescribeTaskDefinition", "ecs:ListTaskDefinitions", "ecs:RegisterTaskDefinition"]
SERVICE_ACTIONS = ["ecs:DescribeServices", "ecs:ListServiceDeployments", "ecs:UpdateService"]
SERVICE_DEPLOYMENT_ACTIONS = ["ecs:DescribeServiceDeployments", "ecs:StopServiceDeployment"]
LOG_ACTIONS = ["logs:GetLogEvents"]
ROLE_READ_ACTIONS = ["iam:GetRole"]

# The deploy role's actions whose Resource is "*", and why: AWS evaluates them against no narrower resource (the
# Service Authorization Reference lists no resource type for them). Everything else names this stack's resources.
WILDCARD_ACTIONS = {
    "ecr:GetAuthorizationToken": "the token authorizes against the registry, not a repository",
    "ecs:RegisterTaskDefinition": "a revision that does not exist yet has no ARN to name",
    "ecs:DescribeTaskDefinition": "ECS supports no resource-level permission for it",
    "ecs:ListTaskDefinitions": "a list call, filtered by family in the request",
    "ecs:DeregisterTaskDefinition": "ECS supports no resource-level permission for it",
    "ecs:ListTasks": "for Fargate there is no container instance to name; conditioned on ecs:cluster instead",
    "elasticloadbalancing:DescribeTargetHealth": "Elastic Load Balancing's Describe* calls take no resource",
}

_PARTITION = r"aws(?:-[a-z]+)*"
_ACCOUNT = r"\d{12}"
_ROLE_NAME = r"[\w+=,.@-]{1,64}"
# The shape of each name: the option rules' own (plugins/module_utils/validation/), checked here with re.fullmatch.
_NAMES = {
    "name": ECS_NAME,
    "repository": ECR_NAME,
    "log_group": LOG_GROUP_NAME,
    "execution_role": _ROLE_NAME,
    "task_role": _ROLE_NAME,
    "secret": SECRET_NAME,
    "role_path": PATH,
}
_REQUIRED = ("name", "repository", "log_group", "execution_role", "task_role")
_PROVIDER_ARN = re.compile(rf"^arn:{_PARTITION}:iam::{_ACCOUNT}:oidc-provider/([A-Za-z0-9.-]+(?:/[^\s*?]*)?)$")
_OWNER = r"[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}"
_REPOSITORY = re.compile(rf"^{_OWNER}/[A-Za-z0-9._-]{{1,100}}$")
_NO_WILDCARD = re.compile(r"^[^*?:\s]+(?: [^*?:\s]+)*$")


class PolicyError(ValueError):
    """An argument the policy cannot be made from; the message names the filter and the argument."""


def _fail(name: str, option: str, problem: str) -> PolicyError:
    return PolicyError(f"{name}: {option} {problem}")


def _statement(sid: str, actions: list[str], resources, condition: dict | None = None) -> dict:
    statement = {"Sid": sid, "Effect": "Allow", "Action": sorted(actions), "Resource": resources}
    if condition:
        statement["Condition"] = condition
    return statement


def _check(name: str, option: str, value, pattern: str, what: str) -> str:
    if not isinstance(value, str) or not re.fullmatch(pattern, value):
        raise _fail(name, option, f"{value!r} is not {what}")
    return value


def _where(name, region, account_id, partition) -> tuple[str, str, str]:
    return (
        _check(name, "region", region, REGION, "an AWS region"),
        _check(name, "account_id", account_id, _ACCOUNT, "a 12-digit AWS account id"),
        _check(name, "partition", partition, _PARTITION, "an AWS partition"),
    )


def _services(name: str, services) -> list[dict]:
    """The services, checked (every name of one resource, no wildcard), sorted by name."""
    if isinstance(services, (str, dict)) or not isinstance(services, (list, tuple)) or not services:
        raise _fail(name, "services", "must be a non-empty list of dicts (name, repository, log_group, ...)")
    checked = []
    for index, service in enumerate(services):
        if not isinstance(service, dict):
            raise _fail(name, f"services[{index}]", "must be a dict")
        item = {"role_path": "/"}
        for key, pattern in _NAMES.items():
            value = service.get(key)
            if value is None and key not in _REQUIRED:
                continue
            item[key] = _check(name, f"services[{index}].{key}", value, pattern, f"a valid {key.replace('_', ' ')}")
        checked.append(item)
    return sorted(checked, key=lambda s: s["name"])


def _role_arns(services, account_id, partition) -> list[str]:
    arns = set()
    for service in services:
        for key in ("execution_role", "task_role"):
            arns.add(f"arn:{partition}:iam::{account_id}:role{service['role_path']}{service[key]}")
    return sorted(arns)


def _checked_size(name: str, document: dict) -> dict:
    size = len(json.dumps(document, separators=(",", ":")))
    if size > INLINE_POLICY_MAX:
        raise PolicyError(
            f"{name}: the policy is {size} characters, above IAM's {INLINE_POLICY_MAX} for a role's inline policies; "
            "split the services over more stacks"
        )
    return document


def ci_access_deploy_policy(
    services,
    cluster_name=None,
    region=None,
    account_id=None,
    partition="aws",
    deregister_task_definitions=False,
) -> dict:
    """The deploy role's inline policy document (a dict): what deploy.yml and rollback.yml call, on these services.

    ``services``: dicts with ``name`` (the ECS service), ``repository`` (ECR repository name), ``log_group``,
    ``execution_role`` and ``task_role`` (IAM role names), optionally ``secret`` (Secrets Manager secret name) and
    ``role_path`` (the roles' IAM path, ``/`` by default).
    """
    name = "ci_access_deploy_policy"
    region, account_id, partition = _where(name, region, account_id, partition)
    cluster = _check(name, "cluster_name", cluster_name, _NAMES["name"], "an ECS cluster name")
    items = _services(name, services)
    ecs = f"arn:{partition}:ecs:{region}:{account_id}"
    logs = f"arn:{partition}:logs:{region}:{account_id}:log-group"
    secrets = [
        f"arn:{partition}:secretsmanager:{region}:{account_id}:secret:{s['secret']}-??????"
        for s in items
        if "secret" in s
    ]
    roles = _role_arns(items, account_id, partition)
    task_definition_actions = list(TASK_DEFINITION_ACTIONS)
    if deregister_task_definitions:
        task_definition_actions.append("ecs:DeregisterTaskDefinition")
    statements = [
        # GetAuthorizationToken authorizes against the registry, not a repository: AWS takes only "*" for it.
        _statement("ECRAuthToken", ["ecr:GetAuthorizationToken"], "*"),
        _statement(
            "ECRPushPull",
            ECR_PUSH_ACTIONS,
            sorted({f"arn:{partition}:ecr:{region}:{account_id}:repository/{s['repository']}" for s in items}),
        ),
        # RegisterTaskDefinition names a revision that does not exist yet, and ECS offers no resource-level permission
        # for DescribeTaskDefinition, ListTaskDefinitions or DeregisterTaskDefinition: "*" is the only resource AWS
        # accepts. What a new revision can do is bounded by PassRoles below (only this stack's roles).
        _statement("TaskDefinitions", task_definition_actions, "*"),
        _statement("Services", SERVICE_ACTIONS, [f"{ecs}:service/{cluster}/{s['name']}" for s in items]),
        # ECS's deployment API (ecs_rollout's verdict and rollback where the endpoint has it): listing is authorized
        # on the service, describing and stopping on its service deployments.
        _statement(
            "ServiceDeployments",
            SERVICE_DEPLOYMENT_ACTIONS,
            [f"{ecs}:service-deployment/{cluster}/{s['name']}/*" for s in items],
        ),
        # ListTasks is authorized on container instances, which Fargate has none of: "*", limited to this cluster.
        _statement("ListTasks", ["ecs:ListTasks"], "*", {"ArnEquals": {"ecs:cluster": f"{ecs}:cluster/{cluster}"}}),
        # Task ids are not known in advance: every task of this cluster (the cluster runs only this stack). StopTask:
        # the release step's one-off task, stopped when it outlives service_release_timeout.
        _statement("Tasks", ["ecs:DescribeTasks", "ecs:StopTask"], [f"{ecs}:task/{cluster}/*"]),
        # The release step (service_release_command) runs a one-off task of the new revision: RunTask is authorized on
        # the task definition (its ARN is new each time), limited to this stack's cluster.
        _statement(
            "ReleaseTask",
            ["ecs:RunTask"],
            [f"{ecs}:task-definition/*"],
            {"ArnEquals": {"ecs:cluster": f"{ecs}:cluster/{cluster}"}},
        ),
        # Elastic Load Balancing's Describe* calls support no resource-level permission.
        _statement("TargetHealth", ["elasticloadbalancing:DescribeTargetHealth"], "*"),
        # DescribeLogGroups is a list call: CloudWatch Logs authorizes it on log-group:* of the account and region.
        _statement("LogGroupsDescribe", ["logs:DescribeLogGroups"], [f"{logs}:*"]),
        _statement("Logs", LOG_ACTIONS, sorted({f"{logs}:{s['log_group']}:*" for s in items})),
    ]
    if secrets:
        # `-??????`: the six random characters Secrets Manager appends to a secret's name in its ARN.
        statements.append(_statement("SecretsDescribe", ["secretsmanager:DescribeSecret"], sorted(set(secrets))))
    statements += [
        _statement("RolesRead", ROLE_READ_ACTIONS, roles),
        _statement("PassRoles", ["iam:PassRole"], roles, {"StringEquals": {"iam:PassedToService": ECS_TASKS}}),
    ]
    return _checked_size(name, {"Version": POLICY_VERSION, "Statement": statements})


EC2_NETWORK_ACTIONS = [
    "ec2:AllocateAddress",
    "ec2:AssociateRouteTable",
    "ec2:AttachInternetGateway",
    "ec2:AuthorizeSecurityGroupEgress",
    "ec2:AuthorizeSecurityGroupIngress",
    "ec2:CreateInternetGateway",
    "ec2:CreateNatGateway",
    "ec2:CreateRoute",
    "ec2:CreateRouteTable",
    "ec2:CreateSecurityGroup",
    "ec2:CreateSubnet",
    "ec2:CreateTags",
    "ec2:CreateVpc",
    "ec2:DeleteInternetGateway",
    "ec2:DeleteNatGateway",
    "ec2:DeleteRoute",
    "ec2:DeleteRouteTable",
    "ec2:DeleteSecurityGroup",
    "ec2:DeleteSubnet",
    "ec2:DeleteTags",
    "ec2:DeleteVpc",
    "ec2:Describe*",
    "ec2:DetachInternetGateway",
    "ec2:DisassociateRouteTable",
    "ec2:ModifySecurityGroupRules",
    "ec2:ModifySubnetAttribute",
    "ec2:ModifyVpcAttribute",
    "ec2:ReleaseAddress",
    "ec2:ReplaceRoute",
    "ec2:ReplaceRouteTableAssociation",
    "ec2:RevokeSecurityGroupEgress",
    "ec2:RevokeSecurityGroupIngress",
    "ec2:UpdateSecurityGroupRuleDescriptionsEgress",
    "ec2:UpdateSecurityGroupRuleDescriptionsIngress",
]
ECS_ACCOUNT_ACTIONS = [
    "ecs:CreateCluster",
    "ecs:DeregisterTaskDefinition",
    "ecs:DescribeCapacityProviders",
    "ecs:DescribeTaskDefinition",
    "ecs:ListClusters",
    "ecs:ListServices",
    "ecs:ListTaskDefinitionFamilies",
    "ecs:ListTaskDefinitions",
    "ecs:ListTasks",
    "ecs:RegisterTaskDefinition",
    "ecs:TagResource",
]
ROUTE53_ACTIONS = [
    "route53:ChangeResourceRecordSets",
    "route53:ChangeTagsForResource",
    "route53:CreateHostedZone",
    "route53:DeleteHostedZone",
    "route53:GetChange",
    "route53:GetHostedZone",
    "route53:ListHostedZones",
    "route53:ListHostedZonesByName",
    "route53:ListResourceRecordSets",
    "route53:ListTagsForResource",
    "route53:UpdateHostedZoneComment",
]
ACM_ACTIONS = [
    "acm:AddTagsToCertificate",
    "acm:DeleteCertificate",
    "acm:DescribeCertificate",
    "acm:ListCertificates",
    "acm:ListTagsForCertificate",
    "acm:RemoveTagsFromCertificate",
    "acm:RequestCertificate",
]
IAM_ROLE_ACTIONS = [
    "iam:AttachRolePolicy",
    "iam:CreateRole",
    "iam:DeleteRole",
    "iam:DeleteRolePermissionsBoundary",
    "iam:DeleteRolePolicy",
    "iam:DetachRolePolicy",
    "iam:GetRole",
    "iam:GetRolePolicy",
    "iam:ListAttachedRolePolicies",
    "iam:ListInstanceProfilesForRole",
    "iam:ListRolePolicies",
    "iam:ListRoleTags",
    "iam:PutRolePermissionsBoundary",
    "iam:PutRolePolicy",
    "iam:TagRole",
    "iam:UntagRole",
    "iam:UpdateAssumeRolePolicy",
    "iam:UpdateRole",
    "iam:UpdateRoleDescription",
]
# What the provisioning role may never do to the CI roles themselves (no way to widen its own rights).
IAM_ROLE_WRITE_ACTIONS = sorted(
    {a for a in IAM_ROLE_ACTIONS if not a.startswith(("iam:Get", "iam:List"))} | {"iam:PassRole"}
)
AUTOSCALING_ACTIONS = [
    "application-autoscaling:DeleteScalingPolicy",
    "application-autoscaling:DeregisterScalableTarget",
    "application-autoscaling:DescribeScalableTargets",
    "application-autoscaling:DescribeScalingPolicies",
    "application-autoscaling:PutScalingPolicy",
    "application-autoscaling:RegisterScalableTarget",
    "application-autoscaling:TagResource",
    "cloudwatch:DeleteAlarms",
    "cloudwatch:DescribeAlarms",
    "cloudwatch:PutMetricAlarm",
]
SERVICE_LINKED_ROLES = [
    "ecs.amazonaws.com",
    "ecs.application-autoscaling.amazonaws.com",
    "elasticloadbalancing.amazonaws.com",
]


def ci_access_provision_policy(
    stack_name,
    cluster_name=None,
    region=None,
    account_id=None,
    partition="aws",
    role_paths=("/",),
    protected_role_names=None,
    protected_role_path="/",
) -> dict:
    """The provisioning role's inline policy document (a dict): what provision.yml and destroy.yml call.

    Broader than the deploy role by design: it creates and deletes the stack's network, load balancer, DNS zone,
    certificate, repositories, secrets (values included), log groups, cluster, services and IAM roles. Resources are
    named by the stack's prefixes where AWS allows it (``<stack>/*`` repositories and secrets, ``<stack>-*`` roles,
    target groups and task definition families, the cluster's services and tasks, ``/ecs/<cluster>/*`` log groups);
    EC2 networking, Route 53, ACM and Application Auto Scaling are account-wide. ``role_paths`` are the IAM paths of the
    services' roles; ``protected_role_names`` (the CI roles, under ``protected_role_path``) are denied every IAM
    write, so the role cannot widen its own rights.
    """
    name = "ci_access_provision_policy"
    region, account_id, partition = _where(name, region, account_id, partition)
    stack = _check(name, "stack_name", stack_name, r"[a-z][a-z0-9-]{0,19}", "a stack name (shipyard_stack_name)")
    cluster = _check(name, "cluster_name", cluster_name, _NAMES["name"], "an ECS cluster name")
    if isinstance(role_paths, str) or not isinstance(role_paths, (list, tuple)) or not role_paths:
        raise _fail(name, "role_paths", "must be a non-empty list of IAM paths")
    paths = sorted({_check(name, "role_paths", p, _NAMES["role_path"], "an IAM path") for p in role_paths})
    ci_path = _check(name, "protected_role_path", protected_role_path, _NAMES["role_path"], "an IAM path")
    protected = [
        f"arn:{partition}:iam::{account_id}:role{ci_path}"
        + _check(name, "protected_role_names", role, _NAMES["task_role"], "an IAM role name")
        for role in (protected_role_names or [])
    ]
    ecs = f"arn:{partition}:ecs:{region}:{account_id}"
    elb = f"arn:{partition}:elasticloadbalancing:{region}:{account_id}"
    logs = f"arn:{partition}:logs:{region}:{account_id}:log-group"
    service_linked = f"arn:{partition}:iam::{account_id}:role/aws-service-role/*"
    stack_roles = [f"arn:{partition}:iam::{account_id}:role{path}{stack}-*" for path in paths]
    statements = [
        _statement("ECRAuthToken", ["ecr:GetAuthorizationToken"], "*"),
        _statement("ECR", ["ecr:*"], [f"arn:{partition}:ecr:{region}:{account_id}:repository/{stack}/*"]),
        _statement("ECSAccount", ECS_ACCOUNT_ACTIONS, "*"),
        _statement(
            "ECS",
            ["ecs:*"],
            [
                f"{ecs}:cluster/{cluster}",
                f"{ecs}:service/{cluster}/*",
                f"{ecs}:task/{cluster}/*",
                f"{ecs}:task-definition/{stack}-*:*",
            ],
        ),
        _statement("Network", EC2_NETWORK_ACTIONS, "*"),
        _statement("LoadBalancerDescribe", ["elasticloadbalancing:Describe*"], "*"),
        _statement(
            "LoadBalancer",
            ["elasticloadbalancing:*"],
            [
                f"{elb}:loadbalancer/app/{stack}/*",
                f"{elb}:listener/app/{stack}/*",
                f"{elb}:listener-rule/app/{stack}/*",
                f"{elb}:targetgroup/{stack}-*/*",
            ],
        ),
        _statement("DNS", ROUTE53_ACTIONS, "*"),
        _statement("Certificates", ACM_ACTIONS, "*"),
        # The secrets role writes the values and reads them back to compare (community.aws.secretsmanager_secret).
        _statement(
            "Secrets", ["secretsmanager:*"], [f"arn:{partition}:secretsmanager:{region}:{account_id}:secret:{stack}/*"]
        ),
        _statement("LogGroupsDescribe", ["logs:DescribeLogGroups"], [f"{logs}:*"]),
        _statement("Logs", ["logs:*"], [f"{logs}:/ecs/{cluster}/*"]),
        _statement("Roles", IAM_ROLE_ACTIONS, stack_roles),
        _statement("PassRoles", ["iam:PassRole"], stack_roles, {"StringEquals": {"iam:PassedToService": ECS_TASKS}}),
        _statement(
            "ServiceLinkedRoles",
            ["iam:CreateServiceLinkedRole"],
            [service_linked],
            {"StringEquals": {"iam:AWSServiceName": SERVICE_LINKED_ROLES}},
        ),
        _statement("AutoScaling", AUTOSCALING_ACTIONS, "*"),
    ]
    if protected:
        statements.append(
            {"Sid": "NotTheCIRoles", "Effect": "Deny", "Action": IAM_ROLE_WRITE_ACTIONS, "Resource": sorted(protected)}
        )
    return _checked_size(name, {"Version": POLICY_VERSION, "Statement": statements})


def ci_access_trust_policy(provider_arn, repository=None, environment=None, branch=None, audience=DEFAULT_AUDIENCE):
    """The trust policy of a role GitHub Actions assumes: only ``repository``'s jobs of ``environment`` or ``branch``.

    The token's ``sub`` must equal ``repo:OWNER/NAME:environment:ENV`` and/or ``repo:OWNER/NAME:ref:refs/heads/BRANCH``
    (GitHub's documented forms; StringEquals, no wildcard), and its ``aud`` ``audience``.
    """
    name = "ci_access_trust_policy"
    match = _PROVIDER_ARN.match(provider_arn) if isinstance(provider_arn, str) else None
    if not match:
        raise _fail(name, "_input", f"{provider_arn!r} is not the ARN of an IAM OpenID Connect provider")
    issuer = match.group(1)
    if not isinstance(repository, str) or not _REPOSITORY.match(repository):
        raise _fail(name, "repository", f"{repository!r} is not a GitHub repository owner/name (no wildcard)")
    subjects = []
    if environment is not None:
        if not isinstance(environment, str) or not _NO_WILDCARD.match(environment):
            raise _fail(name, "environment", f"{environment!r} is not a GitHub environment name (no wildcard or ':')")
        subjects.append(f"repo:{repository}:environment:{environment}")
    if branch is not None:
        if not isinstance(branch, str) or not re.fullmatch(r"[^*?:\s\[\\~^]+", branch) or branch.startswith("refs/"):
            raise _fail(name, "branch", f"{branch!r} is not a branch name (no wildcard, not refs/...)")
        subjects.append(f"repo:{repository}:ref:refs/heads/{branch}")
    if not subjects:
        raise _fail(name, "environment", "or branch must be given: a role never admits a whole repository")
    if not isinstance(audience, str) or not audience or len(audience) > 255:
        raise _fail(name, "audience", f"{audience!r} is not an audience (1 to 255 characters)")
    statement = {
        "Sid": "GitHubActions",
        "Effect": "Allow",
        "Principal": {"Federated": provider_arn},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {
            "StringEquals": {
                f"{issuer}:aud": audience,
                f"{issuer}:sub": subjects[0] if len(subjects) == 1 else subjects,
            }
        },
    }
    return {"Version": POLICY_VERSION, "Statement": [statement]}
