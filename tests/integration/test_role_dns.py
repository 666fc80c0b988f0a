"""The dns role (shipyard.fargate.dns) against the emulator over HTTP: a refused input.

The role's lifecycle (check, apply, re-apply, alias records, dual-stack off, the ACM certificate validated in the zone
and used by the HTTPS listener, a certificate kept or deleted, destroy) is the Molecule scenario
extensions/molecule/dns/ (docs/testing/moved-molecule-cluster-dns-iam-load_balancer-network.md).
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


def test_a_zone_that_does_not_exist_is_refused_naming_the_option(dns, aws):
    run = dns(APPLY, dns_create_zone=False, dns_test_skip_load_balancer=True,
              dns_load_balancer_dns_name="stand-in-1.us-east-1.elb.amazonaws.com",
              dns_load_balancer_hosted_zone_id="Z35SXDOTRQ7X7K")  # fmt: skip
    assert run.returncode != 0
    failure = _failure(run.output)
    assert "dns_zone_name" in failure, run.output
    assert "no public Route53 hosted zone has that name" in run.output, run.output
    assert _zones(aws, dns.zone) == []
