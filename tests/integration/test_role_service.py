"""Role shipyard.fargate.service against the emulator over HTTP.

check -> apply -> re-apply -> verify with boto3; bad input refused before any AWS call, naming the variable;
the secret value never in the output (even at -vvv) nor in the task definition; change, scale, remove.
"""

from __future__ import annotations

import contextlib
import json
import uuid

import pytest

pytestmark = pytest.mark.stack
PLAYBOOK = "tests/integration/playbooks/service_role.yml"
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

    run = role_runner(
        PLAYBOOK,
        {
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
        },
    )
    run.cluster = unique_name
    run.family = family
    run.made = made
    run.secret_value = secret_value
    run.log_group = f"/ecs/{unique_name}/{SERVICE}"
    yield run

    # Cleanup, whatever the test left behind.
    aas, logs = aws("application-autoscaling"), aws("logs")
    resource = f"service/{unique_name}/{SERVICE}"
    for policy in aas.describe_scaling_policies(ServiceNamespace="ecs", ResourceId=resource)["ScalingPolicies"]:
        if policy["ResourceId"] == resource:
            with contextlib.suppress(aas.exceptions.ObjectNotFoundException, aas.exceptions.ValidationException):
                aas.delete_scaling_policy(
                    PolicyName=policy["PolicyName"],
                    ServiceNamespace="ecs",
                    ResourceId=resource,
                    ScalableDimension="ecs:service:DesiredCount",
                )
    with contextlib.suppress(aas.exceptions.ObjectNotFoundException, aas.exceptions.ValidationException):
        aas.deregister_scalable_target(
            ServiceNamespace="ecs", ResourceId=resource, ScalableDimension="ecs:service:DesiredCount"
        )
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


def _log_group(aws, name):
    groups = aws("logs").describe_log_groups(logGroupNamePrefix=name)["logGroups"]
    return next((g for g in groups if g["logGroupName"] == name), None)


def _active_service(aws, cluster):
    found = aws("ecs").describe_services(cluster=cluster, services=[SERVICE])["services"]
    return next((s for s in found if s["status"] == "ACTIVE"), None)


def _task_definition(aws, ref):
    return aws("ecs").describe_task_definition(taskDefinition=ref)["taskDefinition"]


def test_check_mode_on_empty_creates_nothing(service, aws):
    run = service("--check")
    assert run.returncode == 0, run.output
    assert run.recap()[SERVICE]["changed"] >= 3, run.output  # log group, task definition, service
    assert _facts(run.output)["service"]["exists"] is False
    assert _log_group(aws, service.log_group) is None
    assert aws("ecs").list_task_definitions(familyPrefix=service.family)["taskDefinitionArns"] == []
    assert _active_service(aws, service.cluster) is None


def test_apply_then_reapply_reports_no_change_and_configures_everything(service, aws):
    first = service()
    assert first.returncode == 0, first.output
    assert first.recap()[SERVICE]["changed"] >= 3, first.output
    second = service()
    assert second.returncode == 0, second.output
    assert second.recap()[SERVICE]["changed"] == 0, second.output
    facts = _facts(second.output)

    # Log group with the default retention (30 days).
    assert _log_group(aws, service.log_group)["retentionInDays"] == 30
    assert facts["log_group"] == service.log_group

    # Task definition: the team's reference size, Fargate, awsvpc, one essential container.
    td = _task_definition(aws, facts["arn"])
    assert facts["arn"] == td["taskDefinitionArn"]
    assert (td["cpu"], td["memory"]) == ("512", "1024")
    assert td["requiresCompatibilities"] == ["FARGATE"]
    assert td["networkMode"] == "awsvpc"
    assert td["executionRoleArn"] == service.made["role"]
    assert td["runtimePlatform"]["cpuArchitecture"] == "X86_64"
    (container,) = td["containerDefinitions"]
    assert container["essential"] is True
    assert container["image"] == "127.0.0.1:29050/shipyard/web:1.0.0"
    assert container["portMappings"] == [{"containerPort": 3000, "hostPort": 3000, "protocol": "tcp"}]
    assert {e["name"]: e["value"] for e in container["environment"]} == {"NODE_ENV": "production", "PORT": "3000"}
    assert container["secrets"] == [{"name": "DATABASE_URL", "valueFrom": f"{service.made['secret']}:DATABASE_URL::"}]
    assert container["logConfiguration"] == {
        "logDriver": "awslogs",
        "options": {
            "awslogs-group": service.log_group,
            "awslogs-region": "us-east-1",
            "awslogs-stream-prefix": "app",
        },
    }

    # Service: desired count, private networking, deployment safety, attached to the target group.
    svc = _active_service(aws, service.cluster)
    assert facts["service"] == {
        "name": SERVICE,
        "cluster": service.cluster,
        "exists": True,
        "arn": svc["serviceArn"],
        "task_definition": f"{service.family}:{td['revision']}",
        "desired_count": 2,
    }
    assert svc["desiredCount"] == 2
    assert svc["taskDefinition"].split("/")[-1] == f"{service.family}:{td['revision']}"
    assert svc["networkConfiguration"]["awsvpcConfiguration"] == {
        "subnets": [service.made["subnet"]],
        "securityGroups": [service.made["sg"]],
        "assignPublicIp": "DISABLED",
    }
    assert svc["deploymentConfiguration"] == {
        "deploymentCircuitBreaker": {"enable": True, "rollback": True},
        "maximumPercent": 200,
        "minimumHealthyPercent": 100,
    }
    attachment = {"targetGroupArn": service.made["tg"], "containerName": "app", "containerPort": 3000}
    assert svc["loadBalancers"] == [attachment]
    assert svc["healthCheckGracePeriodSeconds"] == 60
    assert svc["propagateTags"] == "SERVICE"
    assert svc.get("enableExecuteCommand", False) is False
    tags = aws("ecs").list_tags_for_resource(resourceArn=svc["serviceArn"])["tags"]
    assert {"key": "shipyard:stack", "value": service.cluster} in tags


def test_secret_value_never_in_output_nor_task_definition(service, aws):
    run = service("-vvv")
    assert run.returncode == 0, run.output
    assert service.secret_value not in run.output
    td = _task_definition(aws, _facts(run.output)["arn"])
    assert service.secret_value not in json.dumps(td)
    (container,) = td["containerDefinitions"]
    assert "DATABASE_URL" not in {e["name"] for e in container["environment"]}
    assert all(set(s) == {"name", "valueFrom"} and s["valueFrom"].startswith("arn:") for s in container["secrets"])


@pytest.mark.parametrize(
    ("overrides", "variable"),
    [
        ({"service_cpu": 256, "service_memory": 4096}, "service_memory"),
        ({"service_desired_count": -1}, "service_desired_count"),
        ({"service_container_port": 70000}, "service_container_port"),
        ({"service_image": "127.0.0.1:29050/shipyard/web:1.0 beta"}, "service_image"),
        ({"service_image": "127.0.0.1:29050/shipyard/web"}, "service_image"),  # neither tag nor digest
        ({"service_log_retention_days": 10}, "service_log_retention_days"),
        ({"service_environment": {"DATABASE_URL": "plain"}}, "service_environment"),
        ({"service_secrets_value_from": {"DATABASE_URL": "the-value-itself"}}, "service_secrets_value_from"),
    ],
    ids=["cpu-memory", "desired-count", "port", "image-space", "image-untagged", "retention", "env-clash", "not-arn"],
)
def test_bad_input_is_refused_before_any_aws_call(service, aws, overrides, variable):
    run = service(**overrides)
    assert run.returncode != 0, run.output
    failed = "\n".join(line for line in run.output.splitlines() if line.startswith("[ERROR]"))
    assert variable in failed, run.output
    if variable == "service_memory":
        assert "service_cpu" in failed  # the pair is named
    if "the-value-itself" in json.dumps(overrides):
        assert "the-value-itself" not in run.output  # the message names the variable, never the value
    assert _log_group(aws, service.log_group) is None  # stopped before the first AWS call
    assert aws("ecs").list_task_definitions(familyPrefix=service.family)["taskDefinitionArns"] == []


def test_changes_scaling_and_removal(service, aws):
    assert service().returncode == 0
    ecs, aas = aws("ecs"), aws("application-autoscaling")
    resource = f"service/{service.cluster}/{SERVICE}"

    # A new task size alone makes a new revision (the stock module would keep the old one).
    bigger = {
        "service_cpu": 1024,
        "service_memory": 2048,
        "service_autoscaling_enabled": True,
        "service_autoscaling_min_capacity": 2,
        "service_autoscaling_max_capacity": 6,
        "service_deployment_minimum_healthy_percent": 50,
    }
    changed = service(**bigger)
    assert changed.returncode == 0, changed.output
    assert service(**bigger).recap()[SERVICE]["changed"] == 0
    facts = _facts(changed.output)
    td = _task_definition(aws, facts["arn"])
    assert (td["cpu"], td["memory"], td["revision"]) == ("1024", "2048", 2)
    svc = _active_service(aws, service.cluster)
    assert svc["taskDefinition"].split("/")[-1] == f"{service.family}:2"
    assert svc["deploymentConfiguration"]["minimumHealthyPercent"] == 50
    (target,) = aas.describe_scalable_targets(ServiceNamespace="ecs", ResourceIds=[resource])["ScalableTargets"]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (2, 6)
    policies = [
        p
        for p in aas.describe_scaling_policies(ServiceNamespace="ecs", ResourceId=resource)["ScalingPolicies"]
        if p["ResourceId"] == resource
    ]
    assert [p["PolicyName"] for p in policies] == [f"{SERVICE}-cpu"]
    config = policies[0]["TargetTrackingScalingPolicyConfiguration"]
    assert config["TargetValue"] == 70.0
    assert config["PredefinedMetricSpecification"] == {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"}

    # Auto scaling off: its policy goes.
    off = service(**{**bigger, "service_autoscaling_enabled": False})
    assert off.returncode == 0, off.output
    remaining = aas.describe_scaling_policies(ServiceNamespace="ecs", ResourceId=resource)["ScalingPolicies"]
    assert [p for p in remaining if p["ResourceId"] == resource] == []

    # Absent: the service is deleted, every revision deregistered, the logs kept; then nothing left to do.
    gone = service(service_state="absent")
    assert gone.returncode == 0, gone.output
    assert _active_service(aws, service.cluster) is None
    assert ecs.list_task_definitions(familyPrefix=service.family)["taskDefinitionArns"] == []
    assert _log_group(aws, service.log_group) is not None
    again = service(service_state="absent")
    assert again.returncode == 0, again.output
    assert again.recap()[SERVICE]["changed"] == 0, again.output

    # ... and the logs go only when told.
    logs_too = service(service_state="absent", service_delete_log_group=True)
    assert logs_too.returncode == 0, logs_too.output
    assert _log_group(aws, service.log_group) is None
