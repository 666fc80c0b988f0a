#!/usr/bin/python

# Copyright: Shipyard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: registry_image_info
short_description: Whether an image tag exists in a container registry, and its digest
version_added: 0.1.0
description:
  - Asks a registry over the Docker Registry HTTP API v2 whether C(<repository>:<reference>) exists, and for its
    content digest and media type (C(HEAD /v2/<path>/manifests/<reference>), header C(Docker-Content-Digest)).
  - Amazon ECR and the CNCF distribution registry both speak this API, so one code path serves ECR and a local
    registry. Authentication is HTTP Basic; for ECR pass the user name and password of
    M(shipyard.fargate.ecr_authorization_token).
  - Accepts Docker v2 and OCI manifests and indexes (multi-platform images); the digest is that of what the tag
    points at, the one C(docker pull <repository>@<digest>) and an ECS task definition use.
  - A missing tag or a repository that holds no image yet is RV(exists=false), not an error. A refused login
    (HTTP 401), a denial (403) and an unreachable registry fail the task.
options:
  reference:
    description: A tag, or a digest (C(sha256:...)).
    type: str
    required: true
    aliases: [tag]
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
  diff_mode:
    description: Returns details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
extends_documentation_fragment:
  - shipyard.fargate.registry_v2
author:
  - Shipyard maintainers (@shipyard)
"""

EXAMPLES = r"""
- name: Get an ECR login
  shipyard.fargate.ecr_authorization_token:
  register: ecr_login
  no_log: true

- name: Is this commit's image already in the repository?
  shipyard.fargate.registry_image_info:
    repository: 123456789012.dkr.ecr.us-east-1.amazonaws.com/shop/web
    tag: 3f2a9c1d0b7e
    username: "{{ ecr_login.username }}"
    password: "{{ ecr_login.password }}"
  register: web_image

- name: Use it by digest
  ansible.builtin.debug:
    msg: "123456789012.dkr.ecr.us-east-1.amazonaws.com/shop/web@{{ web_image.digest }}"
  when: web_image.exists
"""

RETURN = r"""
exists:
  description: Whether the reference exists in the repository.
  returned: always
  type: bool
digest:
  description: The content digest of the manifest (or index) the reference points at; null when it does not exist.
  returned: always
  type: str
  sample: sha256:4d3c1b4d2cbd2d5f0f3b1f6d27e0c2b4a7d6e5f4c3b2a1908f7e6d5c4b3a2918
media_type:
  description: The manifest's media type; null when it does not exist.
  returned: always
  type: str
  sample: application/vnd.docker.distribution.manifest.v2+json
repository:
  description: The repository as given.
  returned: always
  type: str
reference:
  description: The tag or digest as given.
  returned: always
  type: str
url:
  description: The manifest URL that was asked.
  returned: always
  type: str
  sample: http://127.0.0.1:29050/v2/shop/web/manifests/3f2a9c1d0b7e
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.shipyard.fargate.plugins.module_utils.registry_v2 import (
    RegistryError,
    client_for_module,
    is_reference,
    registry_argument_spec,
)


def main():
    argument_spec = registry_argument_spec()
    argument_spec["reference"] = dict(type="str", required=True, aliases=["tag"])
    module = AnsibleModule(
        argument_spec=argument_spec,
        required_together=[("username", "password")],
        supports_check_mode=True,
    )
    params = module.params
    if not is_reference(params["reference"]):
        module.fail_json(msg=f"reference '{params['reference']}' is neither a valid tag nor a sha256: digest")
    client = client_for_module(module)
    url = client.manifest_url(params["reference"])
    try:
        found = client.head(params["reference"])
    except RegistryError as e:
        module.fail_json(msg=str(e), url=url, status=e.status)
    module.exit_json(changed=False, repository=params["repository"], reference=params["reference"], url=url, **found)


if __name__ == "__main__":
    main()
