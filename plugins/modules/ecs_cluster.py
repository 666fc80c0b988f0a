#!/usr/bin/python

# Copyright: Shipyard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: ecs_cluster
short_description: An ECS cluster with its capacity providers, Container Insights, ECS Exec logging and tags
version_added: 0.1.0
description:
  - Creates, updates or deletes an Amazon ECS cluster, and converges everything a Fargate cluster carries in one
    task, describe -> compare -> act. Only what differs is changed.
  - The capacity providers and the default capacity provider strategy (C(PutClusterCapacityProviders)).
  - The Container Insights setting (C(UpdateCluster) C(settings)).
  - The ECS Exec logging configuration (C(UpdateCluster) C(configuration.executeCommandConfiguration)).
  - Tags (C(TagResource)/C(UntagResource)).
  - Exists because M(community.aws.ecs_cluster) sets none of the last three.
options:
  name:
    description: Name of the cluster.
    required: true
    type: str
  state:
    description:
      - V(present) creates or updates the cluster; V(absent) deletes it. A cluster that still has services or
        tasks cannot be deleted (ECS refuses; the error is reported).
    type: str
    choices: [present, absent]
    default: present
  capacity_providers:
    description: Capacity providers the cluster offers. Replaces the current list.
    type: list
    elements: str
    default: [FARGATE, FARGATE_SPOT]
  default_capacity_provider_strategy:
    description:
      - Where a service's tasks run when it names no strategy of its own. Replaces the current strategy.
      - Each provider must be in O(capacity_providers), and named once; at least one needs a weight above 0.
      - Empty (the default) leaves the cluster without a default strategy.
    type: list
    elements: dict
    default: []
    suboptions:
      capacity_provider:
        description: Name of the capacity provider.
        type: str
        required: true
      base:
        description: Tasks that run on this provider first, 0 to 100000 (at most one provider may have a base above 0).
        type: int
        default: 0
      weight:
        description: Relative share of the tasks beyond the bases, 0 to 1000.
        type: int
        default: 1
  container_insights:
    description:
      - CloudWatch Container Insights for the cluster. V(enhanced) adds task- and container-level metrics.
      - Unset leaves the setting as it is.
    type: str
    choices: [enabled, disabled, enhanced]
  execute_command_logging:
    description:
      - Where ECS Exec sessions are logged. V(DEFAULT) uses the awslogs settings of the task definition,
        V(OVERRIDE) sends them to O(execute_command_log_group_name), V(NONE) logs nothing.
      - Unset leaves the configuration as it is.
    type: str
    choices: [NONE, DEFAULT, OVERRIDE]
  execute_command_log_group_name:
    description: CloudWatch Logs group for ECS Exec sessions. Required with O(execute_command_logging=OVERRIDE).
    type: str
  execute_command_kms_key_id:
    description: KMS key that encrypts the data between the client and the container in ECS Exec sessions.
    type: str
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
  diff_mode:
    description: Returns details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags
  - amazon.aws.boto3
author:
  - Shipyard maintainers (@shipyard)
"""

EXAMPLES = r"""
- name: The stack's cluster, Fargate only, with Container Insights and ECS Exec logs in CloudWatch
  shipyard.fargate.ecs_cluster:
    name: shop
    capacity_providers: [FARGATE, FARGATE_SPOT]
    default_capacity_provider_strategy:
      - capacity_provider: FARGATE
        base: 1
        weight: 1
    container_insights: enabled
    execute_command_logging: OVERRIDE
    execute_command_log_group_name: /ecs/shop/exec
    tags:
      shipyard:stack: shop

- name: Remove it
  shipyard.fargate.ecs_cluster:
    name: shop
    state: absent
"""

RETURN = r"""
cluster:
  description: The cluster as DescribeClusters returns it, in snake_case (empty after deletion and for a cluster
    that check mode would create).
  returned: always
  type: dict
  contains:
    cluster_arn:
      description: ARN of the cluster.
      type: str
      returned: when the cluster exists
      sample: arn:aws:ecs:us-east-1:123456789012:cluster/shop
    cluster_name:
      description: Name of the cluster.
      type: str
      returned: when the cluster exists
    status:
      description: Status of the cluster.
      type: str
      returned: when the cluster exists
      sample: ACTIVE
    capacity_providers:
      description: Capacity providers of the cluster.
      type: list
      elements: str
      returned: when the cluster exists
    default_capacity_provider_strategy:
      description: Default capacity provider strategy.
      type: list
      elements: dict
      returned: when the cluster exists
    settings:
      description: Cluster settings (Container Insights).
      type: list
      elements: dict
      returned: when the cluster exists
    configuration:
      description: Cluster configuration (ECS Exec).
      type: dict
      returned: when set
    tags:
      description: Tags of the cluster.
      type: dict
      returned: when the cluster exists
"""

try:
    import botocore
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict
from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.amazon.aws.plugins.module_utils.tagging import (
    ansible_dict_to_boto3_tag_list,
    boto3_tag_list_to_ansible_dict,
    compare_aws_tags,
)
from ansible_collections.shipyard.fargate.plugins.module_utils.validation.cluster import strategy_errors

# --- pure functions: what the cluster is, what it should be, what differs --------------------------------------


def _view(cluster):
    """The parts of a DescribeClusters entry this module manages, normalized for comparison."""
    if not cluster:
        return {}
    settings = {s.get("name"): s.get("value") for s in cluster.get("settings") or []}
    exec_config = (cluster.get("configuration") or {}).get("executeCommandConfiguration") or {}
    log_config = exec_config.get("logConfiguration") or {}
    return {
        "capacity_providers": sorted(cluster.get("capacityProviders") or []),
        "default_capacity_provider_strategy": _strategy(cluster.get("defaultCapacityProviderStrategy") or []),
        "container_insights": settings.get("containerInsights"),
        "execute_command_logging": exec_config.get("logging"),
        "execute_command_log_group_name": log_config.get("cloudWatchLogGroupName"),
        "execute_command_kms_key_id": exec_config.get("kmsKeyId"),
        "tags": boto3_tag_list_to_ansible_dict(cluster.get("tags") or []),
    }


def _strategy(items):
    """A strategy as a sorted list of (provider, base, weight) dicts, whatever casing it came in."""
    normalized = []
    for item in items:
        normalized.append(
            {
                "capacity_provider": item.get("capacity_provider", item.get("capacityProvider")),
                "base": int(item.get("base") or 0),
                "weight": int(item.get("weight") or 0),
            }
        )
    return sorted(normalized, key=lambda entry: entry["capacity_provider"])


def _desired(params, current):
    """What the cluster should look like: unset options keep the current value."""
    want = dict(current) if current else {"tags": {}}
    want["capacity_providers"] = sorted(params["capacity_providers"])
    want["default_capacity_provider_strategy"] = _strategy(params["default_capacity_provider_strategy"])
    if params["container_insights"] is not None:
        want["container_insights"] = params["container_insights"]
    if params["execute_command_logging"] is not None:
        want["execute_command_logging"] = params["execute_command_logging"]
        want["execute_command_log_group_name"] = params["execute_command_log_group_name"]
        want["execute_command_kms_key_id"] = params["execute_command_kms_key_id"]
    if params["tags"] is not None:
        base = {} if params["purge_tags"] else dict(want.get("tags") or {})
        want["tags"] = {**base, **params["tags"]}
    return want


def _changes(current, want):
    """Which API actions bring ``current`` to ``want``: a subset of providers, settings, configuration, tags."""
    actions = []
    if current.get("capacity_providers") != want.get("capacity_providers") or current.get(
        "default_capacity_provider_strategy"
    ) != want.get("default_capacity_provider_strategy"):
        actions.append("providers")
    if current.get("container_insights") != want.get("container_insights"):
        actions.append("settings")
    exec_keys = ("execute_command_logging", "execute_command_log_group_name", "execute_command_kms_key_id")
    if any(current.get(key) != want.get(key) for key in exec_keys):
        actions.append("configuration")
    if current.get("tags") != want.get("tags"):
        actions.append("tags")
    return actions


def _settings(want):
    return [{"name": "containerInsights", "value": want["container_insights"]}]


def _configuration(want):
    exec_config = {"logging": want["execute_command_logging"]}
    if want.get("execute_command_kms_key_id"):
        exec_config["kmsKeyId"] = want["execute_command_kms_key_id"]
    if want["execute_command_logging"] == "OVERRIDE":
        exec_config["logConfiguration"] = {"cloudWatchLogGroupName": want["execute_command_log_group_name"]}
    return {"executeCommandConfiguration": exec_config}


def _api_strategy(want):
    return [
        {"capacityProvider": s["capacity_provider"], "base": s["base"], "weight": s["weight"]}
        for s in want["default_capacity_provider_strategy"]
    ]


def _validate(params):
    """Errors in the options, each naming the option; empty when all is well."""
    errors = []
    providers = params["capacity_providers"]
    if not providers:
        errors.append("capacity_providers must name at least one capacity provider")
    # The same rules as the cluster role's (module_utils/validation/cluster.py), named as this module's options.
    errors.extend(
        strategy_errors(
            params["default_capacity_provider_strategy"],
            providers,
            option="default_capacity_provider_strategy",
            providers_option="capacity_providers",
            allow_empty=True,
        )
    )
    if params["execute_command_logging"] == "OVERRIDE" and not params["execute_command_log_group_name"]:
        errors.append("execute_command_log_group_name is required with execute_command_logging OVERRIDE")
    return errors


# --- AWS calls: one small function per action ---------------------------------------------------------------


def _describe(module, client, name):
    try:
        response = client.describe_clusters(
            aws_retry=True, clusters=[name], include=["SETTINGS", "CONFIGURATIONS", "TAGS"]
        )
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        module.fail_json_aws(e, msg=f"Failed to describe ECS cluster {name}")
    active = [c for c in response.get("clusters", []) if c.get("status") != "INACTIVE"]
    return active[0] if active else None


def _create(module, client, name, want):
    kwargs = {
        "clusterName": name,
        "capacityProviders": want["capacity_providers"],
        "defaultCapacityProviderStrategy": _api_strategy(want),
    }
    if want.get("container_insights"):
        kwargs["settings"] = _settings(want)
    if want.get("execute_command_logging"):
        kwargs["configuration"] = _configuration(want)
    if want.get("tags"):
        kwargs["tags"] = ansible_dict_to_boto3_tag_list(
            want["tags"], tag_name_key_name="key", tag_value_key_name="value"
        )
    try:
        client.create_cluster(aws_retry=True, **kwargs)
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        module.fail_json_aws(e, msg=f"Failed to create ECS cluster {name}")


def _put_providers(module, client, name, want):
    try:
        client.put_cluster_capacity_providers(
            aws_retry=True,
            cluster=name,
            capacityProviders=want["capacity_providers"],
            defaultCapacityProviderStrategy=_api_strategy(want),
        )
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        module.fail_json_aws(e, msg=f"Failed to set the capacity providers of ECS cluster {name}")


def _update(module, client, name, **kwargs):
    try:
        client.update_cluster(aws_retry=True, cluster=name, **kwargs)
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        module.fail_json_aws(e, msg=f"Failed to update ECS cluster {name}")


def _retag(module, client, arn, current_tags, want):
    to_add, to_remove = compare_aws_tags(current_tags, want["tags"], purge_tags=True)
    try:
        if to_remove:
            client.untag_resource(aws_retry=True, resourceArn=arn, tagKeys=to_remove)
        if to_add:
            tags = ansible_dict_to_boto3_tag_list(to_add, tag_name_key_name="key", tag_value_key_name="value")
            client.tag_resource(aws_retry=True, resourceArn=arn, tags=tags)
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        module.fail_json_aws(e, msg=f"Failed to tag ECS cluster {arn}")


def _delete(module, client, name):
    try:
        client.delete_cluster(aws_retry=True, cluster=name)
    except is_boto3_error_code("ClusterNotFoundException"):
        return
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:  # pylint: disable=duplicate-except
        module.fail_json_aws(e, msg=f"Failed to delete ECS cluster {name}")


def _result(cluster):
    if not cluster:
        return {}
    result = camel_dict_to_snake_dict({k: v for k, v in cluster.items() if k != "tags"})
    result["tags"] = boto3_tag_list_to_ansible_dict(cluster.get("tags") or [])
    return result


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            capacity_providers=dict(type="list", elements="str", default=["FARGATE", "FARGATE_SPOT"]),
            default_capacity_provider_strategy=dict(
                type="list",
                elements="dict",
                default=[],
                options=dict(
                    capacity_provider=dict(type="str", required=True),
                    base=dict(type="int", default=0),
                    weight=dict(type="int", default=1),
                ),
            ),
            container_insights=dict(type="str", choices=["enabled", "disabled", "enhanced"]),
            execute_command_logging=dict(type="str", choices=["NONE", "DEFAULT", "OVERRIDE"]),
            execute_command_log_group_name=dict(type="str"),
            execute_command_kms_key_id=dict(type="str"),
            tags=dict(type="dict", aliases=["resource_tags"]),
            purge_tags=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    params = module.params
    errors = _validate(params)
    if errors:
        module.fail_json(msg="; ".join(errors))

    client = module.client("ecs", retry_decorator=AWSRetry.jittered_backoff())
    name = params["name"]
    cluster = _describe(module, client, name)
    before = _view(cluster)

    if params["state"] == "absent":
        changed = cluster is not None
        if changed and not module.check_mode:
            _delete(module, client, name)
        module.exit_json(changed=changed, cluster={}, diff={"before": before, "after": {}})

    want = _desired(params, before)
    diff = {"before": before, "after": want}
    if cluster is None:
        if not module.check_mode:
            _create(module, client, name, want)
            cluster = _describe(module, client, name)
        module.exit_json(changed=True, cluster=_result(cluster), diff=diff)

    actions = _changes(before, want)
    if actions and not module.check_mode:
        if "providers" in actions:
            _put_providers(module, client, name, want)
        if "settings" in actions:
            _update(module, client, name, settings=_settings(want))
        if "configuration" in actions:
            _update(module, client, name, configuration=_configuration(want))
        if "tags" in actions:
            _retag(module, client, cluster["clusterArn"], before["tags"], want)
        cluster = _describe(module, client, name)
    module.exit_json(changed=bool(actions), cluster=_result(cluster), diff=diff if actions else {})


if __name__ == "__main__":
    main()
