"""Start, watch and stop the stack's daemons by PID, with their output in a log file."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
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
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return "X"
    return stat.rsplit(")", 1)[-1].split()[0]


def spawn(argv: Sequence[str], log: Path, env: Mapping[str, str] | None = None) -> int:
    """Start ``argv`` detached in its own session (so ``stop`` can reach its children), output to ``log``."""
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
        )
    return proc.pid


def _before_exec(pid: int) -> bool:
    """True for a child we forked that has not exec'd its program yet: it still shows our own command line (a
    loaded machine widens that window; the marker check would call it dead)."""
    return is_alive(pid) and cmdline(pid) == cmdline(os.getpid())


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
        if not (is_alive(pid, marker) or _before_exec(pid)):
            raise StartError(f"{name} exited during start-up. Last lines of {log}:\n{tail(log)}")
        if time.monotonic() >= deadline:
            raise StartError(f"{name} did not answer within {timeout:.0f}s. Last lines of {log}:\n{tail(log)}")
        time.sleep(delay + random.uniform(0, delay / 2))  # noqa: S311 - jitter, not cryptography
        delay = min(delay * 1.5, 1.0)


def stop(pid: int | None, marker: str | None = None, *, timeout: float = 20.0) -> bool:
    """SIGTERM the process group of ``pid``, wait, then SIGKILL what is left. Returns True if it was running."""
    if pid is None or not is_alive(pid, marker):
        return False
    try:
        pgid = os.getpgid(pid)
    except ProcessLookupError:
        return False
    _signal_group(pgid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _group_alive(pgid):
            return True
        time.sleep(0.1)
    _signal_group(pgid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while _group_alive(pgid) and time.monotonic() < deadline:
        time.sleep(0.1)
    return True


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, sig)


def _group_alive(pgid: int) -> bool:
    """True while any non-zombie process of the group remains."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        try:
            if os.getpgid(pid) == pgid and _proc_state(pid) not in ("Z", "X"):
                return True
        except ProcessLookupError:
            continue
    return False
