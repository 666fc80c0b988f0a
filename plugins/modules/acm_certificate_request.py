#!/usr/bin/python

# Copyright: Shipyard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: acm_certificate_request
short_description: A public ACM certificate requested with DNS validation, and the DNS records that validate it
version_added: 0.1.0
description:
  - Requests a public certificate from AWS Certificate Manager (C(RequestCertificate), C(ValidationMethod=DNS)) for
    O(domain_name) and O(subject_alternative_names), and returns the C(CNAME) records that prove control of those
    names (C(DomainValidationOptions[].ResourceRecord)), ready to be written into the hosted zone.
  - Idempotent. Before requesting, it looks for a certificate of exactly the same names (C(ListCertificates), then
    C(DescribeCertificate)); a certificate that is C(FAILED), C(VALIDATION_TIMED_OUT), C(REVOKED), C(EXPIRED) or
    C(INACTIVE) is ignored, and one this module requested (its identifying tag) is preferred. The request carries
    an C(IdempotencyToken) derived from the names, so two requests within an hour return one certificate.
  - AWS fills in the validation records a few seconds after the request; the module polls C(DescribeCertificate),
    with a growing delay, until every name has its record (at most O(validation_records_timeout) seconds).
  - With O(wait=true) it then waits until the certificate is C(ISSUED), that is until ACM has seen the records in
    DNS, and fails with the status and the reason when it becomes C(FAILED) or C(VALIDATION_TIMED_OUT).
  - V(absent) deletes every certificate of those names that this module requested (its identifying tag). A
    certificate still in use (C(InUseBy), for example by a load balancer listener) is refused, naming its users.
    A load balancer or listener named in C(InUseBy) that no longer exists (ACM forgets it a while after its
    deletion) does not count, and C(DeleteCertificate) is retried while ACM still says the certificate is in use.
  - Exists because M(community.aws.acm_certificate) only imports certificates.
  - Names are checked before any AWS call, each error naming its option.
options:
  domain_name:
    description:
      - The certificate's main name (its subject), for example V(example.com) or V(*.example.com). ACM allows at
        most 64 characters here. A final dot is dropped; letters are lowercased.
    required: true
    type: str
  subject_alternative_names:
    description:
      - More names the certificate covers, for example V(*.example.com) beside the apex V(example.com). Up to 253
        characters each. Duplicates and O(domain_name) itself are ignored; order does not matter.
      - A wildcard is allowed only as the whole first label (V(*.example.com)), and covers one level.
      - At most 100 names in all (the API's limit; the default ACM quota is 10 per certificate).
    type: list
    elements: str
    default: []
  state:
    description:
      - V(present) finds or requests the certificate; V(absent) deletes the certificates of these names that this
        module requested.
    type: str
    choices: [present, absent]
    default: present
  validation_records_timeout:
    description:
      - Seconds to wait, after the request, for AWS to publish the validation record of every name.
    type: int
    default: 120
  wait:
    description:
      - Wait until the certificate is C(ISSUED). Write the validation records into DNS first (or they must already
        be there), since ACM issues the certificate only once it sees them. Check mode never waits.
    type: bool
    default: false
  wait_timeout:
    description:
      - Seconds to wait for C(ISSUED) with O(wait=true). AWS usually validates within minutes of the records
        appearing in DNS.
    type: int
    default: 900
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
  diff_mode:
    description: Returns details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
notes:
  - The certificate is requested in the module's region. A load balancer can use only a certificate of its own
    region (CloudFront only one of C(us-east-1)).
  - Besides O(tags), the certificate carries C(Name) (O(domain_name), unless O(tags) sets it) and
    C(shipyard:certificate-request), whose value is derived from the names and identifies the certificates this
    module manages. Those two are kept whatever O(purge_tags) says.
  - ACM keeps renewing the certificate only while its validation records stay in DNS.
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags
  - amazon.aws.boto3
author:
  - Shipyard maintainers (@shipyard)
"""

EXAMPLES = r"""
- name: Request a certificate for the zone and every host in it
  shipyard.fargate.acm_certificate_request:
    domain_name: example.com
    subject_alternative_names: ["*.example.com"]
    tags:
      shipyard:stack: shop
  register: certificate

- name: Write the validation records (the apex and the wildcard share one)
  amazon.aws.route53:
    zone: example.com
    record: "{{ item.name }}"
    type: "{{ item.type }}"
    value: "{{ item.value }}"
    ttl: 300
    overwrite: true
  loop: "{{ certificate.validation_records }}"

- name: Wait until ACM has issued it
  shipyard.fargate.acm_certificate_request:
    domain_name: example.com
    subject_alternative_names: ["*.example.com"]
    tags:
      shipyard:stack: shop
    wait: true
    wait_timeout: 1200

- name: Delete it (refused while a listener uses it)
  shipyard.fargate.acm_certificate_request:
    domain_name: example.com
    subject_alternative_names: ["*.example.com"]
    state: absent
"""

RETURN = r"""
certificate:
  description:
    - The certificate as DescribeCertificate returns it, in snake_case, with its tags as a dict.
    - Empty when there is none (check mode before a request, and after V(absent)).
  returned: always
  type: dict
  contains:
    certificate_arn:
      description: ARN of the certificate.
      type: str
      returned: when the certificate exists
      sample: arn:aws:acm:eu-west-1:111122223333:certificate/0a1b2c3d-4e5f-6789-abcd-ef0123456789
    domain_name:
      description: The certificate's main name.
      type: str
      returned: when the certificate exists
      sample: example.com
    subject_alternative_names:
      description: Every name the certificate covers, the main name included.
      type: list
      elements: str
      returned: when the certificate exists
      sample: [example.com, "*.example.com"]
    status:
      description: C(PENDING_VALIDATION), C(ISSUED), C(FAILED), C(VALIDATION_TIMED_OUT), C(INACTIVE), C(REVOKED) or
        C(EXPIRED).
      type: str
      returned: when the certificate exists
      sample: ISSUED
    failure_reason:
      description: Why the request failed.
      type: str
      returned: when the certificate failed
    in_use_by:
      description: ARNs of the resources (load balancers, distributions) that use the certificate.
      type: list
      elements: str
      returned: when the certificate exists
    domain_validation_options:
      description: Per name, how it is validated and its validation record (C(resource_record)).
      type: list
      elements: dict
      returned: when the certificate exists
    tags:
      description: Tags of the certificate.
      type: dict
      returned: when the certificate exists
certificate_arn:
  description: ARN of the certificate (empty in check mode before a request, and after V(absent)).
  returned: always
  type: str
  sample: arn:aws:acm:eu-west-1:111122223333:certificate/0a1b2c3d-4e5f-6789-abcd-ef0123456789
status:
  description: Status of the certificate (empty when there is none).
  returned: always
  type: str
  sample: PENDING_VALIDATION
validation_records:
  description:
    - The DNS records that validate the certificate, one per distinct record (a wildcard and its apex share one),
      sorted by name. Empty in check mode before a request.
    - With V(absent), the records of the certificates deleted (or that check mode would delete), so a caller can
      remove them from DNS too.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Record name, fully qualified with a final dot.
      type: str
      sample: _3b4c5d6e7f8091a2b3c4d5e6f7a8b9c0.example.com.
    type:
      description: Record type.
      type: str
      sample: CNAME
    value:
      description: Record value.
      type: str
      sample: _0a1b2c3d4e5f60718293a4b5c6d7e8f9.abcdefghij.acm-validations.aws.
deleted:
  description: ARNs of the certificates V(absent) deleted (or that check mode would delete).
  returned: always
  type: list
  elements: str
"""

import hashlib
import time

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
from ansible_collections.shipyard.fargate.plugins.module_utils.validation.dns import (
    CERTIFICATE_DOMAIN_MAX,
    CERTIFICATE_NAME_MAX,
    CERTIFICATE_NAMES_MAX,
    certificate_name_problem,
)

REQUEST_TAG = "shipyard:certificate-request"
MAX_NAMES = CERTIFICATE_NAMES_MAX
# A certificate in one of these states can never serve again: it is ignored, and a new one is requested.
DEAD_STATUSES = frozenset(["FAILED", "VALIDATION_TIMED_OUT", "REVOKED", "EXPIRED", "INACTIVE"])

# --- pure functions: names, identity, choice, readiness ---------------------------------------------------------


def _normalize(name):
    return (name or "").strip().lower().rstrip(".")


def _validate(params):
    """Errors in the options, each naming its option; empty when all is well. No AWS call."""
    errors = []
    domain = _normalize(params["domain_name"])
    error = certificate_name_problem("domain_name", domain, CERTIFICATE_DOMAIN_MAX)
    if error:
        errors.append(error)
    for name in params["subject_alternative_names"] or []:
        error = certificate_name_problem("subject_alternative_names", _normalize(name), CERTIFICATE_NAME_MAX)
        if error:
            errors.append(error)
    count = len(_names(params))
    if count > MAX_NAMES:
        errors.append(
            f"subject_alternative_names: {count} names in all, ACM allows {MAX_NAMES} per certificate at most"
        )
    for option in ("validation_records_timeout", "wait_timeout"):
        if params[option] < 0:
            errors.append(f"{option} must be 0 or more seconds, got {params[option]}")
    return errors


def _names(params):
    """Every name the certificate covers: the main name and the alternative names, normalized and sorted."""
    domain = _normalize(params["domain_name"])
    return sorted({domain} | {_normalize(name) for name in params["subject_alternative_names"] or []})


def _identity(params):
    """32 hex characters derived from the names: the IdempotencyToken and the value of the identifying tag."""
    text = "\n".join([_normalize(params["domain_name"]), *_names(params)])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def _desired_tags(params, current):
    """The tags the certificate should carry (``current``: its tags now, None before the request).

    O(tags) with O(purge_tags) replaces the others; the Name (the main name, unless O(tags) sets it) and the
    identifying tag are always there. Without O(tags), the current tags stay.
    """
    current = dict(current or {})
    if params["tags"] is None:
        base = current
    elif params["purge_tags"]:
        base = dict(params["tags"])
    else:
        base = {**current, **params["tags"]}
    base.setdefault("Name", current.get("Name") or _normalize(params["domain_name"]))
    base[REQUEST_TAG] = _identity(params)
    return base


def _matches(certificate, params):
    """True when a described certificate has exactly the requested names and was requested by ACM."""
    if certificate.get("Type") != "AMAZON_ISSUED":
        return False
    domain = _normalize(certificate.get("DomainName"))
    names = {domain} | {_normalize(n) for n in certificate.get("SubjectAlternativeNames") or []}
    return domain == _normalize(params["domain_name"]) and sorted(names) == _names(params)


def _usable(certificate):
    """A certificate that is or can become ISSUED through DNS validation."""
    status = certificate.get("Status")
    if status in DEAD_STATUSES:
        return False
    if status == "ISSUED":
        return True
    methods = {o.get("ValidationMethod") for o in certificate.get("DomainValidationOptions") or []}
    return methods <= {"DNS", None}


def _choose(candidates, identity):
    """The certificate to use among (certificate, tags) pairs of matching names, or None.

    Usable ones only; the one this module requested first (identifying tag), then an ISSUED one, then the newest.
    """
    usable = [(c, tags) for c, tags in candidates if _usable(c)]
    if not usable:
        return None, None

    def rank(pair):
        certificate, tags = pair
        created = certificate.get("CreatedAt")
        created = created.timestamp() if hasattr(created, "timestamp") else float(created or 0)
        return (tags.get(REQUEST_TAG) == identity, certificate.get("Status") == "ISSUED", created)

    return max(usable, key=rank)


def _validation_records(certificate):
    """The distinct validation records of a described certificate, sorted by name; None while any is missing."""
    records = {}
    for option in certificate.get("DomainValidationOptions") or []:
        record = option.get("ResourceRecord")
        if not record or not record.get("Name") or not record.get("Value"):
            return None
        entry = {"name": record["Name"], "type": record.get("Type") or "CNAME", "value": record["Value"]}
        records[(entry["name"].lower(), entry["type"])] = entry
    if not records:
        return None
    return [records[key] for key in sorted(records)]


def _issue_verdict(certificate):
    """'issued', 'pending', or 'failed' for a described certificate (what the ISSUED waiter acts on)."""
    status = certificate.get("Status")
    if status == "ISSUED":
        return "issued"
    if status == "PENDING_VALIDATION":
        return "pending"
    return "failed"


def _failure_message(certificate):
    status = certificate.get("Status")
    reason = certificate.get("FailureReason") or "no reason given"
    pending = [
        f"{o.get('DomainName')}: {o.get('ValidationStatus')}"
        for o in certificate.get("DomainValidationOptions") or []
        if o.get("ValidationStatus") != "SUCCESS"
    ]
    detail = f" ({'; '.join(pending)})" if pending else ""
    return f"certificate {certificate.get('CertificateArn')} is {status}: {reason}{detail}"


def _view(certificate, tags):
    if not certificate:
        return {}
    return {
        "certificate_arn": certificate.get("CertificateArn"),
        "domain_name": certificate.get("DomainName"),
        "subject_alternative_names": sorted(certificate.get("SubjectAlternativeNames") or []),
        "status": certificate.get("Status"),
        "tags": tags,
    }


def _desired_view(params, current, tags):
    want = {
        "domain_name": _normalize(params["domain_name"]),
        "subject_alternative_names": _names(params),
        "status": current.get("Status") if current else "PENDING_VALIDATION",
        "tags": tags,
    }
    if current:
        want["certificate_arn"] = current.get("CertificateArn")
    return want


def _wait(describe, ready, timeout, sleep=time.sleep, clock=time.monotonic):
    """Poll ``describe()`` until ``ready(state)`` is true, with a growing delay (1 s up to 15 s).

    Returns ``(ready, last_state, elapsed)``; ``ready`` is False on timeout. A state of None is never ready.
    """
    start = clock()
    delay = 1.0
    while True:
        state = describe()
        elapsed = clock() - start
        if state is not None and ready(state):
            return True, state, elapsed
        if elapsed >= timeout:
            return False, state, elapsed
        sleep(min(delay, max(timeout - elapsed, 0)))
        delay = min(delay * 1.5, 15.0)


# --- AWS calls: one small function per action --------------------------------------------------------------------


def _list_arns(module, client, domain):
    """ARNs of the ACM-issued certificates whose main name is ``domain``, whatever their status or key type."""
    try:
        paginator = client.get_paginator("list_certificates")
        summaries = paginator.paginate().build_full_result().get("CertificateSummaryList", [])
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        module.fail_json_aws(e, msg="Failed to list ACM certificates")
    return [s["CertificateArn"] for s in summaries if _normalize(s.get("DomainName")) == domain]


def _describe(module, client, arn, missing_ok=False):
    try:
        return client.describe_certificate(aws_retry=True, CertificateArn=arn)["Certificate"]
    except is_boto3_error_code("ResourceNotFoundException"):
        if missing_ok:
            return None
        module.fail_json(msg=f"ACM certificate {arn} does not exist")
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:  # pylint: disable=duplicate-except
        module.fail_json_aws(e, msg=f"Failed to describe ACM certificate {arn}")


def _tags(module, client, arn):
    try:
        return boto3_tag_list_to_ansible_dict(
            client.list_tags_for_certificate(aws_retry=True, CertificateArn=arn).get("Tags") or []
        )
    except is_boto3_error_code("ResourceNotFoundException"):
        return {}
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:  # pylint: disable=duplicate-except
        module.fail_json_aws(e, msg=f"Failed to list the tags of ACM certificate {arn}")


def _candidates(module, client, params):
    """(described certificate, tags) of every certificate with exactly the requested names."""
    found = []
    for arn in _list_arns(module, client, _normalize(params["domain_name"])):
        certificate = _describe(module, client, arn, missing_ok=True)
        if certificate and _matches(certificate, params):
            found.append((certificate, _tags(module, client, arn)))
    return found


def _request(module, client, params, tags):
    kwargs = {
        "DomainName": _normalize(params["domain_name"]),
        "ValidationMethod": "DNS",
        "IdempotencyToken": _identity(params),
        "Tags": ansible_dict_to_boto3_tag_list(tags),
    }
    alternative = [n for n in _names(params) if n != kwargs["DomainName"]]
    if alternative:
        kwargs["SubjectAlternativeNames"] = [kwargs["DomainName"], *alternative]
    try:
        return client.request_certificate(aws_retry=True, **kwargs)["CertificateArn"]
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        module.fail_json_aws(e, msg=f"Failed to request an ACM certificate for {', '.join(_names(params))}")


def _retag(module, client, arn, current, want):
    to_add, to_remove = compare_aws_tags(current, want, purge_tags=True)
    if not (to_add or to_remove):
        return False
    if module.check_mode:
        return True
    try:
        if to_remove:
            client.remove_tags_from_certificate(
                aws_retry=True, CertificateArn=arn, Tags=[{"Key": key, "Value": current[key]} for key in to_remove]
            )
        if to_add:
            client.add_tags_to_certificate(
                aws_retry=True, CertificateArn=arn, Tags=ansible_dict_to_boto3_tag_list(to_add)
            )
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        module.fail_json_aws(e, msg=f"Failed to tag ACM certificate {arn}")
    return True


def _delete(module, client, certificate):
    arn = certificate["CertificateArn"]
    try:
        client.delete_certificate(aws_retry=True, CertificateArn=arn)
    except is_boto3_error_code("ResourceNotFoundException"):
        return
    except is_boto3_error_code("ResourceInUseException") as e:  # pylint: disable=duplicate-except
        module.fail_json_aws(e, msg=f"ACM certificate {arn} is in use; remove it from its users first")
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:  # pylint: disable=duplicate-except
        module.fail_json_aws(e, msg=f"Failed to delete ACM certificate {arn}")


def _result(certificate, tags):
    if not certificate:
        return {}
    result = camel_dict_to_snake_dict(certificate)
    result["tags"] = tags
    return result


# --- main: describe -> compare -> act ----------------------------------------------------------------------------


def _absent(module, client, params):
    identity = _identity(params)
    ours = [c for c, tags in _candidates(module, client, params) if tags.get(REQUEST_TAG) == identity]
    users = {c["CertificateArn"]: _live_users(module, c.get("InUseBy") or []) for c in ours}
    in_use = "; ".join(f"{arn} by {', '.join(live)}" for arn, live in users.items() if live)
    if in_use:
        module.fail_json(msg=f"ACM certificate in use, remove it from its users first: {in_use}")
    records = {}
    for certificate in ours:
        for record in _validation_records(certificate) or []:
            records[(record["name"].lower(), record["type"])] = record
    deleted = [c["CertificateArn"] for c in ours]
    if ours and not module.check_mode:
        # ACM forgets a deleted listener a little later: retry while it still says "in use".
        retrying = module.client(
            "acm",
            retry_decorator=AWSRetry.jittered_backoff(retries=10, catch_extra_error_codes=["ResourceInUseException"]),
        )
        for certificate in ours:
            _delete(module, retrying, certificate)
    before = _view(ours[0], {}) if ours else {}
    module.exit_json(
        changed=bool(ours),
        certificate={},
        certificate_arn="",
        status="",
        validation_records=[records[key] for key in sorted(records)],
        deleted=deleted,
        diff={"before": before, "after": {}},
    )


def _user_kind(arn):
    """'listener' or 'load_balancer' for an Elastic Load Balancing ARN in InUseBy; 'other' for anything else."""
    parts = arn.split(":", 5)
    if len(parts) < 6 or parts[2] != "elasticloadbalancing":
        return "other"
    if parts[5].startswith("listener/"):
        return "listener"
    if parts[5].startswith("loadbalancer/app/") or parts[5].startswith("loadbalancer/net/"):
        return "load_balancer"
    return "other"


def _live_users(module, arns):
    """The users in InUseBy that still exist: a deleted listener can linger there for a while (and forever on some
    emulators). Users other than ALB/NLB listeners and load balancers are taken at their word."""
    if not arns:
        return []
    elbv2 = module.client("elbv2", retry_decorator=AWSRetry.jittered_backoff())
    live = []
    for arn in arns:
        kind = _user_kind(arn)
        try:
            if kind == "listener":
                elbv2.describe_listeners(aws_retry=True, ListenerArns=[arn])
            elif kind == "load_balancer":
                elbv2.describe_load_balancers(aws_retry=True, LoadBalancerArns=[arn])
        except is_boto3_error_code(["ListenerNotFound", "LoadBalancerNotFound"]):
            continue
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:  # pylint: disable=duplicate-except
            module.fail_json_aws(e, msg=f"Failed to check whether {arn} still uses the certificate")
        live.append(arn)
    return live


def _wait_for_records(module, client, arn, timeout):
    def describe():
        return _describe(module, client, arn, missing_ok=True)  # a new ARN can take a moment to be readable

    published, certificate, elapsed = _wait(describe, lambda c: _validation_records(c) is not None, timeout)
    if not published:
        module.fail_json(
            msg=(
                f"ACM has not published the DNS validation record of every name of {arn} after {int(elapsed)} s "
                "(validation_records_timeout)"
            ),
            certificate=camel_dict_to_snake_dict(certificate or {}),
        )
    return certificate


def _wait_for_issued(module, client, arn, timeout, tags):
    def settled(certificate):
        return _issue_verdict(certificate) != "pending"

    _settled, certificate, elapsed = _wait(lambda: _describe(module, client, arn), settled, timeout)
    verdict = _issue_verdict(certificate)
    if verdict == "failed":
        module.fail_json(msg=_failure_message(certificate), certificate=_result(certificate, tags))
    if verdict == "pending":
        module.fail_json(
            msg=f"{_failure_message(certificate)}; still not ISSUED after {int(elapsed)} s (wait_timeout). "
            "Are the validation records in the zone that the domain is delegated to?",
            certificate=_result(certificate, tags),
        )
    return certificate


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            domain_name=dict(type="str", required=True),
            subject_alternative_names=dict(type="list", elements="str", default=[]),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            validation_records_timeout=dict(type="int", default=120),
            wait=dict(type="bool", default=False),
            wait_timeout=dict(type="int", default=900),
            tags=dict(type="dict", aliases=["resource_tags"]),
            purge_tags=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    params = module.params
    errors = _validate(params)
    if errors:
        module.fail_json(msg="; ".join(errors))

    client = module.client("acm", retry_decorator=AWSRetry.jittered_backoff())
    if params["state"] == "absent":
        _absent(module, client, params)

    current, current_tags = _choose(_candidates(module, client, params), _identity(params))
    if current is None:
        tags = _desired_tags(params, None)
        diff = {"before": {}, "after": _desired_view(params, None, tags)}
        if module.check_mode:
            module.exit_json(
                changed=True, certificate={}, certificate_arn="", status="", validation_records=[], deleted=[],
                diff=diff,
            )  # fmt: skip
        arn = _request(module, client, params, tags)
        changed = True
    else:
        arn = current["CertificateArn"]
        tags = _desired_tags(params, current_tags)
        changed = _retag(module, client, arn, current_tags, tags)
        diff = {"before": _view(current, current_tags), "after": _desired_view(params, current, tags)}

    if module.check_mode:
        module.exit_json(
            changed=changed, certificate=_result(current, tags), certificate_arn=arn, status=current.get("Status"),
            validation_records=_validation_records(current) or [], deleted=[], diff=diff if changed else {},
        )  # fmt: skip

    certificate = _wait_for_records(module, client, arn, params["validation_records_timeout"])
    if params["wait"]:
        certificate = _wait_for_issued(module, client, arn, params["wait_timeout"], tags)
    module.exit_json(
        changed=changed,
        certificate=_result(certificate, tags),
        certificate_arn=arn,
        status=certificate.get("Status"),
        validation_records=_validation_records(certificate) or [],
        deleted=[],
        diff=diff if changed else {},
    )


if __name__ == "__main__":
    main()
