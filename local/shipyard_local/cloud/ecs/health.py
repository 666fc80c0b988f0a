"""Targets: registration in the service's target groups, health checks, unhealthy tasks, draining.

:class:`TargetHealthChecks` is a part of :class:`.engine.Engine` (a mixin). A registered target starts
``initial``; a check runs every ``HealthCheckIntervalSeconds`` of the engine's clock against the task
(``TaskRun.check_health``, in the engine's thread pool) and :func:`..rules.after_health_check` applies the
threshold counts. A deregistered target drains for ``deregistration_delay.timeout_seconds`` before its task
stops.
"""

from __future__ import annotations

import logging

from .. import rules
from ..runners import base
from .records import Target, TaskRecord

log = logging.getLogger("shipyard_local.cloud")

# ECS learns about an unhealthy target from the load balancer a moment later, not in the same instant.
UNHEALTHY_NOTICE_SECONDS = 2.0
FIRST_CHECK_SECONDS = 0.25  # a new target's first health check, after registration


class TargetHealthChecks:
    def _target_group(self, arn: str):
        from moto.elbv2.models import elbv2_backends

        for account_id in list(elbv2_backends.keys()):
            for region in list(elbv2_backends[account_id].keys()):
                group = elbv2_backends[account_id][region].target_groups.get(arn)
                if group is not None:
                    return group
        return None

    def _register_targets(self, service, record: TaskRecord, now: float) -> None:
        task_definition_containers = {c["name"]: c for c in record.task.containers}
        for lb in service.load_balancers or []:
            arn = lb.get("targetGroupArn")
            group = self._target_group(arn) if arn else None
            if group is None:
                continue
            port = int(lb.get("containerPort") or 0)
            if lb.get("containerName") and lb["containerName"] not in task_definition_containers:
                continue
            group.targets[record.ip] = {"Id": record.ip, "Port": port}
            group.deregistered_targets.pop(record.ip, None)
            record.targets[arn] = Target(arn, record.ip, port, next_check=now + FIRST_CHECK_SECONDS)
            batch = getattr(self, "_registered", None)
            if batch is None:
                self.event(service, f"registered 1 targets in (target-group {arn})")
            else:
                batch.setdefault((service.arn, arn), [service, 0])[1] += 1

    def _remove_targets(self, service, record: TaskRecord, event: bool) -> None:
        for arn, target in list(record.targets.items()):
            group = self._target_group(arn)
            if group is not None and target.target_id in group.targets:
                group.targets.pop(target.target_id, None)
                group.deregistered_targets[target.target_id] = {"Id": target.target_id, "Port": target.port}
            if event and target.drain_until is None and service is not None:
                self.event(service, f"deregistered 1 targets in (target-group {arn})")
            record.targets.pop(arn, None)

    def _drain_targets(self, record: TaskRecord, now: float) -> dict[str, int]:
        """Deregister a stopping task's targets: each drains for its group's deregistration delay. {group: count}."""
        by_group: dict[str, int] = {}
        for target in [t for t in record.targets.values() if t.drain_until is None]:
            group = self._target_group(target.group_arn)
            delay = float((group.attributes if group else {}).get("deregistration_delay.timeout_seconds", 300))
            target.drain_until = now + delay
            target.health = rules.TargetHealth(
                rules.DRAINING,
                reason=rules.DEREGISTRATION_IN_PROGRESS,
                description=rules.DESCRIPTIONS[rules.DEREGISTRATION_IN_PROGRESS],
            )
            by_group[target.group_arn] = by_group.get(target.group_arn, 0) + 1
        return by_group

    def _announce_draining(self, service, by_group: dict[str, int], tasks: int) -> None:
        if not by_group:
            return
        self.event(service, f"has begun draining connections on {tasks} tasks.")
        for group_arn, count in by_group.items():
            self.event(service, f"deregistered {count} targets in (target-group {group_arn})")

    def _watch_health(self, service, tasks: list[TaskRecord], primary: dict, now: float) -> None:
        grace = float(getattr(service, "health_check_grace_period_seconds", None) or 0)
        for record in tasks:
            if record.task.last_status != "RUNNING" or not record.alive or record.run is None:
                continue
            for target in record.targets.values():
                self._health_step(record, target, now)
            if record.running_since is None or now - record.running_since < grace:
                continue
            sick = next(
                (
                    t
                    for t in record.targets.values()
                    if t.unhealthy_since is not None and now - t.unhealthy_since >= UNHEALTHY_NOTICE_SECONDS
                ),
                None,
            )
            if sick is not None:
                self.event(
                    service,
                    f"(port {sick.port}) is unhealthy in (target-group {sick.group_arn}) due to "
                    f"(reason {sick.health.description}).",
                )
                reason = f"Task failed ELB health checks in (target-group {sick.group_arn})"
                self._request_stop(service, record, "ServiceSchedulerInitiated", reason, now)
                self.event(service, f"has stopped 1 running tasks: (task {record.task.id}).")
                self._task_failed(service, record)
            elif record.task.health_status == "UNHEALTHY":
                self.event(service, f"(task {record.task.id}) failed container health checks.")
                reason = "Task failed container health checks"
                self._request_stop(service, record, "ServiceSchedulerInitiated", reason, now)
                self._task_failed(service, record)

    def _health_step(self, record: TaskRecord, target: Target, now: float) -> None:
        group = self._target_group(target.group_arn)
        if group is None:
            return
        if target.check is not None:
            if not target.check.done():
                return
            try:
                result = target.check.result()
            except Exception as error:
                result = base.HealthResult(False, "Target.FailedHealthChecks", str(error))
            target.check = None
            before = target.health.state
            target.health = rules.after_health_check(
                target.health,
                result.ok,
                int(group.healthy_threshold_count or 5),
                int(group.unhealthy_threshold_count or 2),
                result.reason,
                result.description,
            )
            if target.health.state != before:
                log.info("target %s:%s of task %s: %s -> %s (%s)", target.target_id, target.port, record.task.id,
                         before, target.health.state, result.description or "ok")  # fmt: skip
            if target.health.state != rules.UNHEALTHY:
                target.unhealthy_since = None
            elif target.unhealthy_since is None:
                target.unhealthy_since = now
        if now < target.next_check:
            return
        enabled = str(getattr(group, "health_check_enabled", True)).lower() != "false"
        if not enabled:
            target.health = rules.TargetHealth(rules.HEALTHY, reason=None, description=None)
            return
        target.next_check = now + float(group.health_check_interval_seconds or 30)
        path = group.health_check_path or "/"
        matcher = (getattr(group, "matcher", None) or {}).get("HttpCode", "200")
        timeout = float(group.health_check_timeout_seconds or 5)
        target.check = self._pool.submit(record.run.check_health, path, matcher, timeout)
