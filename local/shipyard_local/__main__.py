"""``python -m shipyard_local {up,down,status,env}``: the local stack's one entry point."""

from __future__ import annotations

import argparse
import sys

from . import procs, system
from .config import ConfigError, StackConfig, ephemeral_port_range
from .stack import Stack

NOTE = (
    "The emulator keeps its AWS resources in memory, ECS services, tasks and targets included: "
    "`down` forgets them and stops every task (registry images stay on disk)."
)


def _print_status(stack: Stack) -> bool:
    rows = stack.status()
    print(f"{'part':<10} {'state':<12} {'pid':<8} {'address':<48} log")
    for row in rows:
        print(f"{row['part']:<10} {row['state']:<12} {row['pid'] or '-'!s:<8} {row['address']:<48} {row['log']}")
    cloud = stack.cloud()
    if cloud:
        print(
            f"local cloud: ECS engine in the emulator; default task runner {cloud.get('runner')} "
            f"(SHIPYARD_TASK_RUNNER); load balancer {cloud.get('load_balancer')}; "
            f"time scale {cloud.get('time_scale', 1):g} (SHIPYARD_TIME_SCALE; 1 = real time); {cloud.get('state')}"
        )
    up = stack.is_up()
    if up:
        print(f"environment: . {stack.config.env_file}")
    print(NOTE)
    return up


def _ephemeral_ports_note(config: StackConfig) -> str | None:
    """A warning when a port is in the kernel's ephemeral range: a free port there now may be taken later."""
    ephemeral = ephemeral_port_range()
    if not ephemeral:
        return None
    low, high = ephemeral
    inside = [f"{name}={port}" for name, port in config.ports().items() if low <= port <= high]
    if not inside:
        return None
    verb = "is" if len(inside) == 1 else "are"
    return (
        f"note: {', '.join(inside)} {verb} in this machine's ephemeral port range {low}-{high}: any outgoing "
        f"connection can take such a port while the stack is down, and the next `up` then fails; ports below {low} "
        "avoid that."
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shipyard_local", description=__doc__)
    parser.add_argument(
        "command",
        choices=["up", "down", "status", "env"],
        help="up: start what is not running and wait until it answers; down: stop what up started; "
        "status: what runs where (exit 1 unless all parts run); env: print the environment file",
    )
    args = parser.parse_args(argv)
    try:
        stack = Stack(StackConfig.from_env())
        if args.command == "up":
            started = stack.up()
            print(f"local stack up (started now: {', '.join(started) or 'nothing, all parts were running'})")
            note = _ephemeral_ports_note(stack.config)
            if note:
                print(note, file=sys.stderr)
            _print_status(stack)
            return 0
        if args.command == "down":
            stopped = stack.down()
            print(f"local stack down (stopped: {', '.join(stopped) or 'nothing was running'})")
            return 0
        if args.command == "status":
            return 0 if _print_status(stack) else 1
        if not stack.config.env_file.exists():
            print("the local stack is not up: run `make up`", file=sys.stderr)
            return 1
        print(stack.config.env_file.read_text(), end="")
        return 0
    except (ConfigError, procs.StartError, system.MissingPackages) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
