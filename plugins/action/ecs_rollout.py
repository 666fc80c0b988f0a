# Copyright: Shipyard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The controller side of ``shipyard.fargate.ecs_rollout``: the waiting loop, live progress, rollback.

The module does one step per run (start, observe, logs, rollback) with the task's credentials and
``module_defaults``; this plugin keeps the waiter's state between steps, decides with the pure functions of
``module_utils/rollout/``, and prints one progress line per change (works in AWX and CI logs: plain lines, no
spinner).

Where the module runs on the controller (connection ``local``, as for every AWS task of the collection: the services
are API targets), the whole wait is one module run (the wait step, ``rollout.loop.run`` in the module): no module
start-up between two polls, so an event is seen at the next poll, never one start-up later. The module appends each
progress line to a file of this plugin's while it waits, and this plugin shows each line as it is written (a thread
runs the module). Credentials, ``module_defaults`` and endpoints are the module's, as for any AWS module.

Elsewhere (a module that runs on another host), one module run per poll: the observe step gets the waiter's state
(``rollout.wire``) and makes DescribeServices and the detail calls that poll needs (``rollout.loop.observe``) in the
same run; the start step makes the wait's first poll too. The next poll's run starts as soon as the delay is known
and sleeps in the module for what is left of it, so Python's start-up (about 0.5 s) overlaps the delay.
"""

from __future__ import annotations

import os
import random
import tempfile
import threading
import time
from dataclasses import replace

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display
from ansible_collections.shipyard.fargate.plugins.module_utils.rollout import loop, model, progress, wire
from ansible_collections.shipyard.fargate.plugins.module_utils.rollout import service_deployments as deployments
from ansible_collections.shipyard.fargate.plugins.module_utils.rollout.payloads import (
    after_newest_event,
    task_definition_label,
)

display = Display()

MODULE = "shipyard.fargate.ecs_rollout"
NO_ROLLBACK = ("superseded", "service_missing", "service_inactive", "deployment_not_found")
# A module run's start-up (process, AnsiballZ, imports) before its first estimate: what the first poll's run is
# started ahead of its time by.
STARTUP_GUESS = 0.4
# How often the progress file of a wait made in one module run is read for new lines.
PROGRESS_READ_SECONDS = 0.05


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
        internal = sorted(name for name in args if name.startswith("_"))
        if internal:
            raise AnsibleActionFail(f"{', '.join(internal)}: internal options of {MODULE}, set by its action plugin")
        self._args = args
        self._task_vars = task_vars
        self._calls = 0
        self._retries = 0  # attempts made again within those calls (AWS throttled or failed them)
        self._last_service = None
        self._startup = STARTUP_GUESS
        self._overheads = []
        try:
            result.update(self._run(args))
        except StepFailed as failed:
            # A module step that failed counted its own calls; a failed verdict already carries the total.
            if failed.from_step:
                failed.result["api_calls"] = self._calls + failed.result.get("api_calls", 0)
                failed.result["api_retries"] = self._retries + failed.result.get("api_retries", 0)
            result.update(failed.result)
            result["failed"] = True
        return result

    # --- one step through the module -------------------------------------------------------------------
    def _step(self, name, **extra):
        module_args = dict(self._args, _step=name, **extra)
        res = self._execute_module(module_name=MODULE, module_args=module_args, task_vars=self._task_vars)
        if res.get("failed"):
            raise StepFailed(res)
        self._calls += int(res.get("api_calls") or 0)
        self._retries += int(res.get("api_retries") or 0)
        return res

    def _poll(self, state, delay, elapsed):
        """One poll, one module run: started now, it sleeps what is left of ``delay`` once Python is up."""
        ahead = min(delay, self._startup)
        began = time.monotonic()
        res = self._step("observe", _state=wire.state_to_wire(state), _delay=delay - ahead, _elapsed=elapsed)
        # What the run cost beyond its own work: next time, start that much ahead (the lowest seen: a poll that comes
        # a little late is better than one that comes early and breaks the pace).
        self._overheads.append(max(0.0, time.monotonic() - began - float(res.get("busy") or 0.0)))
        self._startup = min(self._overheads[-5:])
        observation = wire.observation_from_wire(res["observation"])
        if observation.service is not None:
            self._last_service = observation.service
        return observation

    def _module_runs_here(self):
        """Whether the module runs on this machine (connection local): then the whole wait can be one run."""
        return getattr(self._connection, "transport", None) in ("local", "ansible.builtin.local")

    def _wait_in_one_run(self, state, first):
        """The whole wait as the module's wait step, in a thread; its progress lines are shown as it writes them."""
        fd, path = tempfile.mkstemp(prefix="shipyard-rollout-", suffix=".progress")
        os.close(fd)
        done = {}

        def work():
            try:
                done["result"] = self._step(
                    "wait",
                    _state=wire.state_to_wire(state, whole=True),
                    _first=None if first is None else wire.observation_to_wire(first),
                    _progress_file=path,
                    _controller_pid=os.getpid(),  # the module stops polling if this process is gone
                )
            except BaseException as error:  # raised again in the plugin's thread, below
                done["error"] = error

        worker = threading.Thread(target=work, name="ecs_rollout wait", daemon=True)
        worker.start()
        try:
            with open(path, encoding="utf-8") as progress:
                pending = ""
                while True:
                    running = worker.is_alive()
                    pending += progress.read()
                    *lines, pending = pending.split("\n")
                    for line in lines:
                        display.display(line)
                    if not running:
                        break
                    worker.join(PROGRESS_READ_SECONDS)
        finally:
            # Removed at once, also when this wait is interrupted: the module sees it at its next poll and stops.
            os.unlink(path)
        worker.join()
        if "error" in done:
            raise done["error"]
        result = done["result"]
        if result.get("last_service") is not None:
            self._last_service = result["last_service"]
        return wire.outcome_from_wire(result["outcome"])

    def _wait(self, state, options, first=None):
        """Wait for the verdict; ``first``: the first poll, made already (the start step's)."""
        name = state.service_name or self._args["service"]
        if self._module_runs_here():
            outcome = self._wait_in_one_run(state, first)
        else:
            outcome = loop.run(
                self._poll,
                state,
                options,
                clock=time.monotonic,
                rng=random.SystemRandom(),
                report=display.display,
                first=first,
            )
        verdict = outcome.verdict
        # The verdict line first: the log tail read next only adds lines below the message's first one.
        display.display(f"{name}: {verdict.kind.lower()}: {verdict.message.splitlines()[0] if verdict.message else ''}")
        if verdict.kind == model.FAILED and verdict.log_task_arn and self._args.get("log_lines", 20) != 0:
            logs = self._step(
                "logs",
                _log_task_arn=verdict.log_task_arn,
                _log_container=verdict.log_container,
                _log_task_definition=outcome.state.task_definition_arn,  # the failed tasks are the deployment's
            )
            verdict = progress.attach_log_tail(verdict, logs.get("events"), int(self._args.get("log_lines") or 20))
            outcome = replace(outcome, verdict=verdict)
        return outcome

    # --- the whole story ---------------------------------------------------------------------------------
    def _options(self):
        return model.options_from(self._args)

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
                api_retries=self._retries,
            )
        options = self._options()
        service = start["service"]
        # The same start state as the start step's first poll was made with (loop.start_state on the same answer).
        state = loop.start_state(
            service,
            deployment_id=args.get("deployment_id"),
            task_definition_arn=loop.watched_task_definition(
                service, start.get("task_definition_arn"), args.get("deployment_id")
            ),
            previous_task_definition_arn=start.get("previous_task_definition_arn"),
        )
        state = replace(state, calls_before=self._calls, seconds_before=time.monotonic() - started)
        first = None
        if start.get("first_poll"):  # its calls are counted in calls_before already
            first = replace(wire.observation_from_wire(start["first_poll"]), api_calls=0)
            self._last_service = first.service or service
        outcome = self._wait(state, options, first)
        out = dict(base, **progress.result(outcome))
        out.update(api_calls=self._calls, api_retries=self._retries)
        verdict = outcome.verdict
        out["msg"] = verdict.message
        if verdict.kind == model.SUCCEEDED:
            out["elapsed"] = round(time.monotonic() - started, 1)
            self._say_calls(outcome.state)
            return out
        # ECS's circuit breaker rolls back whatever O(rollback) says: that rollback is always waited for.
        ours = args.get("rollback", True) or verdict.reason_code == "circuit_breaker_rollback"
        rollback = self._rollback(outcome, options) if ours else None
        if rollback is not None:
            out["rollback"] = rollback
            out["msg"] += f"\nRollback to {task_definition_label(rollback['task_definition_arn'])}: "
            out["msg"] += rollback["message"]
            out["changed"] = True
        out["elapsed"] = round(time.monotonic() - started, 1)
        out.update(api_calls=self._calls, api_retries=self._retries)
        self._say_calls(outcome.state)
        raise StepFailed(out, from_step=False)

    def _say_calls(self, state):
        """``web: 42 AWS calls (3 retried)``: a line only when AWS throttled or failed calls that were made again."""
        if self._retries > 0:
            name = state.service_name or self._args["service"]
            display.display(f"{name}: {progress.calls_text(self._calls, self._retries)}")

    def _rollback(self, outcome, options):
        verdict, state = outcome.verdict, outcome.state
        if verdict.reason_code in NO_ROLLBACK:
            return None
        began = time.monotonic()
        name = state.service_name or self._args["service"]
        via = None
        if verdict.reason_code == "circuit_breaker_rollback":
            back_to = verdict.rollback_deployment_id or task_definition_label(state.previous_task_definition_arn)
            display.display(f"{name}: ECS rolls back, waiting for {back_to}")
            # The poll that saw the rollback holds ECS's rollback deployment: the wait for it starts from there.
            service = self._last_service
            if verdict.rollback_deployment_id:
                back = loop.start_state(service, deployment_id=verdict.rollback_deployment_id)
            elif state.previous_task_definition_arn:
                back = loop.start_state(service, task_definition_arn=state.previous_task_definition_arn)
            else:
                return None
        else:
            target = state.previous_task_definition_arn
            if not target or target == state.task_definition_arn:
                return None
            display.display(f"{name}: rolling back to {task_definition_label(target)}")
            extra = {"_rollback_to": target}
            if state.service_deployment_arn and deployments.can_stop(state.service_deployment):
                extra["_rollback_deployment"] = state.service_deployment_arn  # StopServiceDeployment (ROLLBACK)
            answer = self._step("rollback", **extra)
            service, via = answer["service"], answer.get("rollback_via")
            back = loop.start_state(service, task_definition_arn=target)
        # What ECS said about the failed deployment is history for the rollback: only newer events count.
        back = replace(
            back,
            # The rollback's wait reads DescribeServices and the events: in ECS's deployment API a rollback is the
            # failed service deployment's own ROLLBACK_* status, not a deployment of its own to find.
            deployment_api=False,
            since=after_newest_event(service) or back.since,
            calls_before=self._calls,
            seconds_before=state.seconds_before + state.elapsed + (time.monotonic() - began),
        )
        back_outcome = self._wait(back, options)
        return {
            "verdict": back_outcome.verdict.kind,
            "reason_code": back_outcome.verdict.reason_code,
            "message": back_outcome.verdict.message,
            "deployment_id": back_outcome.state.deployment_id,
            "task_definition_arn": back_outcome.state.task_definition_arn,
            "elapsed": round(time.monotonic() - began, 1),
            "via": via or "ECS",
            "timeline": list(back_outcome.state.timeline),
        }
