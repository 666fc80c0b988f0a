"""The docker runner: every ECS task of the local cloud as real containers on the stack's Docker engine.

What one task goes through (all in a background thread per task; the engine only sees ``poll``):

1. **Logs.** For each container with the ``awslogs`` driver, the log group named by ``awslogs-group``
   must exist in the emulator (or ``awslogs-create-group: "true"``), as on AWS; otherwise the task
   stops with ``TaskFailedToStart`` / ``ResourceInitializationError: failed to validate logger args``.
   The stream is ``<awslogs-stream-prefix>/<container-name>/<task-id>``.
2. **Pull.** ECR image names (``123456789012.dkr.ecr.<region>.amazonaws.com/repo:tag`` or ``@sha256:``)
   are data: the host is replaced by the local registry (``config.registry_address``) and the image is
   pulled from there after a real ``docker login`` with the emulator's ECR token, in a private
   ``DOCKER_CONFIG`` under the state directory (never the user's ``~/.docker``). Images named with the
   local registry are pulled as they are; any other name must already exist in the engine (no image
   hub is ever contacted). A failure stops the task: ``TaskFailedToStart`` and
   ``CannotPullContainerError: <docker's message>``.
3. **Run.** ``docker run -d --network host`` per container, with the task definition's environment
   plus the resolved secrets (handed to docker through a 0600 env file that is deleted at once, so no
   value is ever on a command line or in a log) and, for the app container, ``PORT=<host_port>``: the
   PORT contract of :mod:`.base`. Every container carries the labels ``shipyard.local.state-dir`` and
   ``shipyard.local.task``: :func:`remove_leftovers` finds them after a crash.
4. **Output.** ``docker logs -f -t`` per container; each chunk becomes one PutLogEvents (timestamps are
   docker's) into the emulator's CloudWatch Logs.
5. **Exit.** When an essential container exits, the others get ``docker stop`` and the task stops
   with ``EssentialContainerExited`` / "Essential container in task exited"; every container's exit
   code is reported (``OOMKilled`` -> "OutOfMemoryError: Container killed due to memory usage").
"""

from __future__ import annotations

import calendar
import contextlib
import http.client
import math
import os
import re
import shlex
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ...config import StackConfig
from ...docker_engine import docker_cli
from ..clock import Clock, RealClock
from .base import (
    PULLING,
    RUNNING,
    STARTING,
    STOPPED,
    ContainerSpec,
    ContainerStatus,
    HealthResult,
    TaskSpec,
    TaskStatus,
)

DEFAULT_ACCOUNT = "123456789012"  # moto's default account: the emulator's resources live there
LABEL_STATE_DIR = "shipyard.local.state-dir"
LABEL_TASK = "shipyard.local.task"
LABEL_TASK_ARN = "shipyard.local.task-arn"
LABEL_CONTAINER = "shipyard.local.container"

# Durations of the simulated world, in the clock's seconds (SHIPYARD_TIME_SCALE shortens them):
HEALTH_POLL_SECONDS = 2.0  # container healthCheck status read from docker this often
STOP_TIMEOUT_SECONDS = 30.0  # SIGTERM -> SIGKILL when an essential container exited (ECS's stopTimeout default)
EXIT_WAIT_SECONDS = 30.0  # after docker stop: how long to wait for every container's exit to be seen
MIN_REAL_TIMEOUT = 0.5  # a target health check's HTTP timeout never drops below this many real seconds

ESSENTIAL_EXITED = "Essential container in task exited"
OOM_REASON = "OutOfMemoryError: Container killed due to memory usage"
MISSING_LOG_GROUP = (
    "ResourceInitializationError: failed to validate logger args: create stream has been retried 1 times: "
    "failed to create Cloudwatch log stream: ResourceNotFoundException: The specified log group does not exist. "
    ": exit status 1"
)

# 123456789012.dkr.ecr.us-east-1.amazonaws.com[.cn]/repo[:tag|@sha256:...] (also -fips and dualstack names)
_ECR_IMAGE = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr(?:-fips)?\.(?P<region>[a-z0-9-]+)\.(?:on\.)?(?:amazonaws\.com(?:\.cn)?|api\.aws)"
    r"/(?P<rest>.+)$"
)


class StartFailure(Exception):
    """The task cannot start: ``reason`` is what AWS would say (container and task)."""

    def __init__(self, reason: str, container: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.container = container


# --- pure helpers (unit-tested) ----------------------------------------------------------------------------------


def map_image(image: str, registry_address: str) -> tuple[str, bool]:
    """The name to pull for a task definition's ``image``, and whether it comes from the local registry.

    ECR names get the local registry's address instead of the AWS host (which is data, never dialled).
    """
    match = _ECR_IMAGE.match(image)
    if match:
        return f"{registry_address}/{match['rest']}", True
    return image, image.startswith(registry_address + "/")


def log_stream_name(prefix: str | None, container: str, task_id: str) -> str:
    """``<awslogs-stream-prefix>/<container-name>/<task-id>``, the name Fargate gives a task's stream."""
    return f"{prefix}/{container}/{task_id}" if prefix else f"{container}/{task_id}"


def parse_matcher(matcher: str) -> Callable[[int], bool]:
    """An ELB ``Matcher.HttpCode`` ("200", "200-399", "200,302") as a predicate on status codes."""
    ranges: list[tuple[int, int]] = []
    for part in str(matcher or "200").replace(" ", "").split(","):
        if not part:
            continue
        low, dash, high = part.partition("-")
        if not low.isdigit() or (dash and not high.isdigit()):
            raise ValueError(f"invalid health check matcher {matcher!r}")
        ranges.append((int(low), int(high or low)))
    if not ranges:
        raise ValueError(f"invalid health check matcher {matcher!r}")
    return lambda code: any(low <= code <= high for low, high in ranges)


def container_name(task_id: str, container: str) -> str:
    """The docker container name of one task container (docker allows ``[a-zA-Z0-9][a-zA-Z0-9_.-]*``)."""
    return "shipyard-" + re.sub(r"[^a-zA-Z0-9_.-]", "-", f"{task_id}-{container}")


def app_container(spec: TaskSpec) -> ContainerSpec:
    """The container that gets ``PORT``: the first essential one with a port mapping, else the first essential."""
    essential = [c for c in spec.containers if c.essential] or list(spec.containers)
    return next((c for c in essential if c.container_port), essential[0])


def parse_docker_timestamp(text: str) -> int:
    """``2025-01-02T03:04:05.123456789Z`` (docker logs -t) -> epoch milliseconds."""
    main, _, fraction = text.rstrip("Z").partition(".")
    seconds = calendar.timegm(time.strptime(main, "%Y-%m-%dT%H:%M:%S"))
    return seconds * 1000 + int((fraction + "000")[:3])


def _docker_duration(seconds: float, scale: float) -> str:
    """Simulated seconds as a docker duration: whole seconds in real time, milliseconds when sped up."""
    if scale == 1:
        return f"{int(seconds)}s"
    return f"{max(1, round(seconds * 1000 / scale))}ms" if seconds else "0s"


def health_check_args(health_check: dict | None, scale: float = 1.0) -> list[str]:
    """The task definition's container ``healthCheck`` as ``docker run`` options (timings divided by ``scale``)."""
    if not health_check or not health_check.get("command"):
        return []
    kind, *rest = health_check["command"]
    command = (
        rest[0]
        if kind == "CMD-SHELL" and len(rest) == 1
        else shlex.join(rest if kind in ("CMD", "CMD-SHELL") else health_check["command"])
    )
    return [
        "--health-cmd", command,
        "--health-interval", _docker_duration(int(health_check.get("interval", 30)), scale),
        "--health-timeout", _docker_duration(int(health_check.get("timeout", 5)), scale),
        "--health-retries", str(int(health_check.get("retries", 3))),
        "--health-start-period", _docker_duration(int(health_check.get("startPeriod", 0)), scale),
    ]  # fmt: skip


# --- CloudWatch Logs sinks ---------------------------------------------------------------------------------------


class LogSink(Protocol):
    def group_exists(self, group: str) -> bool: ...

    def create_group(self, group: str) -> None: ...

    def ensure_stream(self, group: str, stream: str) -> None: ...

    def put(self, group: str, stream: str, events: list[dict]) -> None: ...


class MotoLogSink:
    """The emulator's CloudWatch Logs, in-process (the runner lives in the emulator's process)."""

    def __init__(self, account_id: str, region: str) -> None:
        self.account_id = account_id
        self.region = region
        self._lock = threading.Lock()

    def _backend(self):
        from moto.logs.models import logs_backends

        return logs_backends[self.account_id][self.region]

    def group_exists(self, group: str) -> bool:
        return group in self._backend().groups

    def create_group(self, group: str) -> None:
        self._backend().ensure_log_group(group)

    def ensure_stream(self, group: str, stream: str) -> None:
        self._backend().ensure_log_stream(group, stream)

    def put(self, group: str, stream: str, events: list[dict]) -> None:
        with self._lock:  # moto's stream.put_log_events is not thread-safe
            self._backend().put_log_events(group, stream, events)


class Boto3LogSink:
    """CloudWatch Logs through an API client (a runner outside the emulator's process, e.g. in tests)."""

    def __init__(self, client) -> None:
        self.client = client

    def group_exists(self, group: str) -> bool:
        groups = self.client.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
        return any(g["logGroupName"] == group for g in groups)

    def create_group(self, group: str) -> None:
        with contextlib.suppress(self.client.exceptions.ResourceAlreadyExistsException):
            self.client.create_log_group(logGroupName=group)

    def ensure_stream(self, group: str, stream: str) -> None:
        with contextlib.suppress(self.client.exceptions.ResourceAlreadyExistsException):
            self.client.create_log_stream(logGroupName=group, logStreamName=stream)

    def put(self, group: str, stream: str, events: list[dict]) -> None:
        self.client.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)


# --- the docker CLI ----------------------------------------------------------------------------------------------


class Docker:
    """The ``docker`` CLI aimed at one engine, with a private client config directory."""

    def __init__(self, docker_host: str, config_dir: Path) -> None:
        self.docker_host = docker_host
        self.config_dir = config_dir
        config_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(config_dir),
            "DOCKER_HOST": docker_host,
            "DOCKER_CONFIG": str(config_dir),
        }

    def argv(self, *args: str) -> list[str]:
        return [docker_cli(), *args]

    def run(self, *args: str, stdin: str | None = None, timeout: float | None = 120) -> subprocess.CompletedProcess:
        return subprocess.run(  # noqa: S603 - argv built here, never from a shell string
            self.argv(*args), input=stdin, env=self.env, capture_output=True, text=True, timeout=timeout, check=False
        )

    def popen(self, *args: str, **kwargs) -> subprocess.Popen:
        return subprocess.Popen(self.argv(*args), env=self.env, **kwargs)  # noqa: S603


def _docker_message(result: subprocess.CompletedProcess) -> str:
    text = (result.stderr or result.stdout or "").strip()
    return " ".join(text.split()) or f"docker exited with {result.returncode}"


# --- the runner ----------------------------------------------------------------------------------------------------


@dataclass
class _Container:
    spec: ContainerSpec
    status: ContainerStatus
    name: str  # docker's name
    local_image: str = ""
    log_group: str | None = None
    log_stream: str | None = None
    started: bool = False
    exited: bool = False


class DockerRunner:
    """Real containers for the local cloud's ECS tasks (see the module docstring)."""

    name = "docker"

    def __init__(
        self,
        config: StackConfig,
        docker_host: str,
        *,
        logs: LogSink | None = None,
        account_id: str = DEFAULT_ACCOUNT,
        ecr_credentials: Callable[[], tuple[str, str]] | None = None,
        clock: Clock | None = None,
    ) -> None:
        """``docker_host``: the engine to use, as the stack hands it over (``DOCKER_HOST`` syntax).
        ``clock``: the local cloud's clock; its scale shortens container health polling and stop timeouts.
        """
        self.config = config
        self.clock: Clock = clock or RealClock()
        self.docker = Docker(docker_host, config.state_dir / "runner" / "docker-config")
        self.logs = logs or MotoLogSink(account_id, config.region)
        self._credentials = ecr_credentials or self._emulator_credentials
        self._login_lock = threading.Lock()
        self._logged_in = False
        self._runs: list[DockerTaskRun] = []
        self._lock = threading.Lock()

    def _emulator_credentials(self) -> tuple[str, str]:
        from ...registry import ecr_credentials

        return ecr_credentials(self.config)

    def login(self, force: bool = False) -> None:
        """``docker login`` to the local registry with the emulator's ECR token (once, or again if ``force``)."""
        with self._login_lock:
            if self._logged_in and not force:
                return
            user, password = self._credentials()
            result = self.docker.run(
                "login", "--username", user, "--password-stdin", self.config.registry_address, stdin=password
            )
            if result.returncode != 0:
                raise StartFailure(f"CannotPullContainerError: ECR login failed: {_docker_message(result)}")
            self._logged_in = True

    def start(self, spec: TaskSpec) -> DockerTaskRun:
        run = DockerTaskRun(self, spec)
        with self._lock:
            self._runs.append(run)
        run.begin()
        return run

    def forget(self, run: DockerTaskRun) -> None:
        with self._lock, contextlib.suppress(ValueError):
            self._runs.remove(run)

    def shutdown(self) -> None:
        """Stop and remove every container this runner started (and any other of this state directory)."""
        with self._lock:
            runs = list(self._runs)
            self._runs.clear()
        for run in runs:
            run.abort()
        remove_leftovers(self.config, self.docker.docker_host)
        for run in runs:
            run.join(timeout=10)


class DockerTaskRun:
    """One task's containers; ``poll`` reads a status the background thread keeps current."""

    def __init__(self, runner: DockerRunner, spec: TaskSpec) -> None:
        self.runner = runner
        self.spec = spec
        self.docker = runner.docker
        app = app_container(spec)
        self._app_name = app.name
        self._containers = [
            _Container(spec=c, status=ContainerStatus(name=c.name), name=container_name(spec.task_id, c.name))
            for c in spec.containers
        ]
        self._phase = PULLING
        self._stop_code: str | None = None
        self._stopped_reason: str | None = None
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop_requested: tuple[str, float] | None = None
        self._pull: subprocess.Popen | None = None
        self._followers: list[threading.Thread] = []
        self._thread = threading.Thread(target=self._main, name=f"task-{spec.task_id[:8]}", daemon=True)

    # --- the TaskRun protocol -----------------------------------------------------------------------------
    def begin(self) -> None:
        self._thread.start()

    def poll(self) -> TaskStatus:
        with self._lock:
            return TaskStatus(
                phase=self._phase,
                containers=[ContainerStatus(**vars(c.status)) for c in self._containers],
                stop_code=self._stop_code,
                stopped_reason=self._stopped_reason,
            )

    def check_health(self, path: str, matcher: str, timeout: float) -> HealthResult:
        """One ALB-style HTTP GET of ``http://127.0.0.1:<host_port><path>``."""
        real_timeout = max(MIN_REAL_TIMEOUT, self.runner.clock.real(timeout))
        return http_health_check(self.runner.config.host, self.spec.host_port, path, matcher, real_timeout)

    def stop(self, reason: str, grace_seconds: float = 30.0) -> None:
        with self._lock:
            if self._stop_requested is None:
                self._stop_requested = (reason, grace_seconds)
            pull = self._pull
        if pull is not None and pull.poll() is None:
            pull.kill()
        self._wake.set()

    def release(self) -> None:
        """Remove the containers (in the background) and forget the task."""
        self.runner.forget(self)
        names = [c.name for c in self._containers]
        threading.Thread(target=self.docker.run, args=("rm", "--force", *names), daemon=True).start()

    # --- for the runner's shutdown ------------------------------------------------------------------------
    def abort(self) -> None:
        self.stop("Stopped by the local stack's shutdown", grace_seconds=2)

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)

    # --- the background thread ----------------------------------------------------------------------------
    def _set(self, phase: str | None = None, **task) -> None:
        with self._lock:
            if phase:
                self._phase = phase
            for key, value in task.items():
                setattr(self, f"_{key}", value)

    def _main(self) -> None:
        try:
            self._prepare_logs()
            for container in self._containers:
                self._pull_image(container)
                if self._stop_requested:
                    break
            if not self._stop_requested:
                self._set(STARTING)
                for container in self._containers:
                    self._start_container(container)
                self._set(RUNNING)
                self._supervise()
            self._finish()
        except StartFailure as failure:
            self._fail_to_start(failure)
        except Exception as error:  # a runner bug must still end the task, visibly
            self._fail_to_start(StartFailure(f"InternalError: {type(error).__name__}: {error}"))

    def _prepare_logs(self) -> None:
        sink = self.runner.logs
        for container in self._containers:
            options = container.spec.log_options
            group = options.get("awslogs-group")
            if not group:
                continue
            if not sink.group_exists(group):
                if str(options.get("awslogs-create-group", "")).lower() != "true":
                    raise StartFailure(MISSING_LOG_GROUP, container.spec.name)
                sink.create_group(group)
            stream = log_stream_name(options.get("awslogs-stream-prefix"), container.spec.name, self.spec.task_id)
            sink.ensure_stream(group, stream)
            container.log_group, container.log_stream = group, stream

    def _pull_image(self, container: _Container) -> None:
        local, from_registry = map_image(container.spec.image, self.runner.config.registry_address)
        container.local_image = local
        if not from_registry:
            found = self.docker.run("image", "inspect", "--format", "{{.Id}}", local, timeout=30)
            if found.returncode != 0:
                raise StartFailure(
                    f"CannotPullContainerError: image {local} is neither in the local registry "
                    f"({self.runner.config.registry_address}) nor in the Docker engine; the local stack pulls "
                    "from no other registry",
                    container.spec.name,
                )
            container.status.image_digest = found.stdout.strip() or None
            return
        error = self._try_pull(local)
        if error and ("unauthorized" in error or "no basic auth" in error or "authentication required" in error):
            self.runner.login(force=True)  # the emulator (and with it the token) may have restarted
            error = self._try_pull(local)
        if error is not None:
            if self._stop_requested:
                return
            raise StartFailure(f"CannotPullContainerError: {error}", container.spec.name)
        digests = self.docker.run("image", "inspect", "--format", "{{range .RepoDigests}}{{println .}}{{end}}", local)
        for line in digests.stdout.split():
            if "@" in line:
                container.status.image_digest = line.rpartition("@")[2]
                break

    def _try_pull(self, image: str) -> str | None:
        """``docker pull`` (killable by ``stop``); returns docker's error message, or None when it worked."""
        self.runner.login()
        with self._lock:
            if self._stop_requested:
                return "task stopped during the pull"
            self._pull = self.docker.popen(
                "pull", "--quiet", image, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
        out, err = self._pull.communicate()
        code = self._pull.returncode
        with self._lock:
            self._pull = None
        return None if code == 0 else " ".join((err or out or f"docker pull exited with {code}").split())

    def _start_container(self, container: _Container) -> None:
        spec, task = container.spec, self.spec
        env = dict(spec.environment)
        if spec.name == self._app_name:
            env["PORT"] = str(task.host_port)
        labels = {
            LABEL_STATE_DIR: str(self.runner.config.state_dir),
            LABEL_TASK: task.task_id,
            LABEL_TASK_ARN: task.task_arn,
            LABEL_CONTAINER: spec.name,
            "com.amazonaws.ecs.cluster": task.cluster,
            "com.amazonaws.ecs.task-definition-family": task.family,
            "com.amazonaws.ecs.task-definition-version": str(task.revision),
            "com.amazonaws.ecs.container-name": spec.name,
        }
        args = ["run", "--detach", "--name", container.name, "--network", "host", "--pull", "never"]
        for key, value in labels.items():
            args += ["--label", f"{key}={value}"]
        if task.memory and str(task.memory).isdigit():
            args += ["--memory", f"{int(task.memory)}m"]
        if spec.working_directory:
            args += ["--workdir", spec.working_directory]
        if spec.user:
            args += ["--user", spec.user]
        if spec.read_only_root:
            args.append("--read-only")
        args += health_check_args(spec.health_check, self.runner.clock.scale)
        command = list(spec.command or ())
        if spec.entry_point:
            args += ["--entrypoint", spec.entry_point[0]]
            command = [*spec.entry_point[1:], *command]
        self.docker.run("rm", "--force", container.name, timeout=30)  # a leftover of a crashed run, if any
        result = self._docker_run_with_env(args, env, container.local_image, command)
        if result.returncode != 0:
            raise StartFailure(f"CannotStartContainerError: {_docker_message(result)}", spec.name)
        container.started = True
        with self._lock:
            container.status.last_status = RUNNING
        if container.log_group:
            follower = threading.Thread(target=self._ship_logs, args=(container,), daemon=True)
            follower.start()
            self._followers.append(follower)
        threading.Thread(target=self._wait_exit, args=(container,), daemon=True).start()

    def _docker_run_with_env(self, args: list[str], env: dict[str, str], image: str, command: list[str]):
        """``docker run`` with the environment in an env file only this process can read, deleted at once.

        Values with a newline (which env files cannot carry) go through the CLI's own environment
        (``--env NAME``), never through argv.
        """
        through_cli = {k: v for k, v in env.items() if "\n" in v and k not in self.docker.env}
        fd, path = tempfile.mkstemp(prefix="env-", dir=self.docker.config_dir)
        try:
            with os.fdopen(fd, "w") as handle:
                handle.writelines(f"{k}={v}\n" for k, v in env.items() if k not in through_cli)
            args = [*args, "--env-file", path, *(arg for key in through_cli for arg in ("--env", key))]
            return subprocess.run(  # noqa: S603 - argv built here, no secret value in it
                self.docker.argv(*args, image, *command),
                env={**through_cli, **self.docker.env},
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
        finally:
            os.unlink(path)

    def _wait_exit(self, container: _Container) -> None:
        result = self.docker.run("wait", container.name, timeout=None)
        inspect = self.docker.run(
            "inspect", "--format", "{{.State.ExitCode}} {{.State.OOMKilled}} {{.State.Error}}", container.name
        )
        code_text, _, rest = inspect.stdout.strip().partition(" ")
        oom, _, error = rest.partition(" ")
        try:
            code: int | None = int(code_text)
        except ValueError:
            code = int(result.stdout.strip()) if result.stdout.strip().isdigit() else None
        with self._lock:
            container.exited = True
            container.status.last_status = STOPPED
            container.status.exit_code = code
            if oom == "true":
                container.status.reason = OOM_REASON
            elif error.strip():
                container.status.reason = error.strip()
        self._wake.set()

    def _ship_logs(self, container: _Container) -> None:
        """Follow the container's stdout and stderr; one PutLogEvents per chunk read."""
        sink = self.runner.logs
        proc = self.docker.popen(
            "logs", "--follow", "--timestamps", container.name, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        pending = b""
        fd = proc.stdout.fileno()
        while True:
            chunk = os.read(fd, 65536)
            if chunk:
                pending += chunk
                lines, _, pending = pending.rpartition(b"\n")
                if not lines:
                    continue
            else:
                lines, pending = pending, b""
            events = log_batch(lines)
            if events:
                with contextlib.suppress(Exception):  # the group may be deleted under a running task
                    sink.put(container.log_group, container.log_stream, events)
            if not chunk:
                break
        proc.wait()

    def _supervise(self) -> None:
        """Wait until an essential container exits or ``stop`` is asked; refresh container health meanwhile."""
        clock = self.runner.clock
        health = any(c.spec.health_check for c in self._containers)
        while True:
            clock.wait(self._wake, HEALTH_POLL_SECONDS if health else None)
            self._wake.clear()
            if health:
                self._refresh_health()
            with self._lock:
                essential_exited = any(c.exited for c in self._containers if c.spec.essential)
                requested = self._stop_requested
                all_exited = all(c.exited for c in self._containers)
            if requested or essential_exited or all_exited:
                break
        if requested:
            self._set(stop_code="UserInitiated", stopped_reason=requested[0])
        else:
            self._set(stop_code="EssentialContainerExited", stopped_reason=ESSENTIAL_EXITED)
        grace = requested[1] if requested else STOP_TIMEOUT_SECONDS
        real_grace = math.ceil(clock.real(max(0.0, grace)))  # docker stop --time: whole real seconds
        running = [c.name for c in self._containers if c.started and not c.exited]
        if running:
            self.docker.run("stop", "--time", str(real_grace), *running, timeout=real_grace + 60)
        deadline = clock.now() + EXIT_WAIT_SECONDS
        while not all(c.exited for c in self._containers if c.started) and clock.now() < deadline:
            clock.wait(self._wake, 1.0)
            self._wake.clear()

    def _refresh_health(self) -> None:
        for container in self._containers:
            if not container.spec.health_check or container.exited:
                continue
            fmt = "{{if .State.Health}}{{.State.Health.Status}}{{end}}"
            result = self.docker.run("inspect", "--format", fmt, container.name, timeout=10)
            status = {"healthy": "HEALTHY", "unhealthy": "UNHEALTHY"}.get(result.stdout.strip(), "UNKNOWN")
            with self._lock:
                container.status.health_status = status

    def _finish(self) -> None:
        for follower in self._followers:
            follower.join(timeout=10)  # the last lines reach CloudWatch Logs before the task reads STOPPED
        with self._lock:
            if self._stop_code is None and self._stop_requested:
                self._stop_code, self._stopped_reason = "UserInitiated", self._stop_requested[0]
            for container in self._containers:
                container.status.last_status = STOPPED
            self._phase = STOPPED

    def _fail_to_start(self, failure: StartFailure) -> None:
        started = [c.name for c in self._containers if c.started]
        if started:
            self.docker.run("rm", "--force", *started, timeout=60)
        with self._lock:
            for container in self._containers:
                container.status.last_status = STOPPED
                if container.spec.name == failure.container or (failure.container is None and not container.started):
                    container.status.reason = failure.reason
            self._stop_code = "TaskFailedToStart"
            self._stopped_reason = failure.reason
            self._phase = STOPPED


def log_batch(lines: bytes) -> list[dict]:
    """One PutLogEvents batch from ``docker logs --timestamps`` lines, in timestamp order.

    Docker stamps stdout and stderr as it reads each one, so a line of one can come out of ``docker logs`` before an
    earlier-stamped line of the other; PutLogEvents refuses a batch out of order (and the emulator with it), so the
    batch is sorted first, stably, as Docker's own awslogs driver does.
    """
    return sorted((_log_event(line) for line in lines.split(b"\n") if line), key=lambda event: event["timestamp"])


def _log_event(line: bytes) -> dict:
    stamp, _, message = line.partition(b" ")
    try:
        timestamp = parse_docker_timestamp(stamp.decode())
    except ValueError:
        timestamp, message = int(time.time() * 1000), line
    return {"timestamp": timestamp, "message": message.decode(errors="replace").rstrip("\r")}


def http_health_check(host: str, port: int, path: str, matcher: str, timeout: float) -> HealthResult:
    """An ALB target health check: GET ``path``; the status must match ``matcher`` (ELB reason codes otherwise)."""
    accepts = parse_matcher(matcher)
    connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        connection.request("GET", path or "/", headers={"User-Agent": "ELB-HealthChecker/2.0", "Connection": "close"})
        response = connection.getresponse()
        response.read(65536)
        code = response.status
    except TimeoutError:
        return HealthResult(False, "Target.Timeout", "Request timed out")
    except (OSError, http.client.HTTPException):
        return HealthResult(False, "Target.FailedHealthChecks", "Health checks failed")
    finally:
        connection.close()
    if accepts(code):
        return HealthResult(True)
    return HealthResult(False, "Target.ResponseCodeMismatch", f"Health checks failed with these codes: [{code}]")


def remove_leftovers(config: StackConfig, docker_host: str) -> list[str]:
    """Remove every container labelled with this stack's state directory (after a crash, or at ``down``).

    Returns the names removed. Safe when the engine does not answer (returns ``[]``).
    """
    docker = Docker(docker_host, config.state_dir / "runner" / "docker-config")
    try:
        found = docker.run(
            "ps", "--all", "--quiet", "--filter", f"label={LABEL_STATE_DIR}={config.state_dir}", timeout=30
        )
    except (OSError, subprocess.TimeoutExpired):
        return []
    ids = found.stdout.split() if found.returncode == 0 else []
    if ids:
        docker.run("rm", "--force", *ids, timeout=120)
    return ids
