"""How long ``playbooks/deploy.yml`` takes, and where the time goes, on the local cloud.

Three measurements, each a real ``ansible-playbook playbooks/deploy.yml`` run on a copied local inventory with a
stack of its own:

1. **Unchanged commit.** The sample API (``examples/nestjs-api``, real image, docker runner) is deployed once
   (built and pushed unless the registry already holds the commit), then deployed again ``--repeat`` times with
   nothing changed: the image role finds the tag in the registry (no build, no push), no task definition is
   registered, the service is not updated, nothing is waited for. Wall time of each.
2. **Where the time goes.** Deploys of new tags of the same source (``-e image_tag=bench-<n>``, ``--repeat``
   times: a build that reuses every cached layer but the last stage, a push, a rollout of real containers), with
   the ``ansible.posix.profile_tasks`` callback: wall time minus the build, push and rollout-wait tasks is the
   playbook's own overhead; the run with the median overhead is reported. Ansible's start-up (an empty play) and
   the no-op deploy's task count are given too.
3. **1 vs 5 services with forks 5.** Services on the simulated runner (``SHIPYARD_SIMULATE=start=1``) with a small
   image pushed once per service repository (``-e shipyard_deploy_image_tag=bench``): the first deploy (creates
   everything), then ``--repeat`` times a new version (a changed task definition rolled out) and the same again
   unchanged; the run with the median wall time of each is reported.

Run from the repository root: ``.venv/bin/python bench/deploy.py [--repeat 3] [--no-doc]``. It uses (or brings up,
and then stops) a local stack: ``.shipyard-bench`` and ports 29710/29750/29780 unless ``SHIPYARD_STATE_DIR`` /
``SHIPYARD_*_PORT`` say otherwise (the same stack as ``bench/rollout.py``; run them one after the other). The
results replace the ``## Deploy`` section at the end of ``docs/benchmarks.md`` (between its markers) and nothing
else in that file.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
if str(REPO / "bench") not in sys.path:  # bench/docsections.py, also when this file is loaded by path (tests)
    sys.path.insert(0, str(REPO / "bench"))
import docsections  # noqa: E402 - needs bench/ on sys.path first

BIN = Path(sys.executable).parent
DOC = REPO / "docs" / "benchmarks.md"
BEGIN, END = docsections.markers("bench/deploy.py", "bench/rollout.py")

BENCH_ENV = {
    "SHIPYARD_STATE_DIR": str(REPO / ".shipyard-bench"),
    "SHIPYARD_EMULATOR_PORT": "29710",
    "SHIPYARD_REGISTRY_PORT": "29750",
    "SHIPYARD_LB_PORT": "29780",
    "SHIPYARD_POSTGRES_PORT": "29740",
}
QUICK_HEALTH = {
    "load_balancer_service_health_check_interval": 5,
    "load_balancer_service_health_check_timeout": 3,
    "load_balancer_service_deregistration_delay": 3,
}
# The tasks that are build, push and the rollout wait (profile_tasks names: "<role> : <task>").
BUILD = ("Build the image from the Dockerfile",)
PUSH = ("Push the image and read its digest from the registry",)
WAIT = ("Roll the service out to the task definition",)
# Work of its own, not overhead: the release command (a one-off task: the sample's migrations) and the public URL check
# after a rollout that changed the service (service_url_check_consecutive good answers through the load balancer).
RELEASE = ("Run the release command as a one-off task",)
URL_CHECK = ("Check http://", "Check https://")
PROFILE_LINE = re.compile(r"^(?P<name>\S.*?) -+ (?P<seconds>\d+\.\d+)s$")
RECAP = re.compile(r"^(?P<host>\S+)\s+:\s+ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+unreachable=\d+\s+"
                   r"failed=(?P<failed>\d+)\s+skipped=(?P<skipped>\d+)", re.M)  # fmt: skip


def _run(argv: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(argv, check=kwargs.pop("check", True), **kwargs)  # noqa: S603 - argv built here, fixed programs


@dataclass
class Run:
    argv: list[str]
    seconds: float
    returncode: int
    output: str

    def recap(self) -> dict[str, dict[str, int]]:
        return {
            m["host"]: {k: int(v) for k, v in m.groupdict().items() if k != "host"} for m in RECAP.finditer(self.output)
        }

    def tasks(self) -> list[tuple[str, float]]:
        """profile_tasks' summary: (task name, seconds) in run order (PROFILE_TASKS_SORT_ORDER=none)."""
        recap = self.output.split("TASKS RECAP", 1)[-1]
        return [(m["name"], float(m["seconds"])) for m in map(PROFILE_LINE.match, recap.splitlines()) if m]

    def seconds_in(self, names: tuple[str, ...]) -> float:
        return sum(s for name, s in self.tasks() if any(name.split(" : ")[-1].startswith(n) for n in names))


# ---------------------------------------------------------------------------------------------------------
# Pure helpers (unit-testable)


def split_time(run: Run) -> dict[str, float]:
    """Wall time of a deploy split into build, push, release, rollout wait, URL check and the rest (the playbook's
    own overhead)."""
    return split_timings(run.seconds, run.tasks())


def split_timings(wall: float, timings: list[tuple[str, float]]) -> dict:
    """``split_time`` from the wall time and profile_tasks' timings (also those of an earlier run's JSON)."""

    def seconds_in(names: tuple[str, ...]) -> float:
        return sum(s for name, s in timings if any(name.split(" : ")[-1].startswith(n) for n in names))

    parts = {"build": BUILD, "push": PUSH, "release": RELEASE, "wait": WAIT, "url_check": URL_CHECK}
    split = {key: seconds_in(names) for key, names in parts.items()}
    return {
        "wall": wall,
        **split,
        "overhead": wall - sum(split.values()),
        "tasks": len(timings),
        "timings": [tuple(t) for t in timings],
    }


def median_run(splits: list[dict], by: str = "overhead") -> dict:
    """Of several runs' splits, the one with the median ``by`` (the lower middle one of an even count), with every
    run's value of it under ``<by>s`` (``overheads``, ``walls``; in run order)."""
    ordered = sorted(splits, key=lambda split: split[by])
    return {**ordered[(len(ordered) - 1) // 2], f"{by}s": [split[by] for split in splits]}


def before_after(before: dict, after: dict) -> list[tuple[str, float, float]]:
    """``(measure, before, after)`` rows from two runs' results (``bench-deploy.json``), recomputed the same way."""

    def median_unchanged(results: dict) -> float:
        return statistics.median(u["wall"] for u in results["unchanged"])

    def overhead(results: dict) -> float:
        new = results["new_tag"]
        return split_timings(new["wall"], new["timings"])["overhead"]

    def ratio(results: dict, key: str) -> float:
        return results["scale"]["5"][key]["wall"] / results["scale"]["1"][key]["wall"]

    rows = [
        ("unchanged commit, 1 service: wall (s, median)", median_unchanged(before), median_unchanged(after)),
        (
            "unchanged commit: task entries (profile_tasks)",
            before["unchanged"][0]["tasks"],
            after["unchanged"][0]["tasks"],
        ),
        ("new tag: overhead beyond build, push, release, rollout, URL check (s)", overhead(before), overhead(after)),
    ]
    for key, label in (("new_version", "new version"), ("unchanged", "unchanged re-deploy")):
        rows.append((f"5 services / 1, {label} (x)", ratio(before, key), ratio(after, key)))
    return rows


def replace_section(document: str, section: str) -> str:
    """``document`` with this script's section (between BEGIN and END) replaced by ``section``."""
    return docsections.replace_section(document, section, BEGIN, END)


def five_services_inventory(root: Path, names: list[str]) -> None:
    """Rewrite a copied local inventory so that ``services`` holds ``names``, on the simulated runner."""
    (root / "hosts.yml").write_text(
        yaml.safe_dump({"all": {"children": {"services": {"hosts": dict.fromkeys(names)}}}}, sort_keys=False)
    )
    for old in (root / "host_vars").glob("*.yml"):
        old.unlink()
    for index, name in enumerate(names, start=1):
        (root / "host_vars" / f"{name}.yml").write_text(
            yaml.safe_dump(
                {
                    "dns_record_name": f"{name}.{{{{ dns_zone_name }}}}",
                    "load_balancer_service_priority": 10 * index,
                    "shipyard_service_secrets": {"API_KEY": "bench-only-not-a-secret"},
                    "service_environment": {"SHIPYARD_SIMULATE": "start=1"},
                    # Simulated tasks serve no HTTP: the public URL check after a rollout would get 502s.
                    "shipyard_url_check": False,
                }
            )
        )


def sample_checkout(root: Path) -> str:
    """The sample API's source in a git checkout of its own at ``root``; returns its commit.

    Commits to this repository during a run would otherwise change the image tag (the source's commit) between
    the "unchanged" deploys. A fixed author and date make the commit the same for the same content, so the
    registry's copy from an earlier bench run is found again.
    """
    shutil.copytree(REPO / "examples" / "nestjs-api", root, ignore=shutil.ignore_patterns("node_modules", "dist"))
    when = "2026-01-01T00:00:00+0000"
    env = dict(os.environ, GIT_AUTHOR_DATE=when, GIT_COMMITTER_DATE=when)
    git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.invalid", "-C", str(root)]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "sample"]):
        _run([*git, *args], env=env)
    return _run([*git, "rev-parse", "HEAD"], stdout=subprocess.PIPE, text=True).stdout.strip()[:12]


# ---------------------------------------------------------------------------------------------------------
# Runs


class Bench:
    def __init__(self, env: dict[str, str], tmp: Path, registry: str, outputs: Path):
        self.env, self.tmp, self.registry, self.outputs = env, tmp, registry, outputs  # outputs: each run's output

    def inventory(self, prefix: str, services: list[str] | None = None, stack: str | None = None) -> tuple[str, str]:
        name = stack or f"{prefix}{uuid.uuid4().hex[:6]}"
        root = self.tmp / name / "local"
        shutil.copytree(REPO / "inventories" / "local", root)
        (root / "group_vars" / "all" / "zz_bench.yml").write_text(
            yaml.safe_dump({"shipyard_stack_name": name, "dns_zone_name": f"{name}.test", **QUICK_HEALTH})
        )
        if services:
            five_services_inventory(root, services)
        return name, str(root)

    def playbook(self, playbook: str, *args: str, profile: bool = True) -> Run:
        env = dict(self.env)
        if profile:
            env.update(
                ANSIBLE_CALLBACKS_ENABLED="ansible.posix.profile_tasks",
                PROFILE_TASKS_TASK_OUTPUT_LIMIT="all",
                PROFILE_TASKS_SORT_ORDER="none",
                PROFILE_TASKS_SUMMARY_ONLY="true",
            )
        argv = [str(BIN / "ansible-playbook"), playbook, *args]
        began = time.monotonic()
        done = _run(argv, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
        run = Run(argv, round(time.monotonic() - began, 1), done.returncode, done.stdout)
        self.outputs.mkdir(parents=True, exist_ok=True)
        log = self.outputs / f"{len(list(self.outputs.iterdir())) + 1:02d}.log"
        log.write_text(" ".join(argv) + "\n" + run.output)
        if run.returncode != 0:
            raise SystemExit(f"failed ({run.returncode}): {' '.join(argv)}\n{run.output[-4000:]}")
        return run

    def startup(self) -> float:
        """An empty play on localhost: Ansible's own start-up and tear-down."""
        empty = self.tmp / "empty.yml"
        empty.write_text("- name: Nothing\n  hosts: localhost\n  gather_facts: false\n  tasks: []\n")
        return statistics.median(self.playbook(str(empty), profile=False).seconds for _ in range(3))

    def push_small_image(self, repositories: list[str], tag: str) -> None:
        """A tiny image as ``tag`` in each repository, pushed through the ECR login (simulated tasks pull nothing)."""
        import boto3

        context = self.tmp / "small-image"
        context.mkdir(exist_ok=True)
        (context / "Dockerfile").write_text("FROM scratch\nCOPY hello.txt /hello.txt\n")
        (context / "hello.txt").write_text("bench\n")
        docker = ["docker"]
        _run([*docker, "build", "-q", "--network", "host", "-t", "shipyard-bench/small:1", str(context)],
             env=self.env, stdout=subprocess.DEVNULL)  # fmt: skip
        ecr = boto3.client("ecr", endpoint_url=self.env["AWS_ENDPOINT_URL"], region_name=self.env["AWS_REGION"],
                           aws_access_key_id="testing", aws_secret_access_key="testing")  # noqa: S106 - dummy  # fmt: skip
        token = ecr.get_authorization_token()["authorizationData"][0]["authorizationToken"]
        user, password = base64.b64decode(token).decode().split(":", 1)
        config = self.tmp / "docker-config"
        config.mkdir(exist_ok=True)
        env = dict(self.env, DOCKER_CONFIG=str(config))
        _run([*docker, "login", "-u", user, "--password-stdin", self.registry], input=password.encode(),
             env=env, stdout=subprocess.DEVNULL)  # fmt: skip
        for repository in repositories:
            target = f"{self.registry}/{repository}:{tag}"
            _run([*docker, "tag", "shipyard-bench/small:1", target], env=env)
            _run([*docker, "push", target], env=env, stdout=subprocess.DEVNULL)


def measure(bench: Bench, repeat: int) -> dict:
    results: dict = {"startup": bench.startup()}
    print(f"ansible start-up (empty play): {results['startup']} s", flush=True)

    # 1 + 2: the sample API, real image, docker runner. A fixed stack name keeps the registry's copy of the commit
    # across bench runs (the registry is on disk; the emulator forgets), so the setup deploy builds only once.
    stack, inventory = bench.inventory("bd", stack="bench-deploy")
    results["commit"] = sample_checkout(bench.tmp / "nestjs-api")
    web = Path(inventory) / "host_vars" / "web.yml"
    web.write_text(
        yaml.safe_dump({**yaml.safe_load(web.read_text()), "image_source_dir": str(bench.tmp / "nestjs-api")})
    )
    setup = bench.playbook("playbooks/deploy.yml", "-i", inventory, "--limit", "web")
    results["setup"] = split_time(setup)
    results["setup_built"] = ", built)" in " ".join(setup.output.split())
    print(f"setup deploy of the commit: {setup.seconds} s ({results['setup']})", flush=True)
    unchanged = []
    for _ in range(repeat):
        run = bench.playbook("playbooks/deploy.yml", "-i", inventory, "--limit", "web")
        changed = run.recap()["web"]["changed"]
        unchanged.append({**split_time(run), "changed": changed, "ok": run.recap()["web"]["ok"],
                          "skipped": run.recap()["web"]["skipped"]})  # fmt: skip
        print(f"unchanged commit: {run.seconds} s, changed={changed}", flush=True)
    results["unchanged"] = unchanged
    results["unchanged_top"] = sorted(run.tasks(), key=lambda t: -t[1])[:8]
    new_tags = []
    for _ in range(repeat):
        tag = f"bench-{uuid.uuid4().hex[:6]}"
        new = bench.playbook("playbooks/deploy.yml", "-i", inventory, "--limit", "web", "-e", f"image_tag={tag}")
        new_tags.append(split_time(new))
        print(f"new tag (build, push, rollout): {new.seconds} s, overhead {new_tags[-1]['overhead']:.1f} s", flush=True)
    results["new_tag"] = median_run(new_tags)

    # 3: 1 vs 5 services, forks 5, simulated runner, a small image pushed once per repository.
    scale = {}
    for count in (1, 5):
        names = [f"svc{i}" for i in range(1, count + 1)]
        stack, inventory = bench.inventory(f"bs{count}x", services=names)
        bench.push_small_image([f"{stack}/{name}" for name in names], "bench")
        args = ("-i", inventory, "-f", "5", "-e", "shipyard_deploy_image_tag=bench")
        first = bench.playbook("playbooks/deploy.yml", *args)
        new_versions, unchanged = [], []
        for run in range(repeat):  # each a new version (its own environment), then the same again: unchanged
            env = {"SHIPYARD_SIMULATE": "start=1", "BENCH": str(run + 2)}
            version = ("-e", json.dumps({"service_environment": env}))
            new_versions.append(split_time(bench.playbook("playbooks/deploy.yml", *args, *version)))
            again = bench.playbook("playbooks/deploy.yml", *args, *version)
            unchanged.append({**split_time(again), "changed": sum(h["changed"] for h in again.recap().values())})
        scale[count] = {
            "first": split_time(first),
            "new_version": median_run(new_versions, by="wall"),
            "unchanged": median_run(unchanged, by="wall"),
        }
        print(f"{count} service(s): {scale[count]}", flush=True)
    results["scale"] = scale
    return results


# ---------------------------------------------------------------------------------------------------------
# Report


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "?"


def _split_row(label: str, split: dict) -> str:
    cells = ("wall", "build", "push", "release", "wait", "url_check", "overhead")
    return f"| {label} | " + " | ".join(f"{split.get(cell, 0):.1f}" for cell in cells) + " |"


def section(results: dict, info: dict, before: dict | None = None) -> str:
    """The ``## Deploy`` section; ``before``: an earlier run's results (``--before``) for the before/after table.

    ``results`` and ``before`` as in ``bench-deploy.json`` (scale keys "1" and "5")."""
    unchanged = results["unchanged"]
    walls = [u["wall"] for u in unchanged]
    u0 = unchanged[0]
    new, setup, scale = results["new_tag"], results["setup"], results["scale"]
    rows = []
    for label, key in (("first deploy (creates everything)", "first"), ("new version (rollout)", "new_version"),
                       ("unchanged re-deploy", "unchanged")):  # fmt: skip
        one, five = scale["1"][key], scale["5"][key]
        rows.append(
            f"| {label} | {one['wall']:.1f} | {five['wall']:.1f} | {five['wall'] / one['wall']:.2f}x | "
            f"{one['wait']:.1f} / {five['wait']:.1f} | {one['overhead']:.1f} / {five['overhead']:.1f} |"
        )
    top = "\n".join(f"| {name} | {seconds:.2f} |" for name, seconds in results["unchanged_top"])
    comparison = ""
    if before:
        lines = "\n".join(
            f"| {label} | {old:.2f} | {now:.2f} |"
            if label.endswith("(x)")
            else f"| {label} | {old:.1f} | {now:.1f} |"
            if isinstance(old, float)
            else f"| {label} | {old} | {now} |"
            for label, old, now in before_after(before, results)
        )
        comparison = f"""
**Before / after** (issue 15). "Before" is an earlier commit's playbooks run by this same script on this machine
next to it ({before["info"]["date"]}, load average {before["info"]["load_before"]:.2f} before,
{before["info"]["load_after"]:.2f} after); the session notes below say which commits and what changed between them:

| measure | before | after |
|---|---|---|
{lines}
"""
    scale_runs = "\n".join(
        f"- {label}: 1 service {_walls(scale['1'][key])} s; 5 services {_walls(scale['5'][key])} s"
        for key, label in (("new_version", "new version"), ("unchanged", "unchanged re-deploy"))
    )
    return f"""## Deploy

Generated by `bench/deploy.py` (see `bench/README.md`, "Deploy"); a re-run replaces this section only.
Run on {info["date"]}, {info["cpus"]} CPUs, Python {info["python"]}, ansible-core {info["ansible"]}; load average
(1 min) {info["load_before"]:.2f} before, {info["load_after"]:.2f} after. Every number is one wall-clock run of
`ansible-playbook` (the unchanged deploy and the new tag: {len(walls)} runs each) on a machine others share: with a
load average above the 2 CPUs, every task entry and module start takes two to three times what it takes on an idle
machine.
{comparison}
**Unchanged commit** (the sample API already built and pushed; `deploy.yml --limit web`, nothing to do):
median **{statistics.median(walls):.1f} s** (runs: {", ".join(f"{w:.1f}" for w in walls)}), `changed=0` in
{sum(u["changed"] == 0 for u in unchanged)} of {len(unchanged)}. Ansible's own start-up (an empty play) is
{results["startup"]:.1f} s. The service exists, so the deploy takes its short path: the pre-flight checks, then
one read-only look-up (`shipyard.fargate.service_deploy_info`: the service and its task definition, the repository
and the image tag in the registry, the secret, the IAM roles, the log group), which also compares the task definition
the service runs with the one its options describe and finds it steady on it: in place, so no role runs for it;
{u0["ok"]} ok and {u0["skipped"]} skipped tasks for the one host
({u0["tasks"]} task entries timed by profile_tasks). Slowest tasks of that run:

| task | s |
|---|---|
{top}

**Where a real deploy's time goes** (a new tag of the sample: build with cached layers, push, the release command
(the sample's migrations, a one-off task), rollout of 2 real containers with 5 s health checks, the public URL check):

| deploy | wall (s) | build (s) | push (s) | release (s) | rollout wait (s) | URL check (s) | overhead (s) |
|---|---|---|---|---|---|---|---|
{_split_row(f"first deploy of the commit ({'built' if results['setup_built'] else 'already pushed'})", setup)}
{_split_row(f"new tag (median overhead of {len(new.get('overheads', [0]))})", new)}
{_split_row("unchanged commit (first run)", u0)}

"Rollout wait" is the service role's `Roll the service out to the task definition` task (ecs_rollout:
UpdateService and the wait); "push" is the push with its ECR login and its digest read back from the registry (one
module run, `registry_image_push`); "release" the one-off task of `service_release_command`; "URL check" the check
through the load balancer after a rollout that changed the service.
The overhead (start-up included) is what the playbook costs on top of that work; the new tag's runs had overheads of
{", ".join(f"{o:.1f}" for o in new.get("overheads", [new["overhead"]]))} s.

**1 vs 5 services, forks 5** (simulated runner, `SHIPYARD_SIMULATE=start=1`, a small image already pushed:
`-e shipyard_deploy_image_tag=bench`; each count on a fresh stack; the new version and the unchanged re-deploy are
the median of {_runs(scale["1"]["unchanged"])} runs each, one after the other):

| deploy | 1 service (s) | 5 services (s) | ratio | rollout wait 1 / 5 (s) | overhead 1 / 5 (s) |
|---|---|---|---|---|---|
{chr(10).join(rows)}

Every run, in order:
{scale_runs}
"""


def _runs(split: dict) -> int:
    return len(split.get("walls", [split["wall"]]))


def _walls(split: dict) -> str:
    return ", ".join(f"{wall:.1f}" for wall in split.get("walls", [split["wall"]]))


def _publish(text: str, args) -> None:
    """Print the section; unless --no-doc, replace the ## Deploy section of --doc with it."""
    print(text)
    if not args.no_doc:
        path = Path(args.doc)
        path.write_text(replace_section(path.read_text() if path.exists() else "", text))
        print(f"written: {path} (## Deploy section)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs of each repeated measurement (default 3)")
    parser.add_argument("--doc", default=str(DOC), help="the markdown whose ## Deploy section to replace")
    parser.add_argument("--no-doc", action="store_true", help="print the section only")
    parser.add_argument("--keep-stack", action="store_true", help="leave a stack this run brought up running")
    parser.add_argument("--before", help="an earlier run's bench-deploy.json: adds the before/after table")
    parser.add_argument(
        "--results", help="a saved run's bench-deploy.json: write its section (with --before's table), run nothing"
    )
    args = parser.parse_args(argv)
    if args.results:  # e.g. the "after" run, rendered again once a "before" run made next to it exists
        results = json.loads(Path(args.results).read_text())
        before = json.loads(Path(args.before).read_text()) if args.before else None
        _publish(section(results, results["info"], before), args)
        return 0

    sys.path.insert(0, str(REPO / "local"))
    from shipyard_local.config import StackConfig  # needs local/ on sys.path first
    from shipyard_local.stack import Stack

    for key, value in BENCH_ENV.items():
        os.environ.setdefault(key, value)
    stack = Stack(StackConfig.from_env())
    started = stack.up()
    try:
        env = {k: v for k, v in os.environ.items() if k not in ("AWS_PROFILE", "AWS_SESSION_TOKEN")}
        env.update(stack.environment())
        env.update(ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
        env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
        base = _run([str(REPO / "scripts" / "base-image"), "node"], env=env, check=False)
        if base.returncode != 0:
            raise SystemExit("scripts/base-image node failed: the sample API cannot be built")
        load_before = os.getloadavg()[0]
        with tempfile.TemporaryDirectory(prefix="shipyard-bench-deploy-") as tmp:
            outputs = stack.config.state_dir / "bench-deploy-runs"
            shutil.rmtree(outputs, ignore_errors=True)
            results = measure(Bench(env, Path(tmp), env["SHIPYARD_REGISTRY"], outputs), args.repeat)
        info = {
            "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "ansible": _version("ansible-core"),
            "load_before": load_before,
            "load_after": os.getloadavg()[0],
        }
        results = json.loads(json.dumps({**results, "info": info}))  # as bench-deploy.json holds it
        before = json.loads(Path(args.before).read_text()) if args.before else None
        (stack.config.state_dir / "bench-deploy.json").write_text(json.dumps(results, indent=1))
        _publish(section(results, info, before), args)
    finally:
        if started and not args.keep_stack:
            stack.down(started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
