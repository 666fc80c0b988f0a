"""The dns role (shipyard.fargate.dns) against the emulator over HTTP.

check -> apply -> re-apply -> verify with boto3 (alias A and AAAA to the load balancer, in a zone found by name),
dual-stack switched off, destroy (twice), and bad input refused naming the option. With dns_certificate_request: an
ACM certificate for the zone and its wildcard, its one validation CNAME in the zone, the load balancer's HTTPS
listener using it, and the records (and the certificate, when asked) gone after destroy.

The emulator (moto 5.2) returns the validation records at once and reports a DNS-validated certificate ISSUED
MOTO_ACM_VALIDATION_WAIT seconds after the request, whatever the zone holds: moto's default is 60, a stack that the
test session starts uses tests/conftest.py's ACM_VALIDATION_WAIT (a few seconds). So what ACM says a while after the
run depends on that setting; what the role reported (dns_certificate_status, in ``fact``) does not.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.stack
APPLY = "tests/integration/playbooks/dns_apply.yml"
DESTROY = "tests/integration/playbooks/dns_destroy.yml"


@pytest.fixture
def dns(unique_name, role_runner):
    """``dns(APPLY, "--check", dns_dual_stack=False)`` with this test's names; destroyed at the end."""
    base = {
        "dns_test_name": unique_name,
        "dns_zone_name": f"{unique_name}.example.test",
        "dns_record_name": f"web.{unique_name}.example.test",
        "dns_create_zone": True,
        "dns_dual_stack": True,
    }
    playbooks = {APPLY: role_runner(APPLY, base), DESTROY: role_runner(DESTROY, base)}

    def run(playbook: str, *args: str, **overrides):
        return playbooks[playbook](*args, **overrides)

    run.name = unique_name
    run.zone = base["dns_zone_name"]
    run.record = base["dns_record_name"]
    yield run
    cleanup = run(DESTROY, dns_certificate_request=True)  # also removes a certificate a test requested
    assert cleanup.returncode == 0, cleanup.output


def _failure(output: str) -> str:
    return output[min(output.find(mark) % (len(output) + 1) for mark in ("failed: [", "fatal: [")) :]


def _zones(aws, name):
    zones = aws("route53").list_hosted_zones_by_name(DNSName=name)["HostedZones"]
    return [z for z in zones if z["Name"] == f"{name}."]


def _records(aws, zone_id, name):
    sets = aws("route53").list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
    return {r["Type"]: r for r in sets if r["Name"] == f"{name}."}


def _certificates(aws, domain):
    acm = aws("acm")
    arns = [c["CertificateArn"] for c in acm.list_certificates()["CertificateSummaryList"] if c["DomainName"] == domain]
    return [acm.describe_certificate(CertificateArn=arn)["Certificate"] for arn in arns]


def _cnames(aws, zone_name):
    zones = _zones(aws, zone_name)
    if not zones:
        return {}
    sets = aws("route53").list_resource_record_sets(HostedZoneId=zones[0]["Id"])["ResourceRecordSets"]
    return {r["Name"]: [v["Value"] for v in r["ResourceRecords"]] for r in sets if r["Type"] == "CNAME"}


def _load_balancer(aws, name):
    (lb,) = [lb for lb in aws("elbv2").describe_load_balancers()["LoadBalancers"] if lb["LoadBalancerName"] == name]
    return lb


def test_check_mode_on_empty_creates_nothing(dns, aws):
    run = dns(APPLY, "--check")
    assert run.returncode == 0, run.output
    assert run.recap()["web"]["changed"] >= 4, run.output  # VPC, group, load balancer, zone, records
    assert _zones(aws, dns.zone) == []


def test_apply_reapply_and_alias_records(dns, aws):
    first = dns(APPLY)
    assert first.returncode == 0, first.output
    second = dns(APPLY)
    assert second.returncode == 0, second.output
    assert second.recap()["web"]["changed"] == 0, second.output

    (zone,) = _zones(aws, dns.zone)
    assert zone["Config"]["PrivateZone"] is False
    records = _records(aws, zone["Id"], dns.record)
    assert sorted(records) == ["A", "AAAA"]
    lb = _load_balancer(aws, dns.name)
    for record in records.values():
        alias = record["AliasTarget"]
        assert alias["DNSName"].rstrip(".") == lb["DNSName"]
        assert alias["HostedZoneId"] == lb["CanonicalHostedZoneId"]
        assert alias["EvaluateTargetHealth"] is True
        assert "TTL" not in record

    # Dual-stack switched off: the AAAA record goes, the A record stays.
    single = dns(APPLY, dns_dual_stack=False)
    assert single.returncode == 0, single.output
    assert sorted(_records(aws, zone["Id"], dns.record)) == ["A"]


def test_destroy_removes_records_and_zone_and_is_idempotent(dns, aws):
    assert dns(APPLY).returncode == 0
    first = dns(DESTROY)
    assert first.returncode == 0, first.output
    assert _zones(aws, dns.zone) == []
    second = dns(DESTROY)
    assert second.returncode == 0, second.output
    assert second.recap()["web"]["changed"] == 0, second.output


def test_a_zone_that_does_not_exist_is_refused_naming_the_option(dns, aws):
    run = dns(APPLY, dns_create_zone=False, dns_test_skip_load_balancer=True,
              dns_load_balancer_dns_name="stand-in-1.us-east-1.elb.amazonaws.com",
              dns_load_balancer_hosted_zone_id="Z35SXDOTRQ7X7K")  # fmt: skip
    assert run.returncode != 0
    failure = _failure(run.output)
    assert "dns_zone_name" in failure, run.output
    assert "no public Route53 hosted zone has that name" in run.output, run.output
    assert _zones(aws, dns.zone) == []


def test_certificate_is_requested_validated_in_the_zone_and_used_by_the_https_listener(dns, aws):
    first = dns(APPLY, dns_certificate_request=True)
    assert first.returncode == 0, first.output
    second = dns(APPLY, dns_certificate_request=True)
    assert second.returncode == 0, second.output
    assert second.recap()["web"]["changed"] == 0, second.output

    (certificate,) = _certificates(aws, dns.zone)
    assert certificate["Status"] == "ISSUED"  # dns_certificate_wait (default true) waited for it
    assert sorted(certificate["SubjectAlternativeNames"]) == sorted([dns.zone, f"*.{dns.zone}"])
    tags = {
        t["Key"]: t["Value"]
        for t in aws("acm").list_tags_for_certificate(CertificateArn=certificate["CertificateArn"])["Tags"]
    }
    assert tags["Name"] == dns.zone
    assert "shipyard:certificate-request" in tags

    # The apex and the wildcard share one validation record: exactly one CNAME, with ACM's name and value.
    wanted = {
        o["ResourceRecord"]["Name"]: [o["ResourceRecord"]["Value"]] for o in certificate["DomainValidationOptions"]
    }
    assert len(wanted) == 1
    assert _cnames(aws, dns.zone) == wanted

    # The load balancer's HTTPS listener presents it (load_balancer_certificate_arn defaults to dns_certificate_arn).
    lb = _load_balancer(aws, dns.name)
    listeners = aws("elbv2").describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]
    (https,) = [listener for listener in listeners if listener["Protocol"] == "HTTPS"]
    assert [c["CertificateArn"] for c in https["Certificates"]] == [certificate["CertificateArn"]]

    gone = dns(DESTROY, dns_certificate_request=True)
    assert gone.returncode == 0, gone.output
    assert _certificates(aws, dns.zone) == []
    assert _zones(aws, dns.zone) == []
    again = dns(DESTROY, dns_certificate_request=True)
    assert again.returncode == 0, again.output
    assert again.recap()["web"]["changed"] == 0, again.output


# The dns role without the load balancer (whose HTTPS listener would need the certificate's ARN, which check mode
# does not have: provision.yml puts a stand-in there), the certificate not waited for.
ALONE = {
    "dns_test_skip_load_balancer": True,
    "dns_load_balancer_dns_name": "stand-in-1.us-east-1.elb.amazonaws.com",
    "dns_load_balancer_hosted_zone_id": "Z35SXDOTRQ7X7K",
    "dns_certificate_request": True,
    "dns_certificate_wait": False,
}


def test_certificate_check_mode_requests_nothing(dns, aws):
    run = dns(APPLY, "--check", **ALONE)
    assert run.returncode == 0, run.output
    assert "Would write the DNS validation records" in run.output
    assert _certificates(aws, dns.zone) == []
    assert _zones(aws, dns.zone) == []


def test_destroy_keeps_the_certificate_unless_asked_but_removes_its_records(dns, aws):
    applied = dns(APPLY, **ALONE)
    assert applied.returncode == 0, applied.output
    (certificate,) = _certificates(aws, dns.zone)
    # Not waited for: the role reports the status of the request itself, never ISSUED (which only a wait would see:
    # the emulator issues a few seconds after the request, so ACM's status by now depends on the machine's speed).
    assert applied.fact == {"arn": certificate["CertificateArn"], "status": "PENDING_VALIDATION"}
    assert len(_cnames(aws, dns.zone)) == 1

    kept = dns(DESTROY, **ALONE, dns_certificate_delete=False)
    assert kept.returncode == 0, kept.output
    assert _zones(aws, dns.zone) == []  # its validation record went first, so the zone could go
    assert [c["CertificateArn"] for c in _certificates(aws, dns.zone)] == [certificate["CertificateArn"]]


@pytest.mark.parametrize(
    ("overrides", "option"),
    [
        (
            {"dns_certificate_request": True, "dns_certificate_alternative_names": ["*.*.{{ dns_zone_name }}"]},
            "dns_certificate_alternative_names",
        ),
        (
            {"dns_certificate_request": True, "dns_certificate_alternative_names": ["www.elsewhere.test"]},
            "dns_certificate_alternative_names",
        ),
        ({"dns_certificate_request": True, "dns_certificate_domain": "elsewhere.test"}, "dns_certificate_domain"),
        ({"dns_record_name": "web..example.test"}, "dns_record_name"),
        ({"dns_record_name": "-web.example.test"}, "dns_record_name"),
        ({"dns_record_name": "web_1.example.test"}, "dns_record_name"),
        ({"dns_record_name": "web.elsewhere.test"}, "dns_record_name"),
        ({"dns_zone_name": "not a domain"}, "dns_zone_name"),
        ({"dns_load_balancer_hosted_zone_id": "not-a-zone"}, "dns_load_balancer_hosted_zone_id"),
    ],
)
def test_bad_input_is_refused_naming_the_option(dns, aws, overrides, option):
    run = dns(APPLY, dns_test_skip_load_balancer=True, **{
        "dns_load_balancer_dns_name": "stand-in-1.us-east-1.elb.amazonaws.com",
        "dns_load_balancer_hosted_zone_id": "Z35SXDOTRQ7X7K", **overrides})  # fmt: skip
    assert run.returncode != 0
    assert option in _failure(run.output), run.output
    assert "Find the public hosted zone by name" not in run.output  # refused before any AWS call
    assert _zones(aws, dns.zone) == []
