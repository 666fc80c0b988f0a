#!/usr/bin/python

# Copyright: Shipyard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: iam_openid_connect_provider
short_description: An IAM OpenID Connect identity provider (for example GitHub Actions), its audiences and tags
version_added: 0.1.0
description:
  - Creates, updates or deletes an IAM OpenID Connect (OIDC) identity provider, the account-wide trust anchor that
    lets a role be assumed with C(sts:AssumeRoleWithWebIdentity) by the tokens of one issuer, such as GitHub Actions
    (U(https://token.actions.githubusercontent.com)).
  - Idempotent, describe -> compare -> act. The provider is found by its URL (C(ListOpenIDConnectProviders), then
    C(GetOpenIDConnectProvider)); an account holds at most one provider per URL. Audiences
    (C(AddClientIDToOpenIDConnectProvider), C(RemoveClientIDFromOpenIDConnectProvider)), thumbprints
    (C(UpdateOpenIDConnectProviderThumbprint)) and tags (C(TagOpenIDConnectProvider), C(UntagOpenIDConnectProvider))
    are changed in place; only what differs is changed.
  - Exists because amazon.aws and community.aws have no module for OIDC providers.
  - The URL, audiences and thumbprints are checked before any AWS call, each error naming its option.
options:
  url:
    description:
      - The issuer URL, C(https://) followed by a host name and optionally a path (no port, query or fragment), as the
        tokens' C(iss) claim has it. A final C(/) is dropped and the host is lowercased.
    required: true
    type: str
  client_ids:
    description:
      - The audiences (client IDs) the provider accepts, the C(aud) claim of the tokens. For GitHub Actions with the
        official AWS credentials action, V(sts.amazonaws.com).
      - At most 100, each 1 to 255 characters. Order and duplicates do not matter.
    type: list
    elements: str
    default: [sts.amazonaws.com]
    aliases: [audiences]
  purge_client_ids:
    description:
      - Remove the audiences of an existing provider that are not in O(client_ids).
      - V(false) only adds, for a provider that other users of the account share.
    type: bool
    default: true
  thumbprints:
    description:
      - SHA-1 thumbprints (40 hexadecimal digits) of the issuer's certificate authority, at most 5.
      - Unset, IAM works it out itself when it creates the provider, and the thumbprints of an existing provider are
        left as they are. For issuers whose certificate comes from a trusted root CA (GitHub's does), AWS no longer
        uses thumbprints at all.
      - Set, they replace the provider's list (compared without regard to order or case).
    type: list
    elements: str
  state:
    description:
      - V(present) creates or updates the provider; V(absent) deletes it. Roles that trust it then cannot be assumed
        with its tokens.
    type: str
    choices: [present, absent]
    default: present
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
  diff_mode:
    description: Returns details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
notes:
  - IAM is global; the module's region only picks the endpoint.
  - Adding and removing an audience are separate calls; a run that fails halfway leaves the audiences added so far.
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags
  - amazon.aws.boto3
author:
  - Shipyard maintainers (@shipyard)
"""

EXAMPLES = r"""
- name: Let GitHub Actions' tokens assume roles of this account
  shipyard.fargate.iam_openid_connect_provider:
    url: https://token.actions.githubusercontent.com
    client_ids: [sts.amazonaws.com]
    purge_client_ids: false  # other stacks may have added audiences of their own
    tags:
      shipyard:managed-by: ansible
  register: github

- name: A role that the deploy job of one repository and environment may assume
  amazon.aws.iam_role:
    name: shop-github-deploy
    assume_role_policy_document: >-
      {{ github.arn | shipyard.fargate.ci_access_trust_policy(repository='acme/shop', environment='production') }}

- name: Remove the provider
  shipyard.fargate.iam_openid_connect_provider:
    url: https://token.actions.githubusercontent.com
    state: absent
"""

RETURN = r"""
arn:
  description: ARN of the provider (empty in check mode before it is created, and after V(absent)).
  returned: always
  type: str
  sample: arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com
provider:
  description: The provider as it is (or would be, in check mode) after the run; empty after V(absent).
  returned: always
  type: dict
  contains:
    arn:
      description: ARN of the provider (empty in check mode before it is created).
      type: str
      returned: when the provider exists
    url:
      description: The issuer, without C(https://), as IAM stores it.
      type: str
      returned: when the provider exists
      sample: token.actions.githubusercontent.com
    client_ids:
      description: The audiences, sorted.
      type: list
      elements: str
      returned: when the provider exists
      sample: [sts.amazonaws.com]
    thumbprints:
      description: The thumbprints, lowercase and sorted (empty when IAM keeps none).
      type: list
      elements: str
      returned: when the provider exists
    tags:
      description: Tags of the provider.
      type: dict
      returned: when the provider exists
    create_date:
      description: When the provider was created (ISO 8601).
      type: str
      returned: when the provider exists
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
from ansible_collections.shipyard.fargate.plugins.module_utils.validation.ci_access import provider_errors

# --- pure functions: identity, what the provider is, should be, and which calls differ --------------------------


def _validate(params):
    """Errors in the options, each naming its option; empty when all is well. No AWS call."""
    return provider_errors(params["url"], params["client_ids"], params["thumbprints"]).messages()


def _issuer(url):
    """The issuer as IAM stores it and names the provider's ARN by: no scheme, host lowercased, no final '/'."""
    rest = (url or "").strip()
    if "://" in rest:
        rest = rest.split("://", 1)[1]
    host, slash, path = rest.partition("/")
    return (host.lower() + slash + path).rstrip("/")


def _is_provider_of(arn, issuer):
    """Whether a provider ARN (arn:PARTITION:iam::ACCOUNT:oidc-provider/ISSUER) is the one of ``issuer``."""
    _prefix, marker, rest = (arn or "").partition(":oidc-provider/")
    return bool(marker) and _issuer(rest) == issuer


def _view(provider, tags, arn=""):
    """The parts of a GetOpenIDConnectProvider answer this module manages, normalized for comparison."""
    if not provider:
        return {}
    created = provider.get("CreateDate")
    return {
        "arn": arn,
        "url": _issuer(provider.get("Url")),
        "client_ids": sorted(set(provider.get("ClientIDList") or [])),
        "thumbprints": sorted({t.lower() for t in provider.get("ThumbprintList") or []}),
        "tags": dict(tags or {}),
        "create_date": created.isoformat() if hasattr(created, "isoformat") else (created or ""),
    }


def _desired(params, current):
    """What the provider should look like (``current``: its view, {} before creation)."""
    want = dict(current) if current else {"arn": "", "url": _issuer(params["url"]), "thumbprints": [], "tags": {}}
    asked = set(params["client_ids"])
    want["client_ids"] = sorted(
        asked if params["purge_client_ids"] or not current else asked | set(current["client_ids"])
    )
    if params["thumbprints"] is not None:
        want["thumbprints"] = sorted({t.lower() for t in params["thumbprints"]})
    if params["tags"] is not None:
        base = {} if params["purge_tags"] else dict(want.get("tags") or {})
        want["tags"] = {**base, **params["tags"]}
    return want


def _plan(current, want):
    """The calls that bring ``current`` to ``want``: a dict of what to add, remove and set ({}: nothing)."""
    plan = {}
    add = sorted(set(want["client_ids"]) - set(current["client_ids"]))
    remove = sorted(set(current["client_ids"]) - set(want["client_ids"]))
    if add:
        plan["add_client_ids"] = add
    if remove:
        plan["remove_client_ids"] = remove
    if want["thumbprints"] != current["thumbprints"]:
        plan["thumbprints"] = want["thumbprints"]
    tags_add, tags_remove = compare_aws_tags(current["tags"], want["tags"], purge_tags=True)
    if tags_add:
        plan["tag"] = tags_add
    if tags_remove:
        plan["untag"] = sorted(tags_remove)
    return plan


def _comparable(view):
    """A view without what the module does not set (ARN, creation date), for --diff."""
    return {k: v for k, v in view.items() if k not in ("arn", "create_date")}


# --- AWS calls: one small function per action -----------------------------------------------------------------


def _find_arn(module, client, issuer):
    try:
        providers = client.list_open_id_connect_providers(aws_retry=True).get("OpenIDConnectProviderList") or []
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        module.fail_json_aws(e, msg="Failed to list the IAM OpenID Connect providers")
    return next((p["Arn"] for p in providers if _is_provider_of(p.get("Arn"), issuer)), None)


def _get(module, client, arn):
    """(provider, tags) or (None, {}) when it is gone."""
    try:
        provider = client.get_open_id_connect_provider(aws_retry=True, OpenIDConnectProviderArn=arn)
    except is_boto3_error_code("NoSuchEntity"):
        return None, {}
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:  # pylint: disable=duplicate-except
        module.fail_json_aws(e, msg=f"Failed to describe the OpenID Connect provider {arn}")
    if "Tags" in provider:
        return provider, boto3_tag_list_to_ansible_dict(provider["Tags"])
    return provider, _list_tags(module, client, arn)


def _list_tags(module, client, arn):
    try:
        paginator = client.get_paginator("list_open_id_connect_provider_tags")
        tags = paginator.paginate(OpenIDConnectProviderArn=arn).build_full_result().get("Tags") or []
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        module.fail_json_aws(e, msg=f"Failed to list the tags of the OpenID Connect provider {arn}")
    return boto3_tag_list_to_ansible_dict(tags)


def _create(module, client, params, want):
    kwargs = {"Url": "https://" + want["url"], "ClientIDList": want["client_ids"]}
    if params["thumbprints"] is not None:
        kwargs["ThumbprintList"] = want["thumbprints"]
    if want["tags"]:
        kwargs["Tags"] = ansible_dict_to_boto3_tag_list(want["tags"])
    try:
        return client.create_open_id_connect_provider(aws_retry=True, **kwargs)["OpenIDConnectProviderArn"]
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        module.fail_json_aws(e, msg=f"Failed to create the OpenID Connect provider {kwargs['Url']}")


def _add_client_id(client, arn, client_id):
    client.add_client_id_to_open_id_connect_provider(aws_retry=True, OpenIDConnectProviderArn=arn, ClientID=client_id)


def _remove_client_id(client, arn, client_id):
    client.remove_client_id_from_open_id_connect_provider(
        aws_retry=True, OpenIDConnectProviderArn=arn, ClientID=client_id
    )


def _set_thumbprints(client, arn, thumbprints):
    client.update_open_id_connect_provider_thumbprint(
        aws_retry=True, OpenIDConnectProviderArn=arn, ThumbprintList=thumbprints
    )


def _tag(client, arn, tags):
    client.tag_open_id_connect_provider(
        aws_retry=True, OpenIDConnectProviderArn=arn, Tags=ansible_dict_to_boto3_tag_list(tags)
    )


def _untag(client, arn, keys):
    client.untag_open_id_connect_provider(aws_retry=True, OpenIDConnectProviderArn=arn, TagKeys=keys)


def _apply(module, client, arn, plan):
    """Make the calls of ``plan`` on the provider ``arn``, in an order that never leaves it without an audience."""
    steps = [(_add_client_id, c, f"add the audience {c}") for c in plan.get("add_client_ids", [])]
    steps += [(_remove_client_id, c, f"remove the audience {c}") for c in plan.get("remove_client_ids", [])]
    if "thumbprints" in plan:
        steps.append((_set_thumbprints, plan["thumbprints"], "set the thumbprints"))
    if plan.get("untag"):
        steps.append((_untag, plan["untag"], "untag"))
    if plan.get("tag"):
        steps.append((_tag, plan["tag"], "tag"))
    for call, argument, what in steps:
        try:
            call(client, arn, argument)
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            module.fail_json_aws(e, msg=f"Failed to {what} on the OpenID Connect provider {arn}")


def _delete(module, client, arn):
    try:
        client.delete_open_id_connect_provider(aws_retry=True, OpenIDConnectProviderArn=arn)
    except is_boto3_error_code("NoSuchEntity"):
        return
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:  # pylint: disable=duplicate-except
        module.fail_json_aws(e, msg=f"Failed to delete the OpenID Connect provider {arn}")


# --- main: describe -> compare -> act --------------------------------------------------------------------------


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            url=dict(type="str", required=True),
            client_ids=dict(type="list", elements="str", default=["sts.amazonaws.com"], aliases=["audiences"]),
            purge_client_ids=dict(type="bool", default=True),
            thumbprints=dict(type="list", elements="str"),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            tags=dict(type="dict", aliases=["resource_tags"]),
            purge_tags=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    params = module.params
    errors = _validate(params)
    if errors:
        module.fail_json(msg="; ".join(errors))

    client = module.client("iam", retry_decorator=AWSRetry.jittered_backoff())
    issuer = _issuer(params["url"])
    arn = _find_arn(module, client, issuer)
    provider, tags = _get(module, client, arn) if arn else (None, {})
    current = _view(provider, tags, arn or "")

    if params["state"] == "absent":
        if current and not module.check_mode:
            _delete(module, client, arn)
        diff = {"before": _comparable(current), "after": {}}
        module.exit_json(changed=bool(current), arn="", provider={}, diff=diff if current else {})

    want = _desired(params, current)
    if not current:
        if not module.check_mode:
            arn = _create(module, client, params, want)
            provider, tags = _get(module, client, arn)
            want = _view(provider, tags, arn) or {**want, "arn": arn}
        diff = {"before": {}, "after": _comparable(want)}
        module.exit_json(changed=True, arn=want["arn"], provider=want, diff=diff)

    plan = _plan(current, want)
    if plan and not module.check_mode:
        _apply(module, client, arn, plan)
        provider, tags = _get(module, client, arn)
        want = _view(provider, tags, arn) or want
    diff = {"before": _comparable(current), "after": _comparable(want)} if plan else {}
    module.exit_json(changed=bool(plan), arn=arn, provider=want, diff=diff)


if __name__ == "__main__":
    main()
