"""Where the local stack lives and which ports it uses: one frozen value built from the environment."""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

LOCAL_DIR = Path(__file__).resolve().parents[1]  # local/: this package's parent, for PYTHONPATH
REPO_ROOT = LOCAL_DIR.parent

# Defaults stay clear of the ports common services use (5000, 8080, 4566, ...) and below the kernel's ephemeral
# range (Linux: 32768-60999 unless tuned), from which every outgoing connection takes its local port: a port in
# that range can be taken by any connection while the stack is down.
DEFAULT_EMULATOR_PORT = 29010
DEFAULT_REGISTRY_PORT = 29050
DEFAULT_LB_PORT = 29080  # the local load balancer (every ALB listener of the emulator, one port)
DEFAULT_POSTGRES_PORT = 29040  # the private PostgreSQL (the Supabase stand-in); 5432 stays the machine's own
# The AWS fault proxy in front of the emulator (faults.py; passes everything through until a test sets a plan): by
# default 10 above the emulator's port (29010 -> 29020), so that stacks on other ports do not share it.
FAULTS_PORT_OFFSET = 10
DEFAULT_REGION = "us-east-1"
HOST = "127.0.0.1"
EPHEMERAL_RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")


class ConfigError(ValueError):
    """A setting from the environment is invalid; the message names the variable."""


def ephemeral_port_range(path: Path = EPHEMERAL_RANGE_FILE) -> tuple[int, int] | None:
    """The kernel's range of local ports for outgoing connections, ``(low, high)``; None where it cannot be read."""
    try:
        low, high = (int(field) for field in path.read_text().split())
    except (OSError, ValueError):
        return None
    return low, high


def _port(env: dict[str, str], name: str, default: int) -> int:
    raw = env.get(name, "")
    if raw == "":
        return default
    try:
        port = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a TCP port number, got {raw!r}") from None
    if not 1 <= port <= 65535:
        raise ConfigError(f"{name} must be between 1 and 65535, got {port}")
    return port


def _time_scale(env: dict[str, str]) -> float:
    from .cloud.clock import parse_scale

    try:
        return parse_scale(env.get("SHIPYARD_TIME_SCALE"))
    except ValueError as error:
        raise ConfigError(str(error)) from None


@dataclass(frozen=True)
class StackConfig:
    """Every path and port of the local stack. Build it with :meth:`from_env`."""

    state_dir: Path
    emulator_port: int
    registry_port: int
    region: str
    host: str = HOST
    lb_port: int = DEFAULT_LB_PORT
    # SHIPYARD_TIME_SCALE: how many times faster than real time the local cloud's simulated world runs
    # (start-up, health-check intervals, draining, stop timeouts); 1 = real time. See cloud/clock.py.
    time_scale: float = 1.0
    # SHIPYARD_POSTGRES_PORT: the private PostgreSQL (from_env always sets it). None: a stack without it, for tests
    # that build a config of their own for the AWS side only (no port to pick, no database to initialize).
    postgres_port: int | None = None
    # SHIPYARD_FAULTS_PORT: the fault proxy in front of the emulator (faults.py; it injects nothing until a test sets
    # a plan). None: no proxy.
    faults_port: int | None = None

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> StackConfig:
        env = dict(os.environ if env is None else env)
        state_dir = Path(env.get("SHIPYARD_STATE_DIR") or REPO_ROOT / ".shipyard").resolve()
        emulator_port = _port(env, "SHIPYARD_EMULATOR_PORT", DEFAULT_EMULATOR_PORT)
        config = cls(
            state_dir=state_dir,
            emulator_port=emulator_port,
            registry_port=_port(env, "SHIPYARD_REGISTRY_PORT", DEFAULT_REGISTRY_PORT),
            region=env.get("SHIPYARD_AWS_REGION") or DEFAULT_REGION,
            lb_port=_port(env, "SHIPYARD_LB_PORT", DEFAULT_LB_PORT),
            time_scale=_time_scale(env),
            postgres_port=_port(env, "SHIPYARD_POSTGRES_PORT", DEFAULT_POSTGRES_PORT),
            faults_port=_port(env, "SHIPYARD_FAULTS_PORT", (emulator_port + FAULTS_PORT_OFFSET - 1) % 65535 + 1),
        )
        ports = config.ports()
        names = list(ports)
        for i, first in enumerate(names):
            for second in names[i + 1 :]:
                if ports[first] == ports[second]:
                    raise ConfigError(f"{first} and {second} must differ, both are {ports[first]}")
        return config

    def ports(self) -> dict[str, int]:
        """Each port by the variable that sets it."""
        ports = {
            "SHIPYARD_EMULATOR_PORT": self.emulator_port,
            "SHIPYARD_REGISTRY_PORT": self.registry_port,
            "SHIPYARD_LB_PORT": self.lb_port,
        }
        if self.postgres_port is not None:
            ports["SHIPYARD_POSTGRES_PORT"] = self.postgres_port
        if self.faults_port is not None:
            ports["SHIPYARD_FAULTS_PORT"] = self.faults_port
        return ports

    # --- derived paths -------------------------------------------------------------
    @property
    def logs_dir(self) -> Path:
        return self.state_dir / "logs"

    @property
    def run_file(self) -> Path:
        """What ``up`` started (JSON): ``down`` stops exactly this, nothing else."""
        return self.state_dir / "stack.json"

    @property
    def env_file(self) -> Path:
        return self.state_dir / "env"

    @property
    def registry_dir(self) -> Path:
        return self.state_dir / "registry"

    @property
    def docker_dir(self) -> Path:
        return self.state_dir / "docker"

    @property
    def postgres_dir(self) -> Path:
        """The private PostgreSQL's data directory (owned by the user it runs as)."""
        return self.state_dir / "postgres" / "data"

    @property
    def runtime_dir(self) -> Path:
        """Short path for unix sockets (108-byte limit): dockerd's socket and exec root live here."""
        digest = hashlib.sha256(str(self.state_dir).encode()).hexdigest()[:10]
        return Path(tempfile.gettempdir()) / f"shipyard-{os.getuid()}-{digest}"

    # --- derived addresses -----------------------------------------------------------
    @property
    def emulator_url(self) -> str:
        return f"http://{self.host}:{self.emulator_port}"

    @property
    def registry_address(self) -> str:
        return f"{self.host}:{self.registry_port}"

    @property
    def lb_url(self) -> str:
        """The local load balancer: every ALB listener of the emulator is served here."""
        return f"http://{self.host}:{self.lb_port}"

    @property
    def faults_url(self) -> str | None:
        """The fault proxy (faults.py): the emulator's API, with AWS faults when a plan is set; None without it."""
        return None if self.faults_port is None else f"http://{self.host}:{self.faults_port}"

    @property
    def postgres_address(self) -> str:
        return f"{self.host}:{self.postgres_port}"

    @property
    def private_docker_host(self) -> str:
        return f"unix://{self.runtime_dir}/docker.sock"

    def stack_env(self) -> dict[str, str]:
        """The settings that name this stack (state dir, region, every port): a client that reads them (the local
        inventory, ``python -m shipyard_local``, the tests) reaches this stack and no other."""
        return {
            "SHIPYARD_STATE_DIR": str(self.state_dir),
            "SHIPYARD_AWS_REGION": self.region,
            **{name: str(port) for name, port in self.ports().items()},
        }

    def aws_env(self) -> dict[str, str]:
        """Environment for any AWS client (boto3, awscli, Ansible modules) aimed at the emulator."""
        return {
            "AWS_ENDPOINT_URL": self.emulator_url,
            "AWS_URL": self.emulator_url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
        }
