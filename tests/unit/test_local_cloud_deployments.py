"""The local cloud's ECS service deployments: ListServiceDeployments, DescribeServiceDeployments,
StopServiceDeployment, DescribeServiceRevisions.

Two layers: the pure mapping of :mod:`shipyard_local.cloud.ecs.deployments` (ARNs, StopServiceDeployment's table,
filters, pages, shapes), and the stories on the engine in-process on a virtual clock (the harness of
test_local_cloud_engine.py), through ordinary boto3 clients. Every answer the engine gives is checked against
botocore's output shape for the operation (members, required members, types, enums): the contract clients
(``ecs_rollout``) are written against.
"""

from __future__ import annotations

import base64
import re
import uuid
from datetime import datetime, timedelta

import boto3
import botocore.session
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from test_local_cloud_engine import World

from shipyard_local.cloud import patches
from shipyard_local.cloud.ecs import deployments as sd
from shipyard_local.cloud.shapes import answer_errors, output_shape, shape_errors

ECS_MODEL = botocore.session.get_session().get_service_model("ecs")
SERVICE_ARN = "arn:aws:ecs:us-east-1:123456789012:service/prod/web"
REVISION_1 = "arn:aws:ecs:us-east-1:123456789012:service-revision/prod/web/1"
T0 = datetime(2026, 1, 1)


# --- botocore's contract ------------------------------------------------------------------------------------------


def conforms(operation: str, answer: dict) -> dict:
    errors = answer_errors("ecs", operation, answer)
    assert errors == [], errors
    return answer


def test_the_shape_check_finds_unknown_and_missing_members_bad_types_and_enums():
    shape = output_shape("ecs", "DescribeServiceDeployments")
    assert shape_errors(shape, {"serviceDeployments": [{"status": "DONE", "bogus": 1}], "failures": "no"}) == [
        "$.serviceDeployments[0].status: 'DONE' not in " + repr(ECS_MODEL.shape_for("ServiceDeploymentStatus").enum),
        "$.serviceDeployments[0].bogus: not a member of ServiceDeployment",
        "$.failures: not a list",
    ]
    item = {"deploymentConfiguration": {"deploymentCircuitBreaker": {"enable": "yes"}}, "createdAt": "today"}
    assert shape_errors(shape, {"serviceDeployments": [item]}) == [
        "$.serviceDeployments[0].deploymentConfiguration.deploymentCircuitBreaker.rollback: required member missing",
        "$.serviceDeployments[0].deploymentConfiguration.deploymentCircuitBreaker.enable: 'yes' not a boolean",
        "$.serviceDeployments[0].createdAt: 'today' not a timestamp",
    ]


# --- pure: ARNs, StopServiceDeployment, filters, pages, shapes ----------------------------------------------------


def test_arns_follow_awss_formats():
    assert (
        sd.deployment_arn(SERVICE_ARN, "prod", "web", "ejGvqq2ilnbKT9qj0vLJe")
        == "arn:aws:ecs:us-east-1:123456789012:service-deployment/prod/web/ejGvqq2ilnbKT9qj0vLJe"
    )
    assert (
        sd.revision_arn(SERVICE_ARN, "prod", "web", "1485800978477494678")
        == "arn:aws:ecs:us-east-1:123456789012:service-revision/prod/web/1485800978477494678"
    )


def test_the_status_enum_is_botocores():
    assert set(sd.STATUSES) == set(ECS_MODEL.shape_for("ServiceDeploymentStatus").enum)
    assert set(sd.STOP_TYPES) == set(ECS_MODEL.shape_for("StopServiceDeploymentStopType").enum)


@pytest.mark.parametrize(
    ("status", "action"),
    [
        ("PENDING", "rollback"),
        ("IN_PROGRESS", "rollback"),
        ("STOP_REQUESTED", "continue"),
        ("ROLLBACK_REQUESTED", "continue"),
        ("ROLLBACK_IN_PROGRESS", "continue"),
    ],
)
def test_stop_rolls_back_an_ongoing_deployment_and_lets_a_stopping_one_continue(status, action):
    assert sd.stop_action(status, "ROLLBACK", has_previous=True) == action
    assert sd.stop_action(status, None, has_previous=True) == action  # ROLLBACK is the default


@pytest.mark.parametrize("status", ["SUCCESSFUL", "STOPPED", "ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED"])
def test_stop_refuses_a_finished_deployment_with_a_conflict(status):
    with pytest.raises(sd.DeploymentApiError, match=f"is {status} and cannot be stopped") as caught:
        sd.stop_action(status, "ROLLBACK", has_previous=True)
    assert caught.value.code == "ConflictException"


def test_stop_refuses_abort_an_unknown_type_and_a_rollback_with_nothing_to_go_back_to():
    with pytest.raises(sd.DeploymentApiError, match="ABORT is not supported") as caught:
        sd.stop_action("IN_PROGRESS", "ABORT", has_previous=True)
    assert caught.value.code == "InvalidParameterException"
    with pytest.raises(sd.DeploymentApiError, match="stopType must be one of ABORT, ROLLBACK"):
        sd.stop_action("IN_PROGRESS", "PAUSE", has_previous=True)
    with pytest.raises(sd.DeploymentApiError, match="no earlier service revision") as caught:
        sd.stop_action("IN_PROGRESS", "ROLLBACK", has_previous=False)
    assert caught.value.code == "ConflictException"


def _record(seq: int, status: str = "SUCCESSFUL", minutes: int = 0, **extra) -> sd.ServiceDeployment:
    return sd.ServiceDeployment(
        arn=sd.deployment_arn(SERVICE_ARN, "prod", "web", f"d{seq}"),
        service_arn=SERVICE_ARN,
        cluster_arn="arn:aws:ecs:us-east-1:123456789012:cluster/prod",
        deployment_id=f"ecs-svc/{seq}",
        target=sd.revision_arn(SERVICE_ARN, "prod", "web", str(seq)),
        created_at=T0 + timedelta(minutes=minutes),
        configuration={"deploymentCircuitBreaker": {"enable": True, "rollback": True}, "maximumPercent": 200,
                       "minimumHealthyPercent": 100},
        breaker_threshold=3,
        seq=seq,
        status=status,
        **{"sources": [], **extra},
    )  # fmt: skip


def test_select_filters_by_status_and_creation_time_newest_first():
    records = [_record(1, "SUCCESSFUL", 0), _record(2, "STOPPED", 10), _record(3, "IN_PROGRESS", 20)]
    assert [r.seq for r in sd.select(records, None, None)] == [3, 2, 1]
    assert [r.seq for r in sd.select(records, ["STOPPED", "IN_PROGRESS"], None)] == [3, 2]
    window = {"after": _epoch(T0 + timedelta(minutes=5)), "before": _epoch(T0 + timedelta(minutes=15))}
    assert [r.seq for r in sd.select(records, None, window)] == [2]
    assert [r.seq for r in sd.select(records, None, {"after": "2026-01-01T00:15:00Z"})] == [3]
    with pytest.raises(sd.DeploymentApiError, match="status must be one of") as caught:
        sd.select(records, ["DONE"], None)
    assert caught.value.code == "InvalidParameterException"
    with pytest.raises(sd.DeploymentApiError, match=r"createdAt.before is not a valid timestamp"):
        sd.select(records, None, {"before": "yesterday"})


def _epoch(naive_utc: datetime) -> float:
    return (naive_utc - datetime(1970, 1, 1)).total_seconds()


def test_pages_hold_max_results_and_a_token_that_survives_a_new_deployment():
    records = [_record(seq) for seq in range(1, 6)]
    first, token = sd.page(sd.select(records, None, None), None, 2)
    assert [r.seq for r in first] == [5, 4]
    assert token
    records.append(_record(6))  # created while the client pages: the next page does not shift
    second, token = sd.page(sd.select(records, None, None), token, 2)
    assert [r.seq for r in second] == [3, 2]
    assert token
    last, token = sd.page(sd.select(records, None, None), token, 2)
    assert [r.seq for r in last] == [1]
    assert token is None
    assert len(sd.page(records, None, None)[0]) == 6  # default 20
    for bad in (0, 101):
        with pytest.raises(sd.DeploymentApiError, match="maxResults must be between 1 and 100"):
            sd.page(records, None, bad)
    with pytest.raises(sd.DeploymentApiError, match="nextToken is not valid"):
        sd.page(records, base64.urlsafe_b64encode(b"x").decode(), 2)


def test_shapes_of_a_finished_rollback_match_botocore():
    record = _record(
        2, "ROLLBACK_SUCCESSFUL", started_at=T0, finished_at=T0, status_reason="rolled back", failure_count=3,
        breaker_triggered=True, sources=[REVISION_1],
        rollback={"reason": "r", "startedAt": T0, "serviceRevisionArn": REVISION_1},
        counts={REVISION_1: sd.RevisionCount(2, 2, 0)},
    )  # fmt: skip
    full = conforms("DescribeServiceDeployments", {"serviceDeployments": [sd.describe(record)], "failures": []})
    item = full["serviceDeployments"][0]
    assert item["deploymentCircuitBreaker"] == {"status": "TRIGGERED", "failureCount": 3, "threshold": 3}
    assert item["sourceServiceRevisions"] == [
        {"arn": record.sources[0], "requestedTaskCount": 2, "runningTaskCount": 2, "pendingTaskCount": 0}
    ]
    assert item["targetServiceRevision"]["runningTaskCount"] == 0
    assert item["alarms"] == {"status": "DISABLED", "alarmNames": [], "triggeredAlarmNames": []}
    assert "stoppedAt" not in item  # absent members stay absent (never null)
    listed = conforms("ListServiceDeployments", {"serviceDeployments": [sd.brief(record)]})
    assert listed["serviceDeployments"][0]["targetServiceRevisionArn"] == record.target
    assert sd.breaker_status(_record(3, "IN_PROGRESS")) == "MONITORING"
    assert sd.breaker_status(_record(4, "SUCCESSFUL")) == "MONITORING_COMPLETE"


# --- the engine's stories (virtual clock) ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def clients():
    with mock_aws():
        yield {name: boto3.client(name, region_name="us-east-1") for name in ("ecs", "elbv2", "ec2", "secretsmanager")}


@pytest.fixture
def world(clients):
    world = None
    try:
        world = World(clients, f"deploy-{uuid.uuid4().hex[:10]}")
        yield world
    finally:
        if world is not None:
            world.engine.shutdown()
        patches.uninstall()


def _deployments(world: World, **filters) -> list[dict]:
    answer = world.ecs.list_service_deployments(cluster=world.cluster, service="web", **filters)
    answer.pop("ResponseMetadata")
    return conforms("ListServiceDeployments", answer)["serviceDeployments"]


def _describe(world: World, *arns: str) -> dict:
    answer = world.engine.describe_service_deployments(list(arns))  # the engine's own answer, before serializing
    conforms("DescribeServiceDeployments", answer)
    over_api = world.ecs.describe_service_deployments(serviceDeploymentArns=list(arns))
    assert [d["serviceDeploymentArn"] for d in over_api["serviceDeployments"]] == [
        d["serviceDeploymentArn"] for d in answer["serviceDeployments"]
    ]
    return over_api


def _status(world: World, arn: str, *wanted: str):
    def probe():
        [item] = _describe(world, arn)["serviceDeployments"]
        return item if item["status"] in wanted else None

    return probe


def test_create_then_a_healthy_update_end_successful_with_source_and_target_revisions(world):
    first = world.task_definition("start=1")
    world.create_service(first)
    [created] = _deployments(world)
    assert created["status"] == "PENDING"
    assert created["createdAt"] == world.service()["deployments"][0]["createdAt"]  # the same instant
    by_arn = world.ecs.list_service_deployments(service=created["serviceArn"])  # no cluster: the ARN names it
    assert [d["serviceDeploymentArn"] for d in by_arn["serviceDeployments"]] == [created["serviceDeploymentArn"]]
    assert re.fullmatch(
        rf"arn:aws:ecs:us-east-1:\d{{12}}:service-deployment/{world.cluster}/web/[A-Za-z0-9_-]{{21}}",
        created["serviceDeploymentArn"],
    )
    world.run_until("the first deployment to complete", world.settled)
    [done] = _deployments(world)
    assert done["status"] == "SUCCESSFUL"
    assert done["startedAt"] <= done["finishedAt"]

    second = world.task_definition("start=1")
    world.update(second)
    newest = _deployments(world)[0]["serviceDeploymentArn"]
    item = world.run_until("the update to succeed", _status(world, newest, "SUCCESSFUL"))
    assert item["sourceServiceRevisions"][0]["arn"] == done["targetServiceRevisionArn"]
    assert item["sourceServiceRevisions"][0]["runningTaskCount"] == 0  # the old tasks are gone
    assert (item["targetServiceRevision"]["requestedTaskCount"], item["targetServiceRevision"]["runningTaskCount"]) == (
        2,
        2,
    )
    assert item["deploymentCircuitBreaker"] == {"status": "MONITORING_COMPLETE", "failureCount": 0, "threshold": 3}
    assert item["deploymentConfiguration"]["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}
    assert item["createdAt"] <= item["startedAt"] <= item["finishedAt"]
    assert "stoppedAt" not in item

    revisions = world.engine.describe_service_revisions([item["targetServiceRevision"]["arn"], newest])
    conforms("DescribeServiceRevisions", revisions)
    assert revisions["failures"] == [{"arn": newest, "reason": "MISSING"}]
    [revision] = world.ecs.describe_service_revisions(serviceRevisionArns=[item["targetServiceRevision"]["arn"]])[
        "serviceRevisions"
    ]
    assert revision["taskDefinition"] == second
    assert revision["containerImages"] == [{"containerName": "app", "image": "web:1"}]
    assert revision["loadBalancers"][0]["targetGroupArn"] == world.target_group
    assert revision["networkConfiguration"]["awsvpcConfiguration"]["subnets"] == [world.subnet]


def test_crash_loop_with_the_breakers_rollback_ends_rollback_successful(world):
    world.create_service(world.task_definition("start=1"))
    world.run_until("the first deployment to complete", world.settled)
    good_revision = _deployments(world)[0]["targetServiceRevisionArn"]
    world.update(world.task_definition("start=1,exit=3@1"))
    arn = _deployments(world)[0]["serviceDeploymentArn"]

    seen = []  # every status, every tick

    def finished():
        item = world.engine.describe_service_deployments([arn])["serviceDeployments"][0]
        seen.append(item["status"]) if item["status"] not in seen else None
        return item if item["status"] in ("ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED", "STOPPED", "SUCCESSFUL") else None

    world.run_until("the rollback to finish", finished, every=0.25)
    assert seen == ["IN_PROGRESS", "ROLLBACK_IN_PROGRESS", "ROLLBACK_SUCCESSFUL"]
    [done] = _describe(world, arn)["serviceDeployments"]
    assert done["deploymentCircuitBreaker"]["status"] == "TRIGGERED"
    assert done["rollback"]["serviceRevisionArn"] == good_revision
    assert done["rollback"]["reason"] == done["statusReason"]
    assert done["rollback"]["startedAt"] <= done["finishedAt"]
    assert done["deploymentCircuitBreaker"]["failureCount"] >= done["deploymentCircuitBreaker"]["threshold"] == 3
    assert "finishedAt" in done
    assert world.settled()["taskDefinition"] == world.engine.service_revisions[good_revision].task_definition
    # The rollback is the same service deployment: no new one.
    assert [d["status"] for d in _deployments(world)] == ["ROLLBACK_SUCCESSFUL", "SUCCESSFUL"]


def test_breaker_without_rollback_stops_the_deployment(world):
    world.create_service(world.task_definition("start=1"), rollback=False)
    world.run_until("the first deployment to complete", world.settled)
    world.update(world.task_definition("start=1,exit=3@1"))
    arn = _deployments(world)[0]["serviceDeploymentArn"]
    done = world.run_until("the breaker to fail it", _status(world, arn, "STOPPED"))
    assert done["deploymentCircuitBreaker"]["status"] == "TRIGGERED"
    assert "circuit breaker" in done["statusReason"]
    assert "rollback" not in done


def test_a_second_update_stops_the_first(world):
    world.create_service(world.task_definition("start=1"))
    world.run_until("the first deployment to complete", world.settled)
    world.update(world.task_definition("start=30"))
    world.step()
    first = _deployments(world)[0]
    assert first["status"] == "IN_PROGRESS"
    third = world.task_definition("start=1")
    world.update(third)
    [superseded] = _describe(world, first["serviceDeploymentArn"])["serviceDeployments"]
    assert superseded["status"] == "STOPPED"
    assert "newer service deployment" in superseded["statusReason"]
    assert superseded["stoppedAt"] == superseded["finishedAt"]
    latest = _deployments(world)[0]["serviceDeploymentArn"]
    world.run_until("the second update to succeed", _status(world, latest, "SUCCESSFUL"))
    assert [d["status"] for d in _deployments(world)] == ["SUCCESSFUL", "STOPPED", "SUCCESSFUL"]
    assert [d["status"] for d in _deployments(world, status=["STOPPED"])] == ["STOPPED"]
    paged = world.ecs.list_service_deployments(cluster=world.cluster, service="web", maxResults=2)
    rest = world.ecs.list_service_deployments(
        cluster=world.cluster, service="web", maxResults=2, nextToken=paged["nextToken"]
    )
    assert len(paged["serviceDeployments"]) == 2
    assert len(rest["serviceDeployments"]) == 1
    assert "nextToken" not in rest


def test_stop_service_deployment_rolls_back_to_the_previous_task_definition(world):
    good = world.task_definition("start=1")
    world.create_service(good)
    world.run_until("the first deployment to complete", world.settled)
    good_revision = _deployments(world)[0]["targetServiceRevisionArn"]
    world.update(world.task_definition("start=1,healthy=false,code=500"))  # never healthy, no breaker trip soon
    world.step()
    arn = _deployments(world)[0]["serviceDeploymentArn"]

    answer = world.ecs.stop_service_deployment(serviceDeploymentArn=arn, stopType="ROLLBACK")
    assert answer["serviceDeploymentArn"] == arn
    [requested] = _describe(world, arn)["serviceDeployments"]
    assert requested["status"] == "ROLLBACK_REQUESTED"
    assert requested["rollback"]["serviceRevisionArn"] == good_revision
    assert world.service()["taskDefinition"] == good
    again = world.ecs.stop_service_deployment(serviceDeploymentArn=arn)  # continues: nothing changes
    assert again["serviceDeploymentArn"] == arn

    done = world.run_until("the rollback to finish", _status(world, arn, "ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED"))
    assert done["status"] == "ROLLBACK_SUCCESSFUL"
    service = world.settled()
    assert service["taskDefinition"] == good
    assert {t["taskDefinitionArn"] for t in world.tasks(serviceName="web")} == {good}

    with pytest.raises(ClientError) as caught:
        world.ecs.stop_service_deployment(serviceDeploymentArn=arn)
    assert caught.value.response["Error"]["Code"] == "ConflictException"


def test_unknown_arns_services_and_bad_filters_answer_awss_errors(world):
    world.create_service(world.task_definition("start=1"), count=1)
    [created] = _deployments(world)
    with pytest.raises(ClientError, match="cannot be rolled back") as caught:  # the first deployment: nothing before
        world.ecs.stop_service_deployment(serviceDeploymentArn=created["serviceDeploymentArn"])
    assert caught.value.response["Error"]["Code"] == "ConflictException"
    missing = created["serviceDeploymentArn"].rsplit("/", 1)[0] + "/nosuchdeployment"
    with pytest.raises(ClientError) as caught:
        world.ecs.stop_service_deployment(serviceDeploymentArn=missing, stopType="ROLLBACK")
    assert caught.value.response["Error"]["Code"] == "ServiceDeploymentNotFoundException"
    assert _describe(world, missing)["failures"] == [{"arn": missing, "reason": "MISSING"}]
    with pytest.raises(ClientError) as caught:
        world.ecs.list_service_deployments(cluster=world.cluster, service="nosuchservice")
    assert caught.value.response["Error"]["Code"] == "ServiceNotFoundException"
    with pytest.raises(ClientError) as caught:
        world.ecs.list_service_deployments(cluster="nosuchcluster", service="web")
    assert caught.value.response["Error"]["Code"] == "ClusterNotFoundException"
    with pytest.raises(ClientError) as caught:
        world.ecs.list_service_deployments(cluster=world.cluster, service="web", status=["DONE"])
    assert caught.value.response["Error"]["Code"] == "InvalidParameterException"
    with pytest.raises(ClientError) as caught:
        world.ecs.describe_service_deployments(serviceDeploymentArns=[missing] * 21)
    assert caught.value.response["Error"]["Code"] == "InvalidParameterException"


def test_deleting_the_service_deletes_its_service_deployments(world):
    world.create_service(world.task_definition("start=1"), count=1)
    [created] = _deployments(world)
    world.ecs.update_service(cluster=world.cluster, service="web", desiredCount=0)
    world.ecs.delete_service(cluster=world.cluster, service="web")
    world.step()
    assert _describe(world, created["serviceDeploymentArn"])["failures"][0]["reason"] == "MISSING"
