#!/usr/bin/python

# Copyright: Shipyard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: secretsmanager_secret_without_value
short_description: A Secrets Manager secret whose value is set out of band
description:
  - Creates an AWS Secrets Manager secret B(without a value) (no version), so that its value can be put
    out of band (C(aws secretsmanager put-secret-value), the console, another team's pipeline).
  - Never reads, writes or compares the value. An existing secret keeps whatever value it has; only its
    description, KMS key and tags are kept as asked. A secret scheduled for deletion is restored.
  - Exists because M(community.aws.secretsmanager_secret) cannot do this. It always sends C(SecretString)
    (botocore refuses an empty string), and on a secret without a value it fails in C(GetSecretValue)
    even with O(community.aws.secretsmanager_secret#module:overwrite=false).
  - The C(shipyard.fargate.secrets) role uses it when C(secrets_without_value) is set. It is in the
    C(group/shipyard.fargate.aws) action group, so a play's C(module_defaults) for that group reach it.
options:
  name:
    description: Name of the secret.
    required: true
    type: str
  description:
    description: Description of the secret.
    type: str
    default: ""
  kms_key_id:
    description: KMS key (ARN, key id or alias) that encrypts the values put later. Unset is the AWS managed key.
    type: str
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
  diff_mode:
    description: Returns details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
    details: The diff covers description, KMS key and tags; never a value, which the module does not read.
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags
  - amazon.aws.boto3
author:
  - Shipyard maintainers (@shipyard)
"""

EXAMPLES = r"""
- name: A secret for a token another team fills in
  shipyard.fargate.secretsmanager_secret_without_value:
    name: shop/web
    description: Filled by the payments team
    tags:
      shipyard:stack: shop
"""

RETURN = r"""
secret:
  description: The secret as DescribeSecret returns it (snake_case); only C(name) in check mode before creation.
  returned: always
  type: dict
  contains:
    arn:
      description: The ARN of the secret.
      returned: when the secret exists
      type: str
      sample: arn:aws:secretsmanager:us-east-1:123456789012:secret:shop/web-AbCdEf
    name:
      description: The name of the secret.
      returned: always
      type: str
    tags_dict:
      description: The tags as a dict.
      returned: when the secret exists
      type: dict
has_value:
  description: Whether the secret has a current value (an C(AWSCURRENT) version). Read from DescribeSecret, never
    from the value itself.
  returned: always
  type: bool
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


def _describe(module, client, name):
    try:
        return client.describe_secret(aws_retry=True, SecretId=name)
    except is_boto3_error_code("ResourceNotFoundException"):
        return None
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:  # pylint: disable=duplicate-except
        module.fail_json_aws(e, msg="Failed to describe secret")


def _create(module, client, params):
    kwargs = {"Name": params["name"]}
    if params["description"]:
        kwargs["Description"] = params["description"]
    if params["kms_key_id"]:
        kwargs["KmsKeyId"] = params["kms_key_id"]
    if params["tags"]:
        kwargs["Tags"] = ansible_dict_to_boto3_tag_list(params["tags"])
    try:
        client.create_secret(aws_retry=True, **kwargs)  # no SecretString/SecretBinary: no version
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        module.fail_json_aws(e, msg="Failed to create secret")


def _restore(module, client, name):
    try:
        client.restore_secret(aws_retry=True, SecretId=name)
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        module.fail_json_aws(e, msg="Failed to restore secret")


def _update_metadata(module, client, params, current):
    kwargs = {}
    if params["description"] != current.get("Description", ""):
        kwargs["Description"] = params["description"]
    if params["kms_key_id"] and params["kms_key_id"] != current.get("KmsKeyId"):
        kwargs["KmsKeyId"] = params["kms_key_id"]
    if not kwargs:
        return False
    if not module.check_mode:
        try:
            client.update_secret(aws_retry=True, SecretId=params["name"], **kwargs)  # no value: no new version
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            module.fail_json_aws(e, msg="Failed to update secret")
    return True


def _update_tags(module, client, params, current):
    if params["tags"] is None:
        return False
    current_tags = boto3_tag_list_to_ansible_dict(current.get("Tags", []))
    to_add, to_remove = compare_aws_tags(current_tags, params["tags"], params["purge_tags"])
    if module.check_mode or not (to_add or to_remove):
        return bool(to_add or to_remove)
    try:
        if to_remove:
            client.untag_resource(aws_retry=True, SecretId=params["name"], TagKeys=to_remove)
        if to_add:
            client.tag_resource(aws_retry=True, SecretId=params["name"], Tags=ansible_dict_to_boto3_tag_list(to_add))
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        module.fail_json_aws(e, msg="Failed to tag secret")
    return True


def _metadata(described):
    """What the module manages, for --diff: never the value."""
    if described is None:
        return {}
    return {
        "description": described.get("Description", ""),
        "kms_key_id": described.get("KmsKeyId"),
        "tags": boto3_tag_list_to_ansible_dict(described.get("Tags", [])),
        "scheduled_for_deletion": bool(described.get("DeletedDate")),
    }


def _desired_metadata(params, current):
    after = dict(current)
    after.update(description=params["description"], scheduled_for_deletion=False)
    if params["kms_key_id"]:
        after["kms_key_id"] = params["kms_key_id"]
    if params["tags"] is not None:
        base = {} if params["purge_tags"] else dict(current.get("tags") or {})
        after["tags"] = {**base, **params["tags"]}
    return after


def _has_value(described):
    return any("AWSCURRENT" in stages for stages in (described.get("VersionIdsToStages") or {}).values())


def _result(described):
    secret = camel_dict_to_snake_dict({k: v for k, v in described.items() if k != "ResponseMetadata"})
    secret["tags_dict"] = boto3_tag_list_to_ansible_dict(described.get("Tags", []))
    return secret


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            description=dict(type="str", default=""),
            kms_key_id=dict(type="str"),
            tags=dict(type="dict", aliases=["resource_tags"]),
            purge_tags=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    params = module.params
    client = module.client("secretsmanager", retry_decorator=AWSRetry.jittered_backoff())

    current = _describe(module, client, params["name"])
    before = _metadata(current)
    diff = {"before": before, "after": _desired_metadata(params, before or {"tags": {}})}
    if current is None:
        if module.check_mode:
            module.exit_json(changed=True, secret={"name": params["name"]}, has_value=False, diff=diff)
        _create(module, client, params)
        described = _describe(module, client, params["name"])
        module.exit_json(changed=True, secret=_result(described), has_value=_has_value(described), diff=diff)

    changed = False
    if current.get("DeletedDate"):
        if not module.check_mode:
            _restore(module, client, params["name"])
        changed = True
    changed |= _update_metadata(module, client, params, current)
    changed |= _update_tags(module, client, params, current)

    described = current if module.check_mode or not changed else _describe(module, client, params["name"])
    module.exit_json(
        changed=changed, secret=_result(described), has_value=_has_value(described), diff=diff if changed else {}
    )


if __name__ == "__main__":
    main()
