"""playbooks/deploy.yml end to end on the docker runner: the sample API built, pushed, deployed and answering.

One stack of its own (a copied inventory), one service (`web`) deployed once and then carried through the stories
in file order, as a user would: the commit is built from its Dockerfile with the node base image
(scripts/node-base-image), pushed through the ECR login, rolled out with real containers and reached through the
local load balancer by its host name; the secret's value stays out of the output, the image and the task
definition; a second deploy of the same commit changes nothing; version 2 rolls out while a loop of requests sees
only healthy answers; a release that crashes at start-up fails with its exit code and log lines, is rolled back,
and the loop still sees only healthy answers. Then bad input is refused before anything changes.
"""

from __future__ import annotations

import http.client
import json
import re
import shutil
import subprocess
import tarfile
import threading
import time
import urllib.parse
import uuid
from collections import Counter
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.stack

BUILD_TASK = "Build the image from the Dockerfile"
PUSH_TASKS = ("Log the Docker engine in to the registry", "Push the image tag")
RESULT = re.compile(r"^(ok|changed|skipping|failed|fatal): \[[^\]]+\]")


@pytest.fixture(scope="module")
def base_image(stack_env):
    """The node base images the inventory builds from (scripts/node-base-image: quick when they exist)."""
    done = subprocess.run(
        [str(REPO / "scripts" / "node-base-image")],
        env=stack_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:]


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> dict:
    """The sample's source in a git checkout of its own, one commit: commits to this repository during the run
    cannot move the tag under the stories (the image tag is the source's commit)."""
    root = tmp_path_factory.mktemp("source") / "nestjs-api"
    ignore = shutil.ignore_patterns("node_modules", "dist")
    shutil.copytree(REPO / "examples" / "nestjs-api", root, ignore=ignore)
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.invalid", "-C", str(root)]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "sample"]):
        subprocess.run([*git, *args], check=True)
    commit = subprocess.run([*git, "rev-parse", "--verify", "HEAD"], stdout=subprocess.PIPE, text=True, check=True)
    return {"path": root, "commit": commit.stdout.strip()[:12]}


@pytest.fixture(scope="module")
def stack(tmp_path_factory, base_image, source):
    """A copy of the local inventory: its own stack name and zone, quick health checks, a random secret."""
    name = f"de{uuid.uuid4().hex[:8]}"
    path = tmp_path_factory.mktemp("inventory") / "local"
    shutil.copytree(REPO / "inventories" / "local", path)
    secret = f"e2e-{uuid.uuid4().hex}"
    settings = {
        "shipyard_stack_name": name,
        "dns_zone_name": f"{name}.test",
        "load_balancer_service_health_check_interval": 5,
        "load_balancer_service_health_check_timeout": 3,
        "load_balancer_service_deregistration_delay": 5,
    }
    (path / "group_vars" / "all" / "zz_test.yml").write_text(yaml.safe_dump(settings))
    host_file = path / "host_vars" / "web.yml"
    host_vars = yaml.safe_load(host_file.read_text())
    host_vars["shipyard_service_secrets"] = {"DATABASE_URL": f"postgresql://app:{secret}@127.0.0.1:5432/app"}
    host_vars["image_source_dir"] = str(source["path"])
    host_file.write_text(yaml.safe_dump(host_vars))
    return {"name": name, "path": str(path), "secret": secret, "commit": source["commit"], "host": f"web.{name}.test"}


@pytest.fixture(scope="module")
def deploy(run_playbook, stack, tmp_path_factory):
    """``deploy(*args)``: deploy.yml --limit web on the stack; each output is also kept in a file, for a look later."""
    outputs = tmp_path_factory.mktemp("deploy-output")
    count = iter(range(1, 100))

    def run(*args: str):
        outcome = run_playbook("playbooks/deploy.yml", "-i", stack["path"], "--limit", "web", *args)
        (outputs / f"{next(count):02d}.log").write_text(" ".join(args) + "\n" + outcome.output)
        return outcome

    return run


# --- what a user looks at --------------------------------------------------------------------------------------


def _get(stack_env, stack, path="/health"):
    """(status, parsed JSON body or None) of a request through the local load balancer, by host name."""
    address = urllib.parse.urlsplit(stack_env["SHIPYARD_LB_URL"])
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=5)
    try:
        connection.request("GET", path, headers={"Host": stack["host"]})
        answer = connection.getresponse()
        body = answer.read()
    finally:
        connection.close()
    try:
        return answer.status, json.loads(body)
    except ValueError:
        return answer.status, None


class Loop:
    """Requests /health through the load balancer about every 0.1 s in a thread; records every outcome."""

    def __init__(self, stack_env, stack):
        self._env, self._stack = stack_env, stack
        self._stop = threading.Event()
        self.outcomes: list[str] = []  # "200 <version>", "503", "error: ..."
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            try:
                status, body = _get(self._env, self._stack)
                self.outcomes.append(f"{status} {(body or {}).get('version', '')}".strip())
            except (OSError, http.client.HTTPException) as error:  # refused, reset, timeout: a failed request
                self.outcomes.append(f"error: {error!r}")
            self._stop.wait(0.1)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=10)

    def counts(self) -> Counter:
        return Counter(self.outcomes)

    def failures(self) -> list[str]:
        return [o for o in self.outcomes if not o.startswith("200 ")]


def _service(aws, stack) -> dict:
    return aws("ecs").describe_services(cluster=stack["name"], services=["web"])["services"][0]


def _container(aws, task_definition_arn) -> dict:
    definition = aws("ecs").describe_task_definition(taskDefinition=task_definition_arn)["taskDefinition"]
    return definition["containerDefinitions"][0]


def _state(aws, stack) -> dict:
    """What a deploy changes: the family's revisions and the service's deployments."""
    service = _service(aws, stack)
    revisions = aws("ecs").list_task_definitions(familyPrefix=f"{stack['name']}-web")["taskDefinitionArns"]
    return {
        "revisions": revisions,
        "task_definition": service["taskDefinition"],
        "deployments": sorted((d["id"], d["taskDefinition"], d["status"]) for d in service["deployments"]),
    }


def _targets(aws, stack) -> list[str]:
    """The states of the service's targets (DescribeTargetHealth), sorted."""
    group = _service(aws, stack)["loadBalancers"][0]["targetGroupArn"]
    described = aws("elbv2").describe_target_health(TargetGroupArn=group)["TargetHealthDescriptions"]
    return sorted(d["TargetHealth"]["State"] for d in described)


def _task_results(output: str, task: str) -> list[str]:
    """The results (`ok: [web]`, `skipping: [web]`, ...) printed under every `TASK [... : task]` header."""
    lines = []
    for block in re.split(r"\n(?=TASK \[)", output):
        if re.match(rf"TASK \[[^\]]*: {re.escape(task)}\]", block):
            lines += [m[0] for m in map(RESULT.match, block.splitlines()[1:]) if m]
    return lines


def _flat(output: str) -> str:
    """The output with every run of whitespace made one space: the YAML callback wraps long message lines."""
    return " ".join(output.split())


def _local(stack_env, image: str) -> str:
    """The task definition's image (ECR URI) as the local registry names it (what the docker runner pulled)."""
    return re.sub(r"^[^/]+/", stack_env["SHIPYARD_REGISTRY"] + "/", image)


def _docker(stack_env, *args: str) -> str:
    done = subprocess.run(["docker", *args], env=stack_env, stdout=subprocess.PIPE, text=True, check=True)
    return done.stdout


def _image_files_contain(stack_env, image: str, needle: bytes) -> list[str]:
    """Every file of the image's filesystem (docker export) whose bytes hold ``needle``: tar members named."""
    container = _docker(stack_env, "create", image).strip()
    found = []
    try:
        export = subprocess.Popen(["docker", "export", container], env=stack_env, stdout=subprocess.PIPE)
        with tarfile.open(fileobj=export.stdout, mode="r|") as archive:
            for member in archive:
                if member.isfile():
                    data = archive.extractfile(member).read()
                    if needle in data:
                        found.append(member.name)
        assert export.wait() == 0
    finally:
        _docker(stack_env, "rm", container)
    return found


# --- the stories, in order --------------------------------------------------------------------------------------


def test_a_first_deploy_builds_pushes_and_answers_through_the_load_balancer_without_showing_the_secret(
    deploy, stack, stack_env, aws
):
    run = deploy("-vvv")
    assert run.returncode == 0, run.output[-5000:]
    assert _task_results(run.output, BUILD_TASK) == ["changed: [web]"], _task_results(run.output, BUILD_TASK)
    assert "rollout SUCCEEDED" in run.output

    status, body = _get(stack_env, stack)
    assert status == 200, body
    assert body["version"] == stack["commit"]
    assert body["checks"]["databaseUrl"] == "set"  # the secret reached the task, through Secrets Manager
    assert _targets(aws, stack) == ["healthy", "healthy"]

    container = _container(aws, _service(aws, stack)["taskDefinition"])
    image = container["image"]
    assert re.search(r"/web@sha256:[0-9a-f]{64}$", image), image
    secret = stack["secret"]
    assert secret not in run.output
    assert secret not in json.dumps(container["environment"])
    assert [s["name"] for s in container["secrets"]] == ["DATABASE_URL"]
    local = _local(stack_env, image)
    assert secret not in _docker(stack_env, "image", "inspect", local)
    assert secret not in _docker(stack_env, "history", "--no-trunc", local)
    assert _image_files_contain(stack_env, local, secret.encode()) == []


def test_b_second_deploy_of_the_same_commit_skips_build_and_push_and_changes_nothing(deploy, stack, aws):
    before = _state(aws, stack)
    run = deploy()
    assert run.returncode == 0, run.output[-5000:]
    assert run.recap()["web"]["changed"] == 0, run.output[-5000:]
    for task in (BUILD_TASK, *PUSH_TASKS):
        assert _task_results(run.output, task) == ["skipping: [web]"], (task, _task_results(run.output, task))
    assert f"(tag {stack['commit']}, already in the registry)" in _flat(run.output)
    assert _state(aws, stack) == before


def test_c_version_2_rolls_out_while_every_request_is_answered(deploy, stack, stack_env, aws):
    before = _state(aws, stack)
    with Loop(stack_env, stack) as loop:
        run = deploy("-e", "image_tag=v2")
        time.sleep(1)  # a few requests after the verdict too
    print(f"version 2 rollout, requests through the load balancer: {dict(loop.counts())}")
    assert run.returncode == 0, run.output[-5000:]
    assert loop.failures() == [], loop.counts()
    assert len(loop.outcomes) > 20, loop.counts()  # the loop ran through the whole rollout
    assert loop.outcomes[-1] == "200 v2", loop.counts()
    after = _state(aws, stack)
    assert after["task_definition"] != before["task_definition"]
    image = _container(aws, after["task_definition"])["image"]
    assert re.search(r"/web@sha256:[0-9a-f]{64}$", image), image
    assert image != _container(aws, before["task_definition"])["image"]  # v2 is a new build
    status, body = _get(stack_env, stack)
    assert (status, body["version"]) == (200, "v2")
    assert _targets(aws, stack) == ["healthy", "healthy"]


def test_d_a_release_that_crashes_fails_with_its_reason_and_is_rolled_back_while_requests_stay_healthy(
    deploy, stack, stack_env, aws
):
    good = _state(aws, stack)["task_definition"]
    with Loop(stack_env, stack) as loop:
        run = deploy("-e", json.dumps({"service_environment": {"SAMPLE_FAIL_MODE": "crash"}}))
        time.sleep(1)
    print(f"crashing release and rollback, requests through the load balancer: {dict(loop.counts())}")
    assert run.returncode != 0, run.output[-5000:]
    text = _flat(run.output)
    assert "exit code 1" in text, run.output[-5000:]
    assert "refusing to start" in text, run.output[-5000:]  # the container's last log lines
    assert "rolling back" in text, run.output[-5000:]
    label = re.escape(good.rsplit("/", 1)[1])  # family:revision
    rolled_back = rf"Rollback to {label}: web: deployment \S+ \(task definition {label}\) completed"
    assert re.search(rolled_back, text), run.output[-5000:]  # the rollback itself was waited for and succeeded
    assert loop.failures() == [], loop.counts()
    assert len(loop.outcomes) > 20, loop.counts()
    settled = _service(aws, stack)
    assert settled["taskDefinition"] == good
    primary = next(d for d in settled["deployments"] if d["status"] == "PRIMARY")
    assert (primary["taskDefinition"], primary["rolloutState"]) == (good, "COMPLETED")
    status, body = _get(stack_env, stack)
    assert (status, body["version"]) == (200, "v2")
    assert _targets(aws, stack) == ["healthy", "healthy"]


# --- bad input: refused before anything changes ----------------------------------------------------------------


def _refused(run, aws, stack, before, *expected: str):
    assert run.returncode != 0, run.output[-5000:]
    for text in expected:
        assert text in _flat(run.output), (text, run.output[-5000:])
    assert run.recap().get("web", {}).get("changed", 0) == 0, run.output[-5000:]
    assert _state(aws, stack) == before


def test_e_a_missing_dockerfile_is_refused(deploy, stack, aws):
    before = _state(aws, stack)
    run = deploy("-e", "image_dockerfile=nope.Dockerfile")
    _refused(run, aws, stack, before, "image_dockerfile 'nope.Dockerfile' does not exist")
    assert "PLAY [Shared stack" not in run.output  # the pre-flight stopped it, before any AWS call


def test_f_a_build_that_fails_shows_its_error_and_changes_nothing(deploy, stack, aws, tmp_path):
    marker = f"build-broken-{uuid.uuid4().hex[:8]}"
    source = tmp_path / "broken"
    source.mkdir()
    (source / "Dockerfile").write_text(
        f"FROM shipyard/node-debian:bookworm\nRUN echo {marker} && exit 1\n",
    )
    before = _state(aws, stack)
    run = deploy("-e", f"image_source_dir={source}", "-e", f"image_tag=broken-{marker[-8:]}")
    _refused(run, aws, stack, before, "failed", marker)
    assert _task_results(run.output, BUILD_TASK) == ["fatal: [web]"], _task_results(run.output, BUILD_TASK)


@pytest.mark.parametrize(
    ("limit", "expected"),
    [
        pytest.param("nosuch", "Could not match supplied host pattern, ignoring: nosuch", id="only-unknown"),
        pytest.param("web,nosuch", "--limit nosuch", id="known-and-unknown"),
    ],
)
def test_g_an_unknown_service_name_is_refused(run_playbook, stack, aws, limit, expected):
    before = _state(aws, stack)
    run = run_playbook("playbooks/deploy.yml", "-i", stack["path"], "--limit", limit)
    _refused(run, aws, stack, before, expected)
    assert "PLAY [Shared stack" not in run.output


def test_h_an_image_tag_the_registry_does_not_hold_is_refused_when_no_build_is_asked(deploy, stack, aws):
    before = _state(aws, stack)
    run = deploy("-e", "shipyard_deploy_image_tag=doesnotexist")
    _refused(run, aws, stack, before, "image_tag doesnotexist is not in the registry")
