"""shipyard.fargate.registry_image_push against the local stack's Docker engine and registry (the ECR login of the
emulator): the push and its digest read back from the registry, check mode, and the refusals - a wrong login, an
image the engine does not hold - that say what to check and never show the password."""

from __future__ import annotations

import base64
import json
import subprocess
import urllib.error
import urllib.request

import pytest
from local_cloud import busybox_app_tar

pytestmark = pytest.mark.stack


@pytest.fixture
def local_image(stack_env, local_stack, unique_name):
    """The busybox app imported into the stack's engine as ``<registry>/<unique>/web:v1`` (removed afterwards); its
    one layer is this test's own (the script names it), so the registry, which keeps blobs across runs, lacks it."""
    repository = f"{local_stack.config.registry_address}/{unique_name}/web"
    layer = busybox_app_tar(f"#!/bin/sh\necho {unique_name}\n")
    done = subprocess.run(["docker", "import", "-", f"{repository}:v1"], env=stack_env, input=layer,
                          capture_output=True, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr.decode()
    yield repository
    subprocess.run(["docker", "rmi", f"{repository}:v1"], env=stack_env, capture_output=True, check=False)


@pytest.fixture
def login(aws):
    token = aws("ecr").get_authorization_token()["authorizationData"][0]["authorizationToken"]
    user, _, password = base64.b64decode(token).decode().partition(":")
    return user, password


def _registry_digest(repository, login, tag):
    host, path = repository.split("/", 1)
    request = urllib.request.Request(f"http://{host}/v2/{path}/manifests/{tag}", method="HEAD")
    request.add_header("Accept", "application/vnd.docker.distribution.manifest.v2+json")
    request.add_header("Authorization", "Basic " + base64.b64encode(":".join(login).encode()).decode())
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - the local registry on 127.0.0.1
        return answer.headers["Docker-Content-Digest"]


def test_a_push_writes_the_tag_and_returns_the_digest_the_registry_holds(run_module, local_image, login):
    args = {"repository": local_image, "tag": "v1", "username": login[0], "password": login[1]}

    planned = run_module("registry_image_push", args, check_mode=True, aws=False)
    assert planned.returncode == 0, planned.output
    assert (planned.result["changed"], planned.result["digest"]) == (True, None)
    with pytest.raises(urllib.error.HTTPError):  # check mode pushed nothing
        _registry_digest(local_image, login, "v1")

    pushed = run_module("registry_image_push", args, aws=False)
    assert pushed.returncode == 0, pushed.output
    assert pushed.result["changed"] is True
    assert pushed.result["layers_pushed"] == 1  # the import is one layer, new to the registry
    assert pushed.result["digest"] == _registry_digest(local_image, login, "v1")
    assert pushed.result["digest"].startswith("sha256:")
    assert login[1] not in json.dumps(pushed.result)

    again = run_module("registry_image_push", args, aws=False)
    assert again.returncode == 0, again.output
    assert (again.result["digest"], again.result["layers_pushed"]) == (pushed.result["digest"], 0)


def test_a_wrong_login_is_refused_naming_what_to_check_without_showing_the_password(run_module, local_image, login):
    wrong = "not-the-" + login[1][:12]
    refused = run_module(
        "registry_image_push",
        {"repository": local_image, "tag": "v1", "username": login[0], "password": wrong},
        aws=False,
    )
    assert refused.returncode != 0
    assert "The registry refused the login" in refused.result["msg"], refused.result["msg"]
    assert wrong not in refused.output


def test_an_image_the_engine_does_not_hold_is_refused_before_any_push(run_module, local_image, login):
    missing = run_module(
        "registry_image_push",
        {"repository": local_image, "tag": "v9", "username": login[0], "password": login[1]},
        aws=False,
    )
    assert missing.returncode != 0
    assert missing.result["msg"] == f"The Docker engine holds no image {local_image}:v9 to push"


def test_ecr_login_gets_the_login_in_the_same_run_and_the_push_needs_no_password_from_the_play(
    run_module, local_image, login
):
    """ecr_login: GetAuthorizationToken with the AWS options (region and endpoint: the emulator), the registry here
    standing in for ECR (a 127.0.0.1 host: the caller's default registry). The token is the one the registry takes."""
    args = {"repository": local_image, "tag": "v1", "ecr_login": True}
    pushed = run_module("registry_image_push", args)
    assert pushed.returncode == 0, pushed.output
    assert pushed.result["changed"] is True
    assert pushed.result["digest"] == _registry_digest(local_image, login, "v1")
    assert login[1] not in pushed.output


def test_ecr_login_with_a_password_is_refused_naming_both_options(run_module, local_image, login):
    both = run_module(
        "registry_image_push",
        {"repository": local_image, "tag": "v1", "ecr_login": True, "username": login[0], "password": login[1]},
    )
    assert both.returncode != 0
    assert "mutually exclusive" in both.result["msg"], both.result["msg"]
    assert "ecr_login" in both.result["msg"], both.result["msg"]
    assert login[1] not in both.output
