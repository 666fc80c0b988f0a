"""Start, watch and stop the stack's daemons by PID, with their output in a log file.

A PID names a process only while it runs: pid_max is often 32768, so a long test run wraps and hands a stopped
daemon's PID (and its process group id) to a new process. Signals therefore go to a :class:`Process`, a PID with
the start time the kernel gave it (``/proc/<pid>/stat``), through a pidfd: never to a bare or recycled id.
"""

from __future__ import annotations

import os
import pwd
import random
import signal
import subprocess
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


class StartError(RuntimeError):
    """A part of the stack did not come up; the message carries the last lines of its log."""


def tail(path: Path, lines: int = 20) -> str:
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return "(no log written)"
    return "\n".join(text.splitlines()[-lines:]) or "(log is empty)"


def cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def is_alive(pid: int | None, marker: str | None = None) -> bool:
    """True when ``pid`` runs and, if ``marker`` is given, its command line (arguments joined by spaces) still
    contains it: no PID reuse. PIDs wrap quickly (pid_max is often 32768), so a marker names one stack's process
    (its port or its state dir), not only the program: another stack's process on a reused PID is not ours."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    if _proc_state(pid) == "Z":
        return False
    return marker is None or marker in " ".join(cmdline(pid))


def _proc_state(pid: int) -> str:
    fields = _stat(pid)
    return fields[0] if fields else "X"


def _stat(pid: int) -> list[str] | None:
    """The fields of ``/proc/<pid>/stat`` after the command name (the first is the state, field 3 of proc(5));
    None when no such process exists."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return stat.rsplit(")", 1)[-1].split()


@dataclass(frozen=True)
class Process:
    """One process for ever: its PID and its start time (clock ticks after boot), which a reused PID never shares."""

    pid: int
    start: int
    group: int  # its process group id when it was seen


def identify(pid: int) -> Process | None:
    """The process that holds ``pid`` now (zombies included); None when none does."""
    fields = _stat(pid)
    if not fields:
        return None
    # proc(5): field 5 is the process group, field 22 the start time; fields[0] is field 3.
    return Process(pid=pid, start=int(fields[19]), group=int(fields[2]))


def running(process: Process) -> bool:
    """True while this very process runs (not a zombie, and its PID not handed to another process)."""
    fields = _stat(process.pid)
    return bool(fields) and int(fields[19]) == process.start and fields[0] not in ("Z", "X")


def as_user(user: str | None) -> dict:
    """subprocess arguments that run a program as ``user`` (its own group, no supplementary groups, in /)."""
    if user is None:
        return {}
    account = pwd.getpwnam(user)
    return {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": [], "cwd": "/"}


def spawn(argv: Sequence[str], log: Path, env: Mapping[str, str] | None = None, *, user: str | None = None) -> int:
    """Start ``argv`` detached in its own session (so ``stop`` can reach its children), output to ``log``.

    ``user``: run it as this user (its own group, no supplementary groups), e.g. a daemon that refuses root.
    """

    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        out.write(f"\n--- {time.strftime('%Y-%m-%dT%H:%M:%S')} starting: {' '.join(argv)}\n".encode())
        out.flush()
        proc = subprocess.Popen(  # noqa: S603 - argv is built by the stack, never from user text
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=dict(env) if env is not None else None,
            start_new_session=True,
            close_fds=True,
            **as_user(user),
        )
    return proc.pid


def _starting(pid: int) -> bool:
    """True for a child we started whose program's command line is not readable yet, so the marker check would call
    it dead: before exec it still shows our own command line; during exec, and for a while after ``spawn`` returns
    (Popen returns once the old program is gone, before the kernel has set up the new one's arguments), it shows
    an empty one. Seen right after ``spawn`` in 2 of 3 starts here; a loaded machine widens the window."""
    return is_alive(pid) and cmdline(pid) in ([], cmdline(os.getpid()))


def _await_exec(pid: int, timeout: float = 5.0) -> None:
    """Wait (briefly) while a live process's command line is empty: an exec under way (see ``_starting``)."""
    deadline = time.monotonic() + timeout
    while is_alive(pid) and not cmdline(pid) and time.monotonic() < deadline:
        time.sleep(0.01)


def wait_until(
    ready: Callable[[], bool],
    *,
    pid: int,
    marker: str,
    name: str,
    log: Path,
    timeout: float = 60.0,
) -> None:
    """Poll ``ready`` until it answers True; fail with the log's tail if the process dies or time runs out."""
    deadline = time.monotonic() + timeout
    delay = 0.05
    while True:
        if ready():
            return
        if not (is_alive(pid, marker) or _starting(pid)):
            raise StartError(f"{name} exited during start-up. Last lines of {log}:\n{tail(log)}")
        if time.monotonic() >= deadline:
            raise StartError(f"{name} did not answer within {timeout:.0f}s. Last lines of {log}:\n{tail(log)}")
        time.sleep(delay + random.uniform(0, delay / 2))  # noqa: S311 - jitter, not cryptography
        delay = min(delay * 1.5, 1.0)


def stop(
    pid: int | None,
    marker: str | None = None,
    *,
    timeout: float = 20.0,
    sig: signal.Signals = signal.SIGTERM,
) -> bool:
    """Send ``sig`` to ``pid`` and the processes of its group, wait, then SIGKILL what is left of them.

    Only processes seen alive here are signalled, each by PID and start time (:class:`Process`), so a PID or group
    id that the kernel hands to a new process meanwhile is neither signalled nor waited for. Returns True if
    ``pid`` was running (with ``marker`` in its command line, when given).
    """
    if pid is None:
        return False
    if marker is not None:
        _await_exec(pid)  # a part stopped right after its start (a failed `up`) may not show its marker yet
    if not is_alive(pid, marker):
        return False
    leader = identify(pid)
    if leader is None or not running(leader):
        return False
    known = _members(leader, {leader})
    for process in known:
        _send(process, sig)
    if _wait_gone(leader, known, timeout):
        return True
    for process in _members(leader, known):
        _send(process, signal.SIGKILL)
    _wait_gone(leader, known, 5.0)
    return True


def _members(leader: Process, known: Iterable[Process]) -> set[Process]:
    """``known`` and, while ``leader`` runs as its group's leader, every process of that group.

    While the leader runs its PID cannot be handed out, so the group id is still its group's: the group is read
    only between two checks that the leader runs. A process that is not its group's leader stands alone.
    """
    members = set(known)
    if leader.group != leader.pid or not running(leader):
        return members
    group = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            process = identify(int(entry.name))
            if process and process.group == leader.group and running(process):
                group.add(process)
    return members | group if running(leader) else members


def _wait_gone(leader: Process, known: set[Process], timeout: float) -> bool:
    """Wait until none of ``known`` (grown by the leader's group while the leader runs) runs; False on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        known |= _members(leader, ())
        if not any(running(process) for process in known):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)


def _send(process: Process, sig: signal.Signals) -> bool:
    """Signal this very process; False (nothing sent) when it no longer runs or its PID now names another one.

    A pidfd holds the process it was opened on: checking the start time after opening it leaves no window in which
    the PID could be reused between the check and the signal.
    """
    try:
        handle = os.pidfd_open(process.pid)
    except ProcessLookupError:
        return False
    except OSError:  # a kernel without pidfd (before 5.3): check, then signal by PID
        handle = None
    try:
        if not running(process):
            return False
        if handle is None:
            os.kill(process.pid, sig)
        else:
            signal.pidfd_send_signal(handle, sig)
        return True
    except ProcessLookupError:
        return False
    finally:
        if handle is not None:
            os.close(handle)
