#!/usr/bin/python

# Copyright: Shipyard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: registry_image_push
short_description: Push an image tag from the Docker engine to a registry with a login that never touches disk
version_added: 0.1.0
description:
  - Pushes C(<repository>:<tag>), an image the Docker engine holds, to its registry (the Docker Engine API's
    C(POST /images/<name>/push)), with the registry login in the request's C(X-Registry-Auth) header. So there is
    no C(docker login), no Docker client configuration is read or written, and no credential is left on disk.
  - Then asks the registry itself for the tag (C(HEAD /v2/<path>/manifests/<tag>) over the Docker Registry HTTP API
    v2, like M(shipyard.fargate.registry_image_info)) and returns its digest - the one ECS pulls - after checking
    that it is the digest the engine reported for the push.
  - One module run for what C(docker login), C(docker push), reading the digest back and removing the login take
    four or five (about a second apiece).
  - A push the registry refuses (HTTP 401 or 403, a repository that does not exist) fails the task with the
    registry's message; the password never appears in it.
options:
  repository:
    description:
      - The repository with its registry host, C(<host>[:<port>]/<path>), the name the engine holds the image
        under, for example C(123456789012.dkr.ecr.us-east-1.amazonaws.com/shop/web) or C(127.0.0.1:29050/shop/web).
    type: str
    required: true
  tag:
    description: The tag to push.
    type: str
    required: true
  username:
    description: User name for the registry (C(AWS) for ECR). Unset, with O(ecr_login) false, means anonymous.
    type: str
  password:
    description: Password for the registry (for ECR, the decoded C(GetAuthorizationToken) password).
    type: str
  ecr_login:
    description:
      - Log in to ECR in this same module run - C(GetAuthorizationToken) with the AWS options (region, endpoint and
        credentials, which the action group C(shipyard.fargate.aws) sets as for every AWS module of the collection) -
        and push with that login. No token passes through the play, and no task of its own runs for it.
      - Not together with O(username) and O(password).
    type: bool
    default: false
  ecr_registry_id:
    description:
      - The ECR registry (AWS account ID) to get the login for, with O(ecr_login).
      - Unset means the account in O(repository)'s host (C(<account>.dkr.ecr.<region>.amazonaws.com)), and for any
        other host (a registry standing in for ECR) the calling account's default registry.
    type: str
  scheme:
    description:
      - V(http) or V(https) for reading the tag back from the registry. Unset means V(http) for a registry on
        C(127.0.0.1), C(localhost) or C(::1), V(https) for every other host.
    type: str
    choices: [http, https]
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
  diff_mode:
    description: Returns details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
extends_documentation_fragment:
  - community.docker.docker.api_documentation
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
notes:
  - O(username) and O(password) go together.
  - The AWS options are used only with O(ecr_login); boto3 is needed either way (amazon.aws's module_utils import it).
    O(validate_certs) is the Docker engine's option here (its TLS, as in community.docker's modules); TLS to the AWS
    API is always verified, against O(aws_ca_bundle) when set. O(debug_botocore_endpoint_logs) is accepted for the
    action group and has no effect.
  - The Docker engine is the one of O(docker_host) (default C(DOCKER_HOST)), as for community.docker's modules. The
    module is in the action group C(shipyard.fargate.docker), which extends C(community.docker.docker), so one
    C(module_defaults) entry serves both; and in C(shipyard.fargate.aws), for O(ecr_login).
  - A push is a change (C(changed) true) - the tag is written in the registry, even when the registry had every
    layer. The callers push a tag the registry does not hold yet.
  - In check mode nothing is pushed; the result says what would be (C(changed) true, RV(digest) null).
author:
  - Shipyard maintainers (@shipyard)
"""

EXAMPLES = r"""
- name: Push the build to ECR (logged in within the same run) and read its digest from the registry
  shipyard.fargate.registry_image_push:
    repository: 123456789012.dkr.ecr.us-east-1.amazonaws.com/shop/web
    tag: 3f2a9c1d0b7e
    ecr_login: true
    region: us-east-1
  register: pushed

- name: Reference the image by digest
  ansible.builtin.debug:
    msg: "123456789012.dkr.ecr.us-east-1.amazonaws.com/shop/web@{{ pushed.digest }}"
"""

RETURN = r"""
repository:
  description: The repository pushed to.
  returned: always
  type: str
tag:
  description: The tag pushed.
  returned: always
  type: str
digest:
  description: The digest the registry holds the tag at (null in check mode).
  returned: always
  type: str
  sample: sha256:0f2b0f37c0bd1cbd0e5b4c2e3f4a7ce9c2b5e2e4a2c4b3e3d1a0f7e6d5c4b3a2
media_type:
  description: The media type of the manifest the tag points at (null in check mode).
  returned: always
  type: str
layers_pushed:
  description: How many layers the registry did not have and received (0 when it had them all).
  returned: always
  type: int
"""

import traceback

try:
    import botocore
except ImportError:
    pass  # only ecr_login needs it (HAS_BOTO3)

from ansible.module_utils.basic import missing_required_lib
from ansible.module_utils.common.text.converters import to_native
from ansible_collections.amazon.aws.plugins.module_utils.botocore import (
    HAS_BOTO3,
    boto3_conn,
    get_aws_connection_info,
)
from ansible_collections.amazon.aws.plugins.module_utils.modules import aws_argument_spec
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.community.docker.plugins.module_utils._api.auth import encode_header
from ansible_collections.community.docker.plugins.module_utils._api.errors import DockerException
from ansible_collections.community.docker.plugins.module_utils.common_api import (
    AnsibleDockerClient,
    RequestException,
)
from ansible_collections.shipyard.fargate.plugins.module_utils.ecr_login import decode_authorization, registry_id_of
from ansible_collections.shipyard.fargate.plugins.module_utils.registry_v2 import (
    TAG_PATTERN,
    RegistryClient,
    RegistryError,
    split_repository,
)

# --- pure functions --------------------------------------------------------------------------------------------


def registry_auth(repository, username, password):
    """The X-Registry-Auth payload (before encoding) for the registry of ``repository`` (``host[:port]/path``)."""
    host = repository.split("/", 1)[0]
    if not username:
        return {}
    return {"username": username, "password": password, "serveraddress": host}


def push_outcome(lines):
    """What the engine's push stream says: ``{"error", "digest", "layers_pushed"}``.

    ``lines`` are the decoded JSON objects of ``POST /images/<name>/push``: progress (``status`` "Pushing",
    "Pushed", "Layer already exists", ...), the final ``aux`` (``{"Tag", "Digest", "Size"}``) and, when the push
    failed, ``errorDetail``/``error`` (the engine answers HTTP 200 and reports the failure in the stream).
    """
    error, digest, pushed = None, None, set()
    for line in lines:
        if line.get("errorDetail") or line.get("error"):
            error = (line.get("errorDetail") or {}).get("message") or line.get("error")
        if line.get("status") == "Pushed" and line.get("id"):
            pushed.add(line["id"])
        aux = line.get("aux")
        if isinstance(aux, dict) and aux.get("Digest"):
            digest = aux["Digest"]
    return {"error": error, "digest": digest, "layers_pushed": len(pushed)}


def explain_push_error(error, repository, tag):
    """A failed push's message, with what to check for the registry's usual refusals."""
    text = f"Pushing {repository}:{tag} failed: {error}"
    lowered = error.lower()
    if "unauthorized" in lowered or "authentication required" in lowered:
        return text + ". The registry refused the login: check username and password (for ECR: a fresh token)."
    if "denied" in lowered or "does not exist" in lowered or "name unknown" in lowered:
        return text + ". Does the repository exist, and may this login push to it?"
    return text


def _redact(text, password):
    return text.replace(password, "********") if password else text


# --- ECR, the engine and the registry ---------------------------------------------------------------------------


class _AwsOptions:
    """The AWS half of the options, for amazon.aws's connection helpers. ``validate_certs`` is the Docker engine's
    option in this module, so TLS to the AWS API is verified whatever it says (against aws_ca_bundle when set)."""

    def __init__(self, module):
        self.params = {**module.params, "validate_certs": True}
        self._name = module._name
        self.fail_json = module.fail_json


def ecr_login(module, repository, registry_id):
    """``(username, password)`` of an ECR login (GetAuthorizationToken, retried with jittered backoff when throttled)
    for ``registry_id``, else the account of ``repository``'s host, else the caller's default registry."""
    if not HAS_BOTO3:
        module.fail_json(msg="ecr_login: " + missing_required_lib("boto3 and botocore"))
    aws = _AwsOptions(module)
    region, endpoint, connection = get_aws_connection_info(aws)
    client = boto3_conn(aws, conn_type="client", resource="ecr", region=region, endpoint=endpoint, **connection)
    registry = registry_id or registry_id_of(repository)
    try:
        answer = AWSRetry.jittered_backoff()(client.get_authorization_token)(
            **({"registryIds": [registry]} if registry else {})
        )
        data = answer.get("authorizationData") or []
        if not data:
            module.fail_json(
                msg=f"ecr_login: ECR returned no authorization data for {registry or 'the default registry'}"
            )
        login = decode_authorization(data[0])
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        module.fail_json(
            msg=f"ecr_login: ECR GetAuthorizationToken for {registry or 'the default registry'} failed: {to_native(e)}"
        )
    except ValueError as e:
        module.fail_json(msg=f"ecr_login: {e}")
    return login["username"], login["password"]


def push(client, repository, tag, auth):
    response = client._post_json(
        client._url("/images/{0}/push", repository),
        data=None,
        # An empty auth still needs the header: from Docker 28.3.3 on, a push without X-Registry-Auth is refused
        # (moby/moby#50614, as community.docker.docker_image_push does).
        headers={"X-Registry-Auth": encode_header(auth)},
        stream=True,
        params={"tag": tag},
    )
    client._raise_for_status(response)
    return push_outcome(client._stream_helper(response, decode=True))


def main():
    aws_options = aws_argument_spec()
    del aws_options["validate_certs"]  # the Docker engine's option of that name stays (see _AwsOptions)
    argument_spec = dict(
        aws_options,
        repository=dict(type="str", required=True),
        tag=dict(type="str", required=True),
        username=dict(type="str"),
        password=dict(type="str", no_log=True),
        ecr_login=dict(type="bool", default=False),
        ecr_registry_id=dict(type="str"),
        scheme=dict(type="str", choices=["http", "https"]),
    )
    client = AnsibleDockerClient(
        argument_spec=argument_spec,
        required_together=[("username", "password")],
        mutually_exclusive=[("ecr_login", "username"), ("ecr_login", "password")],
        supports_check_mode=True,
    )
    module = client.module
    params = module.params
    repository, tag, username, password = params["repository"], params["tag"], params["username"], params["password"]
    result = {"repository": repository, "tag": tag, "digest": None, "media_type": None, "layers_pushed": 0}
    if not TAG_PATTERN.match(tag):
        module.fail_json(msg=f"tag '{tag}' is not a valid tag", **result)
    try:
        split_repository(repository)  # its form, checked before anything is asked
    except ValueError as e:
        module.fail_json(msg=f"repository: {e}", **result)
    try:
        if not client.find_image(name=repository, tag=tag):
            module.fail_json(msg=f"The Docker engine holds no image {repository}:{tag} to push", **result)
        if module.check_mode:
            module.exit_json(changed=True, **result)
        if params["ecr_login"]:
            username, password = ecr_login(module, repository, params["ecr_registry_id"])
            module.no_log_values.add(password)
        registry = RegistryClient(repository, username=username, password=password, scheme=params["scheme"])
        outcome = push(client, repository, tag, registry_auth(repository, username, password))
    except (DockerException, RequestException) as e:
        module.fail_json(
            msg=_redact(f"Pushing {repository}:{tag}: the Docker engine answered: {to_native(e)}", password),
            exception=_redact(traceback.format_exc(), password),
            **result,
        )
    result["layers_pushed"] = outcome["layers_pushed"]
    if outcome["error"]:
        module.fail_json(msg=_redact(explain_push_error(outcome["error"], repository, tag), password), **result)
    try:
        found = registry.head(tag)
    except RegistryError as e:
        module.fail_json(msg=f"The push of {repository}:{tag} ended, but reading the tag back failed: {e}", **result)
    if not found["exists"]:
        module.fail_json(
            msg=f"The push of {repository}:{tag} reported success, but the registry does not hold that tag"
        )
    if outcome["digest"] and found["digest"] != outcome["digest"]:
        module.fail_json(
            msg=f"The push of {repository}:{tag} reported digest {outcome['digest']}, but the registry holds the tag "
            f"at {found['digest']} (another push to the same tag at the same time?)",
            **result,
        )
    result.update(digest=found["digest"], media_type=found["media_type"])
    module.exit_json(changed=True, **result)


if __name__ == "__main__":
    main()
