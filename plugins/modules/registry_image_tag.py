#!/usr/bin/python

# Copyright: Shipyard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: registry_image_tag
short_description: Add a tag to an image that is already in a container registry, without pulling it
version_added: 0.1.0
description:
  - Gives the image that O(source) (a tag or a digest) names in O(repository) the extra tag O(tag), through the
    Docker Registry HTTP API v2. The exact manifest bytes are read and stored again under the new tag, so the new
    tag has the same digest by construction and no layer moves. This is what ECR's C(PutImage) re-tag does, and it
    works the same against ECR and a distribution registry.
  - Describe, compare, act. When O(tag) already points at the same digest, nothing changes. When it points at
    another image, the module fails and changes nothing (a tag is never moved; ECR's immutable tags would refuse it
    anyway).
options:
  source:
    description: The tag or digest (C(sha256:...)) of the image to tag.
    type: str
    required: true
  tag:
    description: The tag to add.
    type: str
    required: true
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
  diff_mode:
    description: Returns details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
seealso:
  - module: shipyard.fargate.registry_image_info
extends_documentation_fragment:
  - shipyard.fargate.registry_v2
author:
  - Shipyard maintainers (@shipyard)
"""

EXAMPLES = r"""
- name: Mark the image of a commit as release v1.4.0
  shipyard.fargate.registry_image_tag:
    repository: 123456789012.dkr.ecr.us-east-1.amazonaws.com/shop/web
    source: 3f2a9c1d0b7e
    tag: v1.4.0
    username: "{{ ecr_login.username }}"
    password: "{{ ecr_login.password }}"
"""

RETURN = r"""
digest:
  description: The digest that O(tag) points at (the digest of O(source)).
  returned: success
  type: str
  sample: sha256:4d3c1b4d2cbd2d5f0f3b1f6d27e0c2b4a7d6e5f4c3b2a1908f7e6d5c4b3a2918
media_type:
  description: The media type of the manifest.
  returned: success
  type: str
tag:
  description: The tag as given.
  returned: success
  type: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.shipyard.fargate.plugins.module_utils.registry_v2 import (
    TAG_PATTERN,
    RegistryError,
    client_for_module,
    is_reference,
    registry_argument_spec,
)


def _decide(source, target):
    """What to do given the HEAD answers for the source and the target tag: ``noop``, ``tag`` or an error message."""
    if not source["exists"]:
        return "error", "the source image does not exist in the repository"
    if not target["exists"]:
        return "tag", None
    if target["digest"] == source["digest"]:
        return "noop", None
    return "error", f"the tag already names another image ({target['digest']}); a tag is never moved"


def main():
    argument_spec = registry_argument_spec()
    argument_spec.update(source=dict(type="str", required=True), tag=dict(type="str", required=True))
    module = AnsibleModule(
        argument_spec=argument_spec,
        required_together=[("username", "password")],
        supports_check_mode=True,
    )
    params = module.params
    if not is_reference(params["source"]):
        module.fail_json(msg=f"source '{params['source']}' is neither a valid tag nor a sha256: digest")
    if not TAG_PATTERN.match(params["tag"]):
        module.fail_json(msg=f"tag '{params['tag']}' is not a valid tag ([A-Za-z0-9_][A-Za-z0-9_.-]{{0,127}})")
    client = client_for_module(module)

    try:
        source = client.head(params["source"])
        target = client.head(params["tag"])
    except RegistryError as e:
        module.fail_json(msg=str(e), status=e.status)
    action, problem = _decide(source, target)
    if action == "error":
        module.fail_json(msg=f"Cannot tag {params['repository']}:{params['source']} as {params['tag']}: {problem}")

    diff = {"before": {"tag": params["tag"], "digest": target["digest"]}, "after": {"tag": params["tag"]}}
    diff["after"]["digest"] = source["digest"]
    result = {"tag": params["tag"], "digest": source["digest"], "media_type": source["media_type"]}
    if action == "noop":
        module.exit_json(changed=False, **result)
    if not module.check_mode:
        try:
            manifest = client.get(source["digest"])
            result["digest"] = client.put(params["tag"], manifest["body"], manifest["media_type"])
        except RegistryError as e:
            module.fail_json(msg=str(e), status=e.status)
    module.exit_json(changed=True, diff=diff, **result)


if __name__ == "__main__":
    main()
