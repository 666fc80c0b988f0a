"""The real ECR login flow against the local registry: GetAuthorizationToken -> docker login -> push."""

from __future__ import annotations

import base64
import io
import subprocess
import tarfile
import urllib.error
import urllib.request
import uuid

import pytest

pytestmark = pytest.mark.stack


def _docker(env, *args, stdin: bytes | None = None):
    return subprocess.run(["docker", *args], env=env, input=stdin, capture_output=True, check=False)


@pytest.fixture
def docker_env(stack_env, tmp_path):
    """Docker CLI environment with a throwaway config dir, so logins never touch the user's ~/.docker."""
    return {**stack_env, "DOCKER_CONFIG": str(tmp_path / "docker-config")}


def _ecr_login(aws):
    data = aws("ecr").get_authorization_token()["authorizationData"][0]
    user, _, password = base64.b64decode(data["authorizationToken"]).decode().partition(":")
    return user, password


def _tiny_image(env, name: str) -> None:
    """A real one-file image made with `docker import` (no image hub needed)."""
    payload = io.BytesIO()
    with tarfile.open(fileobj=payload, mode="w") as tar:
        body = f"shipyard {name}\n".encode()
        info = tarfile.TarInfo("hello.txt")
        info.size = len(body)
        tar.addfile(info, io.BytesIO(body))
    result = _docker(env, "import", "-", name, stdin=payload.getvalue())
    assert result.returncode == 0, result.stderr.decode()


def _registry_get(address: str, path: str, user: str | None = None, password: str | None = None) -> int:
    request = urllib.request.Request(f"http://{address}{path}")
    if user is not None:
        request.add_header("Authorization", "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - http://127.0.0.1 only
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_ecr_token_logs_in_and_pushes(local_stack, aws, docker_env):
    registry = local_stack.config.registry_address
    user, password = _ecr_login(aws)
    login = _docker(docker_env, "login", "--username", user, "--password-stdin", registry, stdin=password.encode())
    assert login.returncode == 0, login.stderr.decode()
    assert password not in login.stdout.decode() + login.stderr.decode()

    repository = f"pytest/{uuid.uuid4().hex[:8]}"
    local_name = f"shipyard-pytest-{uuid.uuid4().hex[:8]}:1"
    _tiny_image(docker_env, local_name)
    remote = f"{registry}/{repository}:1"
    try:
        assert _docker(docker_env, "tag", local_name, remote).returncode == 0
        push = _docker(docker_env, "push", remote)
        assert push.returncode == 0, push.stderr.decode()
        assert _registry_get(registry, f"/v2/{repository}/manifests/1", user, password) == 200
        assert _registry_get(registry, f"/v2/{repository}/manifests/1") == 401  # no anonymous reads
    finally:
        _docker(docker_env, "rmi", "--force", local_name, remote)


def test_wrong_password_is_refused(local_stack, aws, docker_env):
    registry = local_stack.config.registry_address
    user, password = _ecr_login(aws)
    wrong = _docker(docker_env, "login", "--username", user, "--password-stdin", registry, stdin=b"not-the-token")
    assert wrong.returncode != 0
    assert "401" in wrong.stderr.decode()
    assert _registry_get(registry, "/v2/", user, password + "x") == 401
    assert _registry_get(registry, "/v2/", user, password) == 200
