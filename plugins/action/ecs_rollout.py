# Copyright: Shipyard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The controller side of ``shipyard.fargate.ecs_rollout``: the waiting loop, live progress, rollback.

The module does one AWS step per call (start, observe, logs, rollback) with the task's credentials and
``module_defaults``; this plugin keeps the waiter's state between steps, decides with the pure functions
of ``module_utils/rollout.py``, and prints one progress line per change (works in AWX and CI logs: plain
lines, no spinner).
"""

from __future__ import annotations

import random
import time
from dataclasses import replace
from datetime import datetime, timezone

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display
from ansible_collections.shipyard.fargate.plugins.module_utils import rollout

display = Display()

MODULE = "shipyard.fargate.ecs_rollout"
INTERNAL = ("step", "detail", "target_groups", "log_task_arn", "log_container", "log_task_definition", "rollback_to")
NO_ROLLBACK = ("superseded", "service_missing", "service_inactive", "deployment_not_found")


class StepFailed(Exception):
    def __init__(self, result, from_step=True):
        super().__init__(result.get("msg", "ecs_rollout step failed"))
        self.result = result
        self.from_step = from_step


class ActionModule(ActionBase):
    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        args = dict(self._task.args)
        internal = sorted(name for name in INTERNAL if name in args)
        if internal:
            raise AnsibleActionFail(f"{', '.join(internal)}: internal options of {MODULE}, set by its action plugin")
        self._args = args
        self._task_vars = task_vars
        self._calls = 0
        self._last_service = None
        try:
            result.update(self._run(args))
        except StepFailed as failed:
            # A module step that failed counted its own calls; a failed verdict already carries the total.
            if failed.from_step:
                failed.result["api_calls"] = self._calls + failed.result.get("api_calls", 0)
            result.update(failed.result)
            result["failed"] = True
        return result

    # --- one AWS step through the module ---------------------------------------------------------------
    def _step(self, name, **extra):
        module_args = dict(self._args, step=name, **extra)
        res = self._execute_module(module_name=MODULE, module_args=module_args, task_vars=self._task_vars)
        if res.get("failed"):
            raise StepFailed(res)
        self._calls += int(res.get("api_calls") or 0)
        return res

    def _fetch_service(self):
        res = self._step("observe")
        self._last_service = res.get("service")
        return rollout.Observation(
            service=res.get("service"), failures=tuple(res.get("failures") or ()), throttled=bool(res.get("throttled"))
        )

    def _fetch_detail(self, observation, _state, calls):
        wanted = (("tasks", calls.tasks or calls.stopped), ("stopped", calls.stopped), ("targets", calls.targets))
        detail = [name for name, ask in wanted if ask]
        groups = []
        for balancer in (observation.service or {}).get("loadBalancers") or []:
            if balancer.get("targetGroupArn") and balancer["targetGroupArn"] not in groups:
                groups.append(balancer["targetGroupArn"])
        res = self._step("observe", detail=detail, target_groups=groups)
        if res.get("throttled"):
            return replace(observation, throttled=True)
        health = res.get("target_health")
        return replace(
            observation,
            tasks=tuple(res["tasks"]) if res.get("tasks") is not None else observation.tasks,
            # A listing without targets (the stopped tasks' second look) keeps this poll's reading, if it had one.
            target_health=health if health is not None else observation.target_health,
        )

    def _wait(self, state, options, service):
        """Wait for the verdict, starting from ``service`` as the caller's last step returned it (no new call)."""
        name = state.service_name or self._args["service"]

        def report(line):
            display.display(line)

        outcome = rollout.wait_for(
            self._fetch_service,
            self._fetch_detail,
            state,
            options,
            clock=time.monotonic,
            sleep=time.sleep,
            rng=random.SystemRandom(),
            report=report,
            now=lambda: datetime.now(timezone.utc),  # noqa: UP017 - datetime.UTC is 3.11+
            initial=rollout.Observation(service=service) if service else None,
        )
        verdict = outcome.verdict
        # The verdict line first: the log tail read next only adds lines below the message's first one.
        display.display(f"{name}: {verdict.kind.lower()}: {verdict.message.splitlines()[0] if verdict.message else ''}")
        if verdict.kind == rollout.FAILED and verdict.log_task_arn and self._args.get("log_lines", 20) != 0:
            logs = self._step(
                "logs",
                log_task_arn=verdict.log_task_arn,
                log_container=verdict.log_container,
                log_task_definition=outcome.state.task_definition_arn,  # the failed tasks are the deployment's
            )
            verdict = rollout.attach_log_tail(verdict, logs.get("events"), int(self._args.get("log_lines") or 20))
            outcome = replace(outcome, verdict=verdict)
        return outcome

    # --- the whole story ---------------------------------------------------------------------------------
    def _options(self):
        return rollout.Options(
            timeout=float(self._args.get("timeout", 600)),
            tolerated_stopped_tasks=int(self._args.get("tolerated_stopped_tasks", 0)),
            unhealthy_grace=float(self._args.get("unhealthy_grace", 60)),
            stable_for=float(self._args.get("stable_for", rollout.DEFAULT_STABLE_FOR)),
        )

    def _run(self, args):
        started = time.monotonic()
        start = self._step("start")
        changed = bool(start.get("changed"))
        base = {"changed": changed, "diff": start.get("diff", {})}
        if start.get("secret_rotation") is not None:  # roll_on_secret_change: say why the service is rolled
            base["secret_rotation"] = start["secret_rotation"]
            if start["secret_rotation"].get("roll"):
                display.display(f"{args['service']}: {start['secret_rotation']['reason']}")
        if self._task.check_mode or not args.get("wait", True):
            return dict(
                base,
                verdict="SKIPPED",
                reason_code=None,
                message="check mode: not waiting" if self._task.check_mode else "wait=false: not waiting",
                task_definition_arn=start.get("task_definition_arn"),
                previous_task_definition_arn=start.get("previous_task_definition_arn"),
                failed_task_ids=[],
                elapsed=round(time.monotonic() - started, 1),
                api_calls=self._calls,
            )
        options = self._options()
        state = rollout.start_state(
            start["service"],
            deployment_id=args.get("deployment_id"),
            task_definition_arn=start.get("task_definition_arn")
            or (None if args.get("deployment_id") else _primary_task_definition(start["service"])),
            previous_task_definition_arn=start.get("previous_task_definition_arn"),
        )
        state = replace(state, calls_before=self._calls, seconds_before=time.monotonic() - started)
        outcome = self._wait(state, options, start["service"])
        out = dict(base, **rollout.result(outcome))
        out["api_calls"] = self._calls
        verdict = outcome.verdict
        if verdict.kind == rollout.SUCCEEDED:
            out["msg"] = verdict.message
            out["elapsed"] = round(time.monotonic() - started, 1)
            return out
        out["msg"] = verdict.message
        # ECS's circuit breaker rolls back whatever O(rollback) says: that rollback is always waited for.
        ours = args.get("rollback", True) or verdict.reason_code == "circuit_breaker_rollback"
        rollback = self._rollback(outcome, options) if ours else None
        if rollback is not None:
            out["rollback"] = rollback
            out["msg"] += f"\nRollback to {rollout.task_definition_label(rollback['task_definition_arn'])}: "
            out["msg"] += rollback["message"]
            out["changed"] = True
        out["elapsed"] = round(time.monotonic() - started, 1)
        out["api_calls"] = self._calls
        raise StepFailed(out, from_step=False)

    def _rollback(self, outcome, options):
        verdict, state = outcome.verdict, outcome.state
        if verdict.reason_code in NO_ROLLBACK:
            return None
        began = time.monotonic()
        name = state.service_name or self._args["service"]
        if verdict.reason_code == "circuit_breaker_rollback" and verdict.rollback_deployment_id:
            display.display(f"{name}: ECS's circuit breaker rolls back, waiting for {verdict.rollback_deployment_id}")
            # The poll that saw the rollback holds ECS's rollback deployment: the wait for it starts from there.
            service = self._last_service or self._fetch_service().service
            back = rollout.start_state(service, deployment_id=verdict.rollback_deployment_id)
        else:
            target = state.previous_task_definition_arn
            if not target or target == state.task_definition_arn:
                return None
            display.display(f"{name}: rolling back to {rollout.task_definition_label(target)}")
            service = self._step("rollback", rollback_to=target)["service"]
            back = rollout.start_state(service, task_definition_arn=target)
        # What ECS said about the failed deployment is history for the rollback: only newer events count.
        back = replace(
            back,
            since=rollout.after_newest_event(service) or back.since,
            calls_before=self._calls,
            seconds_before=state.seconds_before + state.elapsed + (time.monotonic() - began),
        )
        back_outcome = self._wait(back, options, service)
        return {
            "verdict": back_outcome.verdict.kind,
            "reason_code": back_outcome.verdict.reason_code,
            "message": back_outcome.verdict.message,
            "deployment_id": back_outcome.state.deployment_id,
            "task_definition_arn": back_outcome.state.task_definition_arn,
            "elapsed": round(time.monotonic() - began, 1),
            "timeline": list(back_outcome.state.timeline),
        }


def _primary_task_definition(service):
    primary = next((d for d in service.get("deployments") or [] if d.get("status") == "PRIMARY"), None)
    return (primary or {}).get("taskDefinition") or service.get("taskDefinition")
