"""shipyard.fargate.service_desired_count: a service whose image is not in the registry yet starts at 0 tasks (issue 16
item 4), its first deploy gives it service_desired_count, and auto scaling keeps owning the count."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.shipyard.fargate.plugins.filter.service_desired_count import (
    FilterModule,
    service_desired_count,
)

SCALING = {"autoscaling": True, "min_capacity": 2, "max_capacity": 4}


def _count(existing, desired=2, **kwargs):
    return service_desired_count(existing, desired, **kwargs)["desired_count"]


def test_provision_creates_a_service_whose_image_is_missing_at_zero_and_says_why():
    decision = service_desired_count(None, 2, image_exists=False)
    assert decision == {
        "desired_count": 0,
        "awaiting_image": True,
        "reason": "created at 0 tasks: its image is not in the registry",
    }


@pytest.mark.parametrize("image_exists", [True, None])
def test_provision_creates_a_service_whose_image_is_there_or_unknown_at_the_desired_count(image_exists):
    decision = service_desired_count(None, 2, image_exists=image_exists)
    assert (decision["desired_count"], decision["awaiting_image"]) == (2, False)


def test_tasks_that_pull_no_image_start_even_when_it_is_missing():
    # The local cloud's simulated tasks (the stack flow's `api`) need no image.
    assert _count(None, image_exists=False, image_pulled=False) == 2


def test_a_rerun_of_provision_keeps_a_waiting_service_at_zero():
    decision = service_desired_count({"desiredCount": 0}, 2, image_exists=False)
    assert (decision["desired_count"], decision["awaiting_image"]) == (0, True)
    assert decision["reason"].startswith("kept at 0 tasks")


def test_provision_starts_a_waiting_service_once_its_image_is_pushed():
    assert _count({"desiredCount": 0}, image_exists=True) == 2


def test_a_running_service_is_never_stopped_for_a_missing_initial_image():
    # It runs another image (deployed); the initial tag does not matter any more.
    assert _count({"desiredCount": 3}, desired=3, image_exists=False) == 3


def test_the_first_deploy_gives_a_service_at_zero_its_desired_count():
    decision = service_desired_count({"desiredCount": 0}, 2, deploying=True)
    assert (decision["desired_count"], decision["awaiting_image"]) == (2, False)
    # A deploy never holds a service for a missing image: it has just built or checked its own.
    assert _count(None, deploying=True, image_exists=False) == 2


def test_a_deploy_keeps_the_count_of_a_running_service():
    assert _count({"desiredCount": 3}, desired=2, deploying=True) == 3
    assert _count({"desiredCount": 3}, desired=2, deploying=True, **SCALING) == 3


def test_auto_scaling_owns_the_count_of_an_existing_service_within_its_bounds():
    assert _count({"desiredCount": 3}, desired=2, **SCALING) == 3
    assert _count({"desiredCount": 9}, desired=2, **SCALING) == 4
    assert _count({"desiredCount": 1}, desired=2, **SCALING) == 2


def test_the_first_deploy_with_auto_scaling_stays_within_its_bounds():
    assert _count({"desiredCount": 0}, desired=8, deploying=True, **SCALING) == 4
    assert _count({"desiredCount": 0}, desired=0, deploying=True, **SCALING) == 2


def test_a_deploy_asked_for_zero_keeps_a_service_at_zero():
    assert _count({"desiredCount": 0}, desired=0, deploying=True) == 0


def test_without_anything_special_the_desired_count_is_used():
    assert _count(None, desired="3") == 3  # as a template hands it over
    assert _count({"desiredCount": 5}, desired=3) == 3


@pytest.mark.parametrize("desired", [-1, "two", None])
def test_a_bad_desired_count_is_refused(desired):
    with pytest.raises(AnsibleFilterError, match="service_desired_count"):
        service_desired_count(None, desired)


def test_the_filter_is_registered():
    assert FilterModule().filters()["service_desired_count"] is service_desired_count
