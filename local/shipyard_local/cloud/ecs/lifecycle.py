"""A task's life after it was made: PROVISIONING -> PENDING -> RUNNING -> (DEACTIVATING ->) STOPPING -> STOPPED.

:class:`TaskLifecycle` is a part of :class:`.engine.Engine` (a mixin): each tick it reads the task's runner
(``poll``) and moves the moto Task's ``lastStatus``, container states, stop code and reason, and timestamps
(``clock.wall()``); a stop request drains the task's targets first (:mod:`.health`).
"""

from __future__ import annotations

import logging

from ..runners import base
from .records import TaskRecord

log = logging.getLogger("shipyard_local.cloud")
START_ERROR_SECONDS = 0.5  # a task whose secrets cannot be read stops this long after it was made


class TaskLifecycle:
    def _advance_task(self, record: TaskRecord, now: float) -> None:
        if record.done_at is not None:
            return
        task = record.task
        service = self._service_of(record)
        if task.last_status == "PROVISIONING":
            task.last_status = "PENDING"
            return
        if record.start_error and record.stop is None:
            if now - record.created >= START_ERROR_SECONDS:
                code, reason = record.start_error
                record.stop = (code, reason)
                task.desired_status = "STOPPED"
                task.stopping_at = self.clock.wall()
                task.stop_code, task.stopped_reason = code, reason
                for container in task.containers:
                    container["lastStatus"] = "STOPPED"
                self._finish(record, service)
                if service is not None:
                    self._task_failed(service, record)
            return
        status = record.run.poll() if record.run else None
        if status is not None:
            self._apply_containers(task, status)
        if record.stop is not None:
            self._advance_stopping(record, status, service, now)
            return
        if status is None:
            return
        if status.phase == base.STOPPED:
            # Not asked to stop: the task failed (container exited, pull or secret failure).
            task.desired_status = "STOPPED"
            task.stopping_at = getattr(task, "stopping_at", None) or self.clock.wall()
            task.stop_code = status.stop_code or "EssentialContainerExited"
            task.stopped_reason = status.stopped_reason or "Essential container in task exited"
            if task.stop_code == "EssentialContainerExited" and getattr(task, "started_at", None) is None:
                # It ran and exited between two ticks (a one-off command): it was RUNNING all the same.
                task.started_at = self.clock.wall()
                task.pull_started_at = getattr(task, "pull_started_at", None) or task.started_at
                task.pull_stopped_at = getattr(task, "pull_stopped_at", None) or task.started_at
            record.stop = (task.stop_code, task.stopped_reason)
            if service is not None:
                self._remove_targets(service, record, event=True)
            self._finish(record, service)
            if service is not None:
                self._task_failed(service, record)
            return
        if status.phase in (base.PULLING, base.STARTING):
            if status.phase == base.STARTING and getattr(task, "pull_stopped_at", None) is None:
                task.pull_started_at = getattr(task, "pull_started_at", None) or self.clock.wall()
                task.pull_stopped_at = self.clock.wall()
            elif status.phase == base.PULLING and getattr(task, "pull_started_at", None) is None:
                task.pull_started_at = self.clock.wall()
            return
        if status.phase == base.RUNNING and task.last_status != "RUNNING":
            task.last_status = "RUNNING"
            task.started_at = self.clock.wall()
            task.pull_started_at = getattr(task, "pull_started_at", None) or task.started_at
            task.pull_stopped_at = getattr(task, "pull_stopped_at", None) or task.started_at
            record.running_since = now
            if service is not None:
                self._register_targets(service, record, now)

    def _apply_containers(self, task, status: base.TaskStatus) -> None:
        by_name = {c.name: c for c in status.containers}
        for container in task.containers:
            current = by_name.get(container["name"])
            if current is None:
                continue
            container["lastStatus"] = current.last_status
            container["healthStatus"] = current.health_status
            if current.exit_code is not None:
                container["exitCode"] = current.exit_code
            if current.reason:
                container["reason"] = current.reason
            if current.image_digest:
                container["imageDigest"] = current.image_digest
        healths = {c["healthStatus"] for c in task.containers}
        task.health_status = "UNHEALTHY" if "UNHEALTHY" in healths else "HEALTHY" if "HEALTHY" in healths else "UNKNOWN"

    def _request_stop(
        self, service, record: TaskRecord, code: str, reason: str, now: float, announce: bool = True
    ) -> dict[str, int]:
        """Begin stopping a task: deregister its targets (draining), or stop it at once. Returns {group: count}."""
        by_group: dict[str, int] = {}
        if record.stop is not None or record.done_at is not None:
            return by_group
        record.stop = (code, reason)
        task = record.task
        task.desired_status = "STOPPED"
        task.stopping_at = self.clock.wall()
        task.stop_code = code
        task.stopped_reason = reason
        by_group = self._drain_targets(record, now)
        if by_group:
            if announce and service is not None:  # a standalone task (RunTask) has no service to tell
                self._announce_draining(service, by_group, 1)
            if task.last_status == "RUNNING":
                task.last_status = "DEACTIVATING"
        return by_group

    def _advance_stopping(self, record: TaskRecord, status, service, now: float) -> None:
        task = record.task
        draining = [t for t in record.targets.values() if t.drain_until is not None]
        if any(now < t.drain_until for t in draining):
            return
        if record.targets:
            self._remove_targets(service, record, event=False)
        if not record.stop_sent:
            record.stop_sent = True
            if record.run is not None:
                record.run.stop(record.stop[1])
            if task.last_status not in ("STOPPED",):
                task.last_status = "STOPPING"
        if record.run is None or (status is not None and status.phase == base.STOPPED):
            if status is not None and status.phase == base.STOPPED and task.stop_code is None:
                task.stop_code = status.stop_code
            self._finish(record, service)

    def _finish(self, record: TaskRecord, service) -> None:
        task = record.task
        now = self.clock.wall()
        task.last_status = "STOPPED"
        task.desired_status = "STOPPED"
        task.stopping_at = getattr(task, "stopping_at", None) or now
        task.execution_stopped_at = now
        task.stopped_at = now
        for container in task.containers:
            container["lastStatus"] = "STOPPED"
        record.done_at = self.clock.now()
        self._release_network_interface(record)
        if record.run is not None:
            try:
                record.run.release()
            except Exception:
                log.exception("ECS engine: releasing %s", task.id)
        if service is not None:
            self.refresh_counts(service)
