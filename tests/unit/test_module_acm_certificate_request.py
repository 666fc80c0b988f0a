"""shipyard.fargate.acm_certificate_request: names, identity, which certificate to use, records, waiting."""

from __future__ import annotations

import datetime

import pytest
from ansible_collections.shipyard.fargate.plugins.modules import acm_certificate_request as module

ARN = "arn:aws:acm:us-east-1:123456789012:certificate/"
# What DescribeCertificate returned for example.test + *.example.test (moto 5.2, shaped like AWS): the apex and the
# wildcard share one validation record.
PENDING = {
    "CertificateArn": ARN + "1",
    "DomainName": "example.test",
    "SubjectAlternativeNames": ["*.example.test", "example.test"],
    "Status": "PENDING_VALIDATION",
    "Type": "AMAZON_ISSUED",
    "InUseBy": [],
    "CreatedAt": datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC),
    "DomainValidationOptions": [
        {
            "DomainName": "*.example.test",
            "ValidationDomain": "*.example.test",
            "ValidationStatus": "PENDING_VALIDATION",
            "ValidationMethod": "DNS",
            "ResourceRecord": {
                "Name": "_d930b28be6c5927595552b219965053e.example.test.",
                "Type": "CNAME",
                "Value": "_c9edd76ee4a0e2a74388032f3861cc50.ykybfrwcxw.acm-validations.aws.",
            },
        },
        {
            "DomainName": "example.test",
            "ValidationDomain": "example.test",
            "ValidationStatus": "PENDING_VALIDATION",
            "ValidationMethod": "DNS",
            "ResourceRecord": {
                "Name": "_d930b28be6c5927595552b219965053e.example.test.",
                "Type": "CNAME",
                "Value": "_c9edd76ee4a0e2a74388032f3861cc50.ykybfrwcxw.acm-validations.aws.",
            },
        },
    ],
}


def cert(**overrides):
    return {**PENDING, **overrides}


def params(**overrides):
    base = {
        "domain_name": "example.test",
        "subject_alternative_names": ["*.example.test"],
        "state": "present",
        "validation_records_timeout": 120,
        "wait": False,
        "wait_timeout": 900,
        "tags": None,
        "purge_tags": True,
    }
    base.update(overrides)
    return base


# --- names ---------------------------------------------------------------------------------------------------------


def test_good_names_pass():
    assert module._validate(params(domain_name="Example.Test.", subject_alternative_names=["*.a.example.test"])) == []


@pytest.mark.parametrize(
    ("overrides", "option", "fragment"),
    [
        ({"domain_name": "web..example.test"}, "domain_name", "not a domain name"),
        ({"domain_name": "-web.example.test"}, "domain_name", "not a domain name"),
        ({"domain_name": "web_1.example.test"}, "domain_name", "not a domain name"),
        ({"domain_name": ""}, "domain_name", "empty"),
        ({"domain_name": "a" * 60 + ".test"}, "domain_name", "longer than 64"),
        ({"domain_name": "*.com"}, "domain_name", "two labels"),
        ({"subject_alternative_names": ["*.*.example.test"]}, "subject_alternative_names", "whole first label"),
        ({"subject_alternative_names": ["w*.example.test"]}, "subject_alternative_names", "whole first label"),
        ({"subject_alternative_names": ["web.*.example.test"]}, "subject_alternative_names", "whole first label"),
        ({"subject_alternative_names": ["not a name"]}, "subject_alternative_names", "not a domain name"),
        (
            {"subject_alternative_names": [f"h{i}.example.test" for i in range(100)]},
            "subject_alternative_names",
            "101 names",
        ),
        ({"wait_timeout": -1}, "wait_timeout", "0 or more"),
    ],
)
def test_bad_input_is_refused_naming_the_option(overrides, option, fragment):
    errors = module._validate(params(**overrides))
    assert len(errors) == 1, errors
    assert errors[0].startswith(option), errors
    assert fragment in errors[0]


def test_a_long_alternative_name_is_allowed_where_the_main_name_is_not():
    long_name = "a" * 60 + ".example.test"
    assert module._validate(params(subject_alternative_names=[long_name])) == []
    assert module._validate(params(domain_name=long_name))[0].startswith("domain_name")


def test_names_are_normalized_sorted_and_deduplicated():
    p = params(
        domain_name="Example.Test.", subject_alternative_names=["example.test", "*.EXAMPLE.test", "*.example.test"]
    )
    assert module._names(p) == ["*.example.test", "example.test"]


def test_identity_depends_on_the_names_only_not_their_order_or_case():
    one = module._identity(params(subject_alternative_names=["b.example.test", "a.example.test"]))
    two = module._identity(
        params(domain_name="EXAMPLE.test.", subject_alternative_names=["a.example.test", "b.example.test"])
    )
    other = module._identity(params(subject_alternative_names=["a.example.test"]))
    assert one == two != other
    assert len(one) == 32  # IdempotencyToken: \w+, 32 characters at most
    assert one.isalnum()


def test_the_main_name_is_part_of_the_identity():
    swapped = params(domain_name="*.example.test", subject_alternative_names=["example.test"])
    assert module._names(swapped) == module._names(params())
    assert module._identity(swapped) != module._identity(params())


# --- tags ------------------------------------------------------------------------------------------------------------


def test_new_certificate_gets_name_and_identifying_tag():
    tags = module._desired_tags(params(tags={"shipyard:stack": "shop"}), None)
    assert tags == {"shipyard:stack": "shop", "Name": "example.test", module.REQUEST_TAG: module._identity(params())}


def test_purge_keeps_name_and_identifying_tag_and_drops_the_rest():
    current = {"Name": "custom", "old": "x", module.REQUEST_TAG: "stale"}
    tags = module._desired_tags(params(tags={"new": "y"}), current)
    assert tags == {"new": "y", "Name": "custom", module.REQUEST_TAG: module._identity(params())}


def test_without_tags_an_adopted_certificate_keeps_its_tags_and_gains_the_identifying_one():
    tags = module._desired_tags(params(), {"team": "web"})
    assert tags == {"team": "web", "Name": "example.test", module.REQUEST_TAG: module._identity(params())}


# --- which certificate -------------------------------------------------------------------------------------------


def test_matches_only_the_same_names_of_an_acm_issued_certificate():
    assert module._matches(PENDING, params())
    assert not module._matches(PENDING, params(subject_alternative_names=[]))
    assert not module._matches(PENDING, params(subject_alternative_names=["*.example.test", "www.example.test"]))
    assert not module._matches(cert(Type="IMPORTED"), params())
    assert not module._matches(cert(DomainName="*.example.test"), params())


@pytest.mark.parametrize("status", ["FAILED", "VALIDATION_TIMED_OUT", "REVOKED", "EXPIRED", "INACTIVE"])
def test_dead_certificates_are_ignored(status):
    assert module._choose([(cert(Status=status), {})], "id") == (None, None)


def test_an_email_validated_pending_certificate_is_ignored():
    email = cert(DomainValidationOptions=[{"DomainName": "example.test", "ValidationMethod": "EMAIL"}])
    assert module._choose([(email, {})], "id") == (None, None)
    assert module._choose([(cert(Status="ISSUED", DomainValidationOptions=email["DomainValidationOptions"]), {})], "id")


def test_our_certificate_is_preferred_then_issued_then_newest():
    ours = cert(CertificateArn=ARN + "ours")
    issued = cert(CertificateArn=ARN + "issued", Status="ISSUED")
    newer = cert(CertificateArn=ARN + "newer", CreatedAt=datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC))
    failed_ours = cert(CertificateArn=ARN + "failed", Status="FAILED")
    tagged = {module.REQUEST_TAG: "id"}
    chosen, tags = module._choose([(failed_ours, tagged), (issued, {}), (ours, tagged), (newer, {})], "id")
    assert (chosen["CertificateArn"], tags) == (ARN + "ours", tagged)
    chosen, _ = module._choose([(newer, {}), (issued, {})], "id")
    assert chosen["CertificateArn"] == ARN + "issued"
    chosen, _ = module._choose([(PENDING, {}), (newer, {})], "id")
    assert chosen["CertificateArn"] == ARN + "newer"


# --- validation records and readiness ----------------------------------------------------------------------------


def test_the_wildcard_and_the_apex_share_one_record():
    assert module._validation_records(PENDING) == [
        {
            "name": "_d930b28be6c5927595552b219965053e.example.test.",
            "type": "CNAME",
            "value": "_c9edd76ee4a0e2a74388032f3861cc50.ykybfrwcxw.acm-validations.aws.",
        }
    ]


def test_records_are_not_ready_while_any_name_lacks_its_record():
    options = [dict(PENDING["DomainValidationOptions"][0]), {"DomainName": "example.test", "ValidationMethod": "DNS"}]
    assert module._validation_records(cert(DomainValidationOptions=options)) is None
    assert module._validation_records(cert(DomainValidationOptions=[])) is None


def test_distinct_names_give_distinct_records_sorted_by_name():
    options = [
        {
            "DomainName": n,
            "ResourceRecord": {"Name": f"_x.{n}.", "Type": "CNAME", "Value": f"_v.{n}.acm-validations.aws."},
        }
        for n in ("www.example.test", "api.example.test")
    ]
    names = [r["name"] for r in module._validation_records(cert(DomainValidationOptions=options))]
    assert names == ["_x.api.example.test.", "_x.www.example.test."]


@pytest.mark.parametrize(
    ("status", "verdict"),
    [("ISSUED", "issued"), ("PENDING_VALIDATION", "pending"), ("FAILED", "failed"), ("VALIDATION_TIMED_OUT", "failed")],
)
def test_issue_verdict(status, verdict):
    assert module._issue_verdict(cert(Status=status)) == verdict


def test_failure_message_names_status_reason_and_the_names_not_validated():
    failed = cert(Status="FAILED", FailureReason="CAA_ERROR")
    message = module._failure_message(failed)
    assert "is FAILED: CAA_ERROR" in message
    assert "*.example.test: PENDING_VALIDATION" in message


def test_wait_returns_the_first_ready_state_with_growing_delays(clock):
    states = iter([None, cert(DomainValidationOptions=[]), PENDING])
    ready, state, elapsed = module._wait(
        lambda: next(states), lambda c: module._validation_records(c) is not None, 60, clock.sleep, clock
    )
    assert (ready, state, elapsed) == (True, PENDING, 2.5)
    assert clock.sleeps == [1.0, 1.5]


def test_wait_times_out_with_the_last_state(clock):
    ready, state, elapsed = module._wait(lambda: PENDING, lambda c: c["Status"] == "ISSUED", 30, clock.sleep, clock)
    assert (ready, state["Status"]) == (False, "PENDING_VALIDATION")
    assert elapsed == 30
    assert max(clock.sleeps) <= 15


@pytest.mark.parametrize(
    ("arn", "kind"),
    [
        (
            "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/shop/50dc6c495c0c9188/f2f7dc8efc522ab2",
            "listener",
        ),
        ("arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/shop/50dc6c495c0c9188", "load_balancer"),
        ("arn:aws:cloudfront::123456789012:distribution/EDFDVBD6EXAMPLE", "other"),
        ("not-an-arn", "other"),
    ],
)
def test_user_kind(arn, kind):
    assert module._user_kind(arn) == kind
