#!/usr/bin/python

# Copyright: Shipyard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: service_deploy_info
short_description: Everything a deploy of existing ECS services looks up, in one module run
version_added: 0.1.0
description:
  - Read-only. Looks up, in one run (one Python start, one set of clients), what C(playbooks/deploy.yml) needs to
    deploy a service that exists, and to tell whether it is already done - the same look-ups the roles' C(info)
    entry points make one module run each (about a second apiece).
  - The ECS service (C(DescribeServices)) and the task definition it runs (C(DescribeTaskDefinition)), and whether
    it is steady (RV(steady)) - one deployment, PRIMARY, its rollout C(COMPLETED), as many tasks running as desired.
  - The ECR repository (C(DescribeRepositories)) and, with O(image_tag), whether the registry holds that tag and
    its digest (C(GetAuthorizationToken), then C(HEAD /v2/<path>/manifests/<tag>) over the Docker Registry HTTP API
    v2, like M(shipyard.fargate.registry_image_info)).
  - The Secrets Manager secret (C(DescribeSecret), never its value), the IAM roles (C(GetRole)), the log
    group (C(DescribeLogGroups)).
  - With O(secret_rotation) and a steady service, whether a secret its task definition reads changed after its
    tasks started (C(ListTasks), C(DescribeTasks), C(DescribeSecret)), the decision of
    M(shipyard.fargate.ecs_rollout)'s O(shipyard.fargate.ecs_rollout#module:roll_on_secret_change), made by the same
    code (C(module_utils/secret_rotation.py)).
  - With O(tags), the service's tags (the same C(DescribeServices) call); with O(scaling_policies), the names of
    the Application Auto Scaling policies of the service (C(DescribeScalingPolicies)) - what the service role's
    main entry point compares before it changes tags or removes policies.
  - What does not exist is reported (C(exists=false), RV(service) null), not an error; the caller decides. A
    missing cluster is RV(cluster_missing). Other AWS errors fail the task.
  - With O(services), every service of a run in the same module run, side by side in threads (at most 8 at a time,
    each service's calls in order), each result under its O(services[].key) in RV(services) - the look-up
    C(playbooks/deploy.yml) makes once (C(run_once)) for all its services instead of one module run per service.
options:
  cluster:
    description: The ECS cluster. Required with O(service).
    type: str
  service:
    description: The ECS service. Exactly one of O(service) and O(services).
    type: str
  services:
    description:
      - Several services to look up in one run, each with its own options (the others - O(secret_rotation),
        O(tags), O(scaling_policies) - apply to all). Exactly one of O(service) and O(services).
    type: list
    elements: dict
    suboptions:
      key:
        description: What RV(services) files this service's result under (an inventory host name); unique.
        type: str
        required: true
      cluster:
        description: The ECS cluster.
        type: str
        required: true
      service:
        description: The ECS service.
        type: str
        required: true
      repository:
        description: As O(repository), for this service.
        type: str
      image_tag:
        description: As O(image_tag), for this service (needs O(services[].repository)).
        type: str
      registry_host:
        description: As O(registry_host), for this service.
        type: str
      registry_scheme:
        description: As O(registry_scheme) (V(http) or V(https); null is unset), for this service.
        type: str
      secret_name:
        description: As O(secret_name), for this service.
        type: str
      roles:
        description: As O(roles), for this service.
        type: list
        elements: str
        default: []
      log_group:
        description: As O(log_group), for this service.
        type: str
      wanted:
        description: As O(wanted), for this service.
        type: dict
        suboptions: &wanted
          task_definition:
            description:
              - The task definition a deploy would register, as M(shipyard.fargate.ecs_task_definition) options
                (C(family), C(cpu), C(memory), C(containers), ...), with what only the look-up knows taken from it -
                the containers' C(image) (the repository's URI and the tag's digest), C(execution_role_arn) and
                C(task_role_arn) (the ARNs of the roles below), and, where left null, each secret's C(valueFrom)
                (C(<secret ARN>:<name>::)) and the C(awslogs-region) (the log group's region).
            type: dict
            required: true
          execution_role:
            description: The name of the task execution role (one of O(roles)).
            type: str
            required: true
          task_role:
            description: The name of the task role (one of O(roles)).
            type: str
            required: true
          log_retention_days:
            description: The log group's retention in days; null is never expire.
            type: int
          release_tag:
            description: A release tag the deploy gives the image; set, the service is never in place.
            type: str
          first_desired_count:
            description: The desired count a deploy gives a service at 0 tasks (0 keeps it there).
            type: int
            default: 0
  repository:
    description: The ECR repository's name (C(<stack>/<service>)). Unset, no repository or image is looked up.
    type: str
  image_tag:
    description:
      - The tag to look for in the repository (needs O(repository)). Unset, the registry is not asked.
    type: str
  registry_host:
    description:
      - Where the registry holds the repository's images, C(<host>[:<port>]), when that is not the host of the
        repository's URI (on the local stack, the registry the emulator's URIs stand for).
    type: str
  registry_scheme:
    description: V(http) or V(https) for the registry. Unset, V(http) on a loopback host, V(https) elsewhere.
    type: str
    choices: [http, https]
  secret_name:
    description: The Secrets Manager secret's name (never its value). Unset, no secret is looked up.
    type: str
  roles:
    description: IAM role names to look up.
    type: list
    elements: str
    default: []
  log_group:
    description: The CloudWatch Logs group's name. Unset, no log group is looked up.
    type: str
  wanted:
    description:
      - What a deploy of the service would roll out (C(playbooks/deploy.yml)'s pre-flight settles it from the
        service role's options). Set, RV(in_place) says whether the service runs it already - the decision made by
        C(module_utils/deploy_in_place.py), with the service role's own comparison of task definitions.
    type: dict
    suboptions: *wanted
  secret_rotation:
    description:
      - When the service is steady, also decide whether a secret its task definition reads changed after its tasks
        started (RV(secret_rotation)).
    type: bool
    default: true
  tags:
    description: Also return the service's tags (RV(tags)).
    type: bool
    default: false
  scaling_policies:
    description:
      - Also return the names of the service's Application Auto Scaling policies (RV(scaling_policies)), asked for
        the service's resource id even when the service does not exist (a deleted service's policies may remain).
    type: bool
    default: false
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
  diff_mode:
    description: Returns details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
author:
  - Shipyard maintainers (@shipyard)
"""

EXAMPLES = r"""
- name: Look up what a deploy of every service of the play needs, in one module run
  shipyard.fargate.service_deploy_info:
    services:
      - {key: web, cluster: shop, service: web, repository: shop/web, image_tag: 3f2a9c1d0b7e, log_group: /ecs/shop/web}
      - {key: api, cluster: shop, service: api, repository: shop/api, secret_name: shop/api, log_group: /ecs/shop/api}
  run_once: true
  register: deploys

- name: Look up what a deploy of web needs
  shipyard.fargate.service_deploy_info:
    cluster: shop
    service: web
    repository: shop/web
    image_tag: 3f2a9c1d0b7e
    secret_name: shop/web
    roles: [shop-web-execution, shop-web-task]
    log_group: /ecs/shop/web
  register: web_deploy

- name: Already running it, nothing to roll out?
  ansible.builtin.debug:
    msg: "{{ web_deploy.service.taskDefinition }} steady: {{ web_deploy.steady }}"
  when: web_deploy.service is not none
"""

RETURN = r"""
service:
  description: The ACTIVE service as C(DescribeServices) returns it (camelCase); null when there is none.
  returned: always
  type: dict
cluster_missing:
  description: Whether the cluster does not exist (then RV(service) is null).
  returned: always
  type: bool
task_definition:
  description: The task definition the service runs, as C(DescribeTaskDefinition) returns it; null without service.
  returned: always
  type: dict
steady:
  description: Whether the service is steady - one deployment, PRIMARY, rollout C(COMPLETED), running = desired.
  returned: always
  type: bool
steady_reason:
  description: Why it is not steady (null when it is).
  returned: always
  type: str
  sample: "2 deployments (a rollout is under way)"
repository:
  description: The repository as C(DescribeRepositories) returns it, with C(exists); C(exists=false) alone when missing.
  returned: with O(repository)
  type: dict
image:
  description: The tag in the registry - C(repository) (where it was asked), C(tag), C(exists), C(digest).
  returned: with O(image_tag) and a repository that exists
  type: dict
  sample: {"repository": "127.0.0.1:29050/shop/web", "tag": "3f2a9c1d0b7e", "exists": true, "digest": "sha256:..."}
secret:
  description: The secret - C(name), C(exists), C(arn), C(last_changed_date) (ISO 8601). Never its value.
  returned: with O(secret_name)
  type: dict
roles:
  description: Each role of O(roles) by name - C(name), C(exists), C(arn).
  returned: always
  type: dict
log_group:
  description: The log group - C(name), C(exists), C(arn) (without the trailing C(:*)), C(retention_in_days).
  returned: with O(log_group)
  type: dict
secret_rotation:
  description:
    - Whether a secret the running task definition reads changed after the oldest RUNNING task of the PRIMARY
      deployment started (C(roll)), with C(reason), C(secrets) and C(tasks_started_at), as
      M(shipyard.fargate.ecs_rollout) reports it; null when not decided (no steady service, or
      O(secret_rotation=false)).
  returned: always
  type: dict
tags:
  description: The service's tags as a dict (key to value); null without service. Only with O(tags).
  returned: with O(tags)
  type: dict
  sample: {"Stack": "shop", "Service": "web"}
in_place:
  description:
    - Whether the service already runs what O(wanted) describes (C(in_place)), with C(reason) - why not, or what it
      runs. In place - the ACTIVE service steady (one deployment, COMPLETED, every task running) at the count a deploy
      keeps; the repository, the image tag (its digest), the IAM roles, the secret and the log group (with the
      retention asked for) exist; no secret changed since the tasks started; no release tag to give; and the task
      definition it runs is the one O(wanted) describes, filled in with what was looked up - a deploy has nothing to
      register, update or wait for.
  returned: with O(wanted)
  type: dict
  sample: {"in_place": false, "reason": "its task definition differs (containerDefinitions)"}
scaling_policies:
  description: The names of the scaling policies of C(service/<cluster>/<service>), sorted.
  returned: with O(scaling_policies)
  type: list
  elements: str
  sample: ["web-cpu"]
services:
  description:
    - With O(services), each service's result by its O(services[].key) - the fields above (RV(service),
      RV(cluster_missing), RV(task_definition), RV(steady), ...) and its own RV(api_calls).
  returned: with O(services)
  type: dict
  sample: {"web": {"service": {"serviceName": "web"}, "steady": true, "api_calls": 9}}
api_calls:
  description: AWS API calls made (the registry request not counted); with O(services), by all of them together.
  returned: always
  type: int
"""

import concurrent.futures
import contextlib

try:
    import boto3
    import botocore
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.shipyard.fargate.plugins.module_utils import deploy_in_place, secret_rotation
from ansible_collections.shipyard.fargate.plugins.module_utils.ecr_login import decode_authorization
from ansible_collections.shipyard.fargate.plugins.module_utils.registry_v2 import RegistryClient, RegistryError
from ansible_collections.shipyard.fargate.plugins.module_utils.step_calls import StepCalls

# --- pure functions --------------------------------------------------------------------------------------------


def active_service(services):
    """The ACTIVE service of a DescribeServices answer (a deleted one stays visible as INACTIVE/DRAINING), or None."""
    return next((s for s in services or [] if s.get("status") == "ACTIVE"), None)


def steadiness(service):
    """``(steady, reason)``: one deployment, PRIMARY, its rollout COMPLETED, running = desired, nothing pending."""
    if not service:
        return False, "no service"
    deployments = service.get("deployments") or []
    if len(deployments) != 1:
        return False, f"{len(deployments)} deployments (a rollout is under way)"
    primary = deployments[0]
    if primary.get("status") != "PRIMARY":
        return False, f"its only deployment is {primary.get('status')}"
    state = primary.get("rolloutState")
    if state not in (None, "COMPLETED"):
        return False, f"its deployment's rollout is {state}"
    if primary.get("taskDefinition") and primary.get("taskDefinition") != service.get("taskDefinition"):
        return False, "its deployment runs another task definition than the service's"
    desired, running = service.get("desiredCount", 0), service.get("runningCount", 0)
    if running != desired or service.get("pendingCount", 0):
        return False, f"{running} of {desired} task(s) running, {service.get('pendingCount', 0)} pending"
    return True, None


def tags_dict(service):
    """A service's ``tags`` (``[{key, value}]``, as DescribeServices returns them with TAGS) as a dict."""
    return {tag["key"]: tag.get("value", "") for tag in (service or {}).get("tags") or []}


def registry_uri(repository_uri, registry_host):
    """Where to ask for the repository's images: its URI, or the same path on ``registry_host``."""
    if not registry_host:
        return repository_uri
    return f"{registry_host.rstrip('/')}/{repository_uri.split('/', 1)[1]}"


def _stamp(when):
    return when.isoformat() if hasattr(when, "isoformat") else when


# --- AWS calls --------------------------------------------------------------------------------------------------


def _service(call, cluster, name, tags=False):
    try:
        response = call(
            "describe_services", cluster=cluster, services=[name], **({"include": ["TAGS"]} if tags else {})
        )
    except is_boto3_error_code("ClusterNotFoundException"):
        return None, True
    return active_service(response.get("services")), False


def _scaling_policies(call, cluster, name):
    policies = []
    kwargs = {"ServiceNamespace": "ecs", "ResourceId": f"service/{cluster}/{name}"}
    while True:
        page = call("describe_scaling_policies", api="application-autoscaling", **kwargs)
        policies += [p["PolicyName"] for p in page.get("ScalingPolicies") or []]
        if not page.get("NextToken"):
            return sorted(policies)
        kwargs["NextToken"] = page["NextToken"]


def _repository(call, name):
    try:
        found = call("describe_repositories", api="ecr", repositoryNames=[name])["repositories"]
    except is_boto3_error_code("RepositoryNotFoundException"):
        return {"exists": False}
    return dict(found[0], exists=True) if found else {"exists": False}


class LookupFailed(Exception):
    """A look-up that cannot be completed (raised in a worker thread; main() fails the task with it)."""


def _image(params, call, repository, tag):
    uri = registry_uri(repository["repositoryUri"], params["registry_host"])
    data = call("get_authorization_token", api="ecr", registryIds=[repository["registryId"]])["authorizationData"]
    if not data:
        raise LookupFailed("ECR returned no authorization data")
    try:
        login = decode_authorization(data[0])
        client = RegistryClient(
            uri, username=login["username"], password=login["password"], scheme=params["registry_scheme"]
        )
        found = client.head(tag)
    except (ValueError, RegistryError) as e:
        raise LookupFailed(f"Looking the image tag {tag} up in {uri}: {e}") from e
    return {"repository": uri, "tag": tag, "exists": found["exists"], "digest": found["digest"]}


def _secret(call, name):
    try:
        described = call("describe_secret", api="secretsmanager", SecretId=name)
    except is_boto3_error_code("ResourceNotFoundException"):
        return {"name": name, "exists": False, "arn": None, "last_changed_date": None}
    return {
        "name": name,
        "exists": True,
        "arn": described["ARN"],
        "last_changed_date": _stamp(described.get("LastChangedDate")),
        "_described": described,
    }


def _role(call, name):
    try:
        role = call("get_role", api="iam", RoleName=name)["Role"]
    except is_boto3_error_code("NoSuchEntity"):
        return {"name": name, "exists": False, "arn": None}
    return {"name": name, "exists": True, "arn": role["Arn"]}


def _log_group(call, name):
    groups = call("describe_log_groups", api="logs", logGroupNamePrefix=name).get("logGroups") or []
    group = next((g for g in groups if g.get("logGroupName") == name), None)
    if group is None:
        return {"name": name, "exists": False, "arn": None, "retention_in_days": None}
    arn = group.get("arn") or ""
    return {
        "name": name,
        "exists": True,
        "arn": arn[:-2] if arn.endswith(":*") else arn,
        "retention_in_days": group.get("retentionInDays"),
    }


def look_up(module, call, params=None):
    """Everything about one service (``params``: the module's options, or one entry of O(services) with them)."""
    params = module.params if params is None else params
    result = {"roles": {}, "secret_rotation": None}
    service, result["cluster_missing"] = _service(call, params["cluster"], params["service"], tags=params["tags"])
    if params["tags"]:
        result["tags"] = tags_dict(service) if service else None
        if service:
            service.pop("tags", None)
    result["service"] = service
    result["task_definition"] = (
        call("describe_task_definition", taskDefinition=service["taskDefinition"])["taskDefinition"]
        if service
        else None
    )
    result["steady"], result["steady_reason"] = steadiness(service)
    if params["repository"]:
        result["repository"] = _repository(call, params["repository"])
        if params["image_tag"] and result["repository"]["exists"]:
            result["image"] = _image(params, call, result["repository"], params["image_tag"])
    known = {}
    if params["secret_name"]:
        secret = _secret(call, params["secret_name"])
        described = secret.pop("_described", None)
        if described:
            known[secret_rotation.secret_id(described["ARN"]) or described["ARN"]] = described
        result["secret"] = secret
    for name in params["roles"]:
        result["roles"][name] = _role(call, name)
    if params["log_group"]:
        result["log_group"] = _log_group(call, params["log_group"])
    if params["scaling_policies"]:
        result["scaling_policies"] = _scaling_policies(call, params["cluster"], params["service"])
    if params["secret_rotation"] and result["steady"]:
        result["secret_rotation"] = secret_rotation.observe(
            call, params["cluster"], service, result["task_definition"], known
        )
    if params.get("wanted"):
        result["in_place"] = deploy_in_place.decide(params["wanted"], result)
    return result


# O(wanted): what a deploy would roll out.
WANTED = dict(
    task_definition=dict(type="dict", required=True),
    execution_role=dict(type="str", required=True),
    task_role=dict(type="str", required=True),
    log_retention_days=dict(type="int"),
    release_tag=dict(type="str"),
    first_desired_count=dict(type="int", default=0),
)

# One entry of O(services): what each service says for itself; the rest (secret_rotation, tags, scaling_policies) is
# the module's.
ENTRY = dict(
    key=dict(type="str", required=True, no_log=False),
    cluster=dict(type="str", required=True),
    service=dict(type="str", required=True),
    repository=dict(type="str"),
    image_tag=dict(type="str"),
    registry_host=dict(type="str"),
    registry_scheme=dict(type="str"),  # http, https or null (a list entry cannot omit a key): look_up_many checks it
    secret_name=dict(type="str"),
    roles=dict(type="list", elements="str", default=[]),
    log_group=dict(type="str"),
    wanted=dict(type="dict", options=WANTED),
)
ENTRY_OPTIONS = tuple(name for name in ENTRY if name != "key")  # the module's options an entry replaces


def entry_params(module_params, entry):
    """The options one look-up of O(services) runs with: the entry's own, the module's flags."""
    params = dict(module_params, **{name: entry.get(name) for name in ENTRY_OPTIONS})
    params["roles"] = params["roles"] or []
    return params


def look_up_many(module, entries, make_call, workers=8):
    """``{key: look_up(...)}`` for every entry of O(services), at most ``workers`` at a time in threads (each
    service's calls in order, the services side by side: the time is mostly waiting for AWS)."""
    keys = [entry["key"] for entry in entries]
    duplicates = sorted({key for key in keys if keys.count(key) > 1})
    if duplicates:
        raise LookupFailed(f"services: each key may appear once; repeated: {', '.join(duplicates)}")
    schemes = {entry["key"]: entry.get("registry_scheme") for entry in entries}
    wrong = sorted(key for key, scheme in schemes.items() if scheme not in (None, "http", "https"))
    if wrong:
        raise LookupFailed(f"services: registry_scheme must be http or https (or null); not so for {', '.join(wrong)}")

    def one(entry):
        call = make_call()
        found = look_up(module, call, entry_params(module.params, entry))
        return entry["key"], dict(found, api_calls=call.count)

    if len(entries) <= 1:
        return dict(one(entry) for entry in entries)
    with concurrent.futures.ThreadPoolExecutor(max_workers=min(workers, len(entries))) as pool:
        return dict(pool.map(one, entries))


@contextlib.contextmanager
def one_session_per_profile():
    """While it lasts, ``module.client()`` builds every client from one boto3 session (per profile).

    amazon.aws's ``boto3_conn`` makes a new ``boto3.session.Session(profile_name=...)`` for each client, and each new
    session loads botocore's endpoint and partition data again: about 0.3 s per client, five clients here. The
    clients get exactly the region, endpoint, credentials and configuration ``module.client()`` gives them
    (``get_aws_connection_info``); only the session they come from is shared.
    """
    real = boto3.session.Session
    sessions = {}

    def shared(*args, **kwargs):
        if args or set(kwargs) - {"profile_name"}:
            return real(*args, **kwargs)
        profile = kwargs.get("profile_name")
        if profile not in sessions:
            sessions[profile] = real(profile_name=profile)
        return sessions[profile]

    boto3.session.Session = shared
    try:
        yield
    finally:
        boto3.session.Session = real


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            cluster=dict(type="str"),
            service=dict(type="str"),
            services=dict(type="list", elements="dict", options=ENTRY, required_by={"image_tag": "repository"}),
            repository=dict(type="str"),
            image_tag=dict(type="str"),
            registry_host=dict(type="str"),
            registry_scheme=dict(type="str", choices=["http", "https"]),
            secret_name=dict(type="str"),
            roles=dict(type="list", elements="str", default=[]),
            log_group=dict(type="str"),
            wanted=dict(type="dict", options=WANTED),
            secret_rotation=dict(type="bool", default=True),
            tags=dict(type="bool", default=False),
            scaling_policies=dict(type="bool", default=False),
        ),
        required_one_of=[("service", "services")],
        mutually_exclusive=[("service", "services")],
        required_by={"image_tag": "repository", "service": "cluster"},
        supports_check_mode=True,
    )
    clients = {}
    calls = []

    def make_call():
        calls.append(StepCalls(module, retry=True, clients=clients))
        return calls[-1]

    try:
        with one_session_per_profile():
            if module.params["services"] is not None:
                result = {"services": look_up_many(module, module.params["services"], make_call)}
            else:
                result = look_up(module, make_call())
    except LookupFailed as e:
        module.fail_json(msg=str(e), api_calls=sum(call.count for call in calls))
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        module.fail_json_aws(e, msg="Failed to look the service's deploy up", api_calls=sum(c.count for c in calls))
    module.exit_json(changed=False, **result, api_calls=sum(call.count for call in calls))


if __name__ == "__main__":
    main()
