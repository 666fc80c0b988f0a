"""The dns role's option rules (plugins/module_utils/validation/dns.py): zone, record and certificate names."""

from __future__ import annotations

import pytest
from ansible_collections.shipyard.fargate.plugins.module_utils.validation import dns as rules

VALID = {
    "dns_zone_name": "shop.test",
    "dns_record_name": "web.shop.test",
    "dns_state": "present",
    "dns_load_balancer_dns_name": "stack-123.us-east-1.elb.amazonaws.com",
    "dns_load_balancer_hosted_zone_id": "Z35SXDOTRQ7X7K",
    "dns_certificate_request": False,
    "dns_certificate_domain": "shop.test",
    "dns_certificate_alternative_names": ["*.shop.test"],
    "dns_certificate_wait_timeout": 300,
    "ansible_check_mode": False,
}
CERTIFICATE = {"dns_certificate_request": True}


def errors(**overrides):
    return rules.dns_errors({**VALID, **overrides})


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({}, id="defaults"),
        pytest.param({"dns_record_name": "shop.test"}, id="apex"),
        pytest.param({"dns_record_name": "*.shop.test"}, id="wildcard-record"),
        pytest.param({"dns_zone_name": "Shop.Test.", "dns_record_name": "WEB.shop.test."}, id="case-and-dot"),
        pytest.param({"dns_record_name": ("a" * 63 + ".") * 3 + "shop.test"}, id="label-63"),
        pytest.param({"dns_record_name": ("a" * 60 + ".") * 4 + "shop.test"}, id="name-253"),
        pytest.param(
            {"dns_state": "absent", "dns_load_balancer_dns_name": None, "dns_load_balancer_hosted_zone_id": None},
            id="absent",
        ),
        pytest.param(
            {"ansible_check_mode": True, "dns_load_balancer_dns_name": "", "dns_load_balancer_hosted_zone_id": None},
            id="check-mode-no-load-balancer-yet",
        ),
        pytest.param({**CERTIFICATE}, id="certificate"),
        pytest.param(
            {
                **CERTIFICATE,
                "dns_certificate_domain": "*.shop.test",
                "dns_certificate_alternative_names": ["shop.test", "api.shop.test."],
            },
            id="certificate-wildcard",
        ),
        pytest.param({**CERTIFICATE, "dns_certificate_domain": "a" * 54 + ".shop.test"}, id="certificate-domain-64"),
        pytest.param(
            {**CERTIFICATE, "dns_certificate_alternative_names": [f"n{i}.shop.test" for i in range(99)]},
            id="certificate-100-names",
        ),
        pytest.param({**CERTIFICATE, "dns_certificate_wait_timeout": 1}, id="timeout-1"),
        pytest.param({"dns_certificate_domain": "elsewhere.test"}, id="no-certificate-ignores-its-options"),
    ],
)
def test_valid_options_pass(overrides):
    assert errors(**overrides) == []


@pytest.mark.parametrize(
    ("overrides", "option"),
    [
        pytest.param({"dns_zone_name": "shop"}, "dns_zone_name", id="zone-one-label"),
        pytest.param({"dns_zone_name": "not a domain"}, "dns_zone_name", id="zone-space"),
        pytest.param({"dns_record_name": "web_1.shop.test"}, "dns_record_name", id="label-underscore"),
        pytest.param(
            {"dns_zone_name": "*.shop.test", "dns_record_name": "*.shop.test"}, "dns_zone_name", id="zone-wildcard"
        ),
        pytest.param({"dns_record_name": "web..shop.test"}, "dns_record_name", id="malformed-domain"),
        pytest.param({"dns_record_name": "-web.shop.test"}, "dns_record_name", id="label-leading-dash"),
        pytest.param({"dns_record_name": "a" * 64 + ".shop.test"}, "dns_record_name", id="label-64"),
        pytest.param({"dns_record_name": "a" + ("a" * 60 + ".") * 4 + "shop.test"}, "dns_record_name", id="name-254"),
        pytest.param({"dns_record_name": "web.elsewhere.test"}, "dns_record_name", id="record-outside-zone"),
        pytest.param({"dns_record_name": "webshop.test"}, "dns_record_name", id="record-suffix-not-label"),
        pytest.param({"dns_load_balancer_dns_name": None}, "dns_load_balancer_dns_name", id="no-load-balancer"),
        pytest.param({"dns_load_balancer_dns_name": "not a name"}, "dns_load_balancer_dns_name", id="lb-name-shape"),
        pytest.param(
            {"dns_load_balancer_hosted_zone_id": "zone1"}, "dns_load_balancer_hosted_zone_id", id="hosted-zone-id"
        ),
        pytest.param(
            {"dns_load_balancer_hosted_zone_id": None}, "dns_load_balancer_hosted_zone_id", id="no-hosted-zone-id"
        ),
        pytest.param(
            {**CERTIFICATE, "dns_certificate_domain": "shop..test"},
            "dns_certificate_domain",
            id="certificate-domain-shape",
        ),
        pytest.param(
            {**CERTIFICATE, "dns_certificate_domain": "a" * 55 + ".shop.test"},
            "dns_certificate_domain",
            id="certificate-domain-65",
        ),
        pytest.param(
            {**CERTIFICATE, "dns_certificate_domain": "shop.elsewhere.test"},
            "dns_certificate_domain",
            id="certificate-outside-the-zone",
        ),
        pytest.param(
            {**CERTIFICATE, "dns_certificate_alternative_names": ["*.*.shop.test"]},
            "dns_certificate_alternative_names",
            id="certificate-double-wildcard",
        ),
        pytest.param(
            {**CERTIFICATE, "dns_certificate_alternative_names": ["api.elsewhere.test"]},
            "dns_certificate_alternative_names",
            id="alternative-outside-the-zone",
        ),
        pytest.param(
            {**CERTIFICATE, "dns_certificate_alternative_names": [f"n{i}.shop.test" for i in range(100)]},
            "dns_certificate_alternative_names",
            id="certificate-101-names",
        ),
        pytest.param(
            {**CERTIFICATE, "dns_certificate_wait_timeout": 0}, "dns_certificate_wait_timeout", id="timeout-0"
        ),
    ],
)
def test_invalid_options_are_refused_naming_the_option(overrides, option):
    found = errors(**overrides)
    assert [m for m in found if option in m], found


def test_the_certificate_entry_point_checks_only_the_certificate():
    options = {**VALID, "dns_record_name": "bad..name", "dns_certificate_domain": "shop.elsewhere.test"}
    found = rules.certificate_errors(options)
    assert len(found) == 1
    assert found[0].startswith("dns_certificate_domain 'shop.elsewhere.test' is not inside dns_zone_name")


@pytest.mark.parametrize(
    ("name", "max_length", "problem"),
    [
        pytest.param("shop.test", 64, None, id="plain"),
        pytest.param("*.shop.test", 64, None, id="wildcard"),
        pytest.param("a" * 55 + ".shop.test", 64, "is longer than 64 characters", id="65"),
        pytest.param("a" * 54 + ".shop.test", 64, None, id="64"),
        pytest.param("", 64, "an empty name", id="empty"),
        pytest.param("web.*.shop.test", 253, "a wildcard must be the whole first label", id="inner-wildcard"),
        pytest.param("*.test", 253, "a wildcard needs a domain of two labels at least", id="wildcard-one-label"),
        pytest.param("web_1.shop.test", 253, "is not a domain name", id="underscore"),
    ],
)
def test_certificate_names_shared_with_the_acm_module(name, max_length, problem):
    found = rules.certificate_name_problem("subject_alternative_names", name, max_length)
    if problem is None:
        assert found is None
    else:
        assert found.startswith("subject_alternative_names: ")
        assert problem in found
