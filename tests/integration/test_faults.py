"""provision.yml, deploy.yml and rollback.yml under AWS faults and kill -9, on the local stack: the same end state, no
duplicates, not one failed request.

One small inventory (the local one with only `web`, its image a busybox app pushed beforehand: no build), its AWS
endpoint the fault proxy in front of the emulator (shipyard_local.faults, SHIPYARD_FAULTS_PORT) with a seeded plan:
20 % of the calls throttled, 5 % answered 500, one stretch of a few seconds without answers. The story:

1. provision.yml, killed (SIGKILL to its process group) once its k1-th task has started; then provision.yml again,
   to the end, under the faults.
2. deploy.yml of an image tag pushed to the registry (no build), under a loop of requests through the local load
   balancer: killed in the middle of its rollout (at its k2-th progress line: the service updated, new tasks
   starting); then deploy.yml again, to the end, under the faults, the loop still running. (The killed runs go
   without faults: their backoff would only cost time.)
3. rollback.yml under the faults, the loop still running: back to the initial revision, its rollout waited for
   through the faults (its result counts the calls botocore made again: `web: N AWS calls (M retried)`).

k1, k2 come from the seed (SHIPYARD_FAULTS_SEED, default below), like the fault plan. Afterwards, read through the
emulator's own port (no faults): every resource kind of the stack counted (one of each, two task definition
revisions: the initial one and the deployed one), the service running the initial image again (the rollback) with
its desired count and no task outside its current deployment, not one failed request, and the faults injected while
the playbooks ran. The figures are printed (pytest -s) for docs/reliability.md.
"""

from __future__ import annotations

import base64
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
import yaml
from local_cloud import Loop, push_busybox_app, wait_for

pytestmark = pytest.mark.stack

REPO = Path(__file__).resolve().parents[2]
SEED = int(os.environ.get("SHIPYARD_FAULTS_SEED", "16"))
PLAN = {"throttle_percent": 20, "error_percent": 5, "stall_seconds": 3}
TAG = "v2"
INITIAL_TAG = "initial"  # inventories/local: shipyard_service_image_tag, what provision.yml starts a service with
HOST = "web"
TASK_START = r"TASK \["
PROGRESS = rf"{HOST}: \d+/\d+ new tasks running"  # ecs_rollout's progress lines


def _control(url: str, plan: dict | None = None) -> dict:
    """The fault proxy's report; with ``plan``, set it first (re-seeded, counts from zero)."""
    data = None if plan is None else json.dumps(plan).encode()
    request = urllib.request.Request(f"{url}/_shipyard/faults", data=data, method="GET" if data is None else "PUT")  # noqa: S310
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - http://127.0.0.1 only
        return json.load(response)


def _merge(total: dict, report: dict) -> None:
    total["calls"] = total.get("calls", 0) + report["calls"]
    for kind, count in report["injected"].items():
        total.setdefault("injected", {}).setdefault(kind, 0)
        total["injected"][kind] += count
    for name, counts in report["injected_by_operation"].items():
        mine = total.setdefault("by_operation", {}).setdefault(name, {})
        for kind, count in counts.items():
            mine[kind] = mine.get(kind, 0) + count


@pytest.fixture(scope="module")
def faults_url(local_stack):
    url = local_stack.config.faults_url
    try:
        _control(url, {})
    except (OSError, urllib.error.URLError) as error:
        pytest.fail(
            f"the fault proxy does not answer at {url} ({error}): a stack started before it existed? "
            "`python -m shipyard_local down` then `up`"
        )
    yield url
    _control(url, {})  # passes everything through again


@pytest.fixture(scope="module")
def inventory(tmp_path_factory, faults_url, aws, local_stack, stack_env):
    """The local inventory with `web` only, quick health checks, the fault proxy as AWS endpoint; its image the
    busybox app (tests/local_cloud.py, real containers behind the local load balancer: the request loop needs
    answers), pushed beforehand as the tag a new service starts with and the tag deployed (as CI pushes them)."""
    name = f"ft{uuid.uuid4().hex[:8]}"
    path = tmp_path_factory.mktemp("inventory") / "local"
    shutil.copytree(REPO / "inventories" / "local", path)
    (path / "hosts.yml").write_text(yaml.safe_dump({"all": {"children": {"services": {"hosts": {HOST: None}}}}}))
    (path / "host_vars" / "api.yml").unlink()
    settings = {
        "shipyard_stack_name": name,
        "dns_zone_name": f"{name}.test",
        "load_balancer_service_health_check_interval": 5,
        "load_balancer_service_health_check_timeout": 3,
        "load_balancer_service_deregistration_delay": 5,
        "service_rollout_stable_for": 5,
        "shipyard_aws_endpoint_url": faults_url,
    }
    (path / "group_vars" / "all" / "zz_test.yml").write_text(yaml.safe_dump(settings))
    (path / "host_vars" / f"{HOST}.yml").write_text(
        yaml.safe_dump(
            {
                "dns_record_name": "web.{{ dns_zone_name }}",
                "load_balancer_service_priority": 10,
                "shipyard_service_secrets": {"DATABASE_URL": f"postgresql://app:{uuid.uuid4().hex}@127.0.0.1:5432/app"},
                "service_environment": {"GREETING": "hello"},
            }
        )
    )
    token = aws("ecr").get_authorization_token()["authorizationData"][0]["authorizationToken"]
    user, _, password = base64.b64decode(token).decode().partition(":")
    docker_env = {**stack_env, "DOCKER_CONFIG": str(tmp_path_factory.mktemp("docker-config"))}
    registry = local_stack.config.registry_address
    push_busybox_app(docker_env, registry, (user, password), f"{name}/{HOST}", [INITIAL_TAG, TAG])
    return {"name": name, "path": str(path), "host": f"web.{name}.test"}


def _run(stack_env, playbook: str, inventory, *args: str, kill_at: tuple[str, int] | None = None) -> dict:
    """ansible-playbook; with ``kill_at=(pattern, n)``, SIGKILL its process group as soon as the ``n``-th output line
    matching ``pattern`` appears (``TASK_START``: a task has started). Returns rc, the tasks started, whether it was
    killed, and the output."""
    argv = [str(Path(sys.executable).parent / "ansible-playbook"), f"playbooks/{playbook}", "-i", inventory["path"]]
    process = subprocess.Popen(
        [*argv, *args], cwd=REPO, env=stack_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )  # fmt: skip
    lines, tasks, seen, killed = [], 0, 0, False
    for line in process.stdout:
        lines.append(line)
        tasks += line.startswith("TASK [")
        if kill_at is not None and not killed and re.match(kill_at[0], line):
            seen += 1
            if seen == kill_at[1]:
                os.killpg(process.pid, signal.SIGKILL)
                killed = True
    rc = process.wait()
    return {"rc": rc, "tasks": tasks, "killed": killed, "output": "".join(lines)}


@pytest.fixture(scope="module")
def story(stack_env, inventory, faults_url, aws):
    """The runs (see the module's docstring), with the fault plan set before each and its report kept."""
    rng = random.Random(SEED)  # noqa: S311 - the test's choices, repeatable
    # provision.yml starts about 200 tasks for one service: killed at a task boundary among its first 120. deploy.yml
    # is killed in the middle of its rollout (UpdateService made, new tasks starting): at its first or second
    # progress line.
    kills = {"provision": (TASK_START, rng.randint(15, 120)), "deploy": (PROGRESS, rng.randint(1, 2))}
    stall_after = {"provision": rng.randint(30, 150), "deploy": rng.randint(5, 25)}  # of about 250 and 40 calls
    runs, injected = [], {}

    def run(playbook, *args, kill_at=None, stall=0):
        # A run to be killed goes without faults (its backoff would only cost time); a run to the end gets them all.
        _control(faults_url, {} if kill_at else {**PLAN, "seed": SEED + len(runs), "stall_after": stall})
        outcome = _run(stack_env, playbook, inventory, *args, kill_at=kill_at)
        outcome.update(playbook=playbook, report=_control(faults_url))
        _merge(injected, outcome["report"])
        runs.append(outcome)
        return outcome

    run("provision.yml", kill_at=kills["provision"])
    run("provision.yml", stall=stall_after["provision"])
    # What the provision left: the service's counts, and whether it answered at once (a test of its own below). The
    # request loop measures the deploys' rollouts: it starts once the service answers.
    service = aws("ecs").describe_services(cluster=inventory["name"], services=[HOST])["services"][0]
    probe = Loop(stack_env["SHIPYARD_LB_URL"], inventory["host"])
    after_provision = {
        "desired": service["desiredCount"], "running": service["runningCount"], "answer": probe.outcome(),
    }  # fmt: skip
    started = time.monotonic()
    wait_for(
        "web to answer 200 through the load balancer after provision.yml", lambda: probe.outcome().startswith("200")
    )
    after_provision["seconds_until_200"] = round(time.monotonic() - started, 1)
    deploy = ("-e", f"shipyard_deploy_image_tag={TAG}")
    with Loop(stack_env["SHIPYARD_LB_URL"], inventory["host"]) as loop:
        run("deploy.yml", *deploy, kill_at=kills["deploy"])
        run("deploy.yml", *deploy, stall=stall_after["deploy"])
    with Loop(stack_env["SHIPYARD_LB_URL"], inventory["host"]) as rollback_loop:
        run("rollback.yml")
    _control(faults_url, {})
    figures = {
        "seed": SEED,
        "runs": [
            {
                **{k: r[k] for k in ("playbook", "rc", "tasks", "killed")},
                "calls": r["report"]["calls"],
                "injected": r["report"]["injected"],
            }
            for r in runs
        ],
        "injected": injected,
        "after_provision": after_provision,
        "requests": len(loop.outcomes),
        "failed_requests": len(loop.failures()),
        "rollback_requests": len(rollback_loop.outcomes),
        "rollback_failed_requests": len(rollback_loop.failures()),
        "failures": {"deploys": loop.failures()[:30], "rollback": rollback_loop.failures()[:30]},
    }
    print("FAULT FIGURES " + json.dumps(figures, sort_keys=True))
    return {"runs": runs, "loop": loop, "rollback_loop": rollback_loop, "injected": injected, "figures": figures}


def _count(aws, name: str) -> dict[str, list]:
    """Every resource kind of the stack, each as the list of what the AWS API shows (duplicates stay visible)."""
    ec2, ecs, elb, iam = aws("ec2"), aws("ecs"), aws("elbv2"), aws("iam")
    vpcs = [v["VpcId"] for v in ec2.describe_vpcs(Filters=[{"Name": "tag:shipyard:stack", "Values": [name]}])["Vpcs"]]
    in_vpc = [{"Name": "vpc-id", "Values": vpcs}]
    attached = [{"Name": "attachment.vpc-id", "Values": vpcs}]
    balancers = [lb for lb in elb.describe_load_balancers()["LoadBalancers"] if lb["LoadBalancerName"] == name]
    listeners = []
    for balancer in balancers:
        listeners += elb.describe_listeners(LoadBalancerArn=balancer["LoadBalancerArn"])["Listeners"]
    rules = []
    for listener in listeners:
        found = elb.describe_rules(ListenerArn=listener["ListenerArn"])["Rules"]
        rules += [(r["Priority"], json.dumps(r["Conditions"], sort_keys=True)) for r in found if not r["IsDefault"]]
    route53 = aws("route53")
    zones = [z["Id"] for z in route53.list_hosted_zones()["HostedZones"] if z["Name"] == f"{name}.test."]
    records = []
    for zone in zones:
        found = route53.list_resource_record_sets(HostedZoneId=zone)["ResourceRecordSets"]
        records += [(r["Name"], r["Type"]) for r in found if r["Type"] not in ("NS", "SOA")]
    clusters = [c["clusterArn"] for c in ecs.describe_clusters(clusters=[name])["clusters"] if c["status"] == "ACTIVE"]
    groups = ec2.describe_security_groups(Filters=in_vpc)["SecurityGroups"] if vpcs else []
    gateways = ec2.describe_internet_gateways(Filters=attached)["InternetGateways"] if vpcs else []
    target_groups = elb.describe_target_groups()["TargetGroups"]
    log_groups = aws("logs").describe_log_groups(logGroupNamePrefix=f"/ecs/{name}/")["logGroups"]
    repositories = aws("ecr").describe_repositories()["repositories"]
    return {
        "vpcs": vpcs,
        "subnets": [s["SubnetId"] for s in ec2.describe_subnets(Filters=in_vpc)["Subnets"]] if vpcs else [],
        "internet_gateways": [g["InternetGatewayId"] for g in gateways],
        "security_groups": [g["GroupName"] for g in groups if g["GroupName"] != "default"],
        "clusters": clusters,
        "services": ecs.list_services(cluster=name)["serviceArns"] if clusters else [],
        "task_definitions": ecs.list_task_definitions(familyPrefix=f"{name}-{HOST}")["taskDefinitionArns"],
        "load_balancers": [lb["LoadBalancerArn"] for lb in balancers],
        "listeners": [listener["Port"] for listener in listeners],
        "target_groups": [g["TargetGroupName"] for g in target_groups if g["TargetGroupName"].startswith(f"{name}-")],
        "rules": rules,
        "log_groups": [g["logGroupName"] for g in log_groups],
        "secrets": [
            s["Name"] for s in aws("secretsmanager").list_secrets()["SecretList"] if s["Name"] == f"{name}/{HOST}"
        ],
        "roles": [r["RoleName"] for r in iam.list_roles()["Roles"] if r["RoleName"].startswith(f"{name}-")],
        "repositories": [r["repositoryName"] for r in repositories if r["repositoryName"].startswith(f"{name}/")],
        "zones": zones,
        "records": records,
    }


def test_every_run_after_a_kill_completes_under_faults(story):
    runs = story["runs"]
    for killed in (runs[0], runs[2]):
        assert killed["killed"], f"{killed['playbook']} ended before its kill point:\n{killed['output'][-3000:]}"
        assert killed["rc"] == -signal.SIGKILL
    for rerun in (runs[1], runs[3]):
        assert rerun["rc"] == 0, rerun["output"][-6000:]
        assert not re.search(r"^(fatal|failed): ", rerun["output"], re.M), rerun["output"][-6000:]
    # The faults were there: throttles and 500s, and each run to the end went through its stretch.
    injected = story["injected"]["injected"]
    assert injected["throttle"] > 0, story["injected"]
    assert injected["error"] > 0, story["injected"]
    assert [r["report"]["injected"]["stall"] > 0 for r in (runs[1], runs[3])] == [True, True]


def test_no_resource_is_duplicated(story, aws, inventory):
    found = _count(aws, inventory["name"])
    counts = {kind: len(items) for kind, items in found.items()}
    # What one service on the shared stack is (inventories/local): one of each; two public and two private subnets;
    # the load balancer's and the service's security groups; HTTP only: one listener, one rule (host name); the
    # execution role and the task role; the zone's alias for web; two task definition revisions, the initial one
    # (provision) and the deployed tag (deploy): a re-run after a kill registers none of its own.
    expected = dict.fromkeys(found, 1) | {
        "subnets": 4, "security_groups": 2, "roles": 2, "task_definitions": 2,
    }  # fmt: skip
    assert counts == expected, json.dumps(found, indent=1, default=str)
    assert len(set(found["rules"])) == len(found["rules"])


def test_the_service_runs_the_deployed_image_with_no_orphan_task(story, aws, inventory):
    ecs = aws("ecs")
    service = ecs.describe_services(cluster=inventory["name"], services=[HOST])["services"][0]
    image = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])["taskDefinition"][
        "containerDefinitions"][0]["image"]  # fmt: skip
    # rollback.yml went back one revision: the initial image (provision.yml's), by tag or by digest.
    assert re.search(rf"/{inventory['name']}/{HOST}(:{INITIAL_TAG}|@sha256:[0-9a-f]{{64}})$", image), image
    revisions = ecs.list_task_definitions(familyPrefix=f"{inventory['name']}-{HOST}")["taskDefinitionArns"]
    assert service["taskDefinition"] == sorted(revisions, key=lambda arn: int(arn.rsplit(":", 1)[1]))[0]
    assert [d["status"] for d in service["deployments"]] == ["PRIMARY"], service["deployments"]
    primary = service["deployments"][0]
    arns = ecs.list_tasks(cluster=inventory["name"], desiredStatus="RUNNING")["taskArns"]
    tasks = ecs.describe_tasks(cluster=inventory["name"], tasks=arns)["tasks"] if arns else []
    orphans = [
        (t["taskArn"], t.get("startedBy"), t["taskDefinitionArn"])
        for t in tasks
        if t.get("startedBy") != primary["id"] or t["taskDefinitionArn"] != service["taskDefinition"]
    ]
    assert orphans == []
    assert len(tasks) == service["desiredCount"] == service["runningCount"] > 0


def test_the_provision_rerun_after_a_kill_leaves_the_service_serving(story):
    # The killed run created the service; its rollout was unfinished. provision.yml waits for a service it creates or
    # whose rollout an earlier run left unfinished (service_rollout_wait_unfinished): done means serving. (Before,
    # the re-run ended at once and the first request through the load balancer got 503: targets still `initial`.)
    after = story["figures"]["after_provision"]
    assert (after["answer"][:3], after["desired"], after["running"]) == ("200", 2, 2), after


def test_no_request_failed_during_the_deploys(story):
    loop = story["loop"]
    assert len(loop.outcomes) > 0
    assert loop.failures() == [], loop.counts()


def test_no_request_failed_during_the_rollback(story):
    loop = story["rollback_loop"]
    assert len(loop.outcomes) > 0
    assert loop.failures() == [], loop.counts()


def test_the_deploy_rerun_judged_the_rollout_through_the_faults(story):
    # The re-run's look at the rollout (ECS Describe* calls) was throttled or failed, botocore retried with backoff
    # (the proxy counted each injected answer), and a verdict came: its own rollout succeeded, or the rollout the
    # killed run started had finished meanwhile (ECS goes on without the client) and the re-run found it steady.
    deploy = story["runs"][3]
    waited = {n: c for n, c in deploy["report"]["injected_by_operation"].items() if n.startswith("ecs.Describe")}
    assert waited, deploy["report"]
    flat = " ".join(deploy["output"].split())  # the YAML callback wraps long lines
    assert re.search(rf"{HOST}: succeeded: |no rollout needed: already running \S+, steady", flat), flat[-4000:]


def test_the_rollback_waited_through_the_faults_and_its_result_counts_the_retries(story):
    rollback = story["runs"][4]
    assert rollback["playbook"] == "rollback.yml"
    assert rollback["rc"] == 0, rollback["output"][-6000:]
    flat = " ".join(rollback["output"].split())
    assert re.search(rf"{HOST}: succeeded: ", flat), flat[-4000:]
    # Each attempt botocore made again answered a fault this run injected: at least one, at most all of them.
    retried = re.search(rf"{HOST}: (\d+) AWS calls \((\d+) retried\)", flat)
    assert retried, flat[-4000:]
    injected = sum(rollback["report"]["injected"].values())
    assert 0 < int(retried.group(2)) <= injected, (retried.group(0), rollback["report"]["injected"])
