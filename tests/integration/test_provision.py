"""playbooks/provision.yml and destroy.yml over the whole local inventory (two services), against the emulator.

From an empty account: check mode plans and creates nothing; provision creates every resource with its settings
(read back through the AWS API); a second run reports changed=0 for every host; no secret value appears in the
output at -vvv nor in a task definition's environment; destroy leaves nothing of ours (ECR and secrets kept
unless asked) and a second destroy changes nothing. Bad input stops in the pre-flight, naming the variable,
before any AWS call.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.stack
SERVICES = ("web", "api")


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """A stack name, a DNS zone and a copy of the local inventory of its own; secrets with random values."""
    name = f"pt{uuid.uuid4().hex[:8]}"
    inventory = tmp_path_factory.mktemp("inventory") / "local"
    shutil.copytree(REPO / "inventories" / "local", inventory)
    secrets = {host: f"s3cr3t-{uuid.uuid4().hex}" for host in SERVICES}
    for host, value in secrets.items():
        host_file = inventory / "host_vars" / f"{host}.yml"
        host_vars = yaml.safe_load(host_file.read_text())
        host_vars["shipyard_service_secrets"] = {"DATABASE_URL": f"postgresql://app:{value}@db.invalid/app"}
        host_file.write_text(yaml.safe_dump(host_vars))
    (inventory / "group_vars" / "all" / "zz_test.yml").write_text(
        yaml.safe_dump({"shipyard_stack_name": name, "dns_zone_name": f"{name}.test"})
    )
    return {"name": name, "inventory": inventory, "secrets": secrets}


def _ours(aws, name):
    """Every resource of the stack the AWS API still shows, by kind (empty lists: nothing left)."""
    ec2, ecs, elb = aws("ec2"), aws("ecs"), aws("elbv2")
    tag = [{"Name": "tag:shipyard:stack", "Values": [name]}]

    def named(items, key, prefix):
        return [item[key] for item in items if item[key].startswith(prefix)]

    clusters = ecs.describe_clusters(clusters=[name])["clusters"]
    zones = aws("route53").list_hosted_zones()["HostedZones"]
    return {
        "vpcs": [v["VpcId"] for v in ec2.describe_vpcs(Filters=tag)["Vpcs"]],
        "security_groups": [g["GroupId"] for g in ec2.describe_security_groups(Filters=tag)["SecurityGroups"]],
        "clusters": [c["clusterArn"] for c in clusters if c["status"] == "ACTIVE"],
        "load_balancers": [
            lb["LoadBalancerArn"]
            for lb in elb.describe_load_balancers()["LoadBalancers"]
            if lb["LoadBalancerName"] == name
        ],
        "target_groups": named(elb.describe_target_groups()["TargetGroups"], "TargetGroupName", f"{name}-"),
        "roles": named(aws("iam").list_roles()["Roles"], "RoleName", f"{name}-"),
        "zones": [z["Id"] for z in zones if z["Name"] == f"{name}.test."],
        "repositories": named(aws("ecr").describe_repositories()["repositories"], "repositoryName", f"{name}/"),
        "secrets": named(aws("secretsmanager").list_secrets()["SecretList"], "Name", f"{name}/"),
    }


@pytest.fixture(scope="module")
def runs(stack, run_playbook, aws):
    """check (empty account) -> provision at -vvv -> provision again; kept for the tests below."""
    inventory = str(stack["inventory"])
    before = _ours(aws, stack["name"])
    check = run_playbook("playbooks/provision.yml", "-i", inventory, "--check")
    after_check = _ours(aws, stack["name"])
    first = run_playbook("playbooks/provision.yml", "-i", inventory, "-vvv")
    second = run_playbook("playbooks/provision.yml", "-i", inventory)
    return {"before": before, "check": check, "after_check": after_check, "first": first, "second": second}


def test_check_mode_on_an_empty_account_plans_everything_and_creates_nothing(runs):
    assert not any(runs["before"].values()), runs["before"]
    assert runs["check"].returncode == 0, runs["check"].output[-5000:]
    recap = runs["check"].recap()
    assert all(recap[host]["changed"] > 0 for host in SERVICES), recap
    assert not any(runs["after_check"].values()), runs["after_check"]


def test_provision_then_reprovision_reports_no_change_for_any_host(runs):
    assert runs["first"].returncode == 0, runs["first"].output[-8000:]
    assert runs["second"].returncode == 0, runs["second"].output[-8000:]
    recap = runs["second"].recap()
    assert {host: recap[host]["changed"] for host in SERVICES} == dict.fromkeys(SERVICES, 0), runs["second"].output[
        -8000:
    ]


def test_every_resource_has_its_settings(runs, stack, aws):
    name = stack["name"]
    ours = _ours(aws, name)
    assert len(ours["vpcs"]) == 1
    assert sorted(ours["target_groups"]) == sorted(f"{name}-{h}" for h in SERVICES)
    assert sorted(ours["repositories"]) == sorted(f"{name}/{h}" for h in SERVICES)
    assert sorted(ours["secrets"]) == sorted(f"{name}/{h}" for h in SERVICES)
    assert len(ours["roles"]) == 4  # execution + task role per service

    ec2, ecs, elb = aws("ec2"), aws("ecs"), aws("elbv2")
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": ours["vpcs"]}])["Subnets"]
    assert len(subnets) == 4
    assert len({s["AvailabilityZone"] for s in subnets}) == 2

    lb = elb.describe_load_balancers(Names=[name])["LoadBalancers"][0]
    assert lb["Scheme"] == "internet-facing"
    listeners = elb.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]
    assert [listener["Port"] for listener in listeners] == [80]  # the local inventory is HTTP only
    rules = elb.describe_rules(ListenerArn=listeners[0]["ListenerArn"])["Rules"]
    hosts = sorted(
        (c.get("HostHeaderConfig") or c)["Values"][0]
        for r in rules
        for c in r["Conditions"]
        if c["Field"] == "host-header"
    )
    assert hosts == sorted(f"{h}.{name}.test" for h in SERVICES)

    for host in SERVICES:
        service = ecs.describe_services(cluster=name, services=[host])["services"][0]
        assert service["desiredCount"] == 2
        assert service["launchType"] == "FARGATE"
        network = service["networkConfiguration"]["awsvpcConfiguration"]
        assert network["assignPublicIp"] == "DISABLED"
        assert service["deploymentConfiguration"]["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}
        assert service["loadBalancers"][0]["containerPort"] == 3000
        task_definition = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])["taskDefinition"]
        assert (task_definition["cpu"], task_definition["memory"]) == ("512", "1024")
        container = task_definition["containerDefinitions"][0]
        assert [s["name"] for s in container["secrets"]] == ["DATABASE_URL"]
        assert container["secrets"][0]["valueFrom"].endswith(":DATABASE_URL::")
        assert all(stack["secrets"][host] not in str(e) for e in container.get("environment", []))

        group = ec2.describe_security_groups(GroupIds=network["securityGroups"])["SecurityGroups"][0]
        assert [(p["FromPort"], p["ToPort"]) for p in group["IpPermissions"]] == [(3000, 3000)]
        assert group["IpPermissions"][0]["IpRanges"] == []  # only the load balancer's group, no CIDR

    zone = ours["zones"][0]
    records = aws("route53").list_resource_record_sets(HostedZoneId=zone)["ResourceRecordSets"]
    aliases = sorted(r["Name"] for r in records if r["Type"] == "A" and "AliasTarget" in r)
    assert aliases == sorted(f"{h}.{name}.test." for h in SERVICES)


def test_no_secret_value_in_any_output_even_at_vvv(runs, stack):
    for run in ("check", "first", "second"):
        for value in stack["secrets"].values():
            assert value not in runs[run].output, f"a secret value is in the output of the {run} run"


def test_destroy_leaves_nothing_of_ours_and_a_second_destroy_is_a_no_op(runs, stack, run_playbook, aws):
    inventory = str(stack["inventory"])
    destroyed = run_playbook("playbooks/destroy.yml", "-i", inventory)
    assert destroyed.returncode == 0, destroyed.output[-8000:]
    left = _ours(aws, stack["name"])
    kept = {kind: left.pop(kind) for kind in ("repositories", "secrets")}
    assert not any(left.values()), left
    assert len(kept["repositories"]) == len(kept["secrets"]) == 2  # data is kept unless asked

    again = run_playbook("playbooks/destroy.yml", "-i", inventory)
    assert again.returncode == 0, again.output[-8000:]
    assert {host: again.recap()[host]["changed"] for host in SERVICES} == dict.fromkeys(SERVICES, 0)

    wiped = run_playbook("playbooks/destroy.yml", "-i", inventory, "-e", "shipyard_destroy_data=true")
    assert wiped.returncode == 0, wiped.output[-8000:]
    assert "DELETES FOR GOOD" in wiped.output
    assert not any(_ours(aws, stack["name"]).values())
