"""Process handling of the local stack: spawn detached, recognise our PIDs, stop whole process groups, and never
signal a PID (or group id) that the kernel has handed to another process."""

from __future__ import annotations

import os
import re
import signal
import sys
import time
from pathlib import Path

import pytest

from shipyard_local import procs

# A parent that starts a grandchild: `stop` must take both down.
FAMILY = "import subprocess, sys, time; " \
         "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)']); " \
         "print('family up', child.pid, flush=True); time.sleep(300)"  # fmt: skip


def _printed(log: Path, label: str) -> int | None:
    """The PID a test program printed after ``label`` on a line of its own (the log's header holds the code too)."""
    found = re.search(rf"^{label} (\d+)$", log.read_text(), re.M)
    return int(found.group(1)) if found else None


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
    assert _wait_for(lambda: _printed(log, "family up"))
    grandchild = _printed(log, "family up")
    assert procs.is_alive(grandchild)
    assert procs.is_alive(pid, "shipyard-test-marker")
    assert not procs.is_alive(pid, "some-other-program")  # a reused PID is not mistaken for ours
    group = os.getpgid(pid)
    assert group == pid  # its own session, so the stack can stop its children too
    assert procs.stop(pid, "shipyard-test-marker", timeout=5) is True
    assert not procs.is_alive(pid)
    assert not procs.is_alive(grandchild)
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


def _sleeper(tmp_path, name: str) -> procs.Process:
    pid = procs.spawn([sys.executable, "-c", "import time; time.sleep(300)", name], tmp_path / f"{name}.log")
    assert _wait_for(lambda: procs.is_alive(pid, name))
    process = procs.identify(pid)
    assert process is not None
    assert procs.running(process)
    return process


def test_a_process_is_its_pid_and_its_start_time(tmp_path):
    process = _sleeper(tmp_path, "shipyard-identity")
    try:
        assert process.group == process.pid  # spawn makes it a session (and group) leader
        earlier = procs.Process(pid=process.pid, start=process.start - 1, group=process.group)
        assert not procs.running(earlier)  # the same PID with another start time: another process
    finally:
        procs.stop(process.pid)
    assert not procs.running(process)


def test_a_recycled_pid_is_never_signalled(tmp_path):
    # What a late stop holds: the identity of a process that has ended, whose PID now belongs to a newcomer.
    newcomer = _sleeper(tmp_path, "shipyard-newcomer")
    try:
        ended = procs.Process(pid=newcomer.pid, start=newcomer.start - 1, group=newcomer.pid)
        assert procs._send(ended, signal.SIGKILL) is False
        assert procs.running(newcomer)
    finally:
        procs.stop(newcomer.pid)


def test_stop_neither_waits_for_nor_kills_the_process_that_reuses_the_pid(tmp_path, monkeypatch):
    # The flake: stop signalled and then watched a process GROUP id; once the group had ended, the kernel handed the
    # id to a new session leader, which stop waited for and finally SIGKILLed. Here the kernel's move is played by
    # /proc: once the daemon has ended, its PID shows a running process with another start time.
    daemon = _sleeper(tmp_path, "shipyard-daemon")
    real_stat = procs._stat
    sent: list[tuple[int, int]] = []

    def stat(pid):
        fields = real_stat(pid)
        if pid == daemon.pid and sent and (fields is None or fields[0] in ("Z", "X")):
            reused = list(fields or real_stat(os.getpid()))
            reused[0], reused[2], reused[19] = "S", str(daemon.pid), str(daemon.start + 1000)
            return reused
        return fields

    real_send = procs._send

    def send(process, sig):
        delivered = real_send(process, sig)
        if delivered:
            sent.append((process.pid, sig))
        return delivered

    monkeypatch.setattr(procs, "_stat", stat)
    monkeypatch.setattr(procs, "_send", send)
    assert procs.stop(daemon.pid, "shipyard-daemon", timeout=5) is True
    assert sent == [(daemon.pid, signal.SIGTERM)]  # no SIGKILL: the PID's new holder was not taken for the daemon


def test_stop_takes_a_child_forked_after_it_began(tmp_path):
    # A daemon that starts a helper on SIGTERM and ignores the signal: the helper joins the group while stop waits,
    # and the final SIGKILL reaches it (the group is read again while its leader still runs).
    code = (
        "import signal, subprocess, sys, time\n"
        "def late(*_):\n"
        "    child = subprocess.Popen(['sleep', '300'])\n"
        "    print('late child', child.pid, flush=True)\n"
        "signal.signal(signal.SIGTERM, late)\n"
        "print('ready', flush=True)\n"
        "while True: time.sleep(1)\n"
    )
    log = tmp_path / "late.log"
    pid = procs.spawn([sys.executable, "-c", code, "shipyard-late"], log)
    assert _wait_for(lambda: "\nready\n" in log.read_text())
    assert procs.stop(pid, "shipyard-late", timeout=0.5) is True
    child = _printed(log, "late child")
    assert child
    assert not procs.is_alive(pid)
    assert not procs.is_alive(child)


def _hide_cmdline(monkeypatch, pid: int, times: int) -> dict:
    """The kernel's view during an exec: /proc/<pid>/cmdline empty for the first ``times`` reads."""
    real, seen = procs.cmdline, {"empty": 0}

    def cmdline(other: int) -> list[str]:
        if other == pid and seen["empty"] < times:
            seen["empty"] += 1
            return []
        return real(other)

    monkeypatch.setattr(procs, "cmdline", cmdline)
    return seen


def test_a_start_is_not_called_dead_while_its_command_line_is_still_empty(tmp_path, monkeypatch):
    # Right after spawn the new program's command line is often empty (exec under way; 2 of 3 starts here): the
    # marker check alone called such a part "exited during start-up" and `up` then left it running.
    log = tmp_path / "exec.log"
    pid = procs.spawn([sys.executable, "-c", "import time; time.sleep(30)", "shipyard-exec"], log)
    seen = _hide_cmdline(monkeypatch, pid, 4)
    try:
        procs.wait_until(lambda: seen["empty"] >= 4, pid=pid, marker="shipyard-exec", name="x", log=log)
    finally:
        monkeypatch.undo()
        procs.stop(pid)


def test_stop_right_after_start_waits_for_the_marker_instead_of_leaving_the_process(tmp_path, monkeypatch):
    log = tmp_path / "exec.log"
    pid = procs.spawn([sys.executable, "-c", "import time; time.sleep(30)", "shipyard-exec"], log)
    _hide_cmdline(monkeypatch, pid, 3)
    try:
        assert procs.stop(pid, "shipyard-exec", timeout=5) is True
        assert not procs.is_alive(pid)
    finally:
        monkeypatch.undo()
        procs.stop(pid)
