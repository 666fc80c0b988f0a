"""One stack's life through the playbooks, once: check, deploy, provision, releases, refusals, destroy.

One stack name and one copy of the local inventory (both services: `web`, the sample API built from a git checkout
of its own and run in real containers; `api`, provisioned beside it, its tasks simulated and healthy so that it
costs nothing while `web`'s stories run). The stages are the tests of this module, in file order, sharing
module-scoped fixtures; a stage that needs an earlier one skips, naming it, when that one did not pass.

1. provision.yml --check on an empty account plans both services and creates nothing.
2. deploy.yml -vvv --limit web on that account provisions the shared stack and `web` (its image built with the node
   base image, pushed through the ECR login) and waits for the rollout: the API answers through the local load
   balancer with version = the commit; the secret is nowhere (output, image layers and history, task definition).
3. provision.yml -vvv (every host) creates `api`, leaves `web` as deployed (changed=0, same task definition).
4. every resource read back with its settings; then, after one real difference (api's health check path), the
   Provision job template as the plan (awx/controller.yml, job type check with diff, run the way the controller
   runs a job: tests/awx_jobs.py, with ansible-runner): exactly that difference, nothing of web's, no stand-in.
5. the workflow Provision -> Deploy -> Check for `web` (the survey's answer), the same commit: changed=0, the
   look-up finds `web` in place and no role runs for it; the deploy's set_stats artifacts name its outcome. Then the
   same commit with one task definition option changed (-e, --check --diff): not in place, the new revision planned.
6. version 2 (a new commit, as a push to main brings) is deployed by the GitHub workflow's deploy step run inside
   the runner image (the top-level Dockerfile, built from a Debian-made Python base; host network, the engine's
   socket; the inventory's secret values unresolvable, as without a vault password) under a loop of requests
   through the load balancer: not one fails; the step summary and outputs name the version, its digest and the
   task definition.
7. a release that crashes at start-up (a commit), deployed by the same step from the repository: non-zero exit,
   its exit code and log lines in the output and the step summary, rolled back; the loop stays healthy. Then the
   Rollback job template takes `web` back one revision (to the first version): its progress lines are job events,
   its artifacts the outcome. The execution environment (execution-environment.yml, built with ansible-builder
   from a Debian-made base) deploys the checkout's commit, version 2, already pushed, with no Docker engine
   (shipyard_deploy_image_build=false), as an AWX job does.
8. refusals on the deployed stack, nothing changed: a missing Dockerfile, a failing build (its error shown),
   unknown --limit names, an image tag the registry does not hold without a build.
9. the Destroy job template refuses a mistyped confirmation (its survey's shipyard_destroy_confirm, the stack's
   name) and deletes nothing; confirmed, it leaves nothing of ours (ECR and secrets kept unless asked); a second
   destroy with shipyard_destroy_data=true removes the data and changes nothing else.

No secret value appears in the output of any run.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import subprocess
import tarfile
import threading
import time
import urllib.parse
import uuid
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from awx_jobs import run_job, run_workflow
from ee import EE_IMAGE, build_execution_environment, ee_command
from local_cloud import Loop, base_image

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.stack

SERVICES = ("web", "api")
BUILD_TASK = "Build the image from the Dockerfile"
RELEASE_TASK = "Run the release command as a one-off task"
PUSH_TASKS = ("Push the image and read its digest from the registry",)
# When the tag is in the registry, the image role skips its build and push steps as one task entry.
BUILD_AND_PUSH = "Build and push the image (only when its tag is not in the registry yet) and give it its release tag"
# When the look-up shows the service in place, the service role skips the steps that change something as one entry.
SERVICE_CHANGES = "Ensure the log group and the task definition, run the release command, roll the service out"
# deploy.yml's first task for a service that exists and is not in place (the look-up, service_deploy_info's in_place,
# found it running something else than what the options describe): the roles' path. In place, no role runs.
ROLES_PATH = "Check that the repository, the secret and the IAM roles exist"
RESULT = re.compile(r"^(ok|changed|skipping|failed|fatal): \[[^\]]+\]")
DIGEST = re.compile(r"/web@sha256:[0-9a-f]{64}$")

PASSED: set[str] = set()  # the stages that passed, for the stages that build on them


def _after(*stages: str) -> None:
    """Skip, naming them, when a stage this one builds on did not pass (its own failure is reported there)."""
    missing = [stage for stage in stages if stage not in PASSED]
    if missing:
        pytest.skip(f"needs the earlier stage(s) {', '.join(missing)} of this flow, which did not pass")


# --- the stack ----------------------------------------------------------------------------------------------------


RUNNER_IMAGE = "shipyard/runner:test"
DEPLOY_STEP = REPO / "ci" / "github" / "deploy"


def _build_runner_image(env) -> str:
    """The runner image from the top-level Dockerfile on a Python base made from Debian packages (no image hub)."""
    failed = base_image(env, "python")
    if failed:
        return failed
    argv = ["docker", "build", "--quiet", "--network", "host", "-t", RUNNER_IMAGE,
            "--build-arg", "BASE_IMAGE=shipyard/python-debian:bookworm",
            "--build-arg", "BUILD_IMAGE=shipyard/python-debian:bookworm-build", str(REPO)]  # fmt: skip
    done = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
    return "" if done.returncode == 0 else f"{' '.join(argv)} failed ({done.returncode}):\n{done.stdout[-5000:]}"


@pytest.fixture(scope="module")
def images(stack_env):
    """Built one after the other in the background while the first stages run (check mode needs none of them): the
    node base images the sample builds from (scripts/base-image node: minutes on a fresh machine), the runner image
    and the execution environment (tests/integration/ee.py). ``images["node"].result()`` is "" or the error, the
    same for "runner" and "ee"."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        yield {
            "node": pool.submit(base_image, stack_env, "node"),
            "runner": pool.submit(_build_runner_image, stack_env),
            "ee": pool.submit(build_execution_environment, stack_env, EE_IMAGE),
        }


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> dict:
    """The sample's source in a git checkout of its own, one commit: commits to this repository during the run
    cannot move the tag under the stories (the image tag is the source's commit)."""
    root = tmp_path_factory.mktemp("source") / "nestjs-api"
    shutil.copytree(REPO / "examples" / "nestjs-api", root, ignore=shutil.ignore_patterns("node_modules", "dist"))
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.invalid", "-C", str(root)]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "sample"]):
        subprocess.run([*git, *args], check=True)
    commit = subprocess.run([*git, "rev-parse", "--verify", "HEAD"], stdout=subprocess.PIPE, text=True, check=True)
    return {"path": root, "commit": commit.stdout.strip()[:12]}


def _commit(source: dict, message: str, path: str, text: str) -> str:
    """Append ``text`` to a file of the sample's checkout and commit it (a push to main): the new tag."""
    root = source["path"]
    with open(root / path, "a", encoding="utf-8") as handle:
        handle.write(text)
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.invalid", "-C", str(root)]
    subprocess.run([*git, "commit", "-q", "-am", message], check=True)
    done = subprocess.run([*git, "rev-parse", "--verify", "HEAD"], stdout=subprocess.PIPE, text=True, check=True)
    return done.stdout.strip()


class Webhook:
    """A chat webhook on 127.0.0.1 (Slack-compatible: JSON POSTs) that keeps every message; its URL holds a token."""

    def __init__(self):
        self.token = f"T0k3n{uuid.uuid4().hex}"
        self.messages: list[dict] = []
        received = self.messages

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                received.append({"path": self.path, "json": json.loads(body)})
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)  # bound here: no other process can take it
        self.url = f"http://127.0.0.1:{self._server.server_port}/services/{self.token}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self):
        self._server.shutdown()
        self._server.server_close()

    def since(self, count: int) -> list[str]:
        """The text of every message received after the first ``count``."""
        return [json.dumps(m["json"]) for m in self.messages[count:]]


@pytest.fixture(scope="module")
def webhook():
    receiver = Webhook()
    yield receiver
    receiver.close()


@pytest.fixture(scope="module")
def stack(tmp_path_factory, source, images, webhook):
    """A copy of the local inventory: its own stack name and zone, quick health checks, a random secret for `web`.

    `api` keeps the inventory's image tag (`initial`, never pushed here), runs simulated healthy tasks
    (SHIPYARD_SIMULATE), so that it is a real second service of the stack without a build of its own, and has no
    secrets at all (`shipyard_service_secrets` unset).
    """
    name = f"fl{uuid.uuid4().hex[:8]}"
    path = tmp_path_factory.mktemp("inventory") / "local"
    shutil.copytree(REPO / "inventories" / "local", path)
    settings = {
        "shipyard_stack_name": name,
        "dns_zone_name": f"{name}.test",
        "load_balancer_service_health_check_interval": 5,
        "load_balancer_service_health_check_timeout": 3,
        "load_balancer_service_deregistration_delay": 5,
        "service_rollout_stable_for": 5,  # the stability window, within the drain: no extra wait
        "shipyard_notify_webhook_url": webhook.url,  # a secret: the token must appear in no output
    }
    (path / "group_vars" / "all" / "zz_test.yml").write_text(yaml.safe_dump(settings))
    secrets = {"web": f"s3cr3t-{uuid.uuid4().hex}"}
    for host in SERVICES:
        host_file = path / "host_vars" / f"{host}.yml"
        host_vars = yaml.safe_load(host_file.read_text())
        if host == "web":  # the stack's Postgres, with a random part the URL carries: it must appear in no output
            url = host_vars["shipyard_service_secrets"]["DATABASE_URL"]
            host_vars["shipyard_service_secrets"] = {"DATABASE_URL": f"{url}?application_name={secrets[host]}"}
            host_vars["image_source_dir"] = str(source["path"])
        else:  # a service without secrets: no secret, no `secrets` in its task definition, nothing to read
            del host_vars["shipyard_service_secrets"]
            host_vars["service_environment"] = {**host_vars["service_environment"], "SHIPYARD_SIMULATE": "start=1"}
        host_file.write_text(yaml.safe_dump(host_vars))
    return {
        "name": name,
        "path": str(path),
        "secrets": {**secrets, "webhook URL": webhook.token},
        "commit": source["commit"],
        "host": f"web.{name}.test",
    }


@pytest.fixture(scope="module")
def play(run_playbook, stack, tmp_path_factory):
    """``play(playbook, *args)`` on the stack's inventory; every output is kept in a file and checked for secrets."""
    outputs = tmp_path_factory.mktemp("flow-output")
    count = iter(range(1, 100))

    def run(playbook: str, *args: str):
        outcome = run_playbook(f"playbooks/{playbook}.yml", "-i", stack["path"], *args)
        (outputs / f"{next(count):02d}-{playbook}.log").write_text(" ".join(args) + "\n" + outcome.output)
        _no_secret(stack, outcome.output, f"{playbook} {args}")
        return outcome

    return run


def _job(stack, stack_env, tmp_path, name: str, answers=None, **prompts):
    """Job template ``name`` of awx/controller.yml run the way the controller runs it (tests/awx_jobs.py), on the
    stack's inventory; its output is checked for secrets like every playbook run's."""
    job = run_job(
        name, answers, stack_env=stack_env, tmp_path=tmp_path / "jobs", inventory=Path(stack["path"]), **prompts
    )
    _no_secret(stack, job.stdout, f"job {name}")
    return job


def _no_secret(stack, output: str, what: str) -> None:
    for host, secret in stack["secrets"].items():
        assert secret not in output, f"{host}'s secret value is in the output of {what}"


def _deploy(play, *args: str):
    return play("deploy", "--limit", "web", *args)


# --- what a user looks at -----------------------------------------------------------------------------------------


def _role_policies(aws, role_arn: str) -> str:
    """Every inline policy document of a role, as one JSON text."""
    iam = aws("iam")
    role = role_arn.rsplit("/", 1)[-1]
    names = iam.list_role_policies(RoleName=role)["PolicyNames"]
    return json.dumps([iam.get_role_policy(RoleName=role, PolicyName=n)["PolicyDocument"] for n in names])


def _ours(aws, name):
    """Every resource of the stack the AWS API still shows, by kind (empty lists: nothing left)."""
    ec2, ecs, elb = aws("ec2"), aws("ecs"), aws("elbv2")
    tag = [{"Name": "tag:shipyard:stack", "Values": [name]}]

    def named(items, key, prefix):
        return [item[key] for item in items if item[key].startswith(prefix)]

    clusters = ecs.describe_clusters(clusters=[name])["clusters"]
    zones = aws("route53").list_hosted_zones()["HostedZones"]
    return {
        "vpcs": [v["VpcId"] for v in ec2.describe_vpcs(Filters=tag)["Vpcs"]],
        "security_groups": [g["GroupId"] for g in ec2.describe_security_groups(Filters=tag)["SecurityGroups"]],
        "clusters": [c["clusterArn"] for c in clusters if c["status"] == "ACTIVE"],
        "load_balancers": [
            lb["LoadBalancerArn"]
            for lb in elb.describe_load_balancers()["LoadBalancers"]
            if lb["LoadBalancerName"] == name
        ],
        "target_groups": named(elb.describe_target_groups()["TargetGroups"], "TargetGroupName", f"{name}-"),
        "roles": named(aws("iam").list_roles()["Roles"], "RoleName", f"{name}-"),
        "zones": [z["Id"] for z in zones if z["Name"] == f"{name}.test."],
        "repositories": named(aws("ecr").describe_repositories()["repositories"], "repositoryName", f"{name}/"),
        "secrets": named(aws("secretsmanager").list_secrets()["SecretList"], "Name", f"{name}/"),
    }


def _get(stack_env, stack, path="/health"):
    """(status, parsed JSON body or None) of a request through the local load balancer, by host name."""
    return _send(stack_env, stack, "GET", path)


def _send(stack_env, stack, method, path, payload=None):
    """(status, parsed JSON body or None) of a request through the local load balancer, by host name."""
    address = urllib.parse.urlsplit(stack_env["SHIPYARD_LB_URL"])
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=5)
    headers = {"Host": stack["host"]}
    body = None
    if payload is not None:
        body, headers["Content-Type"] = json.dumps(payload), "application/json"
    try:
        connection.request(method, path, body=body, headers=headers)
        answer = connection.getresponse()
        body = answer.read()
    finally:
        connection.close()
    try:
        return answer.status, json.loads(body)
    except ValueError:
        return answer.status, None


def _loop(stack_env, stack) -> Loop:
    """Requests /health through the load balancer about every 0.1 s in a thread (tests/local_cloud.py)."""
    return Loop(stack_env["SHIPYARD_LB_URL"], stack["host"])


def _service(aws, stack, host="web") -> dict:
    return aws("ecs").describe_services(cluster=stack["name"], services=[host])["services"][0]


def _primary(service) -> dict:
    return next(d for d in service["deployments"] if d["status"] == "PRIMARY")


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
        if re.match(rf"TASK \[(?:[^\]]*: )?{re.escape(task)}\]", block):
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


# --- 1. check mode on an empty account ----------------------------------------------------------------------------


def test_01_check_mode_on_an_empty_account_plans_every_service_and_creates_nothing(play, stack, aws):
    before = _ours(aws, stack["name"])
    assert not any(before.values()), before
    run = play("provision", "--check")
    assert run.returncode == 0, run.output[-5000:]
    recap = run.recap()
    assert all(recap[host]["changed"] > 0 for host in SERVICES), recap
    after = _ours(aws, stack["name"])
    assert not any(after.values()), after
    PASSED.add("check")


# --- 2. the first deploy, on an account without the stack ---------------------------------------------------------


def test_02_first_deploy_provisions_builds_pushes_and_answers_through_the_load_balancer_without_the_secret(
    play, stack, stack_env, aws, images
):
    built = images["node"].result()  # the sample's base images
    assert built == "", built
    run = _deploy(play, "-vvv")
    assert run.returncode == 0, run.output[-5000:]
    assert _task_results(run.output, BUILD_TASK) == ["changed: [web]"], _task_results(run.output, BUILD_TASK)
    assert "web: 2/2 new tasks running, 0 failed, targets 2/2 healthy" in run.output
    assert "rollout SUCCEEDED" in run.output
    service = _service(aws, stack)
    primary = _primary(service)
    assert (primary["taskDefinition"], primary["rolloutState"]) == (service["taskDefinition"], "COMPLETED")

    status, body = _get(stack_env, stack)
    assert status == 200, body
    assert body["version"] == stack["commit"]
    assert body["checks"]["databaseUrl"] == "set"  # the secret reached the task, through Secrets Manager
    assert body["checks"]["database"] == "ok"  # and it opens the Postgres standing in for Supabase
    # The release step ran the migrations as a one-off task of the new task definition before the service existed:
    # the table they create takes a note through the load balancer.
    assert _task_results(run.output, RELEASE_TASK) == ["changed: [web]"], _task_results(run.output, RELEASE_TASK)
    text = f"flow {uuid.uuid4().hex[:6]}"
    status, created = _send(stack_env, stack, "POST", "/notes", {"text": text})
    assert status == 201, created
    status, notes = _get(stack_env, stack, "/notes")
    assert status == 200, notes
    assert text in json.dumps(notes), notes
    assert _targets(aws, stack) == ["healthy", "healthy"]

    container = _container(aws, service["taskDefinition"])
    image = container["image"]
    assert DIGEST.search(image), image
    secret = stack["secrets"]["web"]
    assert secret not in json.dumps(container["environment"])
    assert [s["name"] for s in container["secrets"]] == ["DATABASE_URL"]
    local = _local(stack_env, image)
    assert secret not in _docker(stack_env, "image", "inspect", local)
    assert secret not in _docker(stack_env, "history", "--no-trunc", local)
    assert _image_files_contain(stack_env, local, secret.encode()) == []
    PASSED.add("deploy")


# --- 3, 4. provision: every service, again, and every resource read back -----------------------------------------


def test_03_provision_at_vvv_creates_the_second_service_and_keeps_what_the_first_runs(play, stack, aws):
    _after("deploy")
    deployed = _service(aws, stack)["taskDefinition"]
    run = play("provision", "-vvv")
    assert run.returncode == 0, run.output[-8000:]
    recap = run.recap()
    assert recap["web"]["changed"] == 0, run.output[-8000:]
    assert recap["api"]["changed"] > 0, recap
    # Provisioning keeps the image the service runs (it does not swap in the initial tag).
    assert _service(aws, stack)["taskDefinition"] == deployed
    PASSED.add("provision")


def test_05_every_resource_has_its_settings(stack, aws):
    _after("provision")
    name = stack["name"]
    ours = _ours(aws, name)
    assert len(ours["vpcs"]) == 1
    assert sorted(ours["target_groups"]) == sorted(f"{name}-{h}" for h in SERVICES)
    assert sorted(ours["repositories"]) == sorted(f"{name}/{h}" for h in SERVICES)
    assert ours["secrets"] == [f"{name}/web"]  # api has no secrets: no secret at all
    assert len(ours["roles"]) == 4  # execution + task role per service

    ec2, ecs, elb = aws("ec2"), aws("ecs"), aws("elbv2")
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": ours["vpcs"]}])["Subnets"]
    assert len(subnets) == 4
    assert len({s["AvailabilityZone"] for s in subnets}) == 2

    lb = elb.describe_load_balancers(Names=[name])["LoadBalancers"][0]
    assert lb["Scheme"] == "internet-facing"
    listeners = elb.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]
    assert [listener["Port"] for listener in listeners] == [80]  # the local inventory is HTTP only
    rules = elb.describe_rules(ListenerArn=listeners[0]["ListenerArn"])["Rules"]
    hosts = sorted(
        (c.get("HostHeaderConfig") or c)["Values"][0]
        for r in rules
        for c in r["Conditions"]
        if c["Field"] == "host-header"
    )
    assert hosts == sorted(f"{h}.{name}.test" for h in SERVICES)

    for host in SERVICES:
        service = ecs.describe_services(cluster=name, services=[host])["services"][0]
        assert service["desiredCount"] == 2
        assert service["launchType"] == "FARGATE"
        network = service["networkConfiguration"]["awsvpcConfiguration"]
        assert network["assignPublicIp"] == "DISABLED"
        assert service["deploymentConfiguration"]["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}
        assert service["loadBalancers"][0]["containerPort"] == 3000
        task_definition = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])["taskDefinition"]
        assert (task_definition["cpu"], task_definition["memory"]) == ("512", "1024")
        container = task_definition["containerDefinitions"][0]
        execution_policies = _role_policies(aws, task_definition["executionRoleArn"])
        if host == "web":
            assert [s["name"] for s in container["secrets"]] == ["DATABASE_URL"]
            assert container["secrets"][0]["valueFrom"].endswith(":DATABASE_URL::")
            assert stack["secrets"][host] not in json.dumps(container.get("environment", []))
            assert "secretsmanager:GetSecretValue" in execution_policies
        else:  # a service without secrets runs without any, and its execution role reads none
            assert container.get("secrets", []) == []
            assert "secretsmanager" not in execution_policies

        group = ec2.describe_security_groups(GroupIds=network["securityGroups"])["SecurityGroups"][0]
        assert [(p["FromPort"], p["ToPort"]) for p in group["IpPermissions"]] == [(3000, 3000)]
        assert group["IpPermissions"][0]["IpRanges"] == []  # only the load balancer's group, no CIDR

    zone = ours["zones"][0]
    records = aws("route53").list_resource_record_sets(HostedZoneId=zone)["ResourceRecordSets"]
    aliases = sorted(r["Name"] for r in records if r["Type"] == "A" and "AliasTarget" in r)
    assert aliases == sorted(f"{h}.{name}.test." for h in SERVICES)


# What the wiring's stand-ins (playbooks/roles/wiring/vars/main/stand_ins.yml) put where a resource does not exist
# yet: never in the plan of a stack that has it.
STAND_IN = re.compile(r"000000000000|stand-in-0000000000|0000000000000000[a-d]\b")


def _changed_tasks(output: str) -> dict[str, set[str]]:
    """{host: the names of the tasks that reported `changed` for it} from a run's output."""
    changed: dict[str, set[str]] = {}
    for block in re.split(r"\n(?=TASK \[)", output):
        header = re.match(r"TASK \[([^\]]*)\]", block)
        for host in re.findall(r"^changed: \[([^\]]+)\]", block, re.MULTILINE) if header else []:
            changed.setdefault(host, set()).add(header[1])
    return changed


def test_05b_the_provision_job_template_in_check_mode_plans_exactly_the_one_real_difference(stack, stack_env, tmp_path):
    """The Provision job template as the plan (job type check, diff), after one real difference (api's health check
    path): the plan is that one task of api's and nothing of web's (a converged service plans nothing; a real run
    would change nothing else), and no stand-in value appears where a resource exists."""
    _after("provision")
    host_file = Path(stack["path"]) / "host_vars" / "api.yml"
    original = host_file.read_text()
    host_file.write_text(original + "load_balancer_service_health_check_path: /healthz\n")
    try:
        job = _job(stack, stack_env, tmp_path, "Provision", job_type="check", diff_mode=True)
    finally:
        host_file.write_text(original)
    assert job.successful, job.stdout[-8000:]
    assert "--check" in job.cmdline, job.cmdline
    assert "--diff" in job.cmdline, job.cmdline
    assert sorted(job.stats["processed"]) == sorted(SERVICES)
    assert job.stats["changed"].get("web", 0) == 0, _changed_tasks(job.stdout)
    assert _changed_tasks(job.stdout) == {
        "api": {"shipyard.fargate.load_balancer : Report the target group that check mode would create or change"}
    }, job.stdout[-8000:]
    assert "health_check_path" in job.stdout
    assert not STAND_IN.search(job.stdout), STAND_IN.search(job.stdout)
    assert job.events_named("playbook_on_stats"), [e.get("event") for e in job.events][-5:]


# --- 5, 6, 7. releases ----------------------------------------------------------------------------------------


def test_06_the_provision_deploy_check_workflow_with_the_same_commit_changes_nothing(stack, stack_env, aws, tmp_path):
    _after("deploy")
    before = _state(aws, stack)
    flow = run_workflow(
        "Provision, deploy, check", {"shipyard_service": "web"},
        stack_env=stack_env, tmp_path=tmp_path / "jobs", inventory=Path(stack["path"]),
    )  # fmt: skip
    for node, job in flow.jobs.items():
        _no_secret(stack, job.stdout, f"workflow node {node}")
    assert flow.status == "successful", {node: job.stdout[-3000:] for node, job in flow.jobs.items()}
    assert list(flow.jobs) == ["provision", "deploy", "check"]
    provision = flow.jobs["provision"]
    assert provision.stats["changed"].get("web", 0) == 0, provision.stdout[-5000:]
    assert "api" not in provision.stats["changed"]  # the survey's service only
    output = flow.jobs["deploy"].stdout
    assert flow.jobs["deploy"].stats["changed"].get("web", 0) == 0, output[-5000:]
    # The look-up found web running what its options describe: no role ran (nothing built, registered, waited for).
    assert "no rollout needed: already running" in _flat(output), output[-5000:]
    for task in (ROLES_PATH, BUILD_AND_PUSH, SERVICE_CHANGES, BUILD_TASK, *PUSH_TASKS):
        assert _task_results(output, task) == [], (task, _task_results(output, task))
    assert f"(tag {stack['commit']}, already in the registry)" in _flat(output)
    assert _state(aws, stack) == before  # no new revision, no new deployment
    # The service exists: the short path (image, task definition, rollout), none of the infrastructure roles.
    assert "Deploy - services that exist" in output
    shared_stack_play = output.split("PLAY [Shared stack")[1].split("PLAY [Deploy - services that exist")[0]
    assert "TASK [shipyard.fargate." not in shared_stack_play
    # What the controller shows as the job's artifacts (set_stats), passed on to the next node.
    outcome = flow.jobs["deploy"].artifacts["shipyard_services"]["web"]
    assert (outcome["verdict"], outcome["updated"], outcome["image_tag"]) == ("SUCCEEDED", False, stack["commit"])
    assert outcome["task_definition_arn"] == before["task_definition"]
    assert flow.jobs["check"].successful
    assert flow.jobs["check"].cmdline[:1] == ["--check"]


def _github(folder: Path, source: dict, sha: str) -> dict:
    """GitHub's environment for the deploy step: the checkout, the commit, and the files it writes under RUNNER_TEMP."""
    folder.mkdir(mode=0o777, exist_ok=True)
    folder.chmod(0o777)  # the runner image's user writes here
    for name in ("summary.md", "output"):
        (folder / name).touch(mode=0o666)
        (folder / name).chmod(0o666)
    return {
        "GITHUB_ACTIONS": "true",
        "GITHUB_WORKSPACE": str(source["path"]),
        "GITHUB_SHA": sha,
        "GITHUB_REF_NAME": "main",
        "GITHUB_STEP_SUMMARY": str(folder / "summary.md"),
        "GITHUB_OUTPUT": str(folder / "output"),
        "RUNNER_TEMP": str(folder),
    }


def _outputs(path: str) -> dict:
    """The step outputs a GITHUB_OUTPUT file holds (``name=value`` and ``name<<DELIMITER`` forms)."""
    outputs, lines = {}, iter(Path(path).read_text().splitlines())
    for line in lines:
        if "<<" in line and "=" not in line.split("<<", 1)[0]:
            name, delimiter = line.split("<<", 1)
            outputs[name] = "\n".join(iter(lines.__next__, delimiter))
        else:
            name, _, value = line.partition("=")
            outputs[name] = value
    return outputs


def _ci_inventory(stack, folder: Path) -> str:
    """The stack's inventory as a CI job has it: the secret values are Ansible Vault references that cannot be
    resolved (no vault password in a deploy job): a deploy looks secrets up by name and must never need a value."""
    path = folder / "local"
    shutil.copytree(stack["path"], path)
    for host in SERVICES:
        host_file = path / "host_vars" / f"{host}.yml"
        host_vars = yaml.safe_load(host_file.read_text())
        if "shipyard_service_secrets" in host_vars:
            host_vars["shipyard_service_secrets"] = {"DATABASE_URL": "{{ vault_db_url_only_the_ops_machine_has }}"}
        host_file.write_text(yaml.safe_dump(host_vars))
    # The webhook URL too is a secret a CI job gets from its environment (SHIPYARD_NOTIFY_WEBHOOK_URL), not a vault.
    settings = path / "group_vars" / "all" / "zz_test.yml"
    settings.write_text(yaml.safe_dump({k: v for k, v in yaml.safe_load(settings.read_text()).items()
                                        if k != "shipyard_notify_webhook_url"}))  # fmt: skip
    return str(path)


def _in_runner(stack_env, inventory: str, source, github: dict, webhook: Webhook):
    """The workflow's deploy step, `/opt/shipyard/ci/github/deploy`, inside the runner image: host network, the
    engine's socket, the checkout and the inventory mounted read-only, AWS access and the webhook URL from the
    environment."""
    socket = stack_env["DOCKER_HOST"].removeprefix("unix://")
    passed = {
        **{k: v for k, v in stack_env.items() if k.startswith(("AWS_", "SHIPYARD_")) or k == "DOCKER_HOST"},
        **github,
        "SHIPYARD_NOTIFY_WEBHOOK_URL": webhook.url,
        "SHIPYARD_INVENTORY": inventory,
        "SHIPYARD_SERVICES": "web",
    }
    argv = ["docker", "run", "--rm", "--network", "host", "--group-add", str(os.stat(socket).st_gid),
            "-v", f"{socket}:{socket}", "-v", f"{inventory}:{inventory}:ro",
            "-v", f"{source['path']}:{source['path']}:ro", "-v", f"{github['RUNNER_TEMP']}:{github['RUNNER_TEMP']}",
            "-w", str(source["path"])]  # fmt: skip
    for name in sorted(passed):
        argv += ["-e", name]
    argv += [RUNNER_IMAGE, "/opt/shipyard/ci/github/deploy"]
    env = {**stack_env, **passed}
    return subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)


def test_06b_an_option_changed_on_the_same_commit_is_a_deploy_planned_in_check_mode(play, stack, aws):
    """The other side of the in-place decision: the same image, one option of the task definition changed (-e, as
    deploy.yml applies it): the service is not in place, and the service role plans the new revision."""
    _after("deploy")
    before = _state(aws, stack)
    run = _deploy(play, "--check", "--diff", "-e", "service_memory=2048")
    assert run.returncode == 0, run.output[-5000:]
    assert _task_results(run.output, ROLES_PATH) == ["ok: [web]"], _task_results(run.output, ROLES_PATH)
    assert _task_results(run.output, BUILD_AND_PUSH) == ["skipping: [web]"], _task_results(run.output, BUILD_AND_PUSH)
    assert run.recap()["web"]["changed"] > 0, run.output[-5000:]
    assert re.search(r"memory[\"']?: [\"']?2048", run.output), run.output[-5000:]  # the diff names it
    assert _state(aws, stack) == before  # check mode: nothing registered, nothing rolled out


def test_07_version_2_from_the_workflow_step_in_the_runner_image_while_every_request_is_answered(
    stack, stack_env, aws, source, images, tmp_path, webhook
):
    _after("deploy")
    built = images["runner"].result()
    assert built == "", built
    v2 = _commit(source, "version 2", "README.md", "\nVersion 2.\n")
    github = _github(tmp_path / "runner-temp", source, v2)
    inventory = _ci_inventory(stack, tmp_path)
    before = _state(aws, stack)
    sent = len(webhook.messages)
    with _loop(stack_env, stack) as loop:
        run = _in_runner(stack_env, inventory, source, github, webhook)
        time.sleep(1)  # a few requests after the verdict too
    print(f"version 2 rollout from the runner image, requests through the load balancer: {dict(loop.counts())}")
    assert run.returncode == 0, run.stdout[-5000:]
    _no_secret(stack, run.stdout, "the deploy step")
    version = v2[:12]
    assert loop.failures() == [], loop.counts()
    assert len(loop.outcomes) > 20, loop.counts()  # the loop ran through the whole rollout
    assert loop.outcomes[-1] == f"200 {version}", loop.counts()
    after = _state(aws, stack)
    assert after["task_definition"] != before["task_definition"]
    image = _container(aws, after["task_definition"])["image"]
    assert DIGEST.search(image), image
    assert image != _container(aws, before["task_definition"])["image"]  # version 2 is a new build
    assert _targets(aws, stack) == ["healthy", "healthy"]
    # What GitHub shows: the step summary and outputs.
    digest = image.rsplit("@", 1)[1]
    summary = Path(github["GITHUB_STEP_SUMMARY"]).read_text()
    assert "## ✅ Shipyard deploy: succeeded" in summary, summary
    assert f"Commit `{version}` of `main`." in summary, summary
    row = next(line for line in summary.splitlines() if line.startswith("| web |"))
    label = after["task_definition"].rsplit("/", 1)[1]
    assert row.split(" | ")[1:5] == ["✅ SUCCEEDED (service updated)", f"`{version}` (built)", f"`{digest}`", label]
    assert "rollout timeline" in summary, summary
    assert "| verdict |" in summary, summary
    outputs = _outputs(github["GITHUB_OUTPUT"])
    assert outputs["verdict"] == "SUCCEEDED"
    assert (outputs["image_digest"], outputs["task_definition_arn"]) == (digest, after["task_definition"])
    assert json.loads(outputs["services"])["web"]["image_tag"] == version
    assert json.loads(Path(outputs["report"]).read_text())["verdict"] == "SUCCEEDED"
    # After the rollout, the check through the public URL (the load balancer, by host name) saw version 2.
    check = f"Check {stack_env['SHIPYARD_LB_URL']}/health"
    assert _task_results(run.stdout, check) == ["ok: [web]"], run.stdout[-5000:]
    # One message to the team's chat, from the webhook URL the job's environment holds.
    messages = webhook.since(sent)
    assert len(messages) == 1, messages
    assert all(word in messages[0] for word in ("web", version, "SUCCEEDED")), messages
    stack["version"] = version
    PASSED.add("v2")


def _environment(**extra) -> str:
    """``-e`` JSON: web's service_environment from the inventory, plus ``extra``."""
    host_vars = yaml.safe_load((REPO / "inventories" / "local" / "host_vars" / "web.yml").read_text())
    return json.dumps({"service_environment": {**host_vars["service_environment"], **extra}})


def test_07b_a_failing_migration_stops_the_deploy_before_the_service_moves_while_requests_stay_healthy(
    play, stack, stack_env, aws, webhook
):
    _after("v2")
    before = _state(aws, stack)
    sent = len(webhook.messages)
    with _loop(stack_env, stack) as loop:  # a new task definition whose release step fails
        run = _deploy(play, "-e", _environment(SAMPLE_FAIL_MODE="migrate"))
        time.sleep(1)
    print(f"failing migration, requests through the load balancer: {dict(loop.counts())}")
    assert run.returncode != 0, run.output[-5000:]
    assert _task_results(run.output, RELEASE_TASK) == ["fatal: [web]"], run.output[-5000:]
    text = _flat(run.output)
    assert "exit code 1" in text, run.output[-5000:]
    assert "SAMPLE_FAIL_MODE=migrate" in text, run.output[-5000:]  # the migration's own last log lines
    assert "TASK [shipyard.fargate.service : Roll the service out to the task definition]" not in run.output
    assert loop.failures() == [], loop.counts()
    assert len(loop.outcomes) > 10, loop.counts()
    after = _state(aws, stack)
    assert after["task_definition"] == before["task_definition"]  # the service never moved
    assert _primary(_service(aws, stack))["rolloutState"] == "COMPLETED"
    status, body = _get(stack_env, stack)
    assert (status, body["version"], body["checks"]["database"]) == (200, stack["version"], "ok")
    messages = webhook.since(sent)
    assert len(messages) == 1, messages
    assert "FAILED" in messages[0], messages
    assert "exit code 1" in messages[0], messages


def test_07c_a_release_that_fails_the_public_url_check_is_rolled_back_with_what_the_url_answered(
    play, stack, stack_env, aws, webhook
):
    _after("v2")
    before = _state(aws, stack)
    sent = len(webhook.messages)
    with _loop(stack_env, stack) as loop:  # healthy for the load balancer, but it reports another version
        run = _deploy(play, "-e", _environment(APP_VERSION="not-this-build"), "-e", "service_url_check_timeout=5")
        time.sleep(1)
    print(f"public URL check failing, requests through the load balancer: {dict(loop.counts())}")
    assert run.returncode != 0, run.output[-5000:]
    text = _flat(run.output)
    assert "rollout SUCCEEDED" in text or "completed" in text, run.output[-5000:]
    assert "failed its public URL check" in text, run.output[-5000:]
    assert "not-this-build" in text, run.output[-5000:]  # what it saw
    assert stack["version"] in text, run.output[-5000:]  # what it expected
    assert f"Rolled back to {before['task_definition']}" in text, run.output[-5000:]
    assert [o for o in loop.outcomes if not o.startswith("200")] == [], loop.counts()  # every request answered
    settled = _service(aws, stack)
    assert settled["taskDefinition"] == before["task_definition"]
    assert _primary(settled)["rolloutState"] == "COMPLETED"
    status, body = _get(stack_env, stack)
    assert (status, body["version"]) == (200, stack["version"])
    messages = webhook.since(sent)
    assert len(messages) == 1, messages
    assert "ROLLED_BACK" in messages[0], messages


def test_08_a_release_that_crashes_fails_the_step_with_its_reason_and_is_rolled_back_while_requests_stay_healthy(
    stack, stack_env, aws, source, tmp_path
):
    _after("v2")
    good = _state(aws, stack)["task_definition"]
    broken = _commit(source, "a release that crashes", "Dockerfile", "ENV SAMPLE_FAIL_MODE=crash\n")
    github = _github(tmp_path / "runner-temp", source, broken)
    env = {**stack_env, **github, "SHIPYARD_INVENTORY": stack["path"], "SHIPYARD_SERVICES": "web"}
    try:
        with _loop(stack_env, stack) as loop:
            run = subprocess.run(
                [str(DEPLOY_STEP)], cwd=source["path"], env=env,
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False,
            )  # fmt: skip
            time.sleep(1)
    finally:  # the checkout back at version 2 for the stages after
        subprocess.run(["git", "-C", str(source["path"]), "reset", "-q", "--hard", "HEAD~1"], check=True)
    print(f"crashing release and rollback, requests through the load balancer: {dict(loop.counts())}")
    assert run.returncode != 0, run.stdout[-5000:]
    _no_secret(stack, run.stdout, "the deploy step")
    text = _flat(run.stdout)
    assert "exit code 1" in text, run.stdout[-5000:]
    assert "refusing to start" in text, run.stdout[-5000:]  # the container's last log lines
    assert "rolling back" in text, run.stdout[-5000:]
    label = re.escape(good.rsplit("/", 1)[1])  # family:revision
    rolled_back = rf"Rollback to {label}: web: deployment \S+ \(task definition {label}\) completed"
    assert re.search(rolled_back, text), run.stdout[-5000:]  # the rollback itself was waited for and succeeded
    assert re.search(r"^::error title=Shipyard deploy%3A web failed::.*exit code 1", run.stdout, re.M), run.stdout
    assert loop.failures() == [], loop.counts()
    assert len(loop.outcomes) > 20, loop.counts()
    settled = _service(aws, stack)
    assert settled["taskDefinition"] == good
    primary = _primary(settled)
    assert (primary["taskDefinition"], primary["rolloutState"]) == (good, "COMPLETED")
    status, body = _get(stack_env, stack)
    assert (status, body["version"]) == (200, stack["version"])
    assert _targets(aws, stack) == ["healthy", "healthy"]
    # What GitHub shows: the reason with the log lines, the rollback, and the outputs.
    summary = Path(github["GITHUB_STEP_SUMMARY"]).read_text()
    assert "## ❌ Shipyard deploy: failed (web failed)" in summary, summary
    assert "exit code 1" in summary, summary
    assert "refusing to start" in summary, summary
    assert re.search(rf"Rolled back to `{label}`: SUCCEEDED", summary), summary
    outputs = _outputs(github["GITHUB_OUTPUT"])
    assert outputs["verdict"] == "FAILED"
    assert json.loads(outputs["services"])["web"]["image_tag"] == broken[:12]


def test_08b_the_rollback_job_template_goes_back_one_revision_with_its_progress_as_job_events(
    stack, stack_env, aws, tmp_path
):
    _after("v2")
    current = _service(aws, stack)["taskDefinition"]  # version 2's
    with _loop(stack_env, stack) as loop:  # a rollback loses no request either
        job = _job(stack, stack_env, tmp_path, "Rollback", {"shipyard_service": "web"})
    assert job.successful, job.stdout[-5000:]
    assert loop.outcomes
    assert loop.failures() == [], loop.counts()
    settled = _service(aws, stack)["taskDefinition"]
    assert settled.rsplit(":", 1)[0] == current.rsplit(":", 1)[0]
    assert int(settled.rsplit(":", 1)[1]) < int(current.rsplit(":", 1)[1])  # an older revision: the first version
    outcome = job.artifacts["shipyard_services"]["web"]
    assert (outcome["verdict"], outcome["task_definition_arn"]) == ("SUCCEEDED", settled), outcome
    assert outcome["previous_task_definition_arn"] == current, outcome
    # The rollout's progress lines are job events as they happen, one per change (the controller streams them).
    progress = [e["stdout"] for e in job.events_named("verbose") if "new tasks running" in e.get("stdout", "")]
    assert len(progress) >= 2, [e.get("stdout") for e in job.events_named("verbose")]
    assert len(set(progress)) == len(progress), progress
    status, body = _get(stack_env, stack)
    assert (status, body["version"]) == (200, stack["commit"])
    assert _targets(aws, stack) == ["healthy", "healthy"]


def test_08c_the_execution_environment_deploys_the_pushed_commit_with_no_docker_engine(
    stack, stack_env, aws, source, images
):
    _after("v2")
    built = images["ee"].result()
    assert built == "", built
    before = _state(aws, stack)  # the first version, after the rollback
    argv = ee_command(
        stack_env, stack["path"], str(source["path"]),
        "shipyard.fargate.deploy", "--limit", "web", "-e", "shipyard_deploy_image_build=false",
    )  # fmt: skip
    assert "/var/run/docker.sock" not in " ".join(argv)
    assert "DOCKER_HOST" not in argv  # no engine in the job's container: only the registry is asked
    run = subprocess.run(argv, env=stack_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
    _no_secret(stack, run.stdout, "the deploy in the execution environment")
    assert run.returncode == 0, run.stdout[-5000:]
    assert _task_results(run.stdout, BUILD_AND_PUSH) == ["skipping: [web]"], _task_results(run.stdout, BUILD_AND_PUSH)
    assert _task_results(run.stdout, BUILD_TASK) == [], _task_results(run.stdout, BUILD_TASK)
    after = _state(aws, stack)
    assert after["task_definition"] != before["task_definition"]
    status, body = _get(stack_env, stack)
    assert (status, body["version"]) == (200, stack["version"])  # version 2, the checkout's commit, as pushed
    assert _targets(aws, stack) == ["healthy", "healthy"]


# --- 8. refusals on the deployed stack: nothing changes ---------------------------------------------------------


def _refused(run, aws, stack, before, *expected: str):
    assert run.returncode != 0, run.output[-5000:]
    for text in expected:
        assert text in _flat(run.output), (text, run.output[-5000:])
    assert run.recap().get("web", {}).get("changed", 0) == 0, run.output[-5000:]
    assert _state(aws, stack) == before


def test_09_a_missing_dockerfile_is_refused(play, stack, aws):
    _after("deploy")
    before = _state(aws, stack)
    run = _deploy(play, "-e", "image_dockerfile=nope.Dockerfile")
    _refused(run, aws, stack, before, "image_dockerfile 'nope.Dockerfile' does not exist")
    assert "PLAY [Shared stack" not in run.output  # the pre-flight stopped it, before any AWS call


def test_10_a_build_that_fails_shows_its_error_and_changes_nothing(play, stack, aws, tmp_path):
    _after("deploy")
    marker = f"build-broken-{uuid.uuid4().hex[:8]}"
    source = tmp_path / "broken"
    source.mkdir()
    (source / "Dockerfile").write_text(f"FROM shipyard/node-debian:bookworm\nRUN echo {marker} && exit 1\n")
    before = _state(aws, stack)
    run = _deploy(play, "-e", f"image_source_dir={source}", "-e", f"image_tag=broken-{marker[-8:]}")
    _refused(run, aws, stack, before, "failed", marker)
    assert _task_results(run.output, BUILD_TASK) == ["fatal: [web]"], _task_results(run.output, BUILD_TASK)


@pytest.mark.parametrize(
    ("limit", "expected"),
    [
        pytest.param("nosuch", "Could not match supplied host pattern, ignoring: nosuch", id="only-unknown"),
        pytest.param("web,nosuch", "--limit nosuch", id="known-and-unknown"),
    ],
)
def test_11_an_unknown_service_name_is_refused(play, stack, aws, limit, expected):
    _after("deploy")
    before = _state(aws, stack)
    run = play("deploy", "--limit", limit)
    _refused(run, aws, stack, before, expected)
    assert "PLAY [Shared stack" not in run.output


def test_12_an_image_tag_the_registry_does_not_hold_is_refused_when_no_build_is_asked(play, stack, aws):
    _after("deploy")
    before = _state(aws, stack)
    run = _deploy(play, "-e", "shipyard_deploy_image_tag=doesnotexist")
    _refused(run, aws, stack, before, "image_tag doesnotexist is not in the registry")


# --- 9. destroy ---------------------------------------------------------------------------------------------------


def test_13_destroy_leaves_nothing_of_ours_and_a_second_destroy_deletes_only_the_data(
    play, stack, stack_env, aws, tmp_path
):
    _after("provision")
    before = _ours(aws, stack["name"])
    mistyped = _job(stack, stack_env, tmp_path, "Destroy", {"shipyard_destroy_confirm": "shipyard-prod"})
    assert mistyped.status == "failed", mistyped.stdout[-3000:]
    refusal = f"shipyard_destroy_confirm 'shipyard-prod' is not this stack's name: type {stack['name']}"
    assert refusal in _flat(mistyped.stdout), mistyped.stdout[-3000:]
    assert _ours(aws, stack["name"]) == before  # nothing deleted

    destroyed = _job(stack, stack_env, tmp_path, "Destroy", {"shipyard_destroy_confirm": stack["name"]})
    assert destroyed.successful, destroyed.stdout[-8000:]
    left = _ours(aws, stack["name"])
    kept = {kind: left.pop(kind) for kind in ("repositories", "secrets")}
    assert not any(left.values()), left
    assert len(kept["repositories"]) == 2  # data is kept unless asked
    assert kept["secrets"] == [f"{stack['name']}/web"]  # (api has none)

    # A second destroy, with the data this time: the data goes (repositories and their images, the secret, the log
    # groups) and nothing else changes - everything else is gone already.
    wiped = play("destroy", "-e", "shipyard_destroy_data=true")
    assert wiped.returncode == 0, wiped.output[-8000:]
    assert "DELETES FOR GOOD" in wiped.output
    assert not any(_ours(aws, stack["name"]).values())
    changed = _changed_tasks(wiped.output)
    assert sorted(changed) == sorted(SERVICES), wiped.output[-8000:]
    data = re.compile(r"^shipyard\.fargate\.(registry|secrets) : |^shipyard\.fargate\.service : Delete the log group")
    assert [task for tasks in changed.values() for task in tasks if not data.search(task)] == [], changed
