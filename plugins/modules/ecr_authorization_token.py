#!/usr/bin/python

# Copyright: Shipyard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: ecr_authorization_token
short_description: An ECR registry login (GetAuthorizationToken) as a username and password
version_added: 0.1.0
description:
  - Calls ECR C(GetAuthorizationToken) and decodes the token into the username (C(AWS)) and password that
    C(docker login) and the Docker Registry HTTP API v2 accept, for 12 hours.
  - B(The result holds a credential.) Ansible cannot hide a module's own return value, so every task that runs
    this module must set C(no_log=true), and pass the values on only to options that are themselves C(no_log)
    (for example the O(community.docker.docker_login#module:password) option, or the C(password) option of
    M(shipyard.fargate.registry_image_info)). The module never writes the password anywhere else.
  - Changes nothing (a token is not a resource); runs in check mode.
options:
  registry_ids:
    description:
      - AWS account IDs of the registries to log in to. Empty means the default registry of the calling account.
      - ECR returns one token per registry; the first is returned as RV(username)/RV(password), all of them in
        RV(registries).
    type: list
    elements: str
    default: []
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
- name: Get an ECR login (the result holds the password)
  shipyard.fargate.ecr_authorization_token:
  register: ecr_login
  no_log: true

- name: Log the Docker engine in to ECR
  community.docker.docker_login:
    registry_url: "{{ ecr_login.registry }}"
    username: "{{ ecr_login.username }}"
    password: "{{ ecr_login.password }}"
  no_log: true
"""

RETURN = r"""
username:
  description: The user name of the first registry's login (always C(AWS) on ECR).
  returned: success
  type: str
  sample: AWS
password:
  description: The password of the first registry's login. A credential valid until RV(expires_at).
  returned: success
  type: str
registry:
  description: The host of the first registry (its proxy endpoint without the scheme), for C(docker login).
  returned: success
  type: str
  sample: 123456789012.dkr.ecr.us-east-1.amazonaws.com
proxy_endpoint:
  description: The first registry's endpoint as ECR reports it.
  returned: success
  type: str
  sample: https://123456789012.dkr.ecr.us-east-1.amazonaws.com
expires_at:
  description: When the login expires (ISO 8601).
  returned: success
  type: str
  sample: "2025-01-01T12:00:00+00:00"
registries:
  description: One login per registry ECR answered for.
  returned: success
  type: list
  elements: dict
  contains:
    registry:
      description: Host of the registry.
      type: str
    proxy_endpoint:
      description: Endpoint of the registry.
      type: str
    username:
      description: User name.
      type: str
    password:
      description: Password.
      type: str
    expires_at:
      description: When the login expires (ISO 8601).
      type: str
"""

try:
    import botocore
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.shipyard.fargate.plugins.module_utils.ecr_login import decode_authorization

# --- AWS call ---------------------------------------------------------------------------------------------------


def _get_token(module, client, registry_ids):
    kwargs = {"registryIds": registry_ids} if registry_ids else {}
    try:
        return client.get_authorization_token(aws_retry=True, **kwargs).get("authorizationData") or []
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        module.fail_json_aws(e, msg="Failed to get an ECR authorization token")


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(registry_ids=dict(type="list", elements="str", default=[])),
        supports_check_mode=True,
    )
    client = module.client("ecr", retry_decorator=AWSRetry.jittered_backoff())
    data = _get_token(module, client, module.params["registry_ids"])
    if not data:
        module.fail_json(msg="ECR returned no authorization data")
    try:
        registries = [decode_authorization(entry) for entry in data]
    except ValueError as e:
        module.fail_json(msg=str(e))
    first = registries[0]
    module.exit_json(changed=False, registries=registries, **first)


if __name__ == "__main__":
    main()
