"""shipyard.fargate.service_summary, service_outcome and service_in_place_rollout: what a provision, deploy or
rollback says of one service, the same whichever task reports it (tasks/summary.yml and outcome.yml for one service,
deploy.yml for every service it found in place, the service role for one it found in place)."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.shipyard.fargate.plugins.filter.service_summary import (
    FilterModule,
    service_in_place_rollout,
    service_outcome,
    service_summary,
)

ARN = "arn:aws:ecs:us-east-1:123456789012:task-definition/shop-web:7"
PREVIOUS = "arn:aws:ecs:us-east-1:123456789012:task-definition/shop-web:6"
IMAGE = {
    "reference": "123456789012.dkr.ecr.us-east-1.amazonaws.com/shop/web@sha256:ab",
    "tag": "4f1c2e9a",
    "built": True,
}
ROLLED = {
    "changed": True,
    "failed": False,
    "verdict": "SUCCEEDED",
    "message": "2 of 2 new task(s) healthy",
    "task_definition_arn": ARN,
    "previous_task_definition_arn": PREVIOUS,
    "elapsed": 41.5,
    "api_calls": 37,
    "api_retries": 2,
    "timeline": [{"message": "+0.0 s deployment started"}, {"message": "+41.5 s COMPLETED"}],
}


def _report(**changes):
    return {
        "service": "web",
        "cluster": "shop",
        "host": "web",
        "desired_count": 2,
        "seconds": 63.2,
        "url": "https://api.example.com",
        "image": IMAGE,
        "task_definition_arn": ARN,
        "rollout": ROLLED,
        **changes,
    }


def test_a_rollout_gives_where_it_answers_the_image_built_the_verdict_with_its_calls_and_the_timeline():
    assert service_summary(_report()) == [
        "service web in cluster shop: 2 task(s), 63.2 s in all",
        "https://api.example.com",
        f"  image {IMAGE['reference']} (tag 4f1c2e9a, built)",
        f"  task definition {ARN}",
        "  rollout SUCCEEDED (service updated) in 41.5 s, 37 AWS calls (2 retried)",
        "    +0.0 s deployment started",
        "    +41.5 s COMPLETED",
    ]


def test_the_load_balancer_is_named_when_this_run_provisioned_it():
    lines = service_summary(_report(load_balancer_dns_name="shop-123.elb.amazonaws.com", listener_priority=10))
    assert lines[1] == "https://api.example.com -> shop-123.elb.amazonaws.com (listener rule priority 10)"


def test_a_service_in_place_says_no_rollout_was_needed_with_the_calls_that_checked_it_and_a_rotated_secret():
    in_place = {
        "in_place": True,
        "changed": False,
        "message": "already running shop-web:7, steady: 2 of 2 task(s), one deployment, COMPLETED",
        "api_calls": 10,
        "timeline": [],
        "secret_rotation": {"reason": "no secret changed since the tasks started"},
    }
    lines = service_summary(_report(seconds=None, image=dict(IMAGE, built="false"), rollout=in_place))
    assert lines == [
        "service web in cluster shop: 2 task(s)",
        "https://api.example.com",
        f"  image {IMAGE['reference']} (tag 4f1c2e9a, already in the registry)",
        f"  task definition {ARN}",
        "  no rollout needed: already running shop-web:7, steady: 2 of 2 task(s), one deployment, COMPLETED"
        " (10 AWS calls to check)",
        "  no secret changed since the tasks started",
    ]


@pytest.mark.parametrize(
    ("changes", "line"),
    [
        ({"rollout": None}, "  rollout not waited for"),
        (
            {"rollout": dict(ROLLED, changed=False, api_retries=0)},
            "  rollout SUCCEEDED (no update needed) in 41.5 s, 37 AWS calls",
        ),
        (
            {"awaiting_image": True, "host": "api"},
            "  no rollout: created at 0 tasks, its image is not in the registry yet; deploy it with"
            " ansible-playbook playbooks/deploy.yml --limit api",
        ),
    ],
)
def test_the_rollout_line(changes, line):
    assert service_summary(_report(**changes))[4] == line


def test_no_image_known_names_the_repository_and_no_task_definition_a_dash():
    lines = service_summary(_report(image=None, repository_uri="1234.dkr.ecr.us-east-1.amazonaws.com/shop/web",
                                    task_definition_arn=None, url=None, rollout=None))  # fmt: skip
    assert lines[1:4] == ["", "  image repository 1234.dkr.ecr.us-east-1.amazonaws.com/shop/web", "  task definition -"]


def test_a_report_without_its_service_is_a_clear_error():
    with pytest.raises(AnsibleFilterError, match="service_summary: the report has no 'service'"):
        service_summary({"cluster": "shop"})
    with pytest.raises(AnsibleFilterError, match="expected a mapping"):
        service_summary(["web"])


def test_the_outcome_of_a_rollout():
    outcome = service_outcome(ROLLED, "web", "shop", image_tag="4f1c2e9a", image_digest="sha256:ab")
    assert outcome == {
        "service": "web",
        "cluster": "shop",
        "image_tag": "4f1c2e9a",
        "image_digest": "sha256:ab",
        "task_definition_arn": ARN,
        "previous_task_definition_arn": PREVIOUS,
        "verdict": "SUCCEEDED",
        "updated": True,
        "reason": None,
        "release_exit_code": None,
        "rolled_back_to": None,
        "elapsed": 41.5,
    }


def test_a_failed_rollout_rolled_back_gives_its_message_and_where_it_went_back_to():
    failed = dict(
        ROLLED, failed=True, verdict="FAILED", message="tasks exited 1", rollback={"task_definition_arn": PREVIOUS}
    )
    outcome = service_outcome(failed, "web", "shop")
    assert (outcome["verdict"], outcome["reason"], outcome["rolled_back_to"]) == ("FAILED", "tasks exited 1", PREVIOUS)
    without_message = {"failed": True, "msg": "the wait timed out"}
    assert service_outcome(without_message, "web", "shop")["reason"] == "the wait timed out"


def test_a_failed_release_step_fails_the_outcome_with_its_own_reason_and_exit_code():
    release = {"failed": True, "msg": "migrations exited 3", "exit_code": 3}
    outcome = service_outcome(ROLLED, "web", "shop", release=release)
    assert (outcome["verdict"], outcome["reason"], outcome["release_exit_code"]) == ("FAILED", "migrations exited 3", 3)
    assert service_outcome(ROLLED, "web", "shop", release={"skipped": True})["verdict"] == "SUCCEEDED"


def test_no_rollout_has_no_verdict_and_keeps_the_task_definition_it_was_given():
    outcome = service_outcome(None, "web", "shop", task_definition_arn=ARN)
    assert (outcome["verdict"], outcome["updated"], outcome["task_definition_arn"]) == (None, False, ARN)


LOOKED_UP = {
    "service": {"serviceName": "web", "desiredCount": 2, "runningCount": 2},
    "task_definition": {"family": "shop-web", "revision": 7, "taskDefinitionArn": ARN},
    "api_calls": 10,
    "secret_rotation": {"rotated": False, "reason": "no secret changed since the tasks started"},
}


def test_a_service_in_place_is_recorded_as_a_rollout_that_succeeded_without_a_change_or_a_wait():
    rollout = service_in_place_rollout(LOOKED_UP)
    assert rollout == {
        "changed": False,
        "failed": False,
        "in_place": True,
        "verdict": "SUCCEEDED",
        "reason_code": None,
        "message": "already running shop-web:7, steady: 2 of 2 task(s), one deployment, COMPLETED",
        "task_definition_arn": ARN,
        "previous_task_definition_arn": None,
        "elapsed": 0,
        "api_calls": 10,
        "timeline": [],
        "secret_rotation": LOOKED_UP["secret_rotation"],
    }
    # read as any rollout by the other two filters
    assert service_summary(_report(rollout=rollout))[4] == (
        "  no rollout needed: already running shop-web:7, steady: 2 of 2 task(s), one deployment, COMPLETED"
        " (10 AWS calls to check)"
    )
    outcome = service_outcome(rollout, "web", "shop", image_tag="4f1c2e9a")
    assert (outcome["verdict"], outcome["updated"], outcome["task_definition_arn"]) == ("SUCCEEDED", False, ARN)


@pytest.mark.parametrize("missing", ["service", "task_definition"])
def test_a_look_up_without_a_service_or_its_task_definition_is_not_in_place(missing):
    with pytest.raises(AnsibleFilterError, match="names no service or no task definition"):
        service_in_place_rollout(dict(LOOKED_UP, **{missing: None}))
    with pytest.raises(AnsibleFilterError, match="expected a mapping"):
        service_in_place_rollout(None)


def test_the_filters_are_registered():
    assert set(FilterModule().filters()) == {"service_summary", "service_outcome", "service_in_place_rollout"}
