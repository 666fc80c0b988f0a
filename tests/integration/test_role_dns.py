"""The dns role (shipyard.fargate.dns) against the emulator over HTTP.

check -> apply -> re-apply -> verify with boto3 (alias A and AAAA to the load balancer, in a zone found by name),
dual-stack switched off, destroy (twice), and bad input refused naming the option.
"""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.stack
APPLY = "tests/integration/playbooks/dns_apply.yml"
DESTROY = "tests/integration/playbooks/dns_destroy.yml"


@pytest.fixture
def dns(unique_name, tmp_path, run_playbook):
    """``dns(APPLY, "--check", dns_dual_stack=False)`` with this test's names; destroyed at the end."""
    base = {
        "dns_test_name": unique_name,
        "dns_zone_name": f"{unique_name}.example.test",
        "dns_record_name": f"web.{unique_name}.example.test",
        "dns_create_zone": True,
        "dns_dual_stack": True,
    }
    count = [0]

    def run(playbook: str, *args: str, **overrides):
        count[0] += 1
        extra = tmp_path / f"vars-{count[0]}.json"
        extra.write_text(json.dumps({**base, **overrides}))
        return run_playbook(playbook, "-e", f"@{extra}", *args)

    run.name = unique_name
    run.zone = base["dns_zone_name"]
    run.record = base["dns_record_name"]
    yield run
    cleanup = run(DESTROY)
    assert cleanup.returncode == 0, cleanup.output


def _failure(output: str) -> str:
    return output[min(output.find(mark) % (len(output) + 1) for mark in ("failed: [", "fatal: [")) :]


def _zones(aws, name):
    zones = aws("route53").list_hosted_zones_by_name(DNSName=name)["HostedZones"]
    return [z for z in zones if z["Name"] == f"{name}."]


def _records(aws, zone_id, name):
    sets = aws("route53").list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
    return {r["Type"]: r for r in sets if r["Name"] == f"{name}."}


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


@pytest.mark.parametrize(
    ("overrides", "option"),
    [
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
