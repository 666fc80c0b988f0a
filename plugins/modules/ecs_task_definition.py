#!/usr/bin/python

# Copyright: Shipyard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: ecs_task_definition
short_description: An ECS task definition family whose new revisions appear only when the definition changes
version_added: 0.1.0
description:
  - Registers a new revision of an Amazon ECS task definition family only when the wanted definition differs from
    the family's latest C(ACTIVE) revision, describe -> compare -> act; otherwise reports C(changed=false) and
    returns that revision.
  - The comparison normalizes what ECS fills in, reorders or stores as text, so the same definition written
    another way is the same. ECS adds C(essential=true), port mapping C(protocol=tcp) and C(hostPort) (equal to
    C(containerPort) with awsvpc), container C(cpu=0), health check interval/timeout/retries and empty
    C(mountPoints)/C(volumesFrom)/C(systemControls) lists; it returns C(requiresAttributes), C(compatibilities),
    C(registeredAt), C(registeredBy), C(revision), C(status) and C(taskDefinitionArn). Environment variables,
    secrets, ulimits, mount points, port mappings and containers are compared in name order; task O(cpu) and
    O(memory) as units (V(512), V("512") and V(0.5 vCPU) are the same); a missing runtime platform is LINUX on
    X86_64; a log option ECS fills in on its own (C(mode)) counts only when the definition sets it.
  - Tags are compared separately; changed tags are set on the latest revision (C(TagResource)/C(UntagResource))
    without registering a new one.
  - Optionally deregisters the family's older C(ACTIVE) revisions beyond the newest O(keep_revisions).
  - Exists because M(community.aws.ecs_taskdefinition) registers a new revision when nothing changed (secrets,
    defaults, ordering) or reuses an older one when only the task size or roles changed. The options take the
    same shape (O(containers) in AWS's camelCase) so playbooks can move over.
options:
  family:
    description: Name of the task definition family (1 to 255 letters, digits, C(-) and C(_)).
    required: true
    type: str
  state:
    description:
      - V(present) registers a new revision when the definition differs from the latest C(ACTIVE) one.
      - V(absent) deregisters the revision O(revision) of the family, or every C(ACTIVE) revision of the family
        when O(revision) is unset. Deregistered revisions become C(INACTIVE); tasks and services already using
        them keep running.
    type: str
    choices: [present, absent]
    default: present
  revision:
    description: With O(state=absent), the one revision to deregister. Ignored with O(state=present).
    type: int
  containers:
    description:
      - The container definitions, as RegisterTaskDefinition's C(containerDefinitions) takes them, in AWS's
        camelCase (C(name), C(image), C(essential), C(portMappings), C(environment), C(secrets), C(healthCheck),
        C(logConfiguration), C(ulimits), C(readonlyRootFilesystem), C(dependsOn), C(mountPoints), ...), the shape
        M(community.aws.ecs_taskdefinition) takes.
      - Every container needs C(name) and C(image); names are unique. Keys ECS does not know are refused, naming
        them (snake_case keys such as C(port_mappings) are a common slip).
      - C(secrets) entries take C(name) and C(valueFrom) (a Secrets Manager or SSM parameter ARN); a C(value) is
        refused, so no secret value ever reaches the task definition.
      - Numbers and booleans given as text (from templates) are converted; environment values, docker labels and
        log options are stored as strings (booleans as V(true)/V(false)).
      - Required with O(state=present).
    type: list
    elements: dict
  network_mode:
    description: Docker networking mode of the containers. Fargate needs V(awsvpc).
    type: str
    choices: [awsvpc, bridge, host, none]
    default: awsvpc
  requires_compatibilities:
    description:
      - Launch types the task definition is validated against. With V(FARGATE), O(network_mode) must be V(awsvpc)
        and O(cpu)/O(memory) must be a task size Fargate offers.
      - O(launch_type) (the option name of M(community.aws.ecs_taskdefinition)) is an alias; a single value is
        accepted.
    type: list
    elements: str
    choices: [EC2, FARGATE, EXTERNAL]
    default: [FARGATE]
    aliases: [launch_type]
  cpu:
    description:
      - Task CPU units (V(256), V(512), V(1024), ...), as a number, a string, or in vCPU (V(0.5 vCPU)).
      - With Fargate, one of 256, 512, 1024, 2048, 4096, 8192, 16384, and O(memory) one of the sizes Fargate
        offers with it (for example 256 -> 512, 1024 or 2048; 512 -> 1024 to 4096 in steps of 1024); another pair is
        refused before any AWS call, listing the allowed memory sizes.
    type: str
  memory:
    description: Task memory in MiB (V(1024)), as a number, a string, or in GB (V(1 GB)). See O(cpu) for Fargate.
    type: str
  execution_role_arn:
    description: Role ECS uses to pull the image, read the secrets and write the logs. Unset or empty means none.
    type: str
  task_role_arn:
    description: Role the application's own AWS calls use. Unset or empty means none.
    type: str
  runtime_platform:
    description: Operating system and CPU architecture of the tasks. Unset means LINUX on X86_64 (what ECS assumes).
    type: dict
    suboptions:
      cpuArchitecture:
        description: CPU architecture.
        type: str
        choices: [X86_64, ARM64]
      operatingSystemFamily:
        description: Operating system family.
        type: str
        choices: [LINUX, WINDOWS_SERVER_2019_FULL, WINDOWS_SERVER_2019_CORE, WINDOWS_SERVER_2022_FULL,
                  WINDOWS_SERVER_2022_CORE]
  ephemeral_storage:
    description: Ephemeral storage of each Fargate task in GiB, 21 to 200. Unset means the Fargate default (20 GiB).
    type: int
  volumes:
    description: Volumes the containers may mount, as RegisterTaskDefinition's C(volumes) takes them (camelCase).
    type: list
    elements: dict
  placement_constraints:
    description: Placement constraints (EC2 launch type only), as RegisterTaskDefinition takes them.
    type: list
    elements: dict
    suboptions:
      type:
        description: Type of the constraint (C(memberOf)).
        type: str
      expression:
        description: Cluster query language expression.
        type: str
  pid_mode:
    description: Process namespace of the containers. Fargate supports only V(task).
    type: str
    choices: [host, task]
  ipc_mode:
    description: IPC resource namespace of the containers (not supported on Fargate).
    type: str
    choices: [host, task, none]
  keep_revisions:
    description:
      - With O(state=present), deregister the family's C(ACTIVE) revisions older than the newest O(keep_revisions)
        (counting a revision this run registers). Unset keeps every revision.
      - The module cannot know which revisions services or scheduled tasks use; keep enough for a rollback.
        A deregistered (C(INACTIVE)) revision keeps running where it runs, and a service that uses it can still
        scale, but no new service, deployment or RunTask can use it.
    type: int
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
  diff_mode:
    description: Returns details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
notes:
  - The returned task definition stays in camelCase, unlike the snake_case output of most amazon.aws modules.
    Docker labels, log options and tag keys are user-defined and a snake_case conversion would mangle them; and
    camelCase containers can be given back to this module as they are.
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags
  - amazon.aws.boto3
author:
  - Shipyard maintainers (@shipyard)
"""

EXAMPLES = r"""
- name: A Fargate web service's task definition with a sidecar, secrets from Secrets Manager and logs
  shipyard.fargate.ecs_task_definition:
    family: shop-web
    cpu: 512
    memory: 1024
    execution_role_arn: arn:aws:iam::123456789012:role/shop-web-execution
    task_role_arn: arn:aws:iam::123456789012:role/shop-web-task
    runtime_platform:
      cpuArchitecture: ARM64
      operatingSystemFamily: LINUX
    ephemeral_storage: 30
    keep_revisions: 10
    containers:
      - name: web
        image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/shop/web:1.4.2
        portMappings:
          - containerPort: 3000
        environment:
          - name: NODE_ENV
            value: production
        secrets:
          - name: DATABASE_URL
            valueFrom: "arn:aws:secretsmanager:us-east-1:123456789012:secret:shop/web-AbCdEf:DATABASE_URL::"
        readonlyRootFilesystem: true
        ulimits:
          - name: nofile
            softLimit: 65536
            hardLimit: 65536
        healthCheck:
          command: [CMD-SHELL, "curl -f http://localhost:3000/health || exit 1"]
          startPeriod: 10
        logConfiguration:
          logDriver: awslogs
          options:
            awslogs-group: /ecs/shop/web
            awslogs-region: us-east-1
            awslogs-stream-prefix: web
        dependsOn:
          - containerName: log-router
            condition: START
      - name: log-router
        image: public.ecr.aws/aws-observability/aws-for-fluent-bit:stable
        essential: false
        firelensConfiguration:
          type: fluentbit
    tags:
      shipyard:service: web
  register: web_td

- name: Deploy exactly that revision
  community.aws.ecs_service:
    name: web
    cluster: shop
    task_definition: "shop-web:{{ web_td.revision }}"

- name: Deregister one revision
  shipyard.fargate.ecs_task_definition:
    family: shop-web
    revision: 3
    state: absent

- name: Deregister every ACTIVE revision of the family
  shipyard.fargate.ecs_task_definition:
    family: shop-web
    state: absent
"""

RETURN = r"""
task_definition:
  description:
    - The task definition as DescribeTaskDefinition returns it, in camelCase, with C(tags) as a dict; the latest
      C(ACTIVE) revision when nothing changed, the new revision when one was registered.
    - Empty with O(state=absent), and in check mode when a new revision would be registered.
  returned: always
  type: dict
  sample:
    taskDefinitionArn: arn:aws:ecs:us-east-1:123456789012:task-definition/shop-web:7
    family: shop-web
    revision: 7
    status: ACTIVE
    networkMode: awsvpc
    requiresCompatibilities: [FARGATE]
    cpu: "512"
    memory: "1024"
    containerDefinitions:
      - name: web
        image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/shop/web:1.4.2
        essential: true
    tags:
      shipyard:service: web
arn:
  description:
    - ARN of the returned revision.
    - Null in check mode when a new revision would be registered, and with O(state=absent).
  returned: always
  type: str
  sample: arn:aws:ecs:us-east-1:123456789012:task-definition/shop-web:7
revision:
  description:
    - Revision number of the returned task definition. In check mode, a new revision's predicted number (the
      latest revision + 1). Null with O(state=absent).
  returned: always
  type: int
  sample: 7
family:
  description: The family.
  returned: always
  type: str
  sample: shop-web
deregistered:
  description:
    - ARNs of the revisions deregistered by O(keep_revisions) or O(state=absent) (in check mode, those that would be).
  returned: always
  type: list
  elements: str
  sample: [arn:aws:ecs:us-east-1:123456789012:task-definition/shop-web:2]
diff:
  description:
    - What differs, restricted to the changed fields (containers keyed by name, each with only its changed fields),
      in the normalized form that was compared; C(tags) when the tags differ. Shown by C(--diff).
  returned: when changed
  type: dict
  contains:
    before:
      description: The changed fields as the latest C(ACTIVE) revision has them.
      type: dict
    after:
      description: The changed fields as the wanted definition has them.
      type: dict
  sample:
    before:
      containerDefinitions:
        web:
          image: shop/web:1.4.1
    after:
      containerDefinitions:
        web:
          image: shop/web:1.4.2
"""

try:
    import botocore
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.amazon.aws.plugins.module_utils.tagging import (
    ansible_dict_to_boto3_tag_list,
    boto3_tag_list_to_ansible_dict,
    compare_aws_tags,
)
from ansible_collections.shipyard.fargate.plugins.module_utils import task_definition as td

# --- pure functions ----------------------------------------------------------------------------------------------


def _desired_tags(params, current_tags):
    """The tags the revision should carry: unset O(tags) keeps the current ones."""
    if params["tags"] is None:
        return dict(current_tags)
    base = {} if params["purge_tags"] else dict(current_tags)
    return {**base, **{k: str(v) for k, v in params["tags"].items()}}


def _result(description, tags):
    if not description:
        return {}
    return {**description, "tags": dict(tags)}


# --- AWS calls: one small function per action ------------------------------------------------------------------


@AWSRetry.jittered_backoff()
def _list_arns(client, **kwargs):
    return client.get_paginator("list_task_definitions").paginate(**kwargs).build_full_result()["taskDefinitionArns"]


def _active_arns(module, client, family):
    """The family's ACTIVE revisions, newest first."""
    try:
        arns = _list_arns(client, familyPrefix=family, status="ACTIVE", sort="DESC")
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        module.fail_json_aws(e, msg=f"Failed to list the task definitions of family {family}")
    return td.family_arns(arns, family)


def _describe(module, client, task_definition):
    """(description, tags) of one revision, or (None, {}) when it does not exist."""
    try:
        response = client.describe_task_definition(aws_retry=True, taskDefinition=task_definition, include=["TAGS"])
    except is_boto3_error_code("ClientException"):
        return None, {}
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:  # pylint: disable=duplicate-except
        module.fail_json_aws(e, msg=f"Failed to describe task definition {task_definition}")
    return response["taskDefinition"], boto3_tag_list_to_ansible_dict(response.get("tags") or [])


def _register(module, client, request, tags):
    kwargs = dict(request)
    if tags:
        kwargs["tags"] = ansible_dict_to_boto3_tag_list(tags, tag_name_key_name="key", tag_value_key_name="value")
    try:
        response = client.register_task_definition(aws_retry=True, **kwargs)
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        module.fail_json_aws(e, msg=f"Failed to register a new revision of task definition {request['family']}")
    return response["taskDefinition"], boto3_tag_list_to_ansible_dict(response.get("tags") or [])


def _retag(module, client, arn, current_tags, want_tags):
    to_add, to_remove = compare_aws_tags(current_tags, want_tags, purge_tags=True)
    try:
        if to_remove:
            client.untag_resource(aws_retry=True, resourceArn=arn, tagKeys=to_remove)
        if to_add:
            tags = ansible_dict_to_boto3_tag_list(to_add, tag_name_key_name="key", tag_value_key_name="value")
            client.tag_resource(aws_retry=True, resourceArn=arn, tags=tags)
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        module.fail_json_aws(e, msg=f"Failed to tag task definition {arn}")


def _deregister(module, client, arns):
    for arn in arns:
        try:
            client.deregister_task_definition(aws_retry=True, taskDefinition=arn)
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            module.fail_json_aws(e, msg=f"Failed to deregister task definition {arn}")


def _container_keys(client):
    """The keys a container definition may have, from the ECS API model of the installed botocore."""
    return tuple(client.meta.service_model.shape_for("ContainerDefinition").members)


# --- main: describe -> compare -> act --------------------------------------------------------------------------


def _absent(module, client, params):
    family = params["family"]
    active = _active_arns(module, client, family)
    if params["revision"] is not None:
        targets = [arn for arn in active if td.revision_of(arn)[1] == params["revision"]]
    else:
        targets = active
    if targets and not module.check_mode:
        _deregister(module, client, targets)
    before = {"revisions": sorted(td.revision_of(arn)[1] for arn in targets)} if targets else {}
    result = dict(changed=bool(targets), task_definition={}, arn=None, revision=None, family=family)
    if targets:
        result["diff"] = {"before": before, "after": {}}
    module.exit_json(deregistered=targets, **result)


def _present(module, client, params):
    family = params["family"]
    active = _active_arns(module, client, family)
    current, current_tags = _describe(module, client, active[0]) if active else (None, {})
    request = td.build_request(params)
    want_tags = _desired_tags(params, current_tags)

    before, after = td.compare(current, request)
    register = current is None or before != after
    retag = not register and current_tags != want_tags
    diff = td.differences(before, after) if register else {"before": {}, "after": {}}
    if current_tags != want_tags:
        diff["before"]["tags"], diff["after"]["tags"] = current_tags, want_tags

    deregistered = td.beyond_keep(active, params["keep_revisions"], pending_new=register)
    description, tags = current, current_tags
    revision = td.revision_of(active[0])[1] if active else 0
    if register:
        description, tags, revision = None, want_tags, revision + 1
    if not module.check_mode:
        if register:
            description, tags = _register(module, client, request, want_tags)
            revision = description["revision"]
        elif retag:
            _retag(module, client, current["taskDefinitionArn"], current_tags, want_tags)
            tags = want_tags
        _deregister(module, client, deregistered)

    changed = register or retag or bool(deregistered)
    if deregistered:
        diff["before"]["deregistered"] = sorted(td.revision_of(arn)[1] for arn in deregistered)
    result = dict(
        changed=changed,
        task_definition=_result(description, tags),
        arn=(description or {}).get("taskDefinitionArn"),
        revision=revision,
        family=family,
        deregistered=deregistered,
    )
    if changed:
        result["diff"] = diff
    module.exit_json(**result)


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            family=dict(type="str", required=True),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            revision=dict(type="int"),
            containers=dict(type="list", elements="dict"),
            network_mode=dict(type="str", choices=["awsvpc", "bridge", "host", "none"], default="awsvpc"),
            requires_compatibilities=dict(
                type="list",
                elements="str",
                choices=["EC2", "FARGATE", "EXTERNAL"],
                default=["FARGATE"],
                aliases=["launch_type"],
            ),
            cpu=dict(type="str"),
            memory=dict(type="str"),
            execution_role_arn=dict(type="str"),
            task_role_arn=dict(type="str"),
            runtime_platform=dict(
                type="dict",
                options=dict(
                    cpuArchitecture=dict(type="str", choices=["X86_64", "ARM64"]),
                    operatingSystemFamily=dict(
                        type="str",
                        choices=[
                            "LINUX",
                            "WINDOWS_SERVER_2019_FULL",
                            "WINDOWS_SERVER_2019_CORE",
                            "WINDOWS_SERVER_2022_FULL",
                            "WINDOWS_SERVER_2022_CORE",
                        ],
                    ),
                ),
            ),
            ephemeral_storage=dict(type="int"),
            volumes=dict(type="list", elements="dict"),
            placement_constraints=dict(
                type="list",
                elements="dict",
                options=dict(type=dict(type="str"), expression=dict(type="str")),
            ),
            pid_mode=dict(type="str", choices=["host", "task"]),
            ipc_mode=dict(type="str", choices=["host", "task", "none"]),
            keep_revisions=dict(type="int"),
            tags=dict(type="dict", aliases=["resource_tags"]),
            purge_tags=dict(type="bool", default=True),
        ),
        required_if=[("state", "present", ["containers"])],
        supports_check_mode=True,
    )
    client = module.client("ecs", retry_decorator=AWSRetry.jittered_backoff())
    errors = td.validate(module.params, container_keys=_container_keys(client))
    if errors:
        module.fail_json(msg="; ".join(errors))
    if module.params["state"] == "absent":
        _absent(module, client, module.params)
    _present(module, client, module.params)


if __name__ == "__main__":
    main()
