"""Role shipyard.fargate.image against the local stack: the emulator's ECR login, the real registry, the engine.

Besides bad input refused before any AWS call: the ECR password never appears in the output of a build and push at
-vvv; a failing build shows its failing step and output; image_build=false deploys the commit CI pushed with no
engine and no build. The role's lifecycle (check, build + push, a re-run that
skips both, the release tag, the refusals to build nothing or move a tag, labels and build arguments) is its Molecule
scenario's: extensions/molecule/image/. The sample NestJS API built, pushed and answering: test_stack_flow.py.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from local_cloud import base_image

pytestmark = pytest.mark.stack
REPO = Path(__file__).resolve().parents[2]
PLAYBOOK = "tests/integration/playbooks/image.yml"
ECR_HOST = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
BASE_IMAGE = "shipyard/node-debian:bookworm"
LOGIN_TASK = "TASK [shipyard.fargate.image : Get an ECR login"
PUSH_TASK = "TASK [shipyard.fargate.image : Push the image and read its digest from the registry"
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
    """The Node base images, built from Debian packages by scripts/base-image node (skips when they exist)."""
    failed = base_image(stack_env, "node")
    assert failed == "", failed
    return BASE_IMAGE


@pytest.fixture(scope="session")
def ecr_login(aws):
    data = aws("ecr").get_authorization_token()["authorizationData"][0]
    user, _, password = base64.b64decode(data["authorizationToken"]).decode().partition(":")
    return user, password


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


def _push_manifest(local_stack, ecr_login, path: str, tag: str) -> str:
    """Push a minimal image (a config blob and no layer) as ``path:tag`` over the registry API; its digest.

    As CI would push it, without the engine: the role must find it in the registry, nothing else."""
    authorization = "Basic " + base64.b64encode(":".join(ecr_login).encode()).decode()

    def call(method: str, target: str, body: bytes = b"", content_type: str = "application/octet-stream"):
        headers = {"Authorization": authorization, "Content-Type": content_type}
        url = f"http://{local_stack.config.registry_address}{target}"
        request = urllib.request.Request(url, data=body, method=method, headers=headers)
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - http://127.0.0.1 only
            return response.headers

    config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}})
    config_digest = "sha256:" + hashlib.sha256(config.encode()).hexdigest()
    upload = urllib.parse.urlsplit(call("POST", f"/v2/{path}/blobs/uploads/")["Location"])
    query = urllib.parse.urlencode([*urllib.parse.parse_qsl(upload.query), ("digest", config_digest)])
    call("PUT", f"{upload.path}?{query}", config.encode())
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {
            "mediaType": "application/vnd.docker.container.image.v1+json",
            "size": len(config),
            "digest": config_digest,
        },
        "layers": [],
    }
    return call("PUT", f"/v2/{path}/manifests/{tag}", json.dumps(manifest).encode(), manifest["mediaType"])[
        "Docker-Content-Digest"
    ]


def _ran(output: str, task: str) -> bool:
    """Whether the task ran (its header is followed by a result other than ``skipping``)."""
    return re.search(re.escape(task) + r"[^\n]*\n(?!skipping)", output) is not None


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


def test_the_ecr_password_never_appears_in_the_output_at_vvv(image, tmp_path, local_stack, ecr_login):
    """One build and push at -vvv: the login reaches the registry look-ups, `docker login` and the push."""
    source = _source(tmp_path / "app")
    tag = _git(source, "rev-parse", "HEAD").strip()[:12]
    run = image("-vvv", image_source_dir=str(source))
    assert run.returncode == 0, run.output[-6000:]
    assert _manifest(local_stack, ecr_login, image.repository["name"], tag) is not None  # built and pushed
    _, password = ecr_login
    assert password not in run.output
    assert base64.b64encode(f"AWS:{password}".encode()).decode() not in run.output


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


def test_image_build_false_deploys_the_pushed_commit_and_never_builds_nor_needs_an_engine(
    image, tmp_path, local_stack, ecr_login, stack_env, monkeypatch
):
    """The controller's way (an execution environment has no Docker engine): CI pushed the commit's tag; the role
    resolves the same tag from the checkout's commit and takes its digest from the registry. No engine answers at
    DOCKER_HOST and the Dockerfile cannot build: any build would fail. The option comes as a string, as ``-e`` gives
    it."""
    source = _source(tmp_path / "app", dockerfile="FROM scratch\nRUN exit 9\n")
    tag = _git(source, "rev-parse", "HEAD").strip()[:12]
    digest = _push_manifest(local_stack, ecr_login, image.repository["name"], tag)
    monkeypatch.setitem(stack_env, "DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")

    run = image("-e", "image_build=false", image_source_dir=str(source))

    assert run.returncode == 0, run.output[-6000:]
    assert run.fact == {
        "digest": digest,
        "reference": f"{image.repository['uri']}@{digest}",
        "push_reference": f"{image.repository['push_uri']}@{digest}",
        "tag": tag,
        "built": False,
    }
    assert not _ran(run.output, "TASK [shipyard.fargate.image : Build the image from the Dockerfile")
