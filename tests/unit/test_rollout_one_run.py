# Copyright: Shipyard maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The whole wait in one module run where the module runs on the controller (issue 15: the verdict within 1.5 s):
the wait step's outcome crosses the module boundary whole, its progress lines reach the display as the module writes
them, and a module that runs on another host keeps one run per poll."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from dataclasses import replace
from pathlib import Path

import pytest
from ansible_collections.shipyard.fargate.plugins.action import ecs_rollout as plugin
from ansible_collections.shipyard.fargate.plugins.module_utils.rollout import loop, model, progress, wire
from test_rollout_decisions import load


def _iso(value):
    return value.isoformat()


def _replayed(name="crash_loop"):
    story, observations = load(name)
    options = model.Options(**story["options"])
    state = loop.start_state(observations[0].service, deployment_id=story["deployment_id"])
    lines = []
    outcome = loop.replay(observations, state, options, report=lines.append)
    return state, options, observations, outcome, lines


def test_an_outcome_crosses_the_module_boundary_whole():
    _state, _options, _observations, outcome, _lines = _replayed()
    # As a module's result crosses: JSON, datetimes as ISO 8601 text (AnsibleModule.exit_json).
    crossed = wire.outcome_from_wire(json.loads(json.dumps(wire.outcome_to_wire(outcome), default=_iso)))
    assert crossed.verdict == outcome.verdict
    assert crossed.elapsed == outcome.elapsed
    assert crossed.state.timeline == outcome.state.timeline
    assert progress.result(crossed) == progress.result(outcome)  # what the task returns: the same


def test_a_poll_state_leaves_the_timeline_behind():
    _state, _options, _observations, outcome, _lines = _replayed()
    assert "timeline" not in wire.state_to_wire(outcome.state)
    assert wire.state_to_wire(outcome.state, whole=True)["timeline"] == list(outcome.state.timeline)


class _Connection:
    def __init__(self, transport):
        self.transport = transport


def _action(transport, execute):
    action = object.__new__(plugin.ActionModule)
    action._args, action._task_vars, action._calls, action._retries = {"service": "web", "log_lines": 0}, {}, 0, 0
    action._connection = _Connection(transport)
    action._last_service = None
    action._startup, action._overheads = plugin.STARTUP_GUESS, []
    action._execute_module = execute
    return action


def test_on_the_controller_the_wait_is_one_run_and_each_line_shows_while_it_runs(monkeypatch):
    state, options, observations, outcome, lines = _replayed()
    shown, runs, mid_run = [], [], []

    def execute(module_name, module_args, task_vars):
        runs.append(module_args["_step"])
        assert module_args["_state"]["timeline"] == list(state.timeline)
        with open(module_args["_progress_file"], "a", encoding="utf-8") as out:
            out.write(lines[0] + "\n" + lines[1][:7])  # a line and a half: only whole lines are shown
            out.flush()
            # The plugin shows the first line while this run still goes on.
            for _ in range(500):
                if shown:
                    break
                threading.Event().wait(0.01)
            mid_run.extend(shown)
            out.write(lines[1][7:] + "\n" + "".join(line + "\n" for line in lines[2:]))
        return {"outcome": wire.outcome_to_wire(outcome), "last_service": observations[-1].service, "api_calls": 7}

    monkeypatch.setattr(plugin.display, "display", shown.append)
    action = _action("local", execute)
    got = action._wait(state, options)
    assert runs == ["wait"]
    assert mid_run == [lines[0]]  # shown while the run went on; the half line waited for its end
    assert shown[: len(lines)] == lines  # every line once, whole, in order; then the verdict line
    assert shown[len(lines)].startswith("web: failed: ")
    assert got.verdict == outcome.verdict
    assert got.state.timeline == outcome.state.timeline
    assert action._calls == 7
    assert action._last_service == observations[-1].service  # an ECS rollback is waited for from there


def test_the_progress_file_is_removed_and_a_failed_run_fails_the_wait(monkeypatch):
    files = []

    def execute(module_name, module_args, task_vars):
        files.append(Path(module_args["_progress_file"]))
        return {"failed": True, "msg": "ecs_rollout step wait on service 'web': AccessDenied", "api_calls": 2}

    monkeypatch.setattr(plugin.display, "display", lambda line: None)
    state, options, _observations, _outcome, _lines = _replayed()
    with pytest.raises(plugin.StepFailed) as failed:
        _action("ansible.builtin.local", execute)._wait(state, options)
    assert "AccessDenied" in failed.value.result["msg"]
    assert files
    assert not files[0].exists()


def test_a_module_on_another_host_keeps_one_run_per_poll(monkeypatch):
    state, options, observations, outcome, _lines = _replayed()
    polls = iter(observations)
    runs = []

    def execute(module_name, module_args, task_vars):
        runs.append(module_args["_step"])
        observation = replace(next(polls), elapsed=module_args["_elapsed"])
        return {"observation": wire.observation_to_wire(observation), "api_calls": 1}

    shown = []
    monkeypatch.setattr(plugin.display, "display", shown.append)
    monkeypatch.setattr(plugin.time, "sleep", lambda seconds: None)
    got = _action("ssh", execute)._wait(state, options)
    assert set(runs) == {"observe"}
    assert len(runs) > 1
    assert got.verdict.kind == outcome.verdict.kind == model.FAILED


# --- a wait nobody reads any more stops -------------------------------------------------------------------------


def test_the_wait_step_sees_its_controller_go(tmp_path):
    from ansible_collections.shipyard.fargate.plugins.modules import ecs_rollout as module

    path = tmp_path / "progress"
    with open(path, "a", encoding="utf-8") as progress:
        assert module.controller_gone(progress.fileno(), os.getpid()) is None
        ended = subprocess.Popen([sys.executable, "-c", "pass"])
        ended.wait()  # reaped: its PID names no process now
        assert module.controller_gone(progress.fileno(), ended.pid) == f"the controller's process {ended.pid} is gone"
        path.unlink()
        assert module.controller_gone(progress.fileno(), os.getpid()) == "the controller removed the progress file"


def test_an_interrupted_wait_removes_its_progress_file_at_once(monkeypatch):
    state, options, _observations, _outcome, lines = _replayed()
    files, finish = [], threading.Event()

    def execute(module_name, module_args, task_vars):
        files.append(Path(module_args["_progress_file"]))
        assert module_args["_controller_pid"] > 0
        with open(files[0], "a", encoding="utf-8") as out:
            out.write(lines[0] + "\n")
        finish.wait(10)  # a module still polling
        return {"failed": True, "msg": "stopped waiting: the controller removed the progress file"}

    def interrupted(_line):
        raise KeyboardInterrupt

    monkeypatch.setattr(plugin.display, "display", interrupted)
    with pytest.raises(KeyboardInterrupt):
        _action("local", execute)._wait(state, options)
    assert not files[0].exists()  # removed while the module still ran: it stops at its next poll
    finish.set()
