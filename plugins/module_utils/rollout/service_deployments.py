# Copyright: Shipyard maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ECS's deployment API: ListServiceDeployments, DescribeServiceDeployments, StopServiceDeployment.

A service deployment (``ServiceDeployment``) carries its own ``status``: PENDING, IN_PROGRESS, SUCCESSFUL,
STOP_REQUESTED, STOPPED, ROLLBACK_REQUESTED, ROLLBACK_IN_PROGRESS, ROLLBACK_SUCCESSFUL, ROLLBACK_FAILED, with a
``statusReason``. Where the endpoint has the API, that status is the authority on our deployment's fate; where it
answers that it does not know the operation, the waiter reads DescribeServices' rolloutState and the service events
instead (``model.SOURCE_EVENTS``).

DescribeServices' deployments (``ecs-svc/...``) and service deployments (``arn:...:service-deployment/...``) share no
id: ours is the service deployment created closest to our deployment's ``createdAt`` (ECS creates both in the same
UpdateService), within ``MATCH_WITHIN`` seconds.
"""

from __future__ import annotations

from ansible_collections.shipyard.fargate.plugins.module_utils.rollout.payloads import as_datetime

IN_FLIGHT = ("PENDING", "IN_PROGRESS")
SUCCESSFUL = "SUCCESSFUL"
ROLLED_BACK = ("ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS", "ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED")
STOPPED = ("STOP_REQUESTED", "STOPPED")
MATCH_WITHIN = 60.0

# What an endpoint without the deployment API answers (error codes): the waiter falls back to the service events.
NOT_SUPPORTED = (
    "UnknownOperationException",
    "UnknownOperation",
    "InvalidAction",
    "NotImplemented",
    "NotImplementedException",
    "UnsupportedOperation",
    "UnsupportedOperationException",
    "UnrecognizedClientException",
    # Not allowed (an IAM policy without ecs:ListServiceDeployments / ecs:DescribeServiceDeployments): the wait does
    # not fail for it, it reads the events as it would without the API.
    "AccessDeniedException",
    "AccessDenied",
)


def not_supported(error_code: str | None, status: int | None = None) -> bool:
    """Whether an error answer means the deployment API is not there for us (not: our request was wrong).

    An AWS error code that says so, HTTP 404 or 501, or an HTTP 500 that carries no AWS error code at all (an
    emulator that does not implement the operation; AWS's own 500s name one: ServerException, InternalFailure).
    """
    code = error_code or ""
    return code in NOT_SUPPORTED or status in (404, 501) or (status == 500 and code in ("", "500"))


def server_failure(error_code: str | None, status: int | None = None) -> bool:
    """Whether an error answer is AWS failing for now (HTTP 5xx naming an error code: InternalFailure,
    ServerException, ServiceUnavailable), not an answer about the API: the choice stays open, the next poll asks
    again. A 5xx that ``not_supported`` reads as "no such operation" (501, a 500 without a code) is not one."""
    return isinstance(status, int) and status >= 500 and not not_supported(error_code, status)


def pick(briefs, created_at) -> dict | None:
    """Our service deployment among ListServiceDeployments' ``serviceDeployments``: the one created closest to our
    deployment's ``createdAt`` (None: none within ``MATCH_WITHIN`` seconds, or no time to match)."""
    created_at = as_datetime(created_at)
    if created_at is None:
        return None
    best, gap = None, MATCH_WITHIN
    for brief in briefs or ():
        when = as_datetime(brief.get("createdAt") or brief.get("startedAt"))
        if when is None:
            continue
        distance = abs((when - created_at).total_seconds())
        if distance <= gap:
            best, gap = brief, distance
    return best


def status(record: dict | None) -> str | None:
    return (record or {}).get("status")


def reason(record: dict | None) -> str:
    return (record or {}).get("statusReason") or ""


def can_stop(record: dict | None) -> bool:
    """StopServiceDeployment rolls back only a deployment still under way (ECS refuses a finished one)."""
    return status(record) in IN_FLIGHT
