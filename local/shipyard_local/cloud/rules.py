"""ECS and ELB rules as pure functions: what the engine decides, without clocks, threads or moto.

Each function states the AWS rule it follows; ``tests/unit/test_local_cloud_rules.py`` pins them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# ELB target states and reason codes (DescribeTargetHealth).
INITIAL, HEALTHY, UNHEALTHY, DRAINING = "initial", "healthy", "unhealthy", "draining"
REGISTRATION_IN_PROGRESS = "Elb.RegistrationInProgress"
INITIAL_HEALTH_CHECKING = "Elb.InitialHealthChecking"
DEREGISTRATION_IN_PROGRESS = "Target.DeregistrationInProgress"

DESCRIPTIONS = {
    REGISTRATION_IN_PROGRESS: "Target registration is in progress",
    INITIAL_HEALTH_CHECKING: "Initial health checks in progress",
    DEREGISTRATION_IN_PROGRESS: "Target deregistration is in progress",
    "Target.FailedHealthChecks": "Health checks failed",
    "Target.Timeout": "Request timed out",
}


def circuit_breaker_threshold(desired_count: int) -> int:
    """Failed tasks that fail a deployment: 0.5 x desired count, at least 3, at most 200 (ECS docs)."""
    return min(200, max(3, math.ceil(0.5 * desired_count)))


def task_bounds(desired_count: int, minimum_healthy_percent: int, maximum_percent: int) -> tuple[int, int]:
    """(minimum healthy tasks, maximum tasks): the lower limit rounds up, the upper limit rounds down (ECS docs)."""
    minimum = math.ceil(desired_count * minimum_healthy_percent / 100)
    maximum = math.floor(desired_count * maximum_percent / 100)
    return minimum, maximum


@dataclass(frozen=True)
class RolloutPlan:
    start: int  # new tasks of the primary deployment to start now
    stop_old_unhealthy: int  # tasks of older deployments that do not serve (pending, unhealthy): always stoppable
    stop_old_healthy: int  # serving tasks of older deployments, within minimumHealthyPercent
    stop_primary: int  # surplus tasks of the primary deployment (desired count lowered)


def rollout_plan(
    desired: int,
    minimum_healthy_percent: int,
    maximum_percent: int,
    primary_alive: int,
    primary_healthy: int,
    old_alive: int,
    old_healthy: int,
    may_start: bool = True,
) -> RolloutPlan:
    """One scheduling step of the ECS rolling update.

    ``*_alive`` count tasks whose desired status is RUNNING (pending or running); ``*_healthy`` those of them
    that are RUNNING and healthy in every target group. Tasks count toward ``maximumPercent`` while alive, and
    toward ``minimumHealthyPercent`` only while healthy, as ECS documents.
    """
    minimum, maximum = task_bounds(desired, minimum_healthy_percent, maximum_percent)
    room = max(0, maximum - primary_alive - old_alive)
    start = max(0, min(desired - primary_alive, room)) if may_start else 0

    # Lowering the desired count stops surplus tasks at once (scaling is not bound by the minimum).
    stop_primary = max(0, primary_alive - desired)
    old_unhealthy = old_alive - old_healthy
    spare = max(0, primary_healthy + old_healthy - minimum)
    stop_old_healthy = min(old_healthy, spare)
    return RolloutPlan(start, old_unhealthy, stop_old_healthy, stop_primary)


@dataclass(frozen=True)
class TargetHealth:
    state: str
    successes: int = 0  # consecutive
    failures: int = 0  # consecutive
    reason: str | None = REGISTRATION_IN_PROGRESS
    description: str | None = DESCRIPTIONS[REGISTRATION_IN_PROGRESS]


def after_health_check(
    current: TargetHealth,
    ok: bool,
    healthy_threshold: int,
    unhealthy_threshold: int,
    reason: str | None = None,
    description: str | None = None,
) -> TargetHealth:
    """The target's health after one check (ELB: HealthyThresholdCount / UnhealthyThresholdCount in a row)."""
    if current.state == DRAINING:
        return current
    if ok:
        successes, failures = current.successes + 1, 0
        if current.state == HEALTHY or successes >= healthy_threshold:
            return TargetHealth(HEALTHY, successes, failures, None, None)
        if current.state == UNHEALTHY:
            return TargetHealth(UNHEALTHY, successes, failures, current.reason, current.description)
        return TargetHealth(
            INITIAL, successes, failures, INITIAL_HEALTH_CHECKING, DESCRIPTIONS[INITIAL_HEALTH_CHECKING]
        )
    successes, failures = 0, current.failures + 1
    reason = reason or "Target.FailedHealthChecks"
    description = description or DESCRIPTIONS.get(reason, "Health checks failed")
    if current.state == UNHEALTHY or failures >= unhealthy_threshold:
        return TargetHealth(UNHEALTHY, successes, failures, reason, description)
    if current.state == HEALTHY:
        return TargetHealth(HEALTHY, successes, failures, None, None)
    return TargetHealth(INITIAL, successes, failures, INITIAL_HEALTH_CHECKING, DESCRIPTIONS[INITIAL_HEALTH_CHECKING])


@dataclass(frozen=True)
class SecretRef:
    """A container secret's ``valueFrom``, parsed (Secrets Manager or SSM Parameter Store)."""

    service: str  # "secretsmanager" | "ssm"
    secret_id: str  # ARN (without the json-key suffix) or name
    region: str | None = None
    account: str | None = None
    json_key: str | None = None
    version_stage: str | None = None
    version_id: str | None = None


def parse_secret_ref(value_from: str) -> SecretRef:
    """``arn:aws:secretsmanager:R:A:secret:NAME-XXXXXX[:json-key:version-stage:version-id]``, an SSM parameter
    ARN, or a plain name (a Secrets Manager name first, as the local stack's tooling uses; else an SSM parameter).
    """
    parts = value_from.split(":")
    if value_from.startswith("arn:") and len(parts) >= 7 and parts[2] == "secretsmanager":
        arn = ":".join(parts[:7])
        extra = [*parts[7:], "", "", ""][:3]
        json_key, stage, version = (item or None for item in extra)
        return SecretRef("secretsmanager", arn, parts[3] or None, parts[4] or None, json_key, stage, version)
    if value_from.startswith("arn:") and len(parts) >= 6 and parts[2] == "ssm":
        name = parts[5].split("/", 1)[1] if "/" in parts[5] else parts[5]
        return SecretRef("ssm", name if name.startswith("/") or "/" not in name else "/" + name, parts[3], parts[4])
    return SecretRef("secretsmanager", value_from)


def matcher_accepts(matcher: str, status: int) -> bool:
    """ELB ``Matcher.HttpCode``: "200", "200,302" or "200-399"."""
    for part in (matcher or "200").split(","):
        part = part.strip()
        if "-" in part:
            low, high = part.split("-", 1)
            if int(low) <= status <= int(high):
                return True
        elif part and int(part) == status:
            return True
    return False
