"""A small cloud for tests of the local ECS engine and of the rollout module: VPC, cluster, target group.

Task definitions carry ``SHIPYARD_SIMULATE`` (see ``shipyard_local.cloud.runners.simulated``), so stories are
quick and deterministic. Target groups use 5 s health checks, thresholds of 2 and a 3 s deregistration delay.
``wait_for`` polls the API for a state, with generous limits (no wall-clock assertions).
"""

from __future__ import annotations

import http.client
import io
import json
import shutil
import subprocess
import sys
import tarfile
import threading
import time
import urllib.parse
from collections import Counter
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parents[1]
WAIT = 180.0


def base_image(env: dict, kind: str) -> str:
    """scripts/base-image KIND on ``env``'s Docker engine (quick when the images exist): "" when they are there, else
    the command and its output."""
    argv = [str(REPO / "scripts" / "base-image"), kind]
    done = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
    return "" if done.returncode == 0 else f"{' '.join(argv)} failed ({done.returncode}):\n{done.stdout[-3000:]}"


def wait_for(what: str, probe, timeout: float = WAIT, every: float = 0.5):
    """Poll ``probe()`` until it returns something truthy; fail with the last value seen."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(every)
    pytest.fail(f"timed out waiting for {what}; last seen: {last!r}")


class Cloud:
    """One isolated cluster + target group for a test (names from ``unique_name``)."""

    def __init__(self, aws, name: str) -> None:
        self.ecs, self.elb, self.ec2 = aws("ecs"), aws("elbv2"), aws("ec2")
        self.secrets = aws("secretsmanager")
        self.name = self.cluster = name
        vpc = self.ec2.create_vpc(CidrBlock="10.40.0.0/16")["Vpc"]["VpcId"]
        self.subnet = self.ec2.create_subnet(VpcId=vpc, CidrBlock="10.40.1.0/24")["Subnet"]["SubnetId"]
        self.group = self.ec2.create_security_group(GroupName=name, Description="tasks", VpcId=vpc)["GroupId"]
        self.ecs.create_cluster(clusterName=name)
        self.target_group = self.elb.create_target_group(
            Name=name, Protocol="HTTP", Port=8080, VpcId=vpc, TargetType="ip", HealthCheckPath="/health",
            HealthCheckIntervalSeconds=5, HealthCheckTimeoutSeconds=2, HealthyThresholdCount=2,
            UnhealthyThresholdCount=2,
        )["TargetGroups"][0]["TargetGroupArn"]  # fmt: skip
        self.elb.modify_target_group_attributes(
            TargetGroupArn=self.target_group, Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": "3"}]
        )

    def task_definition(self, simulate: str, secrets: list[dict] | None = None, image: str = "web:1") -> str:
        container = {
            "name": "app",
            "image": image,
            "essential": True,
            "portMappings": [{"containerPort": 8080}],
            "environment": [{"name": "SHIPYARD_SIMULATE", "value": simulate}],
            "secrets": secrets or [],
        }
        return self.ecs.register_task_definition(
            family=self.name, networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256", memory="512",
            containerDefinitions=[container],
        )["taskDefinition"]["taskDefinitionArn"]  # fmt: skip

    def create_service(
        self,
        task_definition: str,
        count: int = 2,
        rollback: bool = True,
        breaker: bool = True,
        minimum: int = 100,
        maximum: int = 200,
    ) -> dict:
        return self.ecs.create_service(
            cluster=self.cluster, serviceName="web", taskDefinition=task_definition, desiredCount=count,
            launchType="FARGATE",
            networkConfiguration={"awsvpcConfiguration": {"subnets": [self.subnet], "securityGroups": [self.group]}},
            loadBalancers=[{"targetGroupArn": self.target_group, "containerName": "app", "containerPort": 8080}],
            healthCheckGracePeriodSeconds=0,
            deploymentConfiguration={
                "deploymentCircuitBreaker": {"enable": breaker, "rollback": rollback},
                "maximumPercent": maximum,
                "minimumHealthyPercent": minimum,
            },
        )["service"]  # fmt: skip

    def service(self) -> dict:
        return self.ecs.describe_services(cluster=self.cluster, services=["web"])["services"][0]

    def tasks(self, desired: str = "RUNNING", **filters) -> list[dict]:
        arns = self.ecs.list_tasks(cluster=self.cluster, desiredStatus=desired, **filters)["taskArns"]
        return self.ecs.describe_tasks(cluster=self.cluster, tasks=arns)["tasks"] if arns else []

    def targets(self) -> dict[str, dict]:
        found = self.elb.describe_target_health(TargetGroupArn=self.target_group)["TargetHealthDescriptions"]
        return {item["Target"]["Id"]: item["TargetHealth"] for item in found}

    def settled(self) -> dict | None:
        """The service once one deployment is left and it is COMPLETED."""
        service = self.service()
        deployments = service["deployments"]
        return service if len(deployments) == 1 and deployments[0]["rolloutState"] == "COMPLETED" else None

    def failed(self) -> dict | None:
        """The service once its newest deployment FAILED."""
        service = self.service()
        return service if service["deployments"][0]["rolloutState"] == "FAILED" else None

    def messages(self) -> list[str]:
        return [event["message"] for event in self.service()["events"]]


class Loop:
    """Requests ``path`` through the local load balancer about every ``every`` seconds in a thread, by host name
    (the ``Host`` header: the listener rule's host condition), and records every outcome: ``"200 <version>"``,
    ``"503 no healthy targets"`` (a non-JSON answer: its first line), ``"error: ..."`` (refused, reset, timeout).
    Use it as a context manager around a rollout; ``failures()`` lists every request not answered 200, each with
    its wall-clock time (``HH:MM:SS.mmm``, to read beside the emulator's log).
    """

    def __init__(self, lb_url: str, host: str, path: str = "/health", every: float = 0.1, timeout: float = 5.0):
        address = urllib.parse.urlsplit(lb_url)
        self._address, self._host, self._path = (address.hostname, address.port), host, path
        self._every, self._timeout = every, timeout
        self._stop = threading.Event()
        self.records: list[tuple[float, str]] = []  # (time.time(), outcome) of each request, in order
        self._thread = threading.Thread(target=self._run, daemon=True)

    def get(self) -> tuple[int, dict | None]:
        """One request: (status, parsed JSON body or None)."""
        status, parsed, _ = self._request()
        return status, parsed

    def _request(self) -> tuple[int, dict | None, bytes]:
        connection = http.client.HTTPConnection(*self._address, timeout=self._timeout)
        try:
            connection.request("GET", self._path, headers={"Host": self._host})
            answer = connection.getresponse()
            body = answer.read()
        finally:
            connection.close()
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = None
        return answer.status, parsed if isinstance(parsed, dict) else None, body

    def outcome(self) -> str:
        """One request, as the loop records it: ``"200 <version>"``, the load balancer's own answer, or the error."""
        try:
            status, parsed, body = self._request()
        except (OSError, http.client.HTTPException) as error:  # refused, reset, timeout: a failed request
            return f"error: {error!r}"
        if parsed is not None or status == 200:
            said = (parsed or {}).get("version", "")
        else:  # the load balancer's own answers (503 no healthy targets, 502, 504): their first line
            said = body.decode("utf-8", "replace").strip().splitlines()[0][:60] if body.strip() else ""
        return f"{status} {said}".strip()

    def _run(self) -> None:
        while not self._stop.is_set():
            outcome = self.outcome()
            self.records.append((time.time(), outcome))
            self._stop.wait(self._every)

    def __enter__(self) -> Loop:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    @property
    def outcomes(self) -> list[str]:
        return [outcome for _at, outcome in self.records]

    def counts(self) -> Counter:
        return Counter(self.outcomes)

    def failures(self) -> list[str]:
        return [
            f"{time.strftime('%H:%M:%S', time.localtime(at))}.{int(at % 1 * 1000):03d} {outcome}"
            for at, outcome in self.records
            if not outcome.startswith("200")
        ]


# A tiny app, no image hub: Debian's static busybox and this script (``docker import``). It logs a line and serves
# ``/health`` (``version=<APP_VERSION>``) on ``$PORT`` (the docker task runner sets it) until SIGTERM.
BUSYBOX_APP = r"""#!/bin/sh
echo "shipyard test app version $APP_VERSION starting on port $PORT"
mkdir -p /tmp/www
echo "version=$APP_VERSION" > /tmp/www/health
httpd -f -p "127.0.0.1:$PORT" -h /tmp/www &
trap 'kill $!; echo "version $APP_VERSION stopping"; exit 0' TERM
wait
"""


def busybox_app_tar(script: str = BUSYBOX_APP) -> bytes:
    """A root file system for ``docker import``: static busybox with a few applet links, /tmp, and ``/app.sh``."""
    from shipyard_local import system

    system.ensure({"busybox": "busybox-static"}, "the test app image")
    payload = io.BytesIO()
    with tarfile.open(fileobj=payload, mode="w") as tar:
        for directory, mode in (("bin", 0o755), ("tmp", 0o1777)):
            info = tarfile.TarInfo(directory)
            info.type, info.mode = tarfile.DIRTYPE, mode
            tar.addfile(info)
        tar.add(shutil.which("busybox"), "bin/busybox")
        for applet in ("sh", "httpd", "mkdir", "echo", "cat", "sleep", "kill", "wget"):
            link = tarfile.TarInfo(f"bin/{applet}")
            link.type, link.linkname = tarfile.SYMTYPE, "busybox"
            tar.addfile(link)
        data = script.encode()
        info = tarfile.TarInfo("app.sh")
        info.size, info.mode = len(data), 0o755
        tar.addfile(info, io.BytesIO(data))
    return payload.getvalue()


def push_busybox_app(docker_env: dict, registry: str, login: tuple[str, str], path: str, tags: list[str]) -> None:
    """Import the busybox app once per tag (``APP_VERSION`` = the tag) as ``registry/path:tag`` and push it with the
    ECR ``login`` (user, password), as CI pushes an image; the local copies are removed (runners pull)."""

    def docker(*args: str, stdin: bytes | None = None) -> None:
        done = subprocess.run(["docker", *args], env=docker_env, input=stdin, capture_output=True, check=False)
        assert done.returncode == 0, f"docker {args[0]}: {done.stderr.decode()}"

    docker("login", "--username", login[0], "--password-stdin", registry, stdin=login[1].encode())
    root = busybox_app_tar()
    for tag in tags:
        local = f"{registry}/{path}:{tag}"
        changes = ["--change", f"ENV APP_VERSION={tag}", "--change", 'ENTRYPOINT ["/bin/sh", "/app.sh"]']
        docker("import", *changes, "-", local, stdin=root)
        docker("push", local)
        docker("rmi", local)
