"""Where the local stack lives and which ports it uses: one frozen value built from the environment."""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

LOCAL_DIR = Path(__file__).resolve().parents[1]  # local/: this package's parent, for PYTHONPATH
REPO_ROOT = LOCAL_DIR.parent

# Defaults stay clear of the ports common services use (5000, 8080, 4566, ...).
DEFAULT_EMULATOR_PORT = 47010
DEFAULT_REGISTRY_PORT = 47050
DEFAULT_REGION = "us-east-1"
HOST = "127.0.0.1"


class ConfigError(ValueError):
    """A setting from the environment is invalid; the message names the variable."""


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


@dataclass(frozen=True)
class StackConfig:
    """Every path and port of the local stack. Build it with :meth:`from_env`."""

    state_dir: Path
    emulator_port: int
    registry_port: int
    region: str
    host: str = HOST

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> StackConfig:
        env = dict(os.environ if env is None else env)
        state_dir = Path(env.get("SHIPYARD_STATE_DIR") or REPO_ROOT / ".shipyard").resolve()
        config = cls(
            state_dir=state_dir,
            emulator_port=_port(env, "SHIPYARD_EMULATOR_PORT", DEFAULT_EMULATOR_PORT),
            registry_port=_port(env, "SHIPYARD_REGISTRY_PORT", DEFAULT_REGISTRY_PORT),
            region=env.get("SHIPYARD_AWS_REGION") or DEFAULT_REGION,
        )
        if config.emulator_port == config.registry_port:
            raise ConfigError(
                f"SHIPYARD_EMULATOR_PORT and SHIPYARD_REGISTRY_PORT must differ, both are {config.emulator_port}"
            )
        return config

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
    def private_docker_host(self) -> str:
        return f"unix://{self.runtime_dir}/docker.sock"

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
