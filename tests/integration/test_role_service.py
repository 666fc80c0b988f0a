"""Role shipyard.fargate.service against the emulator over HTTP: the secret value never in the output (even at
-vvv) nor in the task definition.

The role's lifecycle (check, apply, re-apply, every setting read back, a bigger size with auto scaling, auto
scaling off, state absent with and without the logs) is its Molecule scenario's: extensions/molecule/service/.
"""

from __future__ import annotations

import contextlib
import json
import uuid

import pytest

pytestmark = pytest.mark.stack
PLAYBOOK = "tests/integration/playbooks/service_role.yml"
DEPLOY_PLAYBOOK = "tests/integration/playbooks/service_deploy.yml"  # the deploy entry point alone
SERVICE = "web"  # the inventory host, and the service's name


def _facts(output: str) -> dict:
    line = output.split("SERVICE_FACTS=", 1)[1]
    raw = line.split("'\n", 1)[0].replace("\n", " ")
    return json.loads(" ".join(raw.split()))


@pytest.fixture
def service(unique_name, aws, role_runner):
    """Prerequisites made with boto3 (cluster, VPC, subnet, security group, target group, role, secret with a
    random value), and ``service(*args, **overrides)`` running the role for them. Everything is removed after."""
    ecs, ec2, elb, iam, sm = aws("ecs"), aws("ec2"), aws("elbv2"), aws("iam"), aws("secretsmanager")
    secret_value = f"postgresql://app:{uuid.uuid4().hex}@db.example.invalid:5432/app"
    made: dict[str, str] = {}
    family = f"{unique_name}-{SERVICE}"  # task definition families are account-wide: one per test
    ecs.create_cluster(
        clusterName=unique_name,
        capacityProviders=["FARGATE", "FARGATE_SPOT"],
        defaultCapacityProviderStrategy=[{"capacityProvider": "FARGATE", "weight": 1}],
    )
    made["vpc"] = ec2.create_vpc(CidrBlock="10.42.0.0/16")["Vpc"]["VpcId"]
    made["subnet"] = ec2.create_subnet(VpcId=made["vpc"], CidrBlock="10.42.1.0/24")["Subnet"]["SubnetId"]
    made["sg"] = ec2.create_security_group(VpcId=made["vpc"], GroupName=unique_name, Description="tasks")["GroupId"]
    made["tg"] = elb.create_target_group(
        Name=unique_name, Protocol="HTTP", Port=3000, VpcId=made["vpc"], TargetType="ip"
    )["TargetGroups"][0]["TargetGroupArn"]
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    made["role"] = iam.create_role(RoleName=f"{unique_name}-exec", AssumeRolePolicyDocument=json.dumps(trust))["Role"][
        "Arn"
    ]
    made["secret"] = sm.create_secret(Name=unique_name, SecretString=json.dumps({"DATABASE_URL": secret_value}))["ARN"]

    run_vars = {
        "service_name": SERVICE,
        "service_cluster_name": unique_name,
        "service_family": family,
        "service_image": "127.0.0.1:29050/shipyard/web:1.0.0",
        "service_execution_role_arn": made["role"],
        "service_subnet_ids": [made["subnet"]],
        "service_security_group_ids": [made["sg"]],
        "service_target_group_arn": made["tg"],
        "service_environment": {"NODE_ENV": "production", "PORT": 3000},
        "service_secrets_value_from": {"DATABASE_URL": f"{made['secret']}:DATABASE_URL::"},
        "service_log_group_name": f"/ecs/{unique_name}/{SERVICE}",
        "service_tags": {"shipyard:stack": unique_name},
        "service_release_command": [],  # the inventory's migration step needs a pushed image: not this test's
    }
    run = role_runner(PLAYBOOK, run_vars)
    run.cluster = unique_name
    run.family = family
    run.deploy = role_runner(DEPLOY_PLAYBOOK, run_vars)
    run.made = made
    run.secret_value = secret_value
    run.log_group = f"/ecs/{unique_name}/{SERVICE}"
    yield run

    # Cleanup, whatever the test left behind.
    logs = aws("logs")
    with contextlib.suppress(ecs.exceptions.ServiceNotFoundException, ecs.exceptions.ClientException):
        ecs.delete_service(cluster=unique_name, service=SERVICE, force=True)
    for arn in ecs.list_task_definitions(familyPrefix=family)["taskDefinitionArns"]:
        ecs.deregister_task_definition(taskDefinition=arn)
    with contextlib.suppress(logs.exceptions.ResourceNotFoundException):
        logs.delete_log_group(logGroupName=run.log_group)
    elb.delete_target_group(TargetGroupArn=made["tg"])
    ec2.delete_security_group(GroupId=made["sg"])
    ec2.delete_subnet(SubnetId=made["subnet"])
    ec2.delete_vpc(VpcId=made["vpc"])
    iam.delete_role(RoleName=f"{unique_name}-exec")
    sm.delete_secret(SecretId=unique_name, ForceDeleteWithoutRecovery=True)
    with contextlib.suppress(ecs.exceptions.ClientException):
        ecs.delete_cluster(cluster=unique_name)


def _task_definition(aws, ref):
    return aws("ecs").describe_task_definition(taskDefinition=ref)["taskDefinition"]


def test_secret_value_never_in_output_nor_task_definition(service, aws):
    run = service("-vvv")
    assert run.returncode == 0, run.output
    assert service.secret_value not in run.output
    td = _task_definition(aws, _facts(run.output)["arn"])
    assert service.secret_value not in json.dumps(td)
    (container,) = td["containerDefinitions"]
    assert "DATABASE_URL" not in {e["name"] for e in container["environment"]}
    assert all(set(s) == {"name", "valueFrom"} and s["valueFrom"].startswith("arn:") for s in container["secrets"])


def test_the_deploy_entry_point_alone_rolls_a_new_image_out_and_then_changes_nothing(service, aws):
    """tasks_from: deploy without deploy.yml: it checks its options and looks the service up itself (no look-up handed
    in), registers the new image's revision, moves the service to it; the same image again changes nothing."""
    created = service()
    assert created.returncode == 0, created.output
    first = _facts(created.output)["arn"]

    image = "127.0.0.1:29050/shipyard/web:1.0.1"
    deployed = service.deploy(service_image=image)
    assert deployed.returncode == 0, deployed.output
    arn = _facts(deployed.output)["arn"]
    assert arn != first
    assert [c["image"] for c in _task_definition(aws, arn)["containerDefinitions"]] == [image]
    running = aws("ecs").describe_services(cluster=service.cluster, services=[SERVICE])["services"][0]
    assert running["taskDefinition"] == arn

    again = service.deploy(service_image=image)
    assert again.returncode == 0, again.output
    assert "changed=0" in again.output, again.output
    assert _facts(again.output)["arn"] == arn


def test_the_deploy_entry_point_alone_refuses_a_service_that_does_not_exist(service):
    missing = service.deploy(service_image="127.0.0.1:29050/shipyard/web:1.0.1")
    assert missing.returncode != 0
    assert f"The ECS service {SERVICE} does not exist in the cluster {service.cluster}" in " ".join(
        missing.output.split()
    )
