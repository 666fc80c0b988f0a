"""Rollout waiters side by side on the local cloud: ours, ``aws ecs wait services-stable``, fabfuel's ``ecs deploy``.

For each story (what the new revision's tasks do, scripted with ``SHIPYARD_SIMULATE``) and each tool, the bench
makes a fresh cluster and service (2 tasks of a healthy revision, behind a target group with 5 s health checks),
lets the tool roll it out to the story's revision, and measures:

- the decisive event: for a healthy rollout, the moment the new deployment is PRIMARY and COMPLETED with all its
  targets healthy (a side poller over boto3 every 0.2 s, straight to the emulator); for a failing one, the
  ``stoppedAt`` of the first new task that stopped (the emulator's timestamp);
- when the tool gave its verdict and exited, and what the verdict was;
- the tool's AWS API calls, counted by the local stack's fault proxy (``shipyard_local.faults``, no faults planned)
  between the tool and the emulator (one proxy per run, operations read from ``X-Amz-Target`` or the query
  ``Action``), per minute of the tool's run.

Run it from the repository root: ``.venv/bin/python bench/rollout.py [--stories healthy,crash_loop] [--tools ours]
[--cap-cli 120] [--no-doc]``. It replaces its own section of ``docs/benchmarks.md`` (between its markers) and
nothing else in that file. It uses (or brings up, and then stops) its own local stack: ``.shipyard-bench`` and
ports 29710/29750/29780 unless ``SHIPYARD_STATE_DIR`` / ``SHIPYARD_*_PORT`` say otherwise.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
DOC = REPO / "docs" / "benchmarks.md"
PLAYBOOK = REPO / "bench" / "rollout.yml"

if str(REPO / "bench") not in sys.path:  # bench/docsections.py, also when this file is loaded by path (tests)
    sys.path.insert(0, str(REPO / "bench"))
if str(REPO / "local") not in sys.path:  # the local stack's fault proxy counts the calls
    sys.path.insert(0, str(REPO / "local"))
from docsections import markers, replace_section  # noqa: E402 - needs bench/ on sys.path first

from shipyard_local.faults import Faults, build_server  # noqa: E402 - needs local/ on sys.path first

# This script's section of docs/benchmarks.md (the top of it); bench/deploy.py's "Deploy" section stays as it is.
BEGIN, END = markers("bench/rollout.py", "bench/deploy.py")

BENCH_ENV = {
    "SHIPYARD_STATE_DIR": str(REPO / ".shipyard-bench"),
    "SHIPYARD_EMULATOR_PORT": "29710",
    "SHIPYARD_REGISTRY_PORT": "29750",
    "SHIPYARD_LB_PORT": "29780",
    "SHIPYARD_POSTGRES_PORT": "29740",
}

# The service every run starts from, and how its target group checks health (as tests/local_cloud.py).
BASELINE = "start=0.5"
DESIRED = 2
HEALTH_CHECK = {"interval": 5, "timeout": 2, "healthy": 2, "unhealthy": 2, "deregistration_delay": 3}
POLL = 0.2  # the side poller's period (seconds)
AFTER_EXIT = 60.0  # how long the side poller keeps looking for the decisive event once the tool has exited
CLI_GIVES_UP = 600  # aws ecs wait services-stable: 40 attempts x 15 s


@dataclass(frozen=True)
class Story:
    name: str
    simulate: str  # the new revision's SHIPYARD_SIMULATE
    success: bool  # what a correct waiter says
    image: str = "web:2"
    breaker_rollback: bool = True  # the service's circuit breaker rolls back (ECS's own rollback)
    what: str = ""
    load_balancer: bool = True  # the service's tasks behind a target group (False: a worker, nothing checks them)
    window_only: bool = False  # ECS reports success: only ecs_rollout's stability window tells the failure


STORIES = {
    s.name: s
    for s in (
        Story("healthy", "start=1", True, what="new tasks start in 1 s and pass health checks"),
        Story("crash_loop", "start=1,exit=3@4,reason=boom", False, what="new tasks exit with code 3 after 4 s"),
        Story(
            "crash_loop_no_rollback",
            "start=1,exit=3@4,reason=boom",
            False,
            breaker_rollback=False,
            what="as crash_loop, on a service whose circuit breaker does not roll back",
        ),
        Story(
            "failing_health_check",
            "start=1,healthy=false,code=500",
            False,
            what="new tasks run but answer health checks with HTTP 500",
        ),
        Story("image_pull", "pull=fail", False, image="nowhere/missing:1", what="the new image cannot be pulled"),
        Story(
            "exits_after_completed",
            "start=1,exit=1@4,reason=boom",
            False,
            load_balancer=False,
            window_only=True,
            what="no load balancer: ECS completes the deployment once the new tasks run; each exits with code 1 "
            "4 s after RUNNING and ECS replaces it, forever (its circuit breaker counts an IN_PROGRESS "
            "deployment's failures only)",
        ),
    )
}
# ours-0: ecs_rollout without its stability window (stable_for: 0): what the window costs and what it catches.
# ours-cutover: success at cutover (success_at: cutover), on the stories that succeed behind a load balancer; without
# the window, as ours-0 (with it, on the local cloud's 3 s deregistration delay, the window ends after the old tasks
# are gone either way: its row would be ours' again).
TOOLS = ("ours", "ours-0", "ours-cutover", "aws-cli", "ecs-deploy")
OURS = ("ours", "ours-0", "ours-cutover")
TOOL_LABELS = {
    "ours": "shipyard.fargate.ecs_rollout",
    "ours-0": "ecs_rollout, stable_for: 0",
    "ours-cutover": "ecs_rollout, stable_for: 0, success_at: cutover",
    "aws-cli": "aws ecs wait services-stable",
    "ecs-deploy": "ecs deploy (fabfuel)",
}


# ---------------------------------------------------------------------------------------------------------
# Pure helpers (tests/unit/test_bench.py)


def per_minute(calls: int, seconds: float) -> float | None:
    """Calls per minute over ``seconds`` (None for an empty window)."""
    return calls * 60.0 / seconds if seconds > 0 else None


def busiest_minute(times: list[float]) -> int:
    """The most calls made within any 60 s (the times of the calls, in seconds): what a limit of 60 calls a minute
    is about, whether the tool ran for 10 s or 10 minutes."""
    times = sorted(times)
    most, first = 0, 0
    for last, at in enumerate(times):
        while at - times[first] >= 60.0:
            first += 1
        most = max(most, last - first + 1)
    return most


def _num(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def table(rows: list[dict]) -> str:
    """The results as a markdown table, one row per story and tool."""
    head = [
        "story",
        "tool",
        "verdict",
        "right?",
        "event → verdict (s)",
        "event → exit (s)",
        "tool ran (s)",
        "API calls",
        "calls/min",
        "busiest 60 s",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        cells = [
            row["story"],
            TOOL_LABELS.get(row["tool"], row["tool"]),
            row["verdict"].replace("|", "\\|"),
            row.get("right", "?"),
            _num(row.get("to_verdict")),
            _num(row.get("to_exit")),
            _num(row.get("ran")),
            str(row.get("calls", "—")),
            _num(row.get("per_minute"), 0),
            str(row.get("busiest_minute", "—")),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def first_verdict_line(lines: list[tuple[float, str]]) -> tuple[float, str] | None:
    """Our action plugin's verdict line (``web: failed: ...`` / ``web: succeeded: ...``), the first one."""
    pattern = re.compile(r"^\S+: (succeeded|failed|waiting): ")
    return next(((at, text) for at, text in lines if pattern.match(text.strip())), None)


VERDICT_WITHIN = 1.5  # issue 15: the verdict within 1.5 s of the decisive event
CALLS_PER_MINUTE = 60  # ... with at most 60 AWS calls a minute


def targets_check(rows: list[dict]) -> list[str]:
    """Ours against the issue's targets, one line each, from the measured rows."""
    out = []
    for row in rows:
        if row["tool"] not in OURS:
            continue
        gap = row.get("to_verdict")
        busiest = row.get("busiest_minute")
        # A success waits for the stability window too (it counts from the targets turning healthy, which comes
        # before the event, so this bound is generous by the time between the two).
        window = (row.get("stable_for") or 0) if row["success"] else 0
        what = {True: "completion", False: "the first stopped task"}[row["success"]]
        if row["tool"] == "ours-cutover":
            what = "the cutover"
        bound = f"within {VERDICT_WITHIN:g} s of {what}"
        if window:
            bound += f" plus the {window:g} s stability window"
        who = f"{row['story']} ({TOOL_LABELS.get(row['tool'], row['tool'])})"
        wrong = row.get("right", "yes") != "yes"
        # A story only the stability window tells from a success, run with the window off (as measured): expected.
        window_off = row.get("stable_for") == 0 and getattr(STORIES.get(row["story"]), "window_only", False)
        if wrong and window_off:
            said = (
                f"{who}: not right ({row['verdict']}), as expected: ECS reports this deployment COMPLETED, and"
                " stable_for: 0 turns off the stability window, the one check that tells it failed"
            )
        elif wrong:
            said = f"{who}: MISSED: the verdict was not right ({row['verdict']})"
        elif gap is None:
            said = f"{who}: no decisive event observed"
        else:
            met = "met" if gap <= VERDICT_WITHIN + window else "MISSED"
            said = f"{who}: verdict {gap:.1f} s after the event ({met}: {bound})"
        if busiest is not None:
            ok = "met" if busiest <= CALLS_PER_MINUTE else "MISSED"
            said += f"; {busiest} calls in its busiest minute ({ok}: at most {CALLS_PER_MINUTE})"
        out.append(said)
    return out


# ---------------------------------------------------------------------------------------------------------
# The counting proxy: the local stack's fault proxy (local/shipyard_local/faults.py) with no plan, its own per run


class _Recorded(Faults):
    """The fault proxy's state with no faults planned, keeping each call's time as well as its count."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[tuple[float, str]] = []

    def next(self, name: str):
        decision = super().next(name)
        with self._lock:
            self.requests.append((time.time(), name.replace(".", ":", 1)))  # ecs.DescribeServices: ecs:Describe...
        return decision


class CountingProxy:
    """A threaded HTTP proxy on 127.0.0.1 to the emulator (the fault proxy, no faults) that records each request:
    (time, ``service:Op``), the operation as the fault proxy reads it (``X-Amz-Target`` or the query ``Action``,
    the service from the SigV4 credential scope)."""

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self._faults = _Recorded()
        self._server = build_server(parts.hostname or "127.0.0.1", 0, parts.port or 80, self._faults)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def requests(self) -> list[tuple[float, str]]:
        with self._faults._lock:
            return list(self._faults.requests)

    def __enter__(self) -> CountingProxy:
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._server.shutdown()
        self._server.server_close()


# ---------------------------------------------------------------------------------------------------------
# The local cloud: one service per run


class Service:
    """A fresh cluster, target group and service ``web`` running the baseline revision (names unique per run)."""

    def __init__(self, clients, name: str, breaker_rollback: bool = True, load_balancer: bool = True) -> None:
        self.ecs, self.elb, ec2 = clients("ecs"), clients("elbv2"), clients("ec2")
        self.cluster = name
        vpc = ec2.create_vpc(CidrBlock="10.41.0.0/16")["Vpc"]["VpcId"]
        self.subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.41.1.0/24")["Subnet"]["SubnetId"]
        self.group = ec2.create_security_group(GroupName=name, Description="tasks", VpcId=vpc)["GroupId"]
        self.ecs.create_cluster(clusterName=name)
        self.target_group = self.elb.create_target_group(
            Name=name[:32], Protocol="HTTP", Port=8080, VpcId=vpc, TargetType="ip", HealthCheckPath="/health",
            HealthCheckIntervalSeconds=HEALTH_CHECK["interval"], HealthCheckTimeoutSeconds=HEALTH_CHECK["timeout"],
            HealthyThresholdCount=HEALTH_CHECK["healthy"], UnhealthyThresholdCount=HEALTH_CHECK["unhealthy"],
        )["TargetGroups"][0]["TargetGroupArn"]  # fmt: skip
        delay = str(HEALTH_CHECK["deregistration_delay"])
        self.elb.modify_target_group_attributes(
            TargetGroupArn=self.target_group,
            Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": delay}],
        )
        self.baseline = self.task_definition(BASELINE, "web:1")
        balancers = [{"targetGroupArn": self.target_group, "containerName": "app", "containerPort": 8080}]
        if not load_balancer:
            self.target_group, balancers = None, []  # the group stays unused
        self.ecs.create_service(
            cluster=name, serviceName="web", taskDefinition=self.baseline, desiredCount=DESIRED, launchType="FARGATE",
            networkConfiguration={"awsvpcConfiguration": {"subnets": [self.subnet], "securityGroups": [self.group]}},
            loadBalancers=balancers,
            healthCheckGracePeriodSeconds=0,
            deploymentConfiguration={
                "deploymentCircuitBreaker": {"enable": True, "rollback": breaker_rollback},
                "maximumPercent": 200,
                "minimumHealthyPercent": 100,
            },
        )  # fmt: skip

    def task_definition(self, simulate: str, image: str) -> str:
        container = {
            "name": "app",
            "image": image,
            "essential": True,
            "portMappings": [{"containerPort": 8080}],
            "environment": [{"name": "SHIPYARD_SIMULATE", "value": simulate}],
        }
        return self.ecs.register_task_definition(
            family=self.cluster, networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256", memory="512",
            containerDefinitions=[container],
        )["taskDefinition"]["taskDefinitionArn"]  # fmt: skip

    def describe(self) -> dict:
        return self.ecs.describe_services(cluster=self.cluster, services=["web"])["services"][0]

    def wait_settled(self, timeout: float = 180.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            deployments = self.describe()["deployments"]
            if len(deployments) == 1 and deployments[0]["rolloutState"] == "COMPLETED":
                return
            time.sleep(0.5)
        raise RuntimeError(f"{self.cluster}: the baseline deployment did not complete within {timeout:.0f} s")

    def remove(self) -> None:
        try:
            self.ecs.delete_service(cluster=self.cluster, service="web", force=True)
        except Exception as e:  # cleanup of a scratch service: the next run does not depend on it
            print(f"  (cleanup of {self.cluster}: {e})", file=sys.stderr)


def _ip(task: dict) -> str | None:
    for attachment in task.get("attachments") or []:
        for detail in attachment.get("details") or []:
            if detail.get("name") == "privateIPv4Address":
                return detail.get("value")
    return None


class Observer(threading.Thread):
    """The side poller: when the new deployment succeeded (0.2 s resolution) and the first new task's stoppedAt.

    "New" means any task definition but the baseline (ecs deploy registers its own revision), so the tasks of a
    rollback to the baseline are not counted.
    """

    def __init__(self, service: Service) -> None:
        super().__init__(daemon=True)
        self.service = service
        self.success_at: float | None = None
        self.cutover_at: float | None = None  # new targets all healthy, every other target draining (or gone)
        self.first_stop: float | None = None
        self.first_stop_reason: str | None = None
        self.errors = 0
        self._stop_event = threading.Event()
        self._stopped: dict[str, dict] = {}

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=10)

    def run(self) -> None:
        svc = self.service
        last_stopped_check = 0.0
        while not self._stop_event.is_set():
            try:
                if self.success_at is None:
                    self._check_success(svc)
                if time.monotonic() - last_stopped_check >= 0.5:
                    last_stopped_check = time.monotonic()
                    self._check_stopped(svc)
            except Exception:  # one failed poll of the side poller: it polls again
                self.errors += 1
            self._stop_event.wait(POLL)

    def _check_success(self, svc: Service) -> None:
        seen = time.time()
        service = svc.describe()
        primary = next((d for d in service["deployments"] if d["status"] == "PRIMARY"), None)
        if not primary or primary["taskDefinition"] == svc.baseline:
            return
        if self.cutover_at is None and svc.target_group is not None:
            self._check_cutover(svc, primary, seen)
        if primary.get("rolloutState") != "COMPLETED":
            return
        if primary["runningCount"] != primary["desiredCount"] or primary.get("pendingCount"):
            return
        arns = svc.ecs.list_tasks(cluster=svc.cluster, serviceName="web", desiredStatus="RUNNING")["taskArns"]
        tasks = svc.ecs.describe_tasks(cluster=svc.cluster, tasks=arns)["tasks"] if arns else []
        ips = {
            _ip(t)
            for t in tasks
            if t["taskDefinitionArn"] == primary["taskDefinition"] and t["lastStatus"] == "RUNNING"
        }
        if svc.target_group is None:  # no load balancer: running is all there is to see
            if len(ips) == primary["desiredCount"]:
                self.success_at = seen
            return
        health = svc.elb.describe_target_health(TargetGroupArn=svc.target_group)["TargetHealthDescriptions"]
        states = {h["Target"]["Id"]: h["TargetHealth"]["State"] for h in health}
        if len(ips) == primary["desiredCount"] and all(states.get(ip) == "healthy" for ip in ips):
            self.success_at = seen

    def _check_cutover(self, svc: Service, primary: dict, seen: float) -> None:
        if primary["runningCount"] != primary["desiredCount"] or primary.get("pendingCount"):
            return
        arns = svc.ecs.list_tasks(cluster=svc.cluster, serviceName="web", desiredStatus="RUNNING")["taskArns"]
        tasks = svc.ecs.describe_tasks(cluster=svc.cluster, tasks=arns)["tasks"] if arns else []
        ips = {
            _ip(t)
            for t in tasks
            if t["taskDefinitionArn"] == primary["taskDefinition"] and t["lastStatus"] == "RUNNING"
        }
        health = svc.elb.describe_target_health(TargetGroupArn=svc.target_group)["TargetHealthDescriptions"]
        states = {h["Target"]["Id"]: h["TargetHealth"]["State"] for h in health}
        new_up = len(ips) == primary["desiredCount"] and all(states.get(ip) == "healthy" for ip in ips)
        if new_up and all(state in ("draining", "unused") for ip, state in states.items() if ip not in ips):
            self.cutover_at = seen

    def _check_stopped(self, svc: Service) -> None:
        arns = svc.ecs.list_tasks(cluster=svc.cluster, serviceName="web", desiredStatus="STOPPED")["taskArns"]
        pending = [arn for arn in arns if "stoppedAt" not in self._stopped.get(arn, {})]
        for start in range(0, len(pending), 100):
            for task in svc.ecs.describe_tasks(cluster=svc.cluster, tasks=pending[start : start + 100])["tasks"]:
                self._stopped[task["taskArn"]] = task
        new = [t for t in self._stopped.values() if t["taskDefinitionArn"] != svc.baseline and t.get("stoppedAt")]
        if new:
            first = min(new, key=lambda t: t["stoppedAt"])
            self.first_stop = first["stoppedAt"].timestamp()
            self.first_stop_reason = first.get("stoppedReason")


# ---------------------------------------------------------------------------------------------------------
# Running a tool


@dataclass
class ToolRun:
    started: float
    exited: float | None = None
    returncode: int | None = None
    lines: list[tuple[float, str]] = field(default_factory=list)
    capped: bool = False

    @property
    def output(self) -> str:
        return "\n".join(text for _, text in self.lines)


def run_tool(argv: list[str], env: dict[str, str], cap: float, run: ToolRun | None = None) -> ToolRun:
    """Run ``argv``, timestamping each output line; kill its process group after ``cap`` seconds."""
    run = run or ToolRun(started=time.time())
    proc = subprocess.Popen(  # noqa: S603 - argv built by this script from fixed programs
        argv, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )

    def read():
        assert proc.stdout is not None  # noqa: S101 - Popen was given stdout=PIPE
        for line in proc.stdout:
            run.lines.append((time.time(), line.rstrip("\n")))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        run.returncode = proc.wait(timeout=max(1.0, cap - (time.time() - run.started)))
        run.exited = time.time()
    except subprocess.TimeoutExpired:
        run.capped = True
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    reader.join(timeout=5)
    return run


def tool_env(base: dict[str, str], endpoint: str) -> dict[str, str]:
    env = dict(base)
    env.update(AWS_ENDPOINT_URL=endpoint, AWS_URL=endpoint, PYTHONUNBUFFERED="1")
    return env


def run_ours(
    svc: Service,
    story: Story,
    env: dict,
    proxy: CountingProxy,
    cap: float,
    tmp: Path,
    stable_for: int | None = None,
    success_at: str | None = None,
) -> tuple:
    """ecs_rollout through bench/rollout.yml, with its defaults (``stable_for`` None) or that stability window, and
    its default success (``success_at`` None) or that one."""
    new = svc.task_definition(story.simulate, story.image)
    window = {} if stable_for is None else {"bench_stable_for": stable_for}
    if success_at is not None:
        window["bench_success_at"] = success_at
    result_file = tmp / f"{svc.cluster}.json"
    extra = tmp / f"{svc.cluster}-vars.json"
    extra.write_text(
        json.dumps(
            {
                "bench_cluster": svc.cluster,
                "bench_service": "web",
                "bench_task_definition": new,
                "bench_endpoint_url": proxy.url,
                "bench_region": env["AWS_REGION"],
                "bench_access_key": env["AWS_ACCESS_KEY_ID"],
                "bench_secret_key": env["AWS_SECRET_ACCESS_KEY"],
                "bench_result_file": str(result_file),
                **window,
            }
        )
    )
    argv = [str(BIN / "ansible-playbook"), str(PLAYBOOK), "-i", "localhost,", "-e", f"@{extra}"]
    run = run_tool(argv, tool_env(env, proxy.url), cap)
    fact = json.loads(result_file.read_text()) if result_file.exists() else {}
    line = first_verdict_line(run.lines)
    if fact.get("verdict"):
        said = fact["verdict"].lower()
        if fact.get("reason_code"):
            said += f" ({fact['reason_code']})"
        if fact.get("rollback"):
            said += f", rolled back: {fact['rollback'].get('verdict', '?').lower()}"
    else:
        said = (line[1].strip() if line else run.output.strip().splitlines()[-1:] or ["no output"])[0][:80]
    verdict = f"exit {run.returncode}: {said}" if not run.capped else f"killed at {cap:.0f} s: {said}"
    notes = {
        "module_api_calls": fact.get("api_calls"),
        "message": (fact.get("msg") or "").splitlines()[:1],
        # The window the module applied, as its result reports it.
        "stable_for": (fact.get("summary") or {}).get("stable_window"),
    }
    return run, verdict, (line[0] if line else None), notes


def run_ours_without_window(svc, story, env, proxy, cap, tmp) -> tuple:
    return run_ours(svc, story, env, proxy, cap, tmp, stable_for=0)


def run_ours_at_cutover(svc, story, env, proxy, cap, tmp) -> tuple:
    return run_ours(svc, story, env, proxy, cap, tmp, stable_for=0, success_at="cutover")


def run_cli(svc: Service, story: Story, env: dict, proxy: CountingProxy, cap: float, _tmp: Path) -> tuple:
    new = svc.task_definition(story.simulate, story.image)
    penv = tool_env(env, proxy.url)
    aws = str(BIN / "aws")
    run = ToolRun(started=time.time())
    update = [aws, "ecs", "update-service", "--cluster", svc.cluster, "--service", "web", "--task-definition", new]
    run_tool([*update, "--query", "service.serviceName", "--output", "text"], penv, cap, run)
    if run.returncode == 0:
        run.exited = None
        run_tool([aws, "ecs", "wait", "services-stable", "--cluster", svc.cluster, "--services", "web"], penv, cap, run)
    if run.capped:
        verdict = f"no verdict within {cap:.0f} s (gives up at {CLI_GIVES_UP} s)"
    elif run.returncode == 0:
        on = svc.describe()["taskDefinition"]
        which = "the new revision" if on == new else "the previous revision: ECS rolled back, the CLI exits 0"
        verdict = f"exit 0: stable, on {which}"
    else:
        last = run.output.strip().splitlines()[-1:] or ["no output"]
        verdict = f"exit {run.returncode}: {last[0][:80]}"
    return run, verdict, None, {}


def run_ecs_deploy(svc: Service, story: Story, env: dict, proxy: CountingProxy, cap: float, _tmp: Path) -> tuple:
    argv = [str(BIN / "ecs"), "deploy", svc.cluster, "web", "-e", "app", "SHIPYARD_SIMULATE", story.simulate]
    if story.image != "web:2":
        argv += ["-i", "app", story.image]
    run = run_tool(argv, tool_env(env, proxy.url), cap)
    text = run.output
    if run.capped:
        verdict = f"killed at {cap:.0f} s"
    elif run.returncode == 0 and "Deployment successful" in text:
        verdict = "exit 0: Deployment successful"
    else:
        failed = [line for line in text.splitlines() if "failed" in line.lower() or "error" in line.lower()]
        last = (failed or text.strip().splitlines() or ["no output"])[-1].strip()
        verdict = f"exit {run.returncode}: {last[:90]}"
    return run, verdict, None, {}


RUNNERS = {
    "ours": run_ours,
    "ours-0": run_ours_without_window,
    "ours-cutover": run_ours_at_cutover,
    "aws-cli": run_cli,
    "ecs-deploy": run_ecs_deploy,
}


def _right(story: Story, run: ToolRun, svc: Service) -> str:
    """Was the verdict true? ``yes``/``no``, ``none`` when the tool was stopped before it said anything."""
    if run.capped or run.returncode is None:
        return "none"
    if story.success:
        primary = next((d for d in svc.describe()["deployments"] if d["status"] == "PRIMARY"), {})
        return "yes" if run.returncode == 0 and primary.get("taskDefinition") != svc.baseline else "no"
    return "yes" if run.returncode != 0 else "no"


def measure(clients, emulator: str, env: dict, story: Story, tool: str, caps: dict, tmp: Path) -> dict:
    short = {"ours": "ours", "ours-0": "ours0", "ours-cutover": "cut", "aws-cli": "cli", "ecs-deploy": "fab"}[tool]
    name = f"bench-{story.name.replace('_', '-')[:12].strip('-')}-{short}-{uuid.uuid4().hex[:6]}"
    svc = Service(clients, name, story.breaker_rollback, story.load_balancer)
    try:
        svc.wait_settled()
        observer = Observer(svc)
        observer.start()
        with CountingProxy(emulator) as proxy:
            run, verdict, verdict_at, notes = RUNNERS[tool](svc, story, env, proxy, caps[tool], tmp)
            end = run.exited or time.time()
            requests = [(at, op) for at, op in proxy.requests if run.started - 1 <= at <= end + 0.5]
        # The decisive event may come after a tool that exits early: keep looking for a while.
        deadline = time.time() + AFTER_EXIT
        cutover = tool == "ours-cutover"

        def decisive():
            if not story.success:
                return observer.first_stop
            return observer.cutover_at if cutover else observer.success_at

        while time.time() < deadline and decisive() is None:
            time.sleep(POLL)
        observer.stop()
        event = decisive()
        first_call = requests[0][0] if requests else None
        window = (end - first_call) if first_call else None
        row = {
            "story": story.name,
            "tool": tool,
            "success": story.success,
            "verdict": verdict,
            "rc": run.returncode,
            "right": _right(story, run, svc),
            "event": event,
            "event_kind": (
                "new targets healthy + old draining"
                if cutover
                else "completed + targets healthy"
                if story.load_balancer
                else "completed + tasks running"
            )
            if story.success
            else "first new task stoppedAt",
            "first_stop_reason": observer.first_stop_reason,
            "to_verdict": ((verdict_at or run.exited) - event) if event and (verdict_at or run.exited) else None,
            "to_exit": (run.exited - event) if event and run.exited else None,
            "ran": end - run.started,
            "calls": len(requests),
            "window": window,
            "per_minute": per_minute(len(requests), window) if window else None,
            "busiest_minute": busiest_minute([at for at, _op in requests]),
            "operations": dict(Counter(op for _, op in requests).most_common()),
            "observer_errors": observer.errors,
            **notes,
        }
        return row
    finally:
        svc.remove()


# ---------------------------------------------------------------------------------------------------------
# The machine and the document


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "?"


def machine() -> dict:
    cpu = "?"
    with contextlib.suppress(OSError, StopIteration):
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    ram = "?"
    try:
        kib = int(
            next(x for x in Path("/proc/meminfo").read_text().splitlines() if x.startswith("MemTotal")).split()[1]
        )
        ram = f"{kib / 1024 / 1024:.1f} GiB"
    except (OSError, StopIteration, ValueError):
        pass
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "ram": ram,
        "os": platform.platform(),
        "python": platform.python_version(),
        "versions": {
            name: _version(name) for name in ("moto", "botocore", "ansible-core", "amazon.aws", "awscli", "ecs-deploy")
        },
    }


def document(rows: list[dict], info: dict, settings: dict) -> str:
    versions = ", ".join(f"{k} {v}" for k, v in info["versions"].items() if v != "?")
    load = settings["load"]
    busy = max(load["before"][0], load["after"][0]) > info["cpus"] * 0.5
    stories = "\n".join(f"- `{s.name}`: {s.what} (`SHIPYARD_SIMULATE={s.simulate}`)" for s in settings["stories"])
    detail = "\n".join(
        f"| {r['story']} | {TOOL_LABELS[r['tool']]} | "
        + ", ".join(f"{op.split(':', 1)[-1]} {n}" for op, n in r["operations"].items())
        + f" | {_num(r['window'])} | {r.get('module_api_calls') if r.get('module_api_calls') is not None else ''} |"
        for r in rows
    )
    checks = "\n".join(f"- {line}" for line in targets_check(rows)) or "- (ours was not run)"
    differ = [r for r in rows if r.get("module_api_calls") not in (None, r["calls"])]
    if differ:
        checks += (
            f"\n- Ours' own `api_calls` differs from the proxy's count in {len(differ)} of its runs ("
            + ", ".join(f"{r['story']}: {r['module_api_calls']} vs {r['calls']}" for r in differ)
            + "): see the last table."
        )
    return f"""# Benchmarks: waiting for a rollout

Generated by `make bench` (`bench/rollout.py`, see `bench/README.md`); re-running it rewrites this section only
(the "Deploy" section is `bench/deploy.py`'s).

The waiters roll the same service out on the local cloud, story by story: `shipyard.fargate.ecs_rollout` with
its defaults (through `ansible-playbook`; its stability window `stable_for` on), the same without the window
(`stable_for: 0`: what the window costs and what it catches), the same with success at cutover
(`stable_for: 0, success_at: cutover`, on the healthy story behind a load balancer), `aws ecs wait services-stable`
after `aws ecs update-service`, and fabfuel's `ecs deploy` with its defaults (it registers the new revision itself,
`-e app SHIPYARD_SIMULATE ...`).

- **event**: for a healthy rollout, when the new deployment was PRIMARY and COMPLETED with all its targets
  healthy (side poller over boto3, every {POLL} s, not counted as the tool's calls); for a failure, the
  `stoppedAt` of the first new task that stopped; for success at cutover, when every new target was healthy and
  every old one draining. Ours with its window succeeds only once every new target has been healthy for the window,
  counted from when they turned healthy (before the event: the old tasks drain first).
- **right?**: whether the verdict was true: exit 0 with the new revision serving for a healthy rollout, a non-zero
  exit for a failing one (`none`: stopped before it said anything).
- **event → verdict**: seconds from the event to the verdict. Ours prints its verdict line (`web: failed: ...`)
  before it rolls back; the others' verdict is their exit. Negative: the tool decided before the event.
- **event → exit**: seconds from the event to the tool's exit (ours: after its rollback, by default, finished).
- **calls/min**: the tool's AWS API calls (counted by a proxy between the tool and the emulator) per minute,
  from its first call to its exit. Ours includes its UpdateService and, on failure, its rollback and wait.
- **busiest 60 s**: the most of those calls within any 60 s (a run shorter than a minute: all of them).

## Measured

Run on {settings["date"]}, {info["cpus"]} CPUs ({info["cpu"]}), {info["ram"]} RAM, {info["os"]};
Python {info["python"]}, {versions}.
Load average (1 min) {load["before"][0]:.2f} before, {load["after"][0]:.2f} after{
        " — the machine is shared and was busy (CI running): timings carry that noise" if busy else ""
    }.

{table(rows)}

Ours against issue 15's targets (the verdict within {VERDICT_WITHIN:g} s of the decisive event: the first stopped
task, completion with healthy targets or the cutover, plus the stability window for a success that waits for it; at
most {CALLS_PER_MINUTE} calls in any minute):

{checks}

## Settings

- Service: {DESIRED} tasks of a healthy revision (`SHIPYARD_SIMULATE={BASELINE}`), `minimumHealthyPercent` 100,
  `maximumPercent` 200, circuit breaker with rollback (without rollback for `crash_loop_no_rollback`),
  `healthCheckGracePeriodSeconds` 0, Fargate, simulated tasks; behind the target group below, but for
  {", ".join(f"`{s.name}`" for s in STORIES.values() if not s.load_balancer)} (no load balancer).
- Target group: health check every {HEALTH_CHECK["interval"]} s, timeout {HEALTH_CHECK["timeout"]} s,
  thresholds {HEALTH_CHECK["healthy"]} (healthy) and {HEALTH_CHECK["unhealthy"]} (unhealthy),
  deregistration delay {HEALTH_CHECK["deregistration_delay"]} s.
- `aws ecs wait services-stable` is stopped after {settings["cap_cli"]:.0f} s (it gives up at {CLI_GIVES_UP} s: 40
  polls 15 s apart); the others run with their own timeouts (ours 600 s, ecs deploy 300 s). Ours waits for its
  rollback with the same window.
- One run per story and tool, one after another, each on a fresh cluster and service. A rate over a window of a
  few seconds (a tool that exits at once) says little: read it with the call count and the window below.
- Ours counts a task as stopped once ECS stops it (`desiredStatus` STOPPED), which can come before its
  `stoppedAt`: hence a negative "event → verdict".

Stories:

{stories}

## Calls by operation

Counted by the proxy, from the tool's first call to its exit; for ours, also what the module reported itself
(`api_calls`).

| story | tool | operations | window (s) | ours: `api_calls` |
|---|---|---|---|---|
{detail}
"""


def update_document(existing: str, section: str) -> str:
    """``existing`` (docs/benchmarks.md) with this script's section replaced, or put first when it has none."""
    return replace_section(existing, section, BEGIN, END, first=True)


# ---------------------------------------------------------------------------------------------------------
# Main


def _stack(args):
    from shipyard_local.config import StackConfig  # needs local/ on sys.path first
    from shipyard_local.stack import Stack

    for key, value in BENCH_ENV.items():
        os.environ.setdefault(key, value)
    return Stack(StackConfig.from_env())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--stories", default=",".join(STORIES), help=f"comma-separated, of: {', '.join(STORIES)}")
    parser.add_argument("--tools", default=",".join(TOOLS), help=f"comma-separated, of: {', '.join(TOOLS)}")
    parser.add_argument("--cap-cli", type=float, default=120.0, help="stop the CLI waiter after this many seconds")
    parser.add_argument("--cap", type=float, default=700.0, help="stop ours or ecs deploy after this many seconds")
    parser.add_argument("--doc", default=str(DOC), help="where to write the markdown (default docs/benchmarks.md)")
    parser.add_argument("--no-doc", action="store_true", help="print the table only")
    parser.add_argument("--keep-stack", action="store_true", help="leave a stack this run brought up running")
    args = parser.parse_args(argv)
    stories = [STORIES[name] for name in args.stories.split(",") if name]
    tools = [name for name in args.tools.split(",") if name]
    unknown = [name for name in tools if name not in TOOLS]
    if unknown:
        parser.error(f"unknown tools: {', '.join(unknown)}")

    import boto3  # after the argument errors, which need no AWS

    stack = _stack(args)
    started = stack.up()
    try:
        env = {k: v for k, v in os.environ.items() if k not in ("AWS_PROFILE", "AWS_SESSION_TOKEN")}
        env.update(stack.config.aws_env())
        env.update(ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
        env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
        emulator = stack.config.emulator_url

        def clients(service: str):
            return boto3.client(
                service, endpoint_url=emulator, region_name=stack.config.region,
                aws_access_key_id="testing", aws_secret_access_key="testing",  # noqa: S106 - dummy
            )  # fmt: skip

        caps = {"ours": args.cap, "ours-0": args.cap, "ours-cutover": args.cap, "aws-cli": args.cap_cli}
        caps["ecs-deploy"] = args.cap
        load_before = os.getloadavg()
        rows = []
        with tempfile.TemporaryDirectory(prefix="shipyard-bench-") as tmp:
            for story in stories:
                for tool in tools:
                    if tool == "ours-cutover" and not (story.success and story.load_balancer):
                        continue  # no cutover to see: the same run as ours
                    print(f"== {story.name} / {tool}", flush=True)
                    row = measure(clients, emulator, env, story, tool, caps, Path(tmp))
                    rows.append(row)
                    print(
                        f"   {row['verdict']}; event->verdict {_num(row['to_verdict'])} s, "
                        f"event->exit {_num(row['to_exit'])} s, {row['calls']} calls, "
                        f"{_num(row['per_minute'], 0)}/min",
                        flush=True,
                    )
        settings = {
            "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "load": {"before": load_before, "after": os.getloadavg()},
            "cap_cli": args.cap_cli,
            "stories": stories,
        }
        print()
        print(table(rows))
        print()
        for line in targets_check(rows):
            print(f"ours: {line}")
        if not args.no_doc:
            path = Path(args.doc)
            path.parent.mkdir(parents=True, exist_ok=True)
            existing = path.read_text() if path.exists() else ""
            path.write_text(update_document(existing, document(rows, machine(), settings)))
            print(f"\nwritten: {path} (the rollout section)")
        raw = stack.config.state_dir / "bench-rows.json"
        raw.write_text(json.dumps(rows, indent=1, default=str))
        print(f"raw rows: {raw}")
    finally:
        if started and not args.keep_stack:
            stack.down(started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
