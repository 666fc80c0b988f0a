"""The local stack as a whole: ``up`` (idempotent), ``down`` (only what ``up`` started) and ``status``.

What ``up`` started is recorded in ``<state>/stack.json`` (PID and a command-line marker per part,
so a reused PID is never mistaken for ours). ``down`` reads that record and nothing else.
"""

from __future__ import annotations

import errno
import json
import os
import shlex
import signal
import socket
import sys
import urllib.error
import urllib.request
from typing import Any

from . import docker_engine, postgres, procs, registry, system
from .cloud.runners import docker as docker_runner
from .config import LOCAL_DIR, StackConfig, ephemeral_port_range

EMULATOR_MODULE = "shipyard_local.emulator"
PARTS = ("emulator", "docker", "registry", "postgres")


class PortInUse(procs.StartError):
    """A port the stack wants cannot be listened on; the message names the variable to change."""


def _bind_error(host: str, port: int) -> OSError | None:
    """Why a server could not listen on ``host:port`` now; None when it could.

    A trial bind with SO_REUSEADDR, as the stack's servers bind (werkzeug, http.server, Go's net.Listen). Unlike a
    connect test, it also fails when a connection on this host uses the port as its local end (the kernel hands any
    port of its ephemeral range to outgoing connections). It cannot tell about later: between this check and the
    part's own bind, or whenever the stack is down, the port can still be taken.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as error:
            return error
    return None


def _port_advice(port: int, variable: str) -> str:
    """What to do about a port that could not be listened on: the variable to set, and where to pick from."""
    advice = f"set {variable} to a free port"
    ephemeral = ephemeral_port_range()
    if ephemeral and ephemeral[0] <= port <= ephemeral[1]:
        advice += (
            f" below {ephemeral[0]} ({port} lies in this machine's ephemeral port range {ephemeral[0]}-{ephemeral[1]},"
            " from which outgoing connections take their local port)"
        )
    return advice


def _emulator_answers(config: StackConfig) -> bool:
    try:
        with urllib.request.urlopen(f"{config.emulator_url}/moto-api/", timeout=2) as response:  # noqa: S310
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


class Stack:
    def __init__(self, config: StackConfig | None = None) -> None:
        self.config = config or StackConfig.from_env()

    # --- the record of what up started ---------------------------------------------------
    def load(self) -> dict[str, Any]:
        try:
            return json.loads(self.config.run_file.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return {}

    def _save(self, record: dict[str, Any]) -> None:
        self.config.state_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.config.run_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
        tmp.replace(self.config.run_file)

    @staticmethod
    def _alive(part: dict[str, Any] | None) -> bool:
        return bool(part) and procs.is_alive(part.get("pid"), part.get("marker"))

    # --- up -------------------------------------------------------------------------------
    def up(self) -> list[str]:
        """Bring every part up (reusing what runs); returns the parts this call started."""
        cfg = self.config
        cfg.logs_dir.mkdir(parents=True, exist_ok=True)
        record = self.load()
        started: list[str] = []
        try:
            self._up_docker(record, started)  # first: the emulator's local cloud is handed its address
            self._up_emulator(record, started)
            procs.wait_until(
                lambda: _emulator_answers(cfg), name="AWS API emulator", log=cfg.logs_dir / "emulator.log",
                **self._watch(record["emulator"]),
            )  # fmt: skip
            if "emulator" in started:
                self._check_load_balancer()
            password = self._up_registry(record, started)
            docker = record["docker"]
            if docker["mode"] == "private":
                procs.wait_until(
                    lambda: docker_engine.answers(docker["host"], timeout=3), name="Docker engine (dockerd)",
                    log=cfg.logs_dir / "dockerd.log", timeout=90, **self._watch(docker),
                )  # fmt: skip
            user = record["registry"]["user"]
            procs.wait_until(
                lambda: registry.accepts(cfg, user, password), name="container registry",
                log=cfg.logs_dir / "registry.log", **self._watch(record["registry"]),
            )  # fmt: skip
            if "postgres" in self.parts():
                self._up_postgres(record, started)
                procs.wait_until(
                    lambda: postgres.accepts(cfg), name="PostgreSQL", log=cfg.logs_dir / "postgres.log",
                    **self._watch(record["postgres"]),
                )  # fmt: skip
        except BaseException:
            # Leave nothing half-started behind: stop what this call started, keep the logs.
            self._stop(record, started)
            raise
        self._write_env()
        return started

    def parts(self) -> tuple[str, ...]:
        """The parts this stack runs: all of PARTS, PostgreSQL unless the config has no port for it."""
        return tuple(name for name in PARTS if name != "postgres" or self.config.postgres_port is not None)

    @staticmethod
    def _watch(part: dict[str, Any]) -> dict[str, Any]:
        return {"pid": part["pid"], "marker": part["marker"]}

    def _claim_port(self, port: int, variable: str, name: str) -> None:
        """Fail, naming ``variable``, when ``port`` cannot be listened on now (see ``_bind_error`` for the limits)."""
        error = _bind_error(self.config.host, port)
        if error is None:
            return
        address = f"{self.config.host}:{port}"
        if error.errno == errno.EADDRINUSE:
            cause = f"{address} is in use (a program listens there, or a connection uses it as its local port)"
        else:
            cause = f"cannot listen on {address}: {error.strerror or error}"
        raise PortInUse(f"{name}: {cause}; {_port_advice(port, variable)}.")

    def _check_load_balancer(self) -> None:
        """The load balancer binds inside the emulator, after the emulator's own port: fail if that bind failed."""
        note = str(self.cloud().get("load_balancer", ""))
        if not note.startswith("failed to start"):
            return
        log = self.config.logs_dir / "emulator.log"
        if "Address already in use" in note:
            advice = _port_advice(self.config.lb_port, "SHIPYARD_LB_PORT")
            raise PortInUse(f"local load balancer (in the emulator): {note}; {advice}. Log: {log}")
        name = "local load balancer (in the emulator)"
        raise procs.StartError(f"{name}: {note}. Last lines of {log}:\n{procs.tail(log)}")

    def _up_emulator(self, record: dict[str, Any], started: list[str]) -> None:
        cfg = self.config
        if self._alive(record.get("emulator")):
            return
        self._claim_port(cfg.emulator_port, "SHIPYARD_EMULATOR_PORT", "AWS API emulator")
        self._claim_port(cfg.lb_port, "SHIPYARD_LB_PORT", "local load balancer (in the emulator)")
        if cfg.faults_port is not None:
            self._claim_port(cfg.faults_port, "SHIPYARD_FAULTS_PORT", "AWS fault proxy (in the emulator)")
        pythonpath = os.pathsep.join(filter(None, [str(LOCAL_DIR), os.environ.get("PYTHONPATH")]))
        env = dict(os.environ, PYTHONPATH=pythonpath)
        env["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"
        # The local cloud inside the emulator reads its settings from here (StackConfig.from_env).
        env.pop("SHIPYARD_POSTGRES_PORT", None)  # this stack's, or none for a stack without PostgreSQL
        env.update(cfg.stack_env(), SHIPYARD_TIME_SCALE=f"{cfg.time_scale:g}")
        argv = [sys.executable, "-m", EMULATOR_MODULE, "--host", cfg.host, "--port", str(cfg.emulator_port)]
        argv += ["--docker-host", record["docker"]["host"]]
        if cfg.faults_port is not None:
            argv += ["--faults-port", str(cfg.faults_port)]
        (cfg.state_dir / "cloud.json").unlink(missing_ok=True)  # what this start reports, not an older one
        pid = procs.spawn(argv, cfg.logs_dir / "emulator.log", env=env)
        marker = " ".join(argv[2:6])  # shipyard_local.emulator --host H --port P: this stack's emulator only
        record["emulator"] = {"pid": pid, "marker": marker, "address": cfg.emulator_url}
        started.append("emulator")
        self._save(record)

    def _up_docker(self, record: dict[str, Any], started: list[str]) -> None:
        cfg = self.config
        docker = record.get("docker")
        if docker and docker.get("mode") == "private" and self._alive(docker):
            return
        existing = docker_engine.find_existing(cfg)
        if existing:
            record["docker"] = {"mode": "external", "host": existing}
        else:
            pid = docker_engine.start_private(cfg)
            record["docker"] = {
                "mode": "private",
                "pid": pid,
                "marker": cfg.private_docker_host,  # its socket, named after this stack's state dir
                "host": cfg.private_docker_host,
            }
            started.append("docker")
        self._save(record)

    def _up_registry(self, record: dict[str, Any], started: list[str]) -> str:
        """Start the registry with the emulator's ECR credentials; returns the password it must accept."""
        cfg = self.config
        user, password = registry.ecr_credentials(cfg)
        current = record.get("registry")
        if self._alive(current):
            if registry.accepts(cfg, user, password):
                return password
            procs.stop(current["pid"], current["marker"])  # the token changed: restart with the new htpasswd
        self._claim_port(cfg.registry_port, "SHIPYARD_REGISTRY_PORT", "container registry")
        system.ensure({"docker-registry": "docker-registry"}, "the local container registry")
        registry.write_files(cfg, user, password)
        argv = registry.argv(cfg)
        pid = procs.spawn(argv, cfg.logs_dir / "registry.log")
        marker = argv[-1]  # its config file, in this stack's state dir: this stack's registry only
        record["registry"] = {"pid": pid, "marker": marker, "address": cfg.registry_address, "user": user}
        started.append("registry")
        self._save(record)
        return password

    def _up_postgres(self, record: dict[str, Any], started: list[str]) -> None:
        cfg = self.config
        if self._alive(record.get("postgres")):
            return
        self._claim_port(cfg.postgres_port, "SHIPYARD_POSTGRES_PORT", "PostgreSQL")
        pid = postgres.start(cfg, cfg.logs_dir / "postgres.log")
        record["postgres"] = {"pid": pid, "marker": postgres.marker(cfg), "address": cfg.postgres_address}
        started.append("postgres")
        self._save(record)

    def environment(self) -> dict[str, str]:
        """What a client of the running stack needs: the settings that name this stack (state dir, region, every
        port, so the local inventory and ``python -m shipyard_local`` reach this stack too), AWS endpoint and dummy
        credentials, registry, DOCKER_HOST. Never the database password."""
        return {
            **self.config.stack_env(),
            **self.config.aws_env(),
            "SHIPYARD_REGISTRY": self.config.registry_address,
            "SHIPYARD_LB_URL": self.config.lb_url,
            "DOCKER_HOST": self.load()["docker"]["host"],
        }

    def _write_env(self) -> None:
        lines = [
            "# The local stack's environment, written by `make up`. In a shell: . .shipyard/env",
            "# Dummy credentials aimed at the emulator on 127.0.0.1: nothing here reaches AWS.",
            "unset AWS_PROFILE AWS_SESSION_TOKEN AWS_SECURITY_TOKEN",
            "# SHIPYARD_*: which stack (state dir, ports): the local inventory and shipyard_local reach this one too.",
            *(f"export {key}={shlex.quote(value)}" for key, value in self.environment().items()),
        ]
        self.config.env_file.write_text("\n".join(lines) + "\n")

    # --- down -----------------------------------------------------------------------------
    def down(self, parts: list[str] | None = None) -> list[str]:
        """Stop, by PID, what ``up`` started (all of it, or only ``parts``); returns what was running."""
        record = self.load()
        names = [name for name in PARTS if name in record and (parts is None or name in parts)]
        stopped = self._stop(record, names)
        if not record:
            self.config.run_file.unlink(missing_ok=True)
            self.config.env_file.unlink(missing_ok=True)
        return stopped

    def _stop(self, record: dict[str, Any], names: list[str]) -> list[str]:
        stopped = []
        # The emulator goes first: its task runners stop their containers while the engine still answers.
        # Then any container a crashed emulator left behind (labelled with this state dir) is removed.
        order = ["emulator", *(name for name in reversed(PARTS) if name != "emulator")]
        for name in order:
            part = record.get(name)
            if name == "docker" and "emulator" in names and part:
                self._remove_leftover_containers(part)
            if name not in names or not part:
                continue
            record.pop(name)
            if "pid" not in part:
                continue  # an engine the user already had: not ours to stop
            if name == "docker":
                was_running = self._alive(part)
                docker_engine.stop_private(self.config, part["pid"])
            elif name == "postgres":  # SIGINT: a fast shutdown (SIGTERM would wait for every client to leave)
                was_running = procs.stop(part["pid"], part["marker"], sig=signal.SIGINT)
            else:
                was_running = procs.stop(part["pid"], part["marker"])
            if was_running:
                stopped.append(name)
        self._save(record)
        return stopped

    def _remove_leftover_containers(self, part: dict[str, Any]) -> None:
        host = part.get("host")
        if host and docker_engine.answers(host, timeout=3):
            docker_runner.remove_leftovers(self.config, host)

    # --- status ---------------------------------------------------------------------------
    def status(self) -> list[dict[str, Any]]:
        """One row per part: name, state (running / stopped / external), pid, address, log."""
        record = self.load()
        rows = []
        for name in self.parts():
            part = record.get(name) or {}
            if part.get("mode") == "external":
                state = "external" if docker_engine.answers(part["host"], timeout=3) else "unreachable"
            else:
                state = "running" if self._alive(part) else "stopped"
            address = part.get("host") or part.get("address") or "-"
            log = self.config.logs_dir / ("dockerd.log" if name == "docker" else f"{name}.log")
            rows.append({"part": name, "state": state, "pid": part.get("pid"), "address": address, "log": str(log)})
        return rows

    def cloud(self) -> dict[str, Any]:
        """What the emulator's local cloud reported at start (default task runner, load balancer), if it runs."""
        if not self._alive(self.load().get("emulator")):
            return {}
        try:
            return json.loads((self.config.state_dir / "cloud.json").read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return {}

    def is_up(self) -> bool:
        return all(row["state"] in ("running", "external") for row in self.status())
