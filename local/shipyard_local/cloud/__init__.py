"""The local cloud: ECS that runs tasks, target groups with health checks, a local load balancer.

It extends the in-process moto of the emulator (:mod:`shipyard_local.emulator`); nothing here is part of
the collection artifact. :func:`install` is called once, after the server is built:

- :mod:`.patches` extends moto's ECS and ELBv2 request handlers;
- :mod:`.ecs` is the engine: one reconcile thread, one lock shared with those handlers (a package, one file per
  concern: engine, tasks, lifecycle, health, secrets, deployments);
- :mod:`.clock` is its time: real, ``SHIPYARD_TIME_SCALE`` times faster, or virtual in unit tests;
- :mod:`.runners` make tasks happen (``docker``: real containers; ``simulated``: a scripted story);
- :mod:`.lb` (when present) serves the ALB listeners on ``config.lb_port``;
- :mod:`.shapes` checks the local cloud's own answers against botocore's output shapes (tests).

State lives in memory only: stopping the emulator forgets every service, task and target.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("shipyard_local.cloud")

RUNNERS = ("docker", "simulated")
STATE_NOTE = "state in memory: lost on down"


@dataclass
class Cloud:
    engine: Any
    lb: Any = None

    def stop(self) -> None:
        """Stop the load balancer, the engine, and every task (containers included)."""
        if self.lb is not None:
            try:
                self.lb.stop()
            except Exception:
                log.exception("local load balancer: stop failed")
        self.engine.shutdown()


def default_runner(env: dict[str, str] | None = None) -> str:
    """``SHIPYARD_TASK_RUNNER`` (docker | simulated; default docker)."""
    value = (os.environ if env is None else env).get("SHIPYARD_TASK_RUNNER", "") or "docker"
    if value not in RUNNERS:
        raise ValueError(f"SHIPYARD_TASK_RUNNER must be one of {', '.join(RUNNERS)}, got {value!r}")
    return value


def status_file(config) -> Any:
    return config.state_dir / "cloud.json"


def install(config, *, docker_host: str | None = None, clock=None) -> Cloud:
    """Patch moto, start the engine and (if available) the local load balancer; write ``cloud.json``.

    ``docker_host``: the Docker engine of the stack (``DOCKER_HOST`` syntax), handed over by whoever starts the
    emulator; the docker runner uses it. ``clock``: default real time at ``config.time_scale``
    (``SHIPYARD_TIME_SCALE``).
    """
    from . import ecs, patches
    from .clock import RealClock

    clock = clock or RealClock(config.time_scale)

    runner = default_runner()
    if runner == "docker":
        try:
            from .runners import docker  # noqa: F401
        except ImportError as error:
            log.warning("docker runner not importable (%s): tasks run simulated", error)
            runner = "simulated"
    engine = ecs.Engine(config, default_runner=runner, clock=clock, docker_host=docker_host)
    patches.install(engine)
    engine.start()
    cloud = Cloud(engine)
    lb_note = "not available"
    try:
        from . import lb
    except ImportError:
        lb = None
    if lb is not None and hasattr(lb, "start"):
        try:
            cloud.lb = lb.start(config, engine, clock=clock)
            lb_note = config.lb_url
        except Exception as error:
            log.exception("local load balancer: failed to start")
            lb_note = f"failed to start: {error}"
    record = {
        "runner": runner,
        "load_balancer": lb_note,
        "state": STATE_NOTE,
        "time_scale": clock.scale,
        "docker_host": engine.docker_host,
    }
    try:
        status_file(config).write_text(json.dumps(record, indent=2) + "\n")
    except OSError:
        log.exception("cannot write %s", status_file(config))
    log.info(
        "local cloud: ECS engine running (default task runner: %s; load balancer: %s; time scale %g)",
        runner,
        lb_note,
        clock.scale,
    )
    return cloud
