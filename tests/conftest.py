"""Shared fixtures: the local stack (brought up once per run and shared by parallel workers, or reused), AWS clients
and playbook runs."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import random
import re
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
from xdist.scheduler import LoadFileScheduling

from shipyard_local.config import StackConfig, ephemeral_port_range
from shipyard_local.stack import Stack

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
RECAP = re.compile(r"^(?P<host>\S+)\s+:\s+ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+unreachable=(?P<unreachable>\d+)"
                   r"\s+failed=(?P<failed>\d+)\s+skipped=(?P<skipped>\d+)", re.M)  # fmt: skip
# Seconds after its request that the emulator (moto) reports a DNS-validated ACM certificate ISSUED; moto's default
# is 60, which every test that waits for a certificate would sit through. A few seconds keep the request itself
# PENDING_VALIDATION (the module reads it back within milliseconds); a stack the session reuses keeps its own value.
ACM_VALIDATION_WAIT = "5"


# Parallel workers (pytest-xdist, `--dist loadfile --no-loadscope-reorder`): a test file runs on one worker, so its
# module-scoped fixtures (a stack flow, a provisioned inventory) are made once; each Molecule scenario (one
# parametrized test of test_molecule.py, each a minute or more) is a unit of its own, so scenarios spread over the
# workers. Files that take minutes go first: a long file started last would end the run alone.
# (xdist's `loadgroup` cannot do this with pytest 9: it renames node ids through an attribute pytest 9 no longer reads.)
LONG_FIRST = ("test_stack_flow.py", "test_molecule.py", "test_local_cloud_docker.py", "test_module_ecs_rollout.py")


def _rank(item: pytest.Item) -> tuple[int, int]:
    name = item.path.name
    if name in LONG_FIRST:
        return (0, LONG_FIRST.index(name))
    return (1 if "integration" in item.path.parts else 2, 0)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    items.sort(key=_rank)  # stable: file order and test order within a file are kept


def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """`--dist loadfile`, with each Molecule scenario a unit of its own (see above)."""
    if config.getvalue("dist") != "loadfile":
        return None

    class _FilesAndScenarios(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return nodeid if "/test_molecule.py::" in nodeid else super()._split_scope(nodeid)

    return _FilesAndScenarios(config, log)


@contextlib.contextmanager
def _session_lock(config: StackConfig) -> Iterator[dict]:
    """Hold the stack's pytest lock; yields the shared record of who uses the stack (written back on exit).

    Parallel workers (pytest-xdist) and pytest runs side by side share one stack: the first brings it up under
    the lock, the others wait for it and reuse it, and the last user out stops what the first one started.
    """
    config.state_dir.mkdir(parents=True, exist_ok=True)
    record_file = config.state_dir / "pytest-session.json"
    with (config.state_dir / "pytest-session.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            record = json.loads(record_file.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            record = {"users": 0, "started": []}
        yield record
        record_file.write_text(json.dumps(record))


@pytest.fixture(scope="session")
def local_stack() -> Iterator[Stack]:
    """The local stack: reused when it already runs, else brought up and, when its last user ends, torn down."""
    stack = Stack(StackConfig.from_env())
    with _session_lock(stack.config) as session:
        with pytest.MonkeyPatch.context() as patch:  # the emulator reads it at start (an explicit setting wins)
            patch.setenv("MOTO_ACM_VALIDATION_WAIT", os.environ.get("MOTO_ACM_VALIDATION_WAIT", ACM_VALIDATION_WAIT))
            started = stack.up()
        session["users"] = session["users"] + 1 if not started else 1
        session["started"] = sorted(set(session["started"] if not started else []) | set(started))
    yield stack
    with _session_lock(stack.config) as session:
        session["users"] = max(session["users"] - 1, 0)
        if session["users"] == 0 and session["started"]:
            stack.down(session["started"])
            session["started"] = []


@pytest.fixture(scope="session")
def stack_env(local_stack: Stack) -> dict[str, str]:
    """Environment for programs aimed at the local stack (what `.shipyard/env` holds)."""
    env = dict(os.environ)
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        env.pop(key, None)
    env.update(local_stack.environment())
    env["ANSIBLE_CONFIG"] = str(REPO / "ansible.cfg")
    env["ANSIBLE_NOCOLOR"] = "1"
    env["ANSIBLE_FORCE_COLOR"] = "0"
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["SHIPYARD_EMULATOR_PORT"] = str(local_stack.config.emulator_port)
    env["SHIPYARD_REGISTRY_PORT"] = str(local_stack.config.registry_port)
    return env


@pytest.fixture(scope="session")
def aws(local_stack: Stack):
    """``aws("ecr")`` -> a boto3 client talking to the emulator over HTTP."""
    cfg = local_stack.config

    def client(service: str):
        return boto3.client(
            service,
            endpoint_url=cfg.emulator_url,
            region_name=cfg.region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    return client


@pytest.fixture
def unique_name() -> str:
    """A stack name no other test (or demo run) uses."""
    return f"pytest-{uuid.uuid4().hex[:8]}"


@dataclass
class PlaybookRun:
    returncode: int
    output: str  # stdout and stderr together: what a user sees

    def recap(self) -> dict[str, dict[str, int]]:
        return {
            m["host"]: {k: int(v) for k, v in m.groupdict().items() if k != "host"} for m in RECAP.finditer(self.output)
        }


@pytest.fixture(scope="session")
def run_playbook(stack_env: dict[str, str]):
    """``run_playbook("playbooks/smoke.yml", "-e", "x=y")`` -> PlaybookRun, run from the repository root."""

    def run(playbook: str, *args: str) -> PlaybookRun:
        result = subprocess.run(
            [str(BIN / "ansible-playbook"), playbook, *args],
            cwd=REPO,
            env=stack_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            check=False,
        )
        return PlaybookRun(result.returncode, result.stdout)

    return run


@dataclass
class ModuleRun:
    returncode: int
    result: dict | None  # the module's JSON answer (what a playbook would register); None when it printed none
    output: str  # stdout and stderr together


@pytest.fixture(scope="session")
def run_module(stack_env: dict[str, str], local_stack: Stack, tmp_path_factory):
    """``run_module("ecs_task_definition", {...}, check_mode=False, diff=False, aws=True)`` -> ModuleRun.

    One of this collection's modules run the way Ansible runs it on the controller - a Python process of its own, its
    arguments as ANSIBLE_MODULE_ARGS, the region and endpoint of the stack's emulator (module_defaults' part) - with
    no ansible-playbook start-up, inventory or extra task around it: about a third of a one-task playbook's cost, the
    layer for a module's own behaviour. Modules with an action plugin (ecs_rollout, ecs_task_run) need a playbook.
    """
    folder = tmp_path_factory.mktemp("module-args")
    count = iter(range(1_000_000))
    env = {**stack_env, "PYTHONPATH": str(REPO / "collections")}

    def run(module: str, args: dict, *, check_mode: bool = False, diff: bool = False, aws: bool = True) -> ModuleRun:
        # aws=False: a module that takes no AWS options (the Docker engine's, the registry's).
        defaults = {"region": local_stack.config.region, "endpoint_url": local_stack.config.emulator_url} if aws else {}
        internal = {"_ansible_check_mode": check_mode, "_ansible_diff": diff}
        path = folder / f"{next(count)}-{module}.json"
        path.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": {**defaults, **args, **internal}}))
        done = subprocess.run(
            [sys.executable, "-m", f"ansible_collections.shipyard.fargate.plugins.modules.{module}", str(path)],
            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False,
        )  # fmt: skip
        answer = next((line for line in reversed(done.stdout.splitlines()) if line.startswith("{")), None)
        return ModuleRun(done.returncode, json.loads(answer) if answer else None, done.stdout)

    return run


@pytest.fixture
def role_runner(run_playbook, tmp_path):
    """``role_runner(playbook, fixed_vars)`` -> ``run(*ansible_args, **role_vars)``: a test playbook for one role.

    The role's options go in as extra vars (``-e @file``); the playbook writes the role's fact as JSON to
    ``result_file``, returned as ``outcome.fact`` (None when the run did not get that far, or the playbook writes
    none). Runs are ``--limit web``; a role with apply and destroy playbooks takes one runner for each.
    """

    def make(playbook: str, fixed_vars: dict):
        result_file = tmp_path / "role_fact.json"

        def run(*args: str, **role_vars):
            extra = tmp_path / "vars.json"
            extra.write_text(json.dumps({**fixed_vars, "result_file": str(result_file), **role_vars}))
            result_file.unlink(missing_ok=True)
            outcome = run_playbook(playbook, "--limit", "web", "-e", f"@{extra}", *args)
            outcome.fact = json.loads(result_file.read_text()) if result_file.exists() else None
            return outcome

        return run

    return make


@pytest.fixture
def free_port():
    """``free_port()`` -> a TCP port on 127.0.0.1 that nothing listens on right now, below the kernel's ephemeral
    range: a port the kernel hands out (bind to 0) can be taken by any outgoing connection before the server it is
    meant for binds it (the stack's own defaults stay below that range for the same reason, see README)."""
    low = (ephemeral_port_range() or (32768, 60999))[0]
    rng = random.Random()  # noqa: S311 - spreading ports, not cryptography

    def pick() -> int:
        for _ in range(200):
            port = rng.randrange(20000, low)
            with socket.socket() as sock:
                try:
                    sock.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port
        raise RuntimeError(f"no free port found between 20000 and {low}")

    return pick
