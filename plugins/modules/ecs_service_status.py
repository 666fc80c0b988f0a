#!/usr/bin/python

# Copyright: Shipyard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: ecs_service_status
short_description: What an ECS service runs and whether it is steady, gathered in one run (read-only)
version_added: 0.3.0
description:
  - Reads one ECS service and reports, in one result, the task definition its PRIMARY deployment runs, the image
    (tag, digest and the git commit it was built from), desired / running / pending counts, the deployment's
    C(rolloutState) and when it was created (the last deploy), the running tasks, the health of every target of
    its load balancer target groups with the load balancer's reason, and the last O(events) service events.
  - RV(problems) lists, one sentence each, why the service is not steady - not ACTIVE, the deployment not
    C(COMPLETED) or an older one still draining, running not equal to desired, tasks pending, a target not
    C(healthy). The module itself never fails on them (it is an info module); a play asserts on RV(problems) to
    exit non-zero (C(playbooks/status.yml) does).
  - "Why a module and not the stock C(*_info) modules: the status needs DescribeServices, DescribeTaskDefinition,
    ListTasks + DescribeTasks and DescribeTargetHealth per target group, chained by what each answer holds; one
    module makes those calls in one Python process (one module run per service instead of five, with
    C(jittered_backoff) retries on throttling) and keeps the judging in pure functions
    (C(module_utils/service_status.py)) that unit tests feed recorded answers."
  - The commit is the image tag when the task definition names the image by tag; by digest (what C(deploy.yml)
    registers), it is the commit-shaped tag (7-40 hexadecimal characters) ECR's C(DescribeImages) lists for that
    digest, when the repository answers; otherwise null. The C(org.opencontainers.image.revision) label is not
    read (it needs the registry's image config, a registry login and two more requests per service).
  - Read-only; check mode runs the same reads.
options:
  cluster:
    description: Name or ARN of the ECS cluster.
    type: str
    required: true
  service:
    description: Name or ARN of the ECS service.
    type: str
    required: true
  events:
    description: How many of the service's newest events to return (0 for none).
    type: int
    default: 5
  container:
    description: The container to report the image of and to open ECS Exec in. Default - the essential one.
    type: str
  commit_lookup:
    description: Ask ECR for the tags of the image digest to find the commit (one C(DescribeImages) call).
    type: bool
    default: true
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
author:
  - Shipyard maintainers (@shipyard)
"""

EXAMPLES = r"""
- name: Status of the web service
  shipyard.fargate.ecs_service_status:
    cluster: shipyard-local
    service: web
    events: 5
  register: web_status

- name: Fail when it is not steady
  ansible.builtin.assert:
    that: web_status.problems | length == 0
    fail_msg: "web: {{ web_status.problems | join('; ') }}"
"""

RETURN = r"""
status:
  description: The service's status.
  returned: always
  type: dict
  contains:
    service:
      description: "The service name."
      type: str
    cluster:
      description: "The cluster name."
      type: str
    status:
      description: "The service's status (ACTIVE, DRAINING, INACTIVE, MISSING)."
      type: str
    task_definition:
      description: "C(family:revision) of the PRIMARY deployment."
      type: str
    task_definition_arn:
      description: "Its ARN."
      type: str
    container:
      description: "The container reported."
      type: str
    image:
      description: "The container's image as the task definition names it."
      type: str
    image_tag:
      description: "The image tag, when it names one."
      type: str
    image_digest:
      description: "The image digest (from the reference or the running tasks)."
      type: str
    commit:
      description: "The git commit the image was built from, when found."
      type: str
    desired:
      description: "desiredCount."
      type: int
    running:
      description: "runningCount."
      type: int
    pending:
      description: "pendingCount."
      type: int
    deployment:
      description: The PRIMARY deployment - id, rollout_state, rollout_state_reason, created_at, updated_at.
      type: dict
    deployments:
      description: "How many deployments the service has (1 when settled)."
      type: int
    last_deployed:
      description: "When the PRIMARY deployment was created (ISO 8601, UTC)."
      type: str
    exec_enabled:
      description: "Whether ECS Exec is enabled on the service."
      type: bool
    tasks:
      description: The RUNNING tasks - task_id, task_arn, task_definition, last_status, health_status, started_at,
        image_digest, exec_enabled.
      type: list
      elements: dict
    targets:
      description: Every target of the service's target groups - target_group, target_group_arn, id, port, state,
        reason, description (the load balancer's words).
      type: list
      elements: dict
    events:
      description: The newest service events - created_at, message.
      type: list
      elements: dict
  sample:
    service: web
    task_definition: shipyard-local-web:7
    desired: 2
    running: 2
    pending: 0
problems:
  description: Why the service is not steady, one sentence each; empty when it is.
  returned: always
  type: list
  elements: str
  sample: ["running 1 != desired 2", "target 10.0.1.5:8080 is unhealthy (Target.ResponseCodeMismatch)"]
exec_command:
  description: The C(aws ecs execute-command) line for a shell in one running task, when ECS Exec is enabled on
    the service and a task runs with it; otherwise null.
  returned: always
  type: str
  sample: >-
    aws ecs execute-command --cluster shipyard-local --task 0123abcd --container app --interactive
    --command /bin/sh
lines:
  description: The human summary, one line per item (for C(debug)).
  returned: always
  type: list
  elements: str
"""

try:
    from botocore.exceptions import BotoCoreError, ClientError

    AWS_ERRORS = (BotoCoreError, ClientError)
except ImportError:
    AWS_ERRORS = ()  # AnsibleAWSModule reports the missing botocore

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.shipyard.fargate.plugins.module_utils import service_status as ss


def validate(params):
    """Refuse bad input before any AWS call; returns the error message or None."""
    for key in ("cluster", "service"):
        if not (params.get(key) or "").strip():
            return f"{key} must not be empty"
    if params["events"] < 0 or params["events"] > 100:
        return f"events must be between 0 and 100, got {params['events']}"
    return None


def ecr_repository_name(image):
    """``<registry host>/<repo path>@sha256:...`` -> ``<repo path>``; None for an image without a registry host."""
    repository, _tag, _digest = ss.split_image(image)
    host, sep, path = repository.partition("/")
    if not sep or not ("." in host or ":" in host or host == "localhost"):
        return None
    return path


def find_commit(module, image, digest):
    name = ecr_repository_name(image)
    if not (module.params["commit_lookup"] and name and digest):
        return None
    try:
        ecr = module.client("ecr", retry_decorator=AWSRetry.jittered_backoff())
        found = ecr.describe_images(aws_retry=True, repositoryName=name, imageIds=[{"imageDigest": digest}])
    except AWS_ERRORS:
        return None  # another account's registry, a registry that is not ECR: no commit, not an error
    return ss.commit_of(tag for detail in found.get("imageDetails", []) for tag in detail.get("imageTags") or [])


def gather(module):
    params = module.params
    ecs = module.client("ecs", retry_decorator=AWSRetry.jittered_backoff())
    elb = module.client("elbv2", retry_decorator=AWSRetry.jittered_backoff())
    cluster, name = params["cluster"], params["service"]
    try:
        answer = ecs.describe_services(aws_retry=True, cluster=cluster, services=[name])
    except AWS_ERRORS as e:
        module.fail_json_aws(e, msg=f"Could not describe service {name} in cluster {cluster}")
    services = answer.get("services") or []
    if not services:
        status = {"service": name, "cluster": cluster.rsplit("/", 1)[-1], "status": "MISSING"}
        return status, [f"service {name} does not exist in cluster {cluster}"], None
    service = services[0]
    primary = ss.primary_deployment(service) or {}
    definition_arn = primary.get("taskDefinition") or service.get("taskDefinition")
    try:
        definition = ecs.describe_task_definition(aws_retry=True, taskDefinition=definition_arn)["taskDefinition"]
        arns = ecs.list_tasks(aws_retry=True, cluster=cluster, serviceName=service["serviceName"],
                              desiredStatus="RUNNING")["taskArns"]  # fmt: skip
        tasks = []
        for start in range(0, len(arns), 100):
            tasks += ecs.describe_tasks(aws_retry=True, cluster=cluster, tasks=arns[start : start + 100])["tasks"]
        health = {}
        for balancer in service.get("loadBalancers") or []:
            group = balancer.get("targetGroupArn")
            if group and group not in health:
                found = elb.describe_target_health(aws_retry=True, TargetGroupArn=group)
                health[group] = found.get("TargetHealthDescriptions", [])
    except AWS_ERRORS as e:
        module.fail_json_aws(e, msg=f"Could not read service {name} in cluster {cluster}")
    if params["container"] and not ss.essential_container(definition, params["container"]):
        names = ", ".join(c["name"] for c in definition.get("containerDefinitions", []))
        module.fail_json(msg=f"container {params['container']} is not in {definition_arn} (containers: {names})")
    status = ss.summarize(service, definition, tasks, health, params["events"], container=params["container"])
    status["commit"] = status["commit"] or find_commit(module, status["image"], status["image_digest"])
    exec_line = None
    ready = [t for t in status["tasks"] if t["exec_enabled"] and t["last_status"] == "RUNNING"]
    if status["exec_enabled"] and ready:
        exec_line = ss.exec_command(status["cluster"], ready[0]["task_id"], status["container"], module.region)
    return status, ss.problems(status), exec_line


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            cluster=dict(type="str", required=True),
            service=dict(type="str", required=True),
            events=dict(type="int", default=5),
            container=dict(type="str"),
            commit_lookup=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    error = validate(module.params)
    if error:
        module.fail_json(msg=error)
    status, problems, exec_line = gather(module)
    module.exit_json(
        changed=False,
        status=status,
        problems=problems,
        exec_command=exec_line,
        lines=ss.lines(status, problems, exec_line) if status.get("status") != "MISSING" else problems,
    )


if __name__ == "__main__":
    main()
