"""ECS service deployments and service revisions: ListServiceDeployments, DescribeServiceDeployments,
StopServiceDeployment and DescribeServiceRevisions over the engine's rolling deployments.

AWS keeps, next to a service's ``deployments`` (PRIMARY / ACTIVE, ``rolloutState``), a *service deployment* for every
CreateService and every UpdateService that starts a deployment: its own ARN
(``arn:aws:ecs:<region>:<account>:service-deployment/<cluster>/<service>/<id>``), a ``status`` that follows the
deployment to its end, the *service revisions* it goes from (``sourceServiceRevisions``) and to
(``targetServiceRevision``, ``service-revision/<cluster>/<service>/<id>``), the circuit breaker's count and a rollback's
details. What the engine does with them (AWS's documented lifecycle, rolling update controller):

- created ``PENDING``; ``IN_PROGRESS`` from the engine's next reconcile step (``startedAt``);
- ``SUCCESSFUL`` when its deployment completes (``finishedAt``);
- ``STOPPED`` when a newer deployment supersedes it before that (``stoppedAt``, ``finishedAt``), or when the circuit
  breaker fails it and there is no rollback (rollback off, or no earlier revision to go back to);
- circuit breaker with rollback: ``ROLLBACK_IN_PROGRESS`` at once (``rollback`` = reason, start, the revision it
  returns to; ``deploymentCircuitBreaker.status`` TRIGGERED), then ``ROLLBACK_SUCCESSFUL`` or ``ROLLBACK_FAILED``
  with the rollback's own deployment;
- StopServiceDeployment (stopType ROLLBACK, the default) on a PENDING or IN_PROGRESS one: ``ROLLBACK_REQUESTED``,
  the service goes back to the last revision that deployed successfully (a new PRIMARY deployment of its task
  definition, keeping that definition's running tasks), ``ROLLBACK_IN_PROGRESS`` from the next step, and on as
  above. On STOP_REQUESTED / ROLLBACK_REQUESTED / ROLLBACK_IN_PROGRESS it changes nothing (AWS: "continues"); on a
  finished one, or with nothing to go back to, ConflictException.

One status change a reconcile step, so every status shows for a step at least (a crash loop's last failure and its
rollback's end can fall in one step). Not mirrored: stopType ABORT (refused), ``lifecycleStage`` and lifecycle hooks
(blue/green), CloudWatch alarm evaluation (configured alarms show MONITORING, never TRIGGERED), the 90-day history.

The first half of this file is pure (records, shapes, filters, pages: ``tests/unit/test_local_cloud_deployments.py``);
:class:`ServiceDeploymentTracker` is a part of :class:`.engine.Engine` (a mixin) that keeps the records in step with
the engine's deployments.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .. import rules

# ServiceDeploymentStatus (botocore's ECS model).
PENDING, IN_PROGRESS, SUCCESSFUL, STOPPED = "PENDING", "IN_PROGRESS", "SUCCESSFUL", "STOPPED"
STOP_REQUESTED, ROLLBACK_REQUESTED = "STOP_REQUESTED", "ROLLBACK_REQUESTED"
ROLLBACK_IN_PROGRESS, ROLLBACK_SUCCESSFUL, ROLLBACK_FAILED = (
    "ROLLBACK_IN_PROGRESS",
    "ROLLBACK_SUCCESSFUL",
    "ROLLBACK_FAILED",
)
STATUSES = (
    PENDING,
    SUCCESSFUL,
    STOPPED,
    STOP_REQUESTED,
    IN_PROGRESS,
    ROLLBACK_REQUESTED,
    ROLLBACK_IN_PROGRESS,
    ROLLBACK_SUCCESSFUL,
    ROLLBACK_FAILED,
)
FINISHED = (SUCCESSFUL, STOPPED, ROLLBACK_SUCCESSFUL, ROLLBACK_FAILED)
CONTINUING = (STOP_REQUESTED, ROLLBACK_REQUESTED, ROLLBACK_IN_PROGRESS)  # StopServiceDeployment: nothing more to do
STOP_TYPES = ("ABORT", "ROLLBACK")
# ServiceDeploymentRollbackMonitorsStatus
MONITOR_DISABLED, MONITORING, MONITORING_COMPLETE, TRIGGERED = (
    "DISABLED",
    "MONITORING",
    "MONITORING_COMPLETE",
    "TRIGGERED",
)
DEFAULT_MAX_RESULTS, MAX_RESULTS = 20, 100
MAX_DESCRIBE = 20  # ARNs per DescribeServiceDeployments / DescribeServiceRevisions
MISSING = "MISSING"

SUPERSEDED_REASON = "Service deployment stopped: a newer service deployment of the service started."
BREAKER_STOPPED_REASON = "Service deployment failed: the deployment circuit breaker threshold was reached."
BREAKER_ROLLBACK_REASON = "Service deployment rolled back because the circuit breaker threshold was exceeded."
USER_ROLLBACK_REASON = "Service deployment rolled back because of a StopServiceDeployment request."


class DeploymentApiError(Exception):
    """A request ECS refuses: ``code`` is the API error shape (InvalidParameterException, ConflictException, ...)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class RevisionCount:
    requested: int = 0
    running: int = 0
    pending: int = 0


@dataclass
class ServiceRevision:
    """What a deployment deploys: the service's configuration when the deployment started (read-only)."""

    arn: str
    service_arn: str
    cluster_arn: str
    task_definition: str
    created_at: datetime
    launch_type: str | None = None
    platform_version: str | None = None
    platform_family: str | None = None
    capacity_provider_strategy: list = field(default_factory=list)
    load_balancers: list = field(default_factory=list)
    service_registries: list = field(default_factory=list)
    network_configuration: dict | None = None
    container_images: list = field(default_factory=list)  # [{containerName, image}]


@dataclass
class ServiceDeployment:
    arn: str
    service_arn: str
    cluster_arn: str
    deployment_id: str  # the engine deployment (service.deployments[*]["id"]) that deploys the target revision
    target: str  # revision ARN
    sources: list[str]  # revision ARNs running when it was created
    created_at: datetime
    configuration: dict
    breaker_threshold: int
    seq: int  # creation order (pages, newest first)
    status: str = PENDING
    status_reason: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    stopped_at: datetime | None = None
    updated_at: datetime | None = None
    failure_count: int = 0
    breaker_triggered: bool = False
    rollback: dict | None = None  # {reason, startedAt, serviceRevisionArn}
    rollback_deployment_id: str | None = None  # the engine deployment that rolls back
    counts: dict[str, RevisionCount] = field(default_factory=dict)  # revision ARN -> its tasks
    changed: float | None = None  # engine clock (now()) of the last status change: each status lasts a step or more

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @property
    def breaker_enabled(self) -> bool:
        return bool((self.configuration.get("deploymentCircuitBreaker") or {}).get("enable"))


# --- ARNs -----------------------------------------------------------------------------------------------------------


def _prefix(service_arn: str) -> str:
    """``arn:aws:ecs:<region>:<account>`` of a service ARN."""
    return service_arn.split(":service/", 1)[0]


def deployment_arn(service_arn: str, cluster: str, service: str, deployment_id: str) -> str:
    return f"{_prefix(service_arn)}:service-deployment/{cluster}/{service}/{deployment_id}"


def revision_arn(service_arn: str, cluster: str, service: str, revision_id: str) -> str:
    return f"{_prefix(service_arn)}:service-revision/{cluster}/{service}/{revision_id}"


# --- transitions (pure) -----------------------------------------------------------------------------------------------


def breaker_status(record: ServiceDeployment) -> str:
    if not record.breaker_enabled:
        return MONITOR_DISABLED
    if record.breaker_triggered:
        return TRIGGERED
    return MONITORING_COMPLETE if record.finished else MONITORING


def stop_action(status: str, stop_type: str | None, has_previous: bool) -> str:
    """What StopServiceDeployment does to a service deployment in ``status``: ``rollback`` (start one),
    ``continue`` (already stopping or rolling back: nothing changes), or raises :class:`DeploymentApiError`."""
    kind = stop_type or "ROLLBACK"
    if kind not in STOP_TYPES:
        raise DeploymentApiError(
            "InvalidParameterException", f"stopType must be one of {', '.join(STOP_TYPES)}, got {stop_type!r}."
        )
    if kind == "ABORT":
        raise DeploymentApiError(
            "InvalidParameterException",
            "stopType ABORT is not supported for a rolling update (ECS) deployment: use ROLLBACK.",
        )
    if status in CONTINUING:
        return "continue"
    if status in FINISHED:
        raise DeploymentApiError(
            "ConflictException", f"The service deployment is {status} and cannot be stopped: it has finished."
        )
    if not has_previous:
        raise DeploymentApiError(
            "ConflictException",
            "The service deployment cannot be rolled back: the service has no earlier service revision that deployed"
            " successfully.",
        )
    return "rollback"


# --- the API's shapes (pure) ------------------------------------------------------------------------------------------


def _clean(value: Any) -> Any:
    """Drop None members (an absent member, as AWS answers), recursively."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def _summary(arn: str, count: RevisionCount | None) -> dict:
    count = count or RevisionCount()
    return {
        "arn": arn,
        "requestedTaskCount": count.requested,
        "runningTaskCount": count.running,
        "pendingTaskCount": count.pending,
    }


def deployment_configuration(configuration: dict) -> dict:
    """The service's deploymentConfiguration as the DeploymentConfiguration shape (rolling update)."""
    breaker = configuration.get("deploymentCircuitBreaker") or {}
    shaped: dict[str, Any] = {
        "deploymentCircuitBreaker": {"enable": bool(breaker.get("enable")), "rollback": bool(breaker.get("rollback"))},
        "maximumPercent": configuration.get("maximumPercent"),
        "minimumHealthyPercent": configuration.get("minimumHealthyPercent"),
        "strategy": configuration.get("strategy") or "ROLLING",
    }
    alarms = configuration.get("alarms")
    if alarms:
        shaped["alarms"] = {
            "alarmNames": list(alarms.get("alarmNames") or []),
            "rollback": bool(alarms.get("rollback")),
            "enable": bool(alarms.get("enable")),
        }
    return _clean(shaped)


def brief(record: ServiceDeployment) -> dict:
    """ServiceDeploymentBrief (ListServiceDeployments)."""
    return _clean(
        {
            "serviceDeploymentArn": record.arn,
            "serviceArn": record.service_arn,
            "clusterArn": record.cluster_arn,
            "startedAt": record.started_at,
            "createdAt": record.created_at,
            "finishedAt": record.finished_at,
            "targetServiceRevisionArn": record.target,
            "status": record.status,
            "statusReason": record.status_reason,
        }
    )


def describe(record: ServiceDeployment) -> dict:
    """ServiceDeployment (DescribeServiceDeployments)."""
    alarms = record.configuration.get("alarms") or {}
    return _clean(
        {
            "serviceDeploymentArn": record.arn,
            "serviceArn": record.service_arn,
            "clusterArn": record.cluster_arn,
            "createdAt": record.created_at,
            "startedAt": record.started_at,
            "finishedAt": record.finished_at,
            "stoppedAt": record.stopped_at,
            "updatedAt": record.updated_at or record.created_at,
            "sourceServiceRevisions": [_summary(arn, record.counts.get(arn)) for arn in record.sources],
            "targetServiceRevision": _summary(record.target, record.counts.get(record.target)),
            "status": record.status,
            "statusReason": record.status_reason,
            "deploymentConfiguration": deployment_configuration(record.configuration),
            "rollback": record.rollback,
            "deploymentCircuitBreaker": {
                "status": breaker_status(record),
                "failureCount": record.failure_count,
                "threshold": record.breaker_threshold,
            },
            "alarms": {
                # The local cloud has no CloudWatch alarm evaluation: configured alarms are watched, never triggered.
                "status": (MONITORING_COMPLETE if record.finished else MONITORING)
                if alarms.get("enable")
                else MONITOR_DISABLED,
                "alarmNames": list(alarms.get("alarmNames") or []),
                "triggeredAlarmNames": [],
            },
        }
    )


def describe_revision(revision: ServiceRevision) -> dict:
    """ServiceRevision (DescribeServiceRevisions)."""
    return _clean(
        {
            "serviceRevisionArn": revision.arn,
            "serviceArn": revision.service_arn,
            "clusterArn": revision.cluster_arn,
            "taskDefinition": revision.task_definition,
            "capacityProviderStrategy": revision.capacity_provider_strategy or None,
            "launchType": revision.launch_type,
            "platformVersion": revision.platform_version,
            "platformFamily": revision.platform_family,
            "loadBalancers": revision.load_balancers,
            "serviceRegistries": revision.service_registries,
            "networkConfiguration": revision.network_configuration or None,
            "containerImages": revision.container_images,
            "guardDutyEnabled": False,
            "createdAt": revision.created_at,
        }
    )


# --- ListServiceDeployments: filters and pages (pure) -----------------------------------------------------------------


def _as_datetime(value: Any, name: str) -> datetime | None:
    """A request timestamp (epoch seconds, as botocore sends it, or ISO 8601) -> naive UTC, as the records hold."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, int | float):
        return datetime.fromtimestamp(float(value), UTC).replace(tzinfo=None)
    try:
        return _as_datetime(float(value), name)
    except ValueError:
        pass
    try:
        return _as_datetime(datetime.fromisoformat(str(value).replace("Z", "+00:00")), name)
    except ValueError:
        raise DeploymentApiError("InvalidParameterException", f"{name} is not a valid timestamp: {value!r}.") from None


def select(records: list[ServiceDeployment], statuses: list[str] | None, created_at: dict | None) -> list:
    """The records that pass the ``status`` and ``createdAt`` {after, before} filters, newest first."""
    for status in statuses or []:
        if status not in STATUSES:
            raise DeploymentApiError(
                "InvalidParameterException", f"status must be one of {', '.join(STATUSES)}, got {status!r}."
            )
    after = _as_datetime((created_at or {}).get("after"), "createdAt.after")
    before = _as_datetime((created_at or {}).get("before"), "createdAt.before")
    found = [
        r
        for r in records
        if (not statuses or r.status in statuses)
        and (after is None or r.created_at >= after)
        and (before is None or r.created_at <= before)
    ]
    return sorted(found, key=lambda r: -r.seq)


def page(records: list, next_token: str | None, max_results: int | None) -> tuple[list, str | None]:
    """One page of ``records`` (newest first, from :func:`select`) and the token of the next (None: last page).

    The token names the last record returned (its creation number), so a deployment created while a client pages
    does not shift the pages."""
    size = DEFAULT_MAX_RESULTS if max_results is None else int(max_results)
    if not 1 <= size <= MAX_RESULTS:
        raise DeploymentApiError("InvalidParameterException", f"maxResults must be between 1 and {MAX_RESULTS}.")
    if next_token:
        try:
            after_seq = int(base64.urlsafe_b64decode(next_token.encode()).decode())
        except (ValueError, binascii.Error, UnicodeDecodeError):
            raise DeploymentApiError("InvalidParameterException", "The nextToken is not valid.") from None
        records = [r for r in records if r.seq < after_seq]
    chunk = records[:size]
    token = None
    if len(records) > size:
        token = base64.urlsafe_b64encode(str(chunk[-1].seq).encode()).decode()
    return chunk, token


# --- the engine's part ------------------------------------------------------------------------------------------------

_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"


def _new_deployment_id() -> str:
    from moto.moto_api._internal import mock_random

    return "".join(mock_random.choice(_ID_ALPHABET) for _ in range(21))


def _new_revision_id() -> str:
    from moto.moto_api._internal import mock_random

    return str(mock_random.randint(10**18, 10**19 - 1))


class ServiceDeploymentTracker:
    """Mixed into :class:`.engine.Engine`: keeps ``service_deployments`` / ``service_revisions`` (by ARN) in step
    with the engine's deployments. Every method runs under the engine's lock."""

    service_deployments: dict[str, ServiceDeployment]
    service_revisions: dict[str, ServiceRevision]

    def _sd_init(self) -> None:
        self.service_deployments = {}
        self.service_revisions = {}
        self._sd_seq = 0

    # --- records ----------------------------------------------------------------------------------------------------
    def _cluster_arn(self, service) -> str:
        return getattr(service, "cluster_arn", None) or f"{_prefix(service.arn)}:cluster/{service.cluster_name}"

    def _new_revision(self, service, task_definition: str) -> ServiceRevision:
        images = []
        try:
            definition = service._backend.describe_task_definition(task_definition)
            images = [
                {"containerName": c.get("name"), "image": c.get("image")} for c in definition.container_definitions
            ]
        except Exception:  # a definition moto no longer knows: the revision still names it
            images = []
        revision = ServiceRevision(
            arn=revision_arn(service.arn, service.cluster_name, service.name, _new_revision_id()),
            service_arn=service.arn,
            cluster_arn=self._cluster_arn(service),
            task_definition=task_definition,
            created_at=self.clock.wall(),
            launch_type=service.launch_type,
            platform_version=service.platform_version,
            platform_family="EC2" if service.launch_type == "EC2" else "FARGATE",  # as the engine's deployments
            capacity_provider_strategy=list(getattr(service, "capacity_provider_strategy", None) or []),
            load_balancers=[dict(lb) for lb in service.load_balancers or []],
            service_registries=[dict(r) for r in service.service_registries or []],
            network_configuration=service.network_configuration or None,
            container_images=images,
        )
        self.service_revisions[revision.arn] = revision
        return revision

    def _open_service_deployments(self, service_arn: str) -> list[ServiceDeployment]:
        return [r for r in self.service_deployments.values() if r.service_arn == service_arn and not r.finished]

    def _close(self, record: ServiceDeployment, status: str, reason: str | None = None, stopped: bool = False):
        now = self.clock.wall()
        record.status, record.changed = status, self.clock.now()
        if reason is not None:
            record.status_reason = reason
        record.finished_at = now
        if stopped:
            record.stopped_at = now
        record.updated_at = now

    def open_service_deployment(self, service, deployment: dict) -> ServiceDeployment:
        """A new deployment of ``service`` (CreateService, UpdateService) gets its service deployment and target
        revision; an unfinished earlier one is superseded (STOPPED)."""
        record_of_service = self.services[service.arn]
        for earlier in self._open_service_deployments(service.arn):
            done = self._engine_deployment(service, earlier.deployment_id)
            if earlier.status == IN_PROGRESS and done is not None and done["rolloutState"] == "COMPLETED":
                self._close(earlier, SUCCESSFUL)  # it completed in this very step
            else:
                self._close(earlier, STOPPED, SUPERSEDED_REASON, stopped=True)
        revision = self._new_revision(service, deployment["taskDefinition"])
        record_of_service.revisions[deployment["id"]] = revision.arn
        sources = []
        for other in service.deployments:
            arn = record_of_service.revisions.get(other["id"])
            if other["id"] != deployment["id"] and arn and arn not in sources:
                sources.append(arn)
        self._sd_seq += 1
        configuration = dict(self._config(service))
        record = ServiceDeployment(
            arn=deployment_arn(service.arn, service.cluster_name, service.name, _new_deployment_id()),
            service_arn=service.arn,
            cluster_arn=self._cluster_arn(service),
            deployment_id=deployment["id"],
            target=revision.arn,
            sources=sources,
            created_at=deployment.get("createdAt") or self.clock.wall(),  # the same instant as the deployment
            configuration=configuration,
            breaker_threshold=rules.circuit_breaker_threshold(service.desired_count or 0),
            seq=self._sd_seq,
        )
        self.service_deployments[record.arn] = record
        self._count_revisions(service, record)
        return record

    def _count_revisions(self, service, record: ServiceDeployment) -> None:
        """Each revision's tasks (requested / running / pending), from the engine deployments that run it."""
        revisions = self.services[service.arn].revisions
        counts: dict[str, RevisionCount] = {arn: RevisionCount() for arn in [record.target, *record.sources]}
        for deployment in service.deployments:
            arn = revisions.get(deployment["id"])
            if arn not in counts:
                continue
            counts[arn].requested += int(deployment.get("desiredCount") or 0)
            counts[arn].running += int(deployment.get("runningCount") or 0)
            counts[arn].pending += int(deployment.get("pendingCount") or 0)
        if counts != record.counts:
            record.counts = counts
            record.updated_at = self.clock.wall()

    def _engine_deployment(self, service, deployment_id: str | None) -> dict | None:
        return next((d for d in service.deployments if d["id"] == deployment_id), None)

    # --- following the engine ---------------------------------------------------------------------------------------
    def track_service_deployments(self, service) -> None:
        """One reconcile step: move each unfinished service deployment of ``service`` with its engine deployment."""
        for record in self._open_service_deployments(service.arn):
            now = self.clock.wall()
            self._count_revisions(service, record)
            target = self._engine_deployment(service, record.deployment_id)
            if target is not None and target.get("failedTasks", 0) != record.failure_count:
                record.failure_count = int(target.get("failedTasks", 0))
                record.updated_at = now
            if record.changed == self.clock.now():
                continue  # one status change a step: each status shows for a step at least
            if record.status in (PENDING, ROLLBACK_REQUESTED):
                if record.status == PENDING or record.started_at is None:  # (PENDING -> ROLLBACK_REQUESTED: starts now)
                    record.started_at = now
                record.status = IN_PROGRESS if record.status == PENDING else ROLLBACK_IN_PROGRESS
                record.updated_at, record.changed = now, self.clock.now()
            elif record.status == IN_PROGRESS and target is not None and target["rolloutState"] == "COMPLETED":
                self._close(record, SUCCESSFUL)
            elif record.status == ROLLBACK_IN_PROGRESS:
                rollback = self._engine_deployment(service, record.rollback_deployment_id)
                if rollback is not None and rollback["rolloutState"] == "COMPLETED":
                    self._close(record, ROLLBACK_SUCCESSFUL)
                elif rollback is not None and rollback["rolloutState"] == "FAILED":
                    self._close(record, ROLLBACK_FAILED, "Service deployment rollback failed: its tasks failed.")

    def service_deployment_failed(self, service, deployment: dict, rollback: dict | None) -> None:
        """The circuit breaker failed ``deployment``; ``rollback``: the engine deployment that rolls it back."""
        record = next(
            (r for r in self._open_service_deployments(service.arn) if r.deployment_id == deployment["id"]), None
        )
        if record is None:
            return
        record.breaker_triggered = True
        record.failure_count = int(deployment.get("failedTasks", 0))
        if rollback is None:
            self._close(record, STOPPED, BREAKER_STOPPED_REASON, stopped=True)
            return
        self._start_rollback(service, record, rollback, BREAKER_ROLLBACK_REASON, ROLLBACK_IN_PROGRESS)

    def _start_rollback(self, service, record: ServiceDeployment, rollback: dict, reason: str, status: str) -> None:
        now = self.clock.wall()
        revision = self.services[service.arn].revisions.get(rollback["id"])
        record.status, record.status_reason, record.updated_at = status, reason, now
        record.changed = self.clock.now()
        record.rollback = {"reason": reason, "startedAt": now, "serviceRevisionArn": revision}
        record.rollback_deployment_id = rollback["id"]
        if revision and revision not in record.sources:
            record.sources.append(revision)
        self._count_revisions(service, record)

    def forget_service_deployments(self, service_arn: str) -> None:
        """A deleted service's service deployments go with it (AWS deletes them)."""
        for arn in [a for a, r in self.service_deployments.items() if r.service_arn == service_arn]:
            del self.service_deployments[arn]
        for arn in [a for a, r in self.service_revisions.items() if r.service_arn == service_arn]:
            del self.service_revisions[arn]

    # --- the API ----------------------------------------------------------------------------------------------------
    def list_service_deployments(self, service, statuses, created_at, next_token, max_results) -> dict:
        mine = [r for r in self.service_deployments.values() if r.service_arn == service.arn]
        chunk, token = page(select(mine, statuses, created_at), next_token, max_results)
        answer: dict[str, Any] = {"serviceDeployments": [brief(r) for r in chunk]}
        if token:
            answer["nextToken"] = token
        return answer

    def describe_service_deployments(self, arns: list[str]) -> dict:
        _check_count(arns, "serviceDeploymentArns")
        found, failures = [], []
        for arn in arns:
            record = self.service_deployments.get(arn)
            if record is None:
                failures.append({"arn": arn, "reason": MISSING})
            else:
                found.append(describe(record))
        return {"serviceDeployments": found, "failures": failures}

    def describe_service_revisions(self, arns: list[str]) -> dict:
        _check_count(arns, "serviceRevisionArns")
        found, failures = [], []
        for arn in arns:
            revision = self.service_revisions.get(arn)
            if revision is None:
                failures.append({"arn": arn, "reason": MISSING})
            else:
                found.append(describe_revision(revision))
        return {"serviceRevisions": found, "failures": failures}

    def stop_service_deployment(self, arn: str, stop_type: str | None) -> dict:
        record = self.service_deployments.get(arn)
        if record is None:
            raise DeploymentApiError(
                "ServiceDeploymentNotFoundException",
                f"The service deployment {arn} does not exist. Use ListServiceDeployments for the ARNs.",
            )
        service = self._service_by_arn(record.service_arn)
        if service is None:
            raise DeploymentApiError("ServiceNotFoundException", "Service not found.")
        previous = self.services[service.arn].last_revision
        if stop_action(record.status, stop_type, previous is not None) == "rollback":
            revision = self.service_revisions[previous]
            engine_deployment = self.roll_back(
                service,
                revision.task_definition,
                f"ECS deployment rollback requested (StopServiceDeployment): rolling back {record.deployment_id}.",
                revision.arn,
                record.deployment_id,
            )
            self._start_rollback(service, record, engine_deployment, USER_ROLLBACK_REASON, ROLLBACK_REQUESTED)
        return {"serviceDeploymentArn": record.arn}

    def _service_by_arn(self, service_arn: str):
        for backend in self._backends():
            for service in backend.services.values():
                if service.arn == service_arn and service.status == "ACTIVE":
                    return service
        return None


def _check_count(arns: list[str], name: str) -> None:
    if not arns:
        raise DeploymentApiError("InvalidParameterException", f"{name} must name at least one ARN.")
    if len(arns) > MAX_DESCRIBE:
        raise DeploymentApiError("InvalidParameterException", f"{name} can name at most {MAX_DESCRIBE} ARNs.")
