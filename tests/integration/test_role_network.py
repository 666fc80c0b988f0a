"""The network role (shipyard.fargate.network) against the emulator over HTTP.

check -> apply -> re-apply -> verify with boto3 -> destroy (twice), an existing VPC found by tags, the NAT gateway
option, and bad input refused before any AWS call, naming the option.
"""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.stack
APPLY = "tests/integration/playbooks/network_apply.yml"
DESTROY = "tests/integration/playbooks/network_destroy.yml"


@pytest.fixture
def network(unique_name, tmp_path, role_runner):
    """``network(APPLY, "--check", network_nat_gateway=True)``: a run with this test's names; destroyed at the end."""
    base = {
        "network_name": unique_name,
        "network_create_vpc": True,
        "network_tags": {"shipyard:stack": unique_name},
        "network_service_name": f"{unique_name}-web",
        "network_service_container_port": 3000,
        "network_test_facts_file": str(tmp_path / "facts.json"),
    }
    playbooks = {APPLY: role_runner(APPLY, base), DESTROY: role_runner(DESTROY, base)}
    runs = []

    def run(playbook: str, *args: str, **overrides):
        result = playbooks[playbook](*args, **overrides)
        if result.returncode == 0:  # cleanup repeats the runs that could have made something
            runs.append(overrides)
        return result

    run.name = unique_name
    yield run
    for overrides in reversed([{}, *runs]):
        cleanup = run(DESTROY, **overrides)
        assert cleanup.returncode == 0, cleanup.output


def _facts(tmp_path) -> dict:
    return json.loads((tmp_path / "facts.json").read_text())


def _failure(output: str) -> str:
    """The output from the first failed task on: what the user reads to learn what was wrong."""
    return output[min(output.find(mark) % (len(output) + 1) for mark in ("failed: [", "fatal: [")) :]


def _vpcs(aws, name):
    return aws("ec2").describe_vpcs(Filters=[{"Name": "tag:Name", "Values": [f"{name}-vpc"]}])["Vpcs"]


def _groups(aws, *names):
    groups = aws("ec2").describe_security_groups(Filters=[{"Name": "group-name", "Values": list(names)}])
    return groups["SecurityGroups"]


def test_check_mode_on_empty_creates_nothing(network, aws, tmp_path):
    run = network(APPLY, "--check")
    assert run.returncode == 0, run.output
    assert run.recap()["web"]["changed"] == 3, run.output  # VPC, load balancer group, service group
    assert _vpcs(aws, network.name) == []
    assert _groups(aws, f"{network.name}-load-balancer", f"{network.name}-web") == []
    assert _facts(tmp_path)["network_vpc_id"] is None


def test_apply_reapply_and_settings(network, aws, tmp_path):
    first = network(APPLY)
    assert first.returncode == 0, first.output
    second = network(APPLY)
    assert second.returncode == 0, second.output
    assert second.recap()["web"]["changed"] == 0, second.output

    facts = _facts(tmp_path)
    (vpc,) = _vpcs(aws, network.name)
    assert facts["network_vpc_id"] == vpc["VpcId"]
    assert vpc["CidrBlock"] == "10.42.0.0/16"
    ec2 = aws("ec2")
    subnets = {s["SubnetId"]: s for s in ec2.describe_subnets(SubnetIds=facts["network_public_subnet_ids"])["Subnets"]}
    assert [subnets[i]["CidrBlock"] for i in facts["network_public_subnet_ids"]] == ["10.42.0.0/24", "10.42.1.0/24"]
    assert len({s["AvailabilityZone"] for s in subnets.values()}) == 2
    private = ec2.describe_subnets(SubnetIds=facts["network_private_subnet_ids"])["Subnets"]
    assert sorted(s["CidrBlock"] for s in private) == ["10.42.10.0/24", "10.42.11.0/24"]

    # Public subnets route to the internet gateway; private ones have no default route (no NAT by default).
    tables = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["RouteTables"]
    names = {tag["Value"]: t for t in tables for tag in t.get("Tags", []) if tag["Key"] == "Name"}
    public_routes = {r.get("DestinationCidrBlock"): r for r in names[f"{network.name}-public"]["Routes"]}
    assert public_routes["0.0.0.0/0"]["GatewayId"].startswith("igw-")
    assert "0.0.0.0/0" not in {r.get("DestinationCidrBlock") for r in names[f"{network.name}-private"]["Routes"]}

    (lb,) = _groups(aws, f"{network.name}-load-balancer")
    assert facts["network_load_balancer_security_group_id"] == lb["GroupId"]
    assert sorted(p["FromPort"] for p in lb["IpPermissions"]) == [80, 443]
    assert {r["CidrIp"] for p in lb["IpPermissions"] for r in p["IpRanges"]} == {"0.0.0.0/0"}
    assert [r["CidrIp"] for p in lb["IpPermissionsEgress"] for r in p["IpRanges"]] == ["10.42.0.0/16"]

    # The service's group admits the load balancer's group only, on the container port only.
    (svc,) = _groups(aws, f"{network.name}-web")
    assert facts["network_service_security_group_id"] == svc["GroupId"]
    (rule,) = svc["IpPermissions"]
    assert (rule["FromPort"], rule["ToPort"], rule["IpRanges"]) == (3000, 3000, [])
    assert [pair["GroupId"] for pair in rule["UserIdGroupPairs"]] == [lb["GroupId"]]


def test_destroy_removes_everything_and_is_idempotent(network, aws):
    assert network(APPLY).returncode == 0
    first = network(DESTROY)
    assert first.returncode == 0, first.output
    assert _vpcs(aws, network.name) == []
    assert _groups(aws, f"{network.name}-load-balancer", f"{network.name}-web") == []
    second = network(DESTROY)
    assert second.returncode == 0, second.output
    assert second.recap()["web"]["changed"] == 0, second.output


def test_nat_gateway_option_routes_private_subnets(network, aws):
    run = network(APPLY, network_nat_gateway=True)
    assert run.returncode == 0, run.output
    again = network(APPLY, network_nat_gateway=True)
    assert again.recap()["web"]["changed"] == 0, again.output
    ec2 = aws("ec2")
    (vpc,) = _vpcs(aws, network.name)
    (nat,) = ec2.describe_nat_gateways(Filter=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["NatGateways"]
    tables = ec2.describe_route_tables(Filters=[{"Name": "tag:Name", "Values": [f"{network.name}-private"]}])
    routes = {r.get("DestinationCidrBlock"): r for r in tables["RouteTables"][0]["Routes"]}
    assert routes["0.0.0.0/0"]["NatGatewayId"] == nat["NatGatewayId"]

    gone = network(DESTROY)
    assert gone.returncode == 0, gone.output
    states = {n["State"] for n in ec2.describe_nat_gateways(NatGatewayIds=[nat["NatGatewayId"]])["NatGateways"]}
    assert states <= {"deleted", "deleting"}
    assert nat["NatGatewayAddresses"][0]["AllocationId"] not in {
        a["AllocationId"] for a in ec2.describe_addresses()["Addresses"]
    }


def test_existing_vpc_found_by_tags_is_used_not_changed(network, aws, tmp_path):
    ec2 = aws("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.99.0.0/16")["Vpc"]["VpcId"]
    azs = [z["ZoneName"] for z in ec2.describe_availability_zones()["AvailabilityZones"]][:2]
    made = []
    try:
        for tier, cidrs in (("public", ["10.99.0.0/24", "10.99.1.0/24"]), ("private", ["10.99.10.0/24"])):
            for cidr, az in zip(cidrs, azs, strict=False):
                subnet = ec2.create_subnet(VpcId=vpc, CidrBlock=cidr, AvailabilityZone=az)["Subnet"]["SubnetId"]
                ec2.create_tags(Resources=[subnet], Tags=[{"Key": "tier", "Value": f"{network.name}-{tier}"}])
                made.append(subnet)
        ec2.create_tags(Resources=[vpc], Tags=[{"Key": "owner", "Value": network.name}])
        existing = {
            "network_create_vpc": False,
            "network_existing_vpc_tags": {"owner": network.name},
            "network_existing_public_subnet_tags": {"tier": f"{network.name}-public"},
            "network_existing_private_subnet_ids": [made[2]],
        }
        run = network(APPLY, **existing)
        assert run.returncode == 0, run.output
        facts = _facts(tmp_path)
        assert facts["network_vpc_id"] == vpc
        assert facts["network_public_subnet_ids"] == sorted(made[:2])
        assert facts["network_private_subnet_ids"] == [made[2]]
        (lb,) = _groups(aws, f"{network.name}-load-balancer")
        assert lb["VpcId"] == vpc
        # Destroying removes only what the stack owns: the groups, never the existing VPC or subnets.
        gone = network(DESTROY, **existing)
        assert gone.returncode == 0, gone.output
        assert _groups(aws, f"{network.name}-load-balancer", f"{network.name}-web") == []
        assert len(ec2.describe_subnets(SubnetIds=made)["Subnets"]) == 3
    finally:
        for subnet in made:
            ec2.delete_subnet(SubnetId=subnet)
        ec2.delete_vpc(VpcId=vpc)


@pytest.mark.parametrize(
    ("overrides", "option"),
    [
        ({"network_service_container_port": 70000}, "network_service_container_port"),
        ({"network_service_container_port": 0}, "network_service_container_port"),
        ({"network_vpc_cidr": "10.0.0.0/8"}, "network_vpc_cidr"),
        ({"network_public_subnet_cidrs": ["10.42.0.0/24"]}, "network_public_subnet_cidrs"),
        ({"network_load_balancer_ingress_cidrs": ["10.1.2.3"]}, "network_load_balancer_ingress_cidrs"),
        ({"network_load_balancer_ports": [80, 65536]}, "network_load_balancer_ports"),
        ({"network_create_vpc": False}, "network_existing_vpc_id"),
        ({"network_name": "bad name!"}, "network_name"),
    ],
)
def test_bad_input_is_refused_naming_the_option(network, aws, overrides, option):
    run = network(APPLY, **overrides)
    assert run.returncode != 0
    assert option in _failure(run.output), run.output
    if option != "network_service_container_port":  # main's checks run before any AWS call
        assert "Find the VPC by id or tags" not in run.output, run.output
        assert _vpcs(aws, network.name) == []
    else:  # the service's checks run before the service's group is made
        assert _groups(aws, f"{network.name}-web") == []
