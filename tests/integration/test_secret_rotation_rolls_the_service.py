"""A rotated secret reaches the running tasks: the service role's rollout step (roles/service/tasks/rollout.yml,
shipyard.fargate.ecs_rollout with roll_on_secret_change) on a service with simulated tasks made with boto3.

The secret's value is changed with boto3 after the tasks started: --check reports the roll and changes nothing; the
run rolls the service (a new PRIMARY deployment of the same task definition, new tasks) and says why; a re-run
changes nothing. The decision itself (after, before, equal, no task, several secrets) is unit-tested in
tests/unit/test_secret_rotation.py.
"""

from __future__ import annotations

import json
import time
import uuid

import pytest
from local_cloud import Cloud, wait_for

pytestmark = pytest.mark.stack


def _primary(service: dict) -> dict:
    return next(d for d in service["deployments"] if d["status"] == "PRIMARY")


def test_a_secret_changed_after_the_tasks_started_rolls_the_service_once_and_check_mode_only_reports_it(
    aws, unique_name, role_runner
):
    cloud = Cloud(aws, unique_name)
    secret = cloud.secrets.create_secret(Name=unique_name, SecretString=json.dumps({"TOKEN": uuid.uuid4().hex}))
    definition = cloud.task_definition(
        "start=0.5", secrets=[{"name": "TOKEN", "valueFrom": f"{secret['ARN']}:TOKEN::"}]
    )
    cloud.create_service(definition)
    wait_for("the first deployment to complete", cloud.settled)
    first = _primary(cloud.service())
    started = {task["taskArn"] for task in cloud.tasks()}
    run = role_runner(
        "tests/integration/playbooks/secret_rotation.yml",
        {"rotation_cluster": unique_name, "rotation_service": "web", "rotation_task_definition": definition},
    )
    new_value = uuid.uuid4().hex

    # Secrets Manager dates may be whole seconds: change the value clearly after the newest task started.
    newest = max(task["startedAt"] for task in cloud.tasks()).timestamp()
    wait_for("two seconds past the newest task start", lambda: time.time() > newest + 2)
    cloud.secrets.put_secret_value(SecretId=secret["ARN"], SecretString=json.dumps({"TOKEN": new_value}))

    checked = run("--check")
    assert checked.returncode == 0, checked.output
    assert checked.fact["changed"] is True
    assert checked.fact["secret_rotation"]["roll"] is True
    assert checked.fact["secret_rotation"]["secrets"] == [unique_name]
    assert f"web: secret {unique_name} changed at " in checked.output
    assert _primary(cloud.service())["id"] == first["id"]
    assert len(cloud.service()["deployments"]) == 1

    rolled = run()
    assert rolled.returncode == 0, rolled.output
    assert rolled.fact["changed"] is True
    assert rolled.fact["verdict"] == "SUCCEEDED"
    reason = rolled.fact["secret_rotation"]["reason"]
    assert reason.startswith(f"secret {unique_name} changed at ")
    assert reason.endswith(": rolling the service so they read it")
    assert f"web: {reason}" in rolled.output
    assert new_value not in rolled.output
    assert new_value not in checked.output
    primary = _primary(cloud.service())
    assert primary["id"] != first["id"]
    assert primary["taskDefinition"] == definition
    assert primary["rolloutState"] == "COMPLETED"
    now_running = {task["taskArn"] for task in cloud.tasks()}
    assert now_running
    assert not (now_running & started)

    again = run()
    assert again.returncode == 0, again.output
    assert again.fact["changed"] is False
    assert again.fact["secret_rotation"]["roll"] is False
    assert again.recap()["web"]["changed"] == 0
