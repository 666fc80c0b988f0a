"""Role shipyard.fargate.image against the local stack: the emulator's ECR login, the real registry, the engine.

build + push -> the digest is the registry's; a re-run of the same commit skips build and push (changed=0);
a release tag is added in the registry; bad input (missing Dockerfile, no git commit, a tag that is not there
with image_build=false) is refused by name before anything changes; a failing build shows its output; the ECR
password never appears at -vvv; the sample NestJS API builds, pushes and answers /health.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.stack
REPO = Path(__file__).resolve().parents[2]
PLAYBOOK = "tests/integration/playbooks/image.yml"
ECR_HOST = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
BASE_IMAGE = "shipyard/node-debian:bookworm"
LOGIN_TASK = "TASK [shipyard.fargate.image : Get an ECR login"
BUILD_TASK = "TASK [shipyard.fargate.image : Build the image from the Dockerfile"
PUSH_TASK = "TASK [shipyard.fargate.image : Push the image tag"
ACCEPT = ", ".join(
    [
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
    ]
)
TINY_DOCKERFILE = f"""\
FROM {BASE_IMAGE}
ARG GREETING=hello
RUN echo "$GREETING" > /greeting
CMD ["node", "-e", "require('http').createServer((q, s) => s.end(require('fs').readFileSync('/greeting')))\
.listen(process.env.PORT || 3000)"]
"""


def _git(cwd: Path, *args: str) -> str:
    identity = ["-c", "user.email=pytest@shipyard.invalid", "-c", "user.name=pytest"]
    return subprocess.run(["git", *identity, *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def _source(path: Path, dockerfile: str = TINY_DOCKERFILE, git: bool = True) -> Path:
    path.mkdir(parents=True)
    (path / "Dockerfile").write_text(dockerfile)
    if git:
        _git(path, "init", "--quiet")
        _git(path, "add", ".")
        _git(path, "commit", "--quiet", "-m", "app")
    return path


@pytest.fixture(scope="session")
def node_base_image(stack_env):
    """The Node base images, built from Debian packages by scripts/node-base-image (skips when they exist)."""
    result = subprocess.run(
        [str(REPO / "scripts/node-base-image")], env=stack_env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return BASE_IMAGE


@pytest.fixture(scope="session")
def ecr_login(aws):
    data = aws("ecr").get_authorization_token()["authorizationData"][0]
    user, _, password = base64.b64decode(data["authorizationToken"]).decode().partition(":")
    return user, password


@pytest.fixture
def docker_env(stack_env, tmp_path, local_stack, ecr_login):
    """Docker CLI environment logged in to the local registry, in a throwaway config dir."""
    env = {**stack_env, "DOCKER_CONFIG": str(tmp_path / "docker-config")}
    user, password = ecr_login
    login = subprocess.run(
        ["docker", "login", "--username", user, "--password-stdin", local_stack.config.registry_address],
        env=env,
        input=password,
        capture_output=True,
        text=True,
        check=False,
    )
    assert login.returncode == 0, login.stderr
    return env


@pytest.fixture
def image(unique_name, role_runner, local_stack, node_base_image):
    """``image(*ansible_args, **role_vars)`` runs the role for a repository of its own (``image.repository``)."""
    name = f"{unique_name}/web"
    repository = {
        "name": name,
        "uri": f"{ECR_HOST}/{name}",
        "push_uri": f"{local_stack.config.registry_address}/{name}",
    }
    run = role_runner(PLAYBOOK, {"image_repository": repository})
    run.repository = repository
    return run


def _manifest(local_stack, ecr_login, path: str, reference: str) -> str | None:
    """The registry's Docker-Content-Digest for ``path:reference``, None when it does not hold it."""
    url = f"http://{local_stack.config.registry_address}/v2/{path}/manifests/{reference}"
    request = urllib.request.Request(url, method="HEAD", headers={"Accept": ACCEPT})
    request.add_header("Authorization", "Basic " + base64.b64encode(":".join(ecr_login).encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - http://127.0.0.1 only
            return response.headers["Docker-Content-Digest"]
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return None
        raise


def _ran(output: str, task: str) -> bool:
    """Whether the task ran (its header is followed by a result other than ``skipping``)."""
    return re.search(re.escape(task) + r"[^\n]*\n(?!skipping)", output) is not None


def _docker(env, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *args], env=env, capture_output=True, text=True, check=False)


def test_build_push_rerun_skips_and_release_tag(image, tmp_path, local_stack, ecr_login, docker_env):
    source = _source(tmp_path / "app")
    commit = _git(source, "rev-parse", "HEAD").strip()
    tag = commit[:12]
    path = image.repository["name"]
    role_vars = {
        "image_source_dir": str(source),
        "image_build_args": {"GREETING": "hi-from-build-arg"},
        "image_labels": {"com.example.team": "web"},
    }

    planned = image("--check", **role_vars)
    assert planned.returncode == 0, planned.output
    assert planned.recap()["web"]["changed"] == 1, planned.output
    assert planned.fact["digest"] is None
    assert _manifest(local_stack, ecr_login, path, tag) is None  # check mode pushed nothing

    started = time.monotonic()
    first = image("-vvv", **role_vars)
    first_seconds = time.monotonic() - started
    assert first.returncode == 0, first.output[-6000:]
    assert first.recap()["web"]["failed"] == 0
    _, password = ecr_login
    assert password not in first.output  # the ECR password never reaches the output, not even at -vvv
    assert base64.b64encode(f"AWS:{password}".encode()).decode() not in first.output

    registry_digest = _manifest(local_stack, ecr_login, path, tag)
    assert registry_digest is not None
    assert registry_digest.startswith("sha256:")
    assert first.fact == {
        "digest": registry_digest,
        "reference": f"{ECR_HOST}/{path}@{registry_digest}",
        "push_reference": f"{image.repository['push_uri']}@{registry_digest}",
        "tag": tag,
        "built": True,
    }

    pulled = _docker(docker_env, "pull", first.fact["push_reference"])
    assert pulled.returncode == 0, pulled.stderr
    inspected = _docker(docker_env, "image", "inspect", first.fact["push_reference"])
    assert inspected.returncode == 0, inspected.stderr
    labels = json.loads(inspected.stdout)[0]["Config"]["Labels"]
    assert labels["org.opencontainers.image.revision"] == commit
    assert labels["org.opencontainers.image.created"].endswith("Z")
    assert labels["com.example.team"] == "web"
    greeting = _docker(docker_env, "run", "--rm", "--network", "host", first.fact["push_reference"], "cat", "/greeting")
    assert greeting.stdout.strip() == "hi-from-build-arg"

    started = time.monotonic()
    second = image(**role_vars)
    second_seconds = time.monotonic() - started
    assert second.returncode == 0, second.output
    assert second.recap()["web"]["changed"] == 0, second.output
    assert not _ran(second.output, BUILD_TASK)
    assert not _ran(second.output, PUSH_TASK)
    assert second.fact == {**first.fact, "built": False}
    print(
        f"\nimage role: build + push {first_seconds:.1f} s (at -vvv), re-run of the same commit {second_seconds:.1f} s"
    )

    released = image(image_release_tag="v1.0.0", **role_vars)
    assert released.returncode == 0, released.output
    assert released.recap()["web"]["changed"] == 1, released.output
    assert not _ran(released.output, BUILD_TASK)
    assert _manifest(local_stack, ecr_login, path, "v1.0.0") == registry_digest  # the same image, not rebuilt
    again = image(image_release_tag="v1.0.0", **role_vars)
    assert again.returncode == 0, again.output
    assert again.recap()["web"]["changed"] == 0, again.output

    # A new commit builds a new image; the release tag cannot be moved to it.
    (source / "README").write_text("change\n")
    _git(source, "add", ".")
    _git(source, "commit", "--quiet", "-m", "change")
    moved = image(image_release_tag="v1.0.0", **role_vars)
    assert moved.returncode != 0
    assert "image_release_tag v1.0.0 already names another image" in moved.output
    assert not _ran(moved.output, BUILD_TASK)
    assert _manifest(local_stack, ecr_login, path, "v1.0.0") == registry_digest


def test_image_build_false_needs_an_existing_tag(image, tmp_path, local_stack, ecr_login):
    source = _source(tmp_path / "app")
    run = image(image_source_dir=str(source), image_build=False, image_tag="not-pushed-1")
    assert run.returncode != 0
    assert "image_tag not-pushed-1 is not in the registry" in run.output
    assert not _ran(run.output, BUILD_TASK)
    assert _manifest(local_stack, ecr_login, image.repository["name"], "not-pushed-1") is None


def test_missing_dockerfile_is_refused_before_any_aws_call(image, tmp_path):
    source = _source(tmp_path / "app")
    run = image(image_source_dir=str(source), image_dockerfile="docker/Dockerfile.prod")
    assert run.returncode != 0
    assert "image_dockerfile 'docker/Dockerfile.prod' does not exist in image_source_dir" in run.output
    assert LOGIN_TASK not in run.output


def test_no_git_checkout_and_no_tag_is_refused(image, tmp_path):
    source = _source(tmp_path / "app", git=False)
    run = image(image_source_dir=str(source))
    assert run.returncode != 0
    assert "image_tag is empty" in run.output
    assert "is not a git checkout" in run.output
    assert LOGIN_TASK not in run.output


@pytest.mark.parametrize(
    ("role_vars", "option"),
    [
        ({"image_tag": "-bad tag"}, "image_tag"),
        ({"image_release_tag": "v1 0"}, "image_release_tag"),
        ({"image_platform": "amd64"}, "image_platform"),
        ({"image_build_args": {"NOT-AN-ARG": "x"}}, "image_build_args"),
        ({"image_dockerfile": "../Dockerfile"}, "image_dockerfile"),
        ({"image_repository": {"uri": "x", "push_uri": "no-host"}}, "image_repository"),
        ({"image_build": "sometimes"}, "image_build"),
    ],
)
def test_bad_input_is_refused_by_name_before_any_aws_call(image, tmp_path, role_vars, option):
    source = _source(tmp_path / "app")
    run = image(image_source_dir=str(source), **role_vars)
    assert run.returncode != 0
    assert option in run.output
    assert LOGIN_TASK not in run.output


def test_a_failing_build_shows_the_failing_step_and_its_output(image, tmp_path, local_stack, ecr_login):
    dockerfile = f"FROM {BASE_IMAGE}\nRUN echo preparing && echo disk-quota-marker-4711 >&2 && exit 7\n"
    source = _source(tmp_path / "app", dockerfile=dockerfile)
    tag = _git(source, "rev-parse", "HEAD").strip()[:12]
    run = image(image_source_dir=str(source))
    assert run.returncode != 0
    assert "returned a non-zero code: 7" in run.output
    assert "echo disk-quota-marker-4711" in run.output  # the failing command
    assert "  disk-quota-marker-4711" in run.output  # and what it printed, as a line of the build output
    assert not _ran(run.output, PUSH_TASK)
    assert _manifest(local_stack, ecr_login, image.repository["name"], tag) is None


def test_the_sample_nestjs_api_builds_pushes_and_answers(image, local_stack, ecr_login, docker_env, free_port):
    started = time.monotonic()
    run = image(
        image_source_dir=str(REPO / "examples/nestjs-api"),
        image_build_args={"BASE_IMAGE": BASE_IMAGE, "BUILD_IMAGE": f"{BASE_IMAGE}-build", "APP_VERSION": "pytest"},
        image_target="runtime",
    )
    seconds = time.monotonic() - started
    assert run.returncode == 0, run.output[-6000:]
    print(f"\nimage role: the sample NestJS API built and pushed in {seconds:.1f} s")
    digest = _manifest(local_stack, ecr_login, image.repository["name"], run.fact["tag"])
    assert run.fact["digest"] == digest

    port = free_port()
    container = _docker(
        docker_env, "run", "-d", "--rm", "--network", "host", "-e", f"PORT={port}", run.fact["push_reference"]
    )
    assert container.returncode == 0, container.stderr
    try:
        body = None
        for _ in range(60):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
                    body = json.loads(response.read())
                    break
            except OSError:
                time.sleep(0.5)
        assert body is not None, _docker(docker_env, "logs", container.stdout.strip()).stdout
        assert body["status"] == "ok"
        assert body["version"] == "pytest"
    finally:
        _docker(docker_env, "rm", "--force", container.stdout.strip())
