# Copyright: Shipyard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The controller side of ``shipyard.fargate.ecs_task_run``: the wait for a one-off task, its verdict, progress lines.

The module does one AWS step per call (start: DescribeTaskDefinition + RunTask; observe: DescribeTasks; stop:
StopTask; logs: GetLogEvents) with the task's credentials and ``module_defaults``; this plugin keeps the loop
(``wait_task``: every effect passed in, so recorded payloads replay through it), decides with pure functions
(``judge``, ``failure_message``) built on the rollout's readers (``module_utils/rollout/``: ``stopped_task``,
``stopped_text``, ``attach_log_tail``, ``next_poll_delay``), and prints one progress line per status change.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, replace

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display
from ansible_collections.shipyard.fargate.plugins.module_utils.rollout import model, payloads, polling, progress

display = Display()

MODULE = "shipyard.fargate.ecs_task_run"
SUCCEEDED = "SUCCEEDED"
FAILED = "FAILED"
WAITING = "WAITING"
TIMED_OUT = "TIMED_OUT"


# --- pure decisions ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Judgement:
    """The verdict on one DescribeTasks answer: WAITING, SUCCEEDED, FAILED or TIMED_OUT (the caller stops the task)."""

    kind: str
    exit_code: int | None = None
    stop_code: str | None = None
    stopped_reason: str | None = None
    detail: str = ""  # the stopped task in words (progress.stopped_text)

    @property
    def done(self) -> bool:
        return self.kind != WAITING


def exit_code_of(task: dict | None, container: str) -> int | None:
    for item in (task or {}).get("containers") or ():
        if item.get("name") == container:
            return item.get("exitCode")
    return None


def judge(task: dict | None, container: str, elapsed: float, timeout: float) -> Judgement:
    """Success only when the task STOPPED and ``container`` exited with 0; any other stop fails; past ``timeout``
    a task still going is TIMED_OUT. ``task``: DescribeTasks' ``tasks[0]`` (None: not found)."""
    if task is not None and task.get("lastStatus") == "STOPPED":
        stopped = payloads.stopped_task(task, any_reason=True)
        code = exit_code_of(task, container)
        kind = SUCCEEDED if code == 0 else FAILED
        return Judgement(kind, code, task.get("stopCode"), task.get("stoppedReason"), progress.stopped_text(stopped))
    if elapsed >= timeout:
        return Judgement(TIMED_OUT, None, None, None)
    return Judgement(WAITING)


def progress_line(label: str, task: dict | None, elapsed: float) -> str:
    """``one-off task 1a2b (web:7, container app): RUNNING (4s)``; STOPPED lines add the exit code."""
    status = (task or {}).get("lastStatus") or "UNKNOWN"
    return f"{label}: {status} ({int(elapsed)}s)"


def task_label(task_arn: str | None, task_definition_arn: str, container: str) -> str:
    who = f"one-off task {payloads.task_id(task_arn)}" if task_arn else "one-off task"
    return f"{who} ({payloads.task_definition_label(task_definition_arn)}, container {container})"


def failure_message(
    label: str, judgement: Judgement, elapsed: float, timeout: float, task_arn: str | None = None, stop_note: str = ""
) -> str:
    """The first line of a failure: the exit code (or that it never ran), the stopped reason, the containers."""
    if judgement.kind == TIMED_OUT:
        text = f"{label} timed out after {int(timeout)}s: task {payloads.task_id(task_arn)} stopped (StopTask)"
        return text + (f"; {stop_note}" if stop_note else "")
    if judgement.exit_code is None:
        head = f"{label} never ran its command"
    else:
        head = f"{label} failed with exit code {judgement.exit_code}"
    return f"{head} after {int(elapsed)}s: {judgement.detail}"


def with_log_tail(message: str, task_arn: str | None, container: str, events, max_lines: int) -> str:
    """``message`` and the container's last log lines (``progress.attach_log_tail``)."""
    verdict = model.Verdict(kind=model.FAILED, message=message, log_task_arn=task_arn, log_container=container)
    return progress.attach_log_tail(verdict, events, max_lines).message


def log_lines(events, max_lines: int) -> list:
    return [(e.get("message") or "").rstrip("\n") for e in events or ()][-max_lines:] if max_lines else []


@dataclass(frozen=True)
class Waited:
    """What ``wait_task`` returns: the verdict, the last task seen, seconds waited, polls and API calls."""

    judgement: Judgement
    task: dict | None
    elapsed: float
    polls: int
    api_calls: int


def wait_task(fetch, container, timeout, *, clock, sleep, rng, report=None, label="one-off task", initial=None):
    """Poll until the task stopped or ``timeout``: ``fetch()`` -> ``(task or None, throttled, api_calls)``.

    Polling: the rollout's policy (``polling.next_poll_delay``): 2 s during the first 10 s and after each change,
    then up to 4 s; jittered exponential backoff when throttled. ``report`` gets one line per status change.
    ``initial``: the task as RunTask returned it (the first look, no call).
    """
    options = model.Options(timeout=float(timeout))
    state = model.WaitState(service_name=label)
    started = clock()
    last_status = None
    task = initial
    polls = calls = 0
    while True:
        elapsed = clock() - started
        throttled = False
        if polls or initial is None:
            seen, throttled, used = fetch()
            calls += used
            if seen is None and not throttled:
                gone = Judgement(FAILED, detail="DescribeTasks no longer knows the task (MISSING)")
                return Waited(gone, task, elapsed, polls + 1, calls)
            task = task if throttled else seen
        polls += 1
        status = (task or {}).get("lastStatus")
        changed = status != last_status
        if changed and report is not None:
            report(progress_line(label, task, elapsed))
        last_status = status
        judgement = judge(task, container, elapsed, timeout)  # throttled: the last task seen, judged again
        if judgement.done:
            return Waited(judgement, task, elapsed, polls, calls)
        state = replace(
            state,
            elapsed=elapsed,
            api_calls=calls,
            throttles=state.throttles + 1 if throttled else 0,
            last_change=elapsed if changed else state.last_change,
        )
        delay = polling.next_poll_delay(state, changed, throttled, rng, options)
        delay = max(0.0, min(delay, timeout - elapsed))
        state = replace(state, delay=delay)
        sleep(delay)


# --- the plugin ------------------------------------------------------------------------------------------------------


class StepFailed(Exception):
    def __init__(self, result):
        super().__init__(result.get("msg", "ecs_task_run step failed"))
        self.result = result


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
        self._retries = 0
        self._task_arn = None
        try:
            result.update(self._run(args))
        except StepFailed as failed:
            failed.result["api_calls"] = self._calls + int(failed.result.get("api_calls") or 0)
            failed.result["api_retries"] = self._retries + int(failed.result.get("api_retries") or 0)
            if self._task_arn and not failed.result.get("task_arn"):  # a step failed after RunTask: which task
                failed.result["task_arn"] = self._task_arn
            result.update(failed.result)
            result["failed"] = True
        return result

    def _step(self, name, **extra):
        module_args = dict(self._args, _step=name, **{f"_{key}": value for key, value in extra.items()})
        res = self._execute_module(module_name=MODULE, module_args=module_args, task_vars=self._task_vars)
        shown = (res.get("invocation") or {}).get("module_args") or {}
        if shown.get("environment"):  # the names only: a value may be a credential
            shown["environment"] = dict.fromkeys(shown["environment"], "(value not shown)")
        if res.get("failed"):
            raise StepFailed(res)
        self._calls += int(res.get("api_calls") or 0)
        self._retries += int(res.get("api_retries") or 0)
        return res

    def _run(self, args):
        began = time.monotonic()
        start = self._step("start")
        container, definition = start["container"], start["task_definition_arn"]
        task = start.get("task")
        task_arn = self._task_arn = (task or {}).get("taskArn")
        out = {
            "changed": True,
            "task_arn": task_arn,
            "task_definition_arn": definition,
            "container": container,
            "exit_code": None,
            "stop_code": None,
            "stopped_reason": None,
            "last_status": (task or {}).get("lastStatus"),
            "log_lines": [],
            "log_group": start.get("log_group"),
            "log_stream": f"{start['log_prefix']}/{payloads.task_id(task_arn)}" if start.get("log_prefix") else None,
            "timed_out": False,
            "duration": 0.0,
        }
        if task_arn is None:  # check mode
            out["log_stream"] = None
            return dict(
                out,
                msg=f"check mode: would run {start['description']}",
                api_calls=self._calls,
                api_retries=self._retries,
            )
        label = task_label(task_arn, definition, container)
        short = task_label(None, definition, container)  # for messages that name the task themselves
        display.display(f"{label}: started on cluster {args['cluster']}")
        if not args.get("wait", True):
            return dict(
                out, msg=f"{label}: started (wait=false: not waiting)", api_calls=self._calls, api_retries=self._retries
            )
        timeout = float(args.get("timeout", 600))

        def fetch():
            res = self._step("observe", task_arn=task_arn)
            return res.get("task"), bool(res.get("throttled")), 0  # the step's calls are counted by _step

        waited = wait_task(
            fetch,
            container,
            timeout,
            clock=time.monotonic,
            sleep=time.sleep,
            rng=random.SystemRandom(),
            report=display.display,
            label=label,
            initial=task,
        )
        judgement, task = waited.judgement, waited.task
        stop_note = ""
        if judgement.kind == TIMED_OUT:
            stopped = self._step("stop", task_arn=task_arn, reason=f"{MODULE}: timed out after {int(timeout)}s")
            task = stopped.get("task") or task
            stop_note = stopped.get("note") or ""
            display.display(f"{label}: timed out after {int(timeout)}s: stopped (StopTask)")
        max_lines = int(args.get("log_lines", 20))
        events = []
        if max_lines and out["log_stream"]:
            events = self._step("logs", log_group=out["log_group"], log_stream=out["log_stream"]).get("events") or []
        out.update(
            exit_code=judgement.exit_code if judgement.kind != TIMED_OUT else exit_code_of(task, container),
            stop_code=(task or {}).get("stopCode"),
            stopped_reason=(task or {}).get("stoppedReason"),
            last_status=(task or {}).get("lastStatus"),
            log_lines=log_lines(events, max_lines),
            timed_out=judgement.kind == TIMED_OUT,
            duration=round(time.monotonic() - began, 1),
            api_calls=self._calls,
            api_retries=self._retries,
        )
        if judgement.kind == SUCCEEDED:
            out["msg"] = f"{label} succeeded (exit code 0) after {int(waited.elapsed)}s"
            display.display(f"{label}: succeeded (exit code 0)")
            return out
        message = failure_message(short, judgement, waited.elapsed, timeout, task_arn, stop_note)
        why = f"exit code {out['exit_code']}" if out["exit_code"] is not None else out["stop_code"] or judgement.kind
        display.display(f"{label}: failed ({why})")
        out["msg"] = with_log_tail(message, task_arn, container, events, max_lines)
        raise StepFailed(dict(out, api_calls=0, api_retries=0))
