"""The Docker engine: reuse one that answers, or start a private dockerd that only this stack uses."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from . import procs, system
from .config import StackConfig

SYSTEM_SOCKET = "unix:///var/run/docker.sock"


def docker_cli() -> str:
    return shutil.which("docker") or "/usr/bin/docker"


def answers(docker_host: str, timeout: float = 10.0) -> bool:
    """True when a Docker engine answers at ``docker_host`` (the CLI negotiates the API version)."""
    if shutil.which("docker") is None:
        return False
    if docker_host.startswith("unix://") and not Path(docker_host[len("unix://") :]).exists():
        return False
    try:
        result = subprocess.run(  # noqa: S603
            [docker_cli(), "--host", docker_host, "version", "--format", "{{.Server.Version}}"],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return False
    return result.returncode == 0 and bool(result.stdout.strip())


def find_existing(config: StackConfig, env: dict[str, str] | None = None) -> str | None:
    """The user's own engine, when one answers: $DOCKER_HOST first, then the system socket."""
    env = dict(os.environ if env is None else env)
    candidates = [env.get("DOCKER_HOST", ""), SYSTEM_SOCKET]
    for host in candidates:
        if host and host != config.private_docker_host and answers(host):
            return host
    return None


def private_argv(config: StackConfig) -> list[str]:
    """dockerd with its own socket, data root, exec root and config; no bridge, no iptables.

    Every container the project runs uses ``--network host``, so the engine needs no networking
    of its own and leaves the machine's firewall alone.
    """
    runtime = config.runtime_dir
    return [
        shutil.which("dockerd", path="/usr/bin:/usr/sbin:/usr/local/bin") or "dockerd",
        "--config-file", str(config.docker_dir / "daemon.json"),
        "--host", config.private_docker_host,
        "--data-root", str(config.docker_dir / "data"),
        "--exec-root", str(runtime / "exec"),
        "--pidfile", str(runtime / "dockerd.pid"),
        "--bridge=none",
        "--iptables=false",
        "--ip-masq=false",
    ]  # fmt: skip


def start_private(config: StackConfig) -> int:
    """Spawn the private dockerd (installing Debian's docker.io if needed); returns its PID."""
    if os.geteuid() != 0:
        raise system.MissingPackages(
            "no Docker engine answers (tried $DOCKER_HOST and /var/run/docker.sock) and a private "
            "dockerd needs root. Start Docker, or set DOCKER_HOST to an engine that answers, and run again."
        )
    system.ensure({"dockerd": "docker.io", "docker": "docker.io"}, "the local Docker engine")
    config.docker_dir.mkdir(parents=True, exist_ok=True)
    config.runtime_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    # An empty daemon config keeps the machine's /etc/docker/daemon.json out of the private engine.
    (config.docker_dir / "daemon.json").write_text(json.dumps({}) + "\n")
    return procs.spawn(private_argv(config), config.logs_dir / "dockerd.log")


def stop_private(config: StackConfig, pid: int | None) -> None:
    """Stop dockerd, then anything still running from its exec root (its containerd and shims)."""
    procs.stop(pid, config.private_docker_host)  # its socket: this stack's dockerd, not one on a reused PID
    marker = str(config.runtime_dir)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and any(marker in part for part in procs.cmdline(int(entry.name))):
            procs.stop(int(entry.name), marker)  # still that process: not one that took its PID since
    shutil.rmtree(config.runtime_dir, ignore_errors=True)
