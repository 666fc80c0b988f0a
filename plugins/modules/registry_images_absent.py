#!/usr/bin/python

# Copyright: Shipyard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: registry_images_absent
short_description: Delete every image of a repository in a container registry, so that no tag is left
version_added: 0.1.0
description:
  - Lists the repository's tags (C(GET /v2/<path>/tags/list)), looks each one up for its manifest digest
    (C(HEAD /v2/<path>/manifests/<tag>)) and deletes each manifest once (C(DELETE /v2/<path>/manifests/<digest>)),
    which removes every tag on it. A re-run finds no tag and changes nothing.
  - For a registry other than ECR - the local stack's registry (CNCF distribution), which keeps a repository's
    images when its ECR repository is deleted. Distribution must allow deletes (C(storage.delete.enabled=true)
    in its configuration).
    Its blobs are freed by the registry's own garbage collection (C(registry garbage-collect)).
  - On ECR (a C(<account>.dkr.ecr.<region>.amazonaws.com) host) deleting the repository with force deletes its
    images; the module then deletes nothing and says so (RV(skipped_reason)), unless O(on_ecr=true).
  - A repository the registry does not know (never pushed to, or already emptied) is not an error.
  - Check mode lists what would be deleted and deletes nothing; diff mode shows the tags before and after.
options:
  on_ecr:
    description: Delete image by image on ECR too (by default ECR's repository deletion does it).
    type: bool
    default: false
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
  diff_mode:
    description: Returns details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
extends_documentation_fragment:
  - shipyard.fargate.registry_v2
author:
  - Shipyard maintainers (@shipyard)
"""

EXAMPLES = r"""
- name: Get an ECR login (the local registry accepts the emulator's token)
  shipyard.fargate.ecr_authorization_token:
  register: ecr_login
  no_log: true

- name: Delete every image of shop/web from the local registry
  shipyard.fargate.registry_images_absent:
    repository: 127.0.0.1:29050/shop/web
    username: "{{ ecr_login.username }}"
    password: "{{ ecr_login.password }}"
"""

RETURN = r"""
deleted_tags:
  description: The tags that were (in check mode, would be) deleted.
  returned: always
  type: list
  elements: str
  sample: [3f2a9c1d0b7e, v1.4.0]
deleted_digests:
  description: The manifest digests that were (would be) deleted, each once.
  returned: always
  type: list
  elements: str
skipped_reason:
  description: Why nothing was asked of the registry (an ECR host); null otherwise.
  returned: always
  type: str
repository:
  description: The repository as given.
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.shipyard.fargate.plugins.module_utils.registry_v2 import (
    RegistryError,
    client_for_module,
    deletes_images_with_repository,
    digests_to_delete,
    registry_argument_spec,
)


def main():
    argument_spec = registry_argument_spec()
    argument_spec.update(on_ecr=dict(type="bool", default=False))
    module = AnsibleModule(
        argument_spec=argument_spec,
        required_together=[("username", "password")],
        supports_check_mode=True,
    )
    params = module.params
    result = {"repository": params["repository"], "deleted_tags": [], "deleted_digests": [], "skipped_reason": None}
    client = client_for_module(module)
    if deletes_images_with_repository(client.host) and not params["on_ecr"]:
        result["skipped_reason"] = "ECR deletes a repository's images with the repository (force)"
        module.exit_json(changed=False, **result)

    try:
        tags = client.tags()
        tag_digests = {tag: client.head(tag)["digest"] for tag in tags}
        digests = digests_to_delete(tag_digests)
        if digests and not module.check_mode:
            for digest in digests:
                client.delete(digest)
    except RegistryError as e:
        module.fail_json(msg=str(e), status=e.status, **result)
    result.update(deleted_tags=sorted(t for t, d in tag_digests.items() if d), deleted_digests=digests)
    diff = {"before": {"tags": tags}, "after": {"tags": []}}
    module.exit_json(changed=bool(digests), diff=diff, **result)


if __name__ == "__main__":
    main()
