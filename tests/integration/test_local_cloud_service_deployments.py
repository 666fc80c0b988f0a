"""The local cloud's ECS service deployment API over HTTP: the emulator serves ListServiceDeployments,
DescribeServiceDeployments, StopServiceDeployment and DescribeServiceRevisions from its engine, in botocore's shapes.

The stories (healthy update, circuit breaker rollback, superseded deployments, StopServiceDeployment, filters,
pages) are proven in-process on a virtual clock in ``tests/unit/test_local_cloud_deployments.py``; this one short
story checks the wiring and serialization over the wire (named apart from that module: pytest imports test modules
by basename). Task definitions carry ``SHIPYARD_SIMULATE``; one task.
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from local_cloud import Cloud, wait_for

from shipyard_local.cloud.shapes import answer_errors

pytestmark = pytest.mark.stack


def conforms(operation: str, response: dict) -> dict:
    """The parsed answer, checked against botocore's output shape (the engine's own dicts are checked in the unit
    tests, before serialization)."""
    errors = answer_errors("ecs", operation, response)
    assert errors == [], errors
    return response


def test_service_deployments_over_http_follow_create_update_supersede_and_a_stop_with_rollback(aws, unique_name):
    cloud = Cloud(aws, unique_name)
    ecs = cloud.ecs
    good = cloud.task_definition("start=1")
    cloud.create_service(good, count=1)

    def listed(**filters) -> list[dict]:
        answer = ecs.list_service_deployments(cluster=cloud.cluster, service="web", **filters)
        return conforms("ListServiceDeployments", answer)["serviceDeployments"]

    def described(*arns: str) -> dict:
        return conforms(
            "DescribeServiceDeployments", (ecs.describe_service_deployments(serviceDeploymentArns=list(arns)))
        )

    created = wait_for(
        "the first service deployment to succeed", lambda: [d for d in listed() if d["status"] == "SUCCESSFUL"]
    )[0]
    assert created["serviceDeploymentArn"].startswith(
        created["serviceArn"].replace(":service/", ":service-deployment/") + "/"
    )

    cloud.ecs.update_service(cluster=cloud.cluster, service="web", taskDefinition=cloud.task_definition("start=20"))
    cloud.ecs.update_service(cluster=cloud.cluster, service="web", taskDefinition=cloud.task_definition("start=20"))
    latest, superseded, first = listed()
    assert (superseded["status"], first["status"]) == ("STOPPED", "SUCCESSFUL")
    assert [d["serviceDeploymentArn"] for d in listed(status=["STOPPED"])] == [superseded["serviceDeploymentArn"]]

    stopped = ecs.stop_service_deployment(serviceDeploymentArn=latest["serviceDeploymentArn"], stopType="ROLLBACK")
    assert stopped["serviceDeploymentArn"] == latest["serviceDeploymentArn"]
    assert cloud.service()["taskDefinition"] == good

    def rolled_back():
        [item] = described(latest["serviceDeploymentArn"])["serviceDeployments"]
        return item if item["status"] in ("ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED") else None

    item = wait_for("the rollback to finish", rolled_back)
    assert item["status"] == "ROLLBACK_SUCCESSFUL"
    assert item["rollback"]["serviceRevisionArn"] == first["targetServiceRevisionArn"]
    assert first["targetServiceRevisionArn"] in [s["arn"] for s in item["sourceServiceRevisions"]]
    revisions = conforms(
        "DescribeServiceRevisions",
        (ecs.describe_service_revisions(serviceRevisionArns=[item["rollback"]["serviceRevisionArn"]])),
    )
    assert revisions["serviceRevisions"][0]["taskDefinition"] == good
    assert {t["taskDefinitionArn"] for t in cloud.tasks(serviceName="web")} == {good}

    missing = latest["serviceDeploymentArn"] + "x"
    assert described(missing)["failures"] == [{"arn": missing, "reason": "MISSING"}]
    for arn, code in (
        (missing, "ServiceDeploymentNotFoundException"),
        (item["serviceDeploymentArn"], "ConflictException"),
    ):
        with pytest.raises(ClientError) as caught:
            ecs.stop_service_deployment(serviceDeploymentArn=arn)
        assert caught.value.response["Error"]["Code"] == code
    with pytest.raises(ClientError) as caught:
        ecs.list_service_deployments(cluster=cloud.cluster, service="nosuchservice")
    assert caught.value.response["Error"]["Code"] == "ServiceNotFoundException"
