"""Process handling of the local stack: spawn detached, recognise our PIDs, stop whole process groups."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from shipyard_local import procs

# A parent that starts a grandchild: `stop` must take both down.
FAMILY = "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)']); " \
         "print('family up', flush=True); time.sleep(300)"  # fmt: skip


def _wait_for(predicate, seconds=10.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_spawn_logs_and_stop_takes_the_whole_group(tmp_path):
    log = tmp_path / "family.log"
    pid = procs.spawn([sys.executable, "-c", FAMILY, "shipyard-test-marker"], log)
    assert _wait_for(lambda: "family up" in log.read_text())
    assert procs.is_alive(pid, "shipyard-test-marker")
    assert not procs.is_alive(pid, "some-other-program")  # a reused PID is not mistaken for ours
    group = os.getpgid(pid)
    assert group == pid  # its own session, so the stack can stop its children too
    assert procs.stop(pid, "shipyard-test-marker", timeout=5) is True
    assert not procs.is_alive(pid)
    assert not procs._group_alive(group)
    assert procs.stop(pid, "shipyard-test-marker") is False  # stopping twice is harmless


def test_wait_until_reports_the_log_of_a_process_that_died(tmp_path):
    log = tmp_path / "dies.log"
    pid = procs.spawn([sys.executable, "-c", "import sys; print('bad config: no such key'); sys.exit(3)"], log)
    with pytest.raises(procs.StartError, match="exited during start-up") as error:
        procs.wait_until(lambda: False, pid=pid, marker=sys.executable, name="thing", log=log, timeout=30)
    assert "bad config: no such key" in str(error.value)


def test_wait_until_gives_up_after_the_timeout_with_the_log(tmp_path):
    log = tmp_path / "slow.log"
    pid = procs.spawn([sys.executable, "-c", "print('still warming up', flush=True); import time; time.sleep(60)"], log)
    try:
        with pytest.raises(procs.StartError, match="did not answer within") as error:
            procs.wait_until(lambda: False, pid=pid, marker=sys.executable, name="slow", log=log, timeout=0.5)
        assert "still warming up" in str(error.value)
    finally:
        procs.stop(pid)


def test_tail_of_a_missing_log():
    assert procs.tail(Path("/nonexistent/shipyard.log")) == "(no log written)"


def test_wait_until_does_not_call_a_child_dead_before_it_has_exec_d_its_program(tmp_path):
    # Between fork and exec the child shows our own command line, not the program's marker: on a loaded machine the
    # first liveness check can land there. Here a forked child stays in that state, then becomes ready.
    ready = tmp_path / "ready"
    pid = os.fork()
    if pid == 0:  # the child: never exec's, like the moment before exec lasting a while
        time.sleep(0.6)
        ready.touch()
        time.sleep(30)
        os._exit(0)
    try:
        procs.wait_until(ready.exists, pid=pid, marker="shipyard-no-such-marker", name="x", log=tmp_path / "x.log")
    finally:
        os.kill(pid, 9)
        os.waitpid(pid, 0)


def test_a_marker_names_one_stacks_process_so_a_reused_pid_of_another_stack_is_not_ours(tmp_path):
    # PIDs wrap (pid_max 32768 here): a stopped stack's recorded PID can be a new process of another stack's same
    # program. The marker holds what differs between stacks (the port, the state dir), matched on the whole line.
    log = tmp_path / "emulator.log"
    argv = [sys.executable, "-c", "import time; time.sleep(30)", "--host", "127.0.0.1", "--port", "29111"]
    pid = procs.spawn(argv, log)
    try:
        assert _wait_for(lambda: procs.is_alive(pid, "--host 127.0.0.1 --port 29111"))
        assert not procs.is_alive(pid, "--host 127.0.0.1 --port 29222")  # the other stack's record
        assert procs.stop(pid, "--host 127.0.0.1 --port 29222") is False  # so its `down` leaves this one alone
        assert procs.is_alive(pid)
    finally:
        procs.stop(pid)
