"""The local cloud's clock: every duration of the simulated world is measured and waited on through one.

The ECS engine, the task runners and the load balancer never call ``time.monotonic()``, ``time.time()`` or
``time.sleep()`` themselves; they take a :class:`Clock`:

- :class:`RealClock` (the emulator's): ``scale`` (``SHIPYARD_TIME_SCALE``, default 1 = real time) makes the
  simulated world run that many times faster. At scale 10 a 5 s health-check interval passes in 0.5 s, a
  300 s deregistration delay in 30 s, a simulated task's ``start=2`` in 0.2 s, the engine's 0.25 s reconcile
  tick in 0.025 s, and a docker task's 30 s stop timeout gives its container 3 s after SIGTERM.
- :class:`VirtualClock` (unit tests): time moves only when the test calls :meth:`VirtualClock.advance`;
  nothing sleeps.

Where the scale comes from: ``SHIPYARD_TIME_SCALE`` is validated by :class:`shipyard_local.config.StackConfig`
(every ``python -m shipyard_local`` command refuses a bad value, naming the variable); ``up`` hands it to the
emulator it starts, which reads it once when it builds the cloud (:func:`shipyard_local.cloud.install`) and
records it in ``cloud.json`` (``status`` shows it). A running emulator keeps its scale until ``down``.

Not scaled: real work (image pulls, ``docker run``, HTTP requests and the load balancer's 60 s upstream timeout),
the pollers of clients (``aws ecs wait``, the ``ecs_rollout`` module), and the reconcile tick below 0.02 real
seconds (:data:`shipyard_local.cloud.ecs.engine.MIN_REAL_TICK`).

Two kinds of time, kept apart:

- ``now()``: monotonic *simulated* seconds. Every interval, timeout and deadline of the engine is compared
  against it.
- ``wall()`` / ``epoch()``: the timestamps the API shows (``createdAt``, ``startedAt``, ``stoppedAt``, event
  times). A :class:`RealClock` shows the *real* time of day, whatever the scale: clients (``aws ecs wait``,
  fabfuel ``ecs deploy``, the ``ecs_rollout`` module) compare those stamps with their own clock, and a
  simulated time of day running ahead would make old events look new. So at scale 10, ``stoppedAt -
  startedAt`` of a task is a tenth of its simulated run time. A :class:`VirtualClock` shows a fixed start
  date plus the virtual seconds, so unit tests see stamps that follow ``advance``.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from typing import Protocol

ENV_VAR = "SHIPYARD_TIME_SCALE"


class Clock(Protocol):
    scale: float

    def now(self) -> float:
        """Monotonic simulated seconds."""
        ...

    def epoch(self) -> float:
        """Seconds since 1970 for timestamps the API shows (see the module docstring)."""
        ...

    def wall(self) -> datetime:
        """``epoch()`` as a naive UTC datetime, as moto's models hold their timestamps."""
        ...

    def sleep(self, seconds: float) -> None:
        """Let ``seconds`` of simulated time pass."""
        ...

    def wait(self, event: threading.Event, seconds: float | None) -> bool:
        """``event.wait`` for at most ``seconds`` of simulated time (None: until set); True when it was set."""
        ...

    def real(self, seconds: float) -> float:
        """Simulated seconds -> the real seconds they take (for timeouts handed to the outside world)."""
        ...


def _naive_utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC).replace(tzinfo=None)


class RealClock:
    """Real time, ``scale`` times faster for the simulated world (``scale`` >= 1)."""

    def __init__(self, scale: float = 1.0) -> None:
        if not scale >= 1:
            raise ValueError(f"a clock's scale must be a number >= 1, got {scale!r}")
        self.scale = float(scale)
        self._origin = time.monotonic()

    def now(self) -> float:
        return self._origin + (time.monotonic() - self._origin) * self.scale

    def epoch(self) -> float:
        return time.time()

    def wall(self) -> datetime:
        return _naive_utc(time.time())

    def sleep(self, seconds: float) -> None:
        time.sleep(max(0.0, seconds) / self.scale)

    def wait(self, event: threading.Event, seconds: float | None) -> bool:
        return event.wait(None if seconds is None else max(0.0, seconds) / self.scale)

    def real(self, seconds: float) -> float:
        return seconds / self.scale

    def __repr__(self) -> str:
        return f"RealClock(scale={self.scale:g})"


class VirtualClock:
    """Time that moves only by :meth:`advance` (and by :meth:`sleep`, which advances instead of sleeping)."""

    IDLE_SECONDS = 0.01
    START = 1_767_225_600.0  # 2026-01-01T00:00:00Z: what wall() shows at virtual second 0

    def __init__(self, start: float = 0.0) -> None:
        self.scale = 1.0
        self._now = float(start)
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError("a virtual clock does not go back")
        with self._lock:
            self._now += seconds
            return self._now

    def epoch(self) -> float:
        return self.START + self.now()

    def wall(self) -> datetime:
        return _naive_utc(self.epoch())

    def sleep(self, seconds: float) -> None:
        self.advance(max(0.0, seconds))

    def wait(self, event: threading.Event, seconds: float | None) -> bool:
        """Does not advance time: looks at ``event`` for a real instant (so a thread waiting in a loop idles)."""
        return event.wait(self.IDLE_SECONDS)

    def real(self, seconds: float) -> float:
        return seconds

    def __repr__(self) -> str:
        return f"VirtualClock(now={self.now():g})"


def parse_scale(raw: str | None) -> float:
    """``SHIPYARD_TIME_SCALE``: empty -> 1.0; a number >= 1; anything else raises ValueError naming the variable."""
    text = (raw or "").strip()
    if text == "":
        return 1.0
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{ENV_VAR} must be a number >= 1 (1 = real time), got {raw!r}") from None
    if not (value >= 1 and value != float("inf")):
        raise ValueError(f"{ENV_VAR} must be a number >= 1 (1 = real time), got {raw!r}")
    return value
