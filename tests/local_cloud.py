"""A small cloud for tests of the local ECS engine and of the rollout module: VPC, cluster, target group.

Task definitions carry ``SHIPYARD_SIMULATE`` (see ``shipyard_local.cloud.runners.simulated``), so stories are
quick and deterministic. Target groups use 5 s health checks, thresholds of 2 and a 3 s deregistration delay.
``wait_for`` polls the API for a state, with generous limits (no wall-clock assertions).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
WAIT = 180.0


def wait_for(what: str, probe, timeout: float = WAIT, every: float = 0.5):
    """Poll ``probe()`` until it returns something truthy; fail with the last value seen."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(every)
    pytest.fail(f"timed out waiting for {what}; last seen: {last!r}")


class Cloud:
    """One isolated cluster + target group for a test (names from ``unique_name``)."""

    def __init__(self, aws, name: str) -> None:
        self.ecs, self.elb, self.ec2 = aws("ecs"), aws("elbv2"), aws("ec2")
        self.secrets = aws("secretsmanager")
        self.name = self.cluster = name
        vpc = self.ec2.create_vpc(CidrBlock="10.40.0.0/16")["Vpc"]["VpcId"]
        self.subnet = self.ec2.create_subnet(VpcId=vpc, CidrBlock="10.40.1.0/24")["Subnet"]["SubnetId"]
        self.group = self.ec2.create_security_group(GroupName=name, Description="tasks", VpcId=vpc)["GroupId"]
        self.ecs.create_cluster(clusterName=name)
        self.target_group = self.elb.create_target_group(
            Name=name, Protocol="HTTP", Port=8080, VpcId=vpc, TargetType="ip", HealthCheckPath="/health",
            HealthCheckIntervalSeconds=5, HealthCheckTimeoutSeconds=2, HealthyThresholdCount=2,
            UnhealthyThresholdCount=2,
        )["TargetGroups"][0]["TargetGroupArn"]  # fmt: skip
        self.elb.modify_target_group_attributes(
            TargetGroupArn=self.target_group, Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": "3"}]
        )

    def task_definition(self, simulate: str, secrets: list[dict] | None = None, image: str = "web:1") -> str:
        container = {
            "name": "app",
            "image": image,
            "essential": True,
            "portMappings": [{"containerPort": 8080}],
            "environment": [{"name": "SHIPYARD_SIMULATE", "value": simulate}],
            "secrets": secrets or [],
        }
        return self.ecs.register_task_definition(
            family=self.name, networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256", memory="512",
            containerDefinitions=[container],
        )["taskDefinition"]["taskDefinitionArn"]  # fmt: skip

    def create_service(
        self,
        task_definition: str,
        count: int = 2,
        rollback: bool = True,
        breaker: bool = True,
        minimum: int = 100,
        maximum: int = 200,
    ) -> dict:
        return self.ecs.create_service(
            cluster=self.cluster, serviceName="web", taskDefinition=task_definition, desiredCount=count,
            launchType="FARGATE",
            networkConfiguration={"awsvpcConfiguration": {"subnets": [self.subnet], "securityGroups": [self.group]}},
            loadBalancers=[{"targetGroupArn": self.target_group, "containerName": "app", "containerPort": 8080}],
            healthCheckGracePeriodSeconds=0,
            deploymentConfiguration={
                "deploymentCircuitBreaker": {"enable": breaker, "rollback": rollback},
                "maximumPercent": maximum,
                "minimumHealthyPercent": minimum,
            },
        )["service"]  # fmt: skip

    def service(self) -> dict:
        return self.ecs.describe_services(cluster=self.cluster, services=["web"])["services"][0]

    def tasks(self, desired: str = "RUNNING", **filters) -> list[dict]:
        arns = self.ecs.list_tasks(cluster=self.cluster, desiredStatus=desired, **filters)["taskArns"]
        return self.ecs.describe_tasks(cluster=self.cluster, tasks=arns)["tasks"] if arns else []

    def targets(self) -> dict[str, dict]:
        found = self.elb.describe_target_health(TargetGroupArn=self.target_group)["TargetHealthDescriptions"]
        return {item["Target"]["Id"]: item["TargetHealth"] for item in found}

    def settled(self) -> dict | None:
        """The service once one deployment is left and it is COMPLETED."""
        service = self.service()
        deployments = service["deployments"]
        return service if len(deployments) == 1 and deployments[0]["rolloutState"] == "COMPLETED" else None

    def failed(self) -> dict | None:
        """The service once its newest deployment FAILED."""
        service = self.service()
        return service if service["deployments"][0]["rolloutState"] == "FAILED" else None

    def messages(self) -> list[str]:
        return [event["message"] for event in self.service()["events"]]
