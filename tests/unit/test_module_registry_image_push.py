"""shipyard.fargate.registry_image_push: what the engine's push stream says, the login header, the error messages.
(The push itself, against the local stack's Docker engine and registry: tests/integration/test_role_image.py.)"""

from __future__ import annotations

import base64
import json

import pytest
from ansible_collections.community.docker.plugins.module_utils._api.auth import encode_header
from ansible_collections.shipyard.fargate.plugins.modules import registry_image_push as module

DIGEST = "sha256:" + "ab" * 32

# What Docker 26 streams for `POST /images/127.0.0.1:29050/shop/web/push?tag=v2` (one new layer, one known).
PUSHED = [
    {"status": "The push refers to repository [127.0.0.1:29050/shop/web]"},
    {"status": "Preparing", "progressDetail": {}, "id": "5f70bf18a086"},
    {"status": "Preparing", "progressDetail": {}, "id": "a1b2c3d4e5f6"},
    {"status": "Layer already exists", "progressDetail": {}, "id": "5f70bf18a086"},
    {"status": "Pushing", "progressDetail": {"current": 512, "total": 2048}, "id": "a1b2c3d4e5f6"},
    {"status": "Pushing", "progressDetail": {"current": 2048, "total": 2048}, "id": "a1b2c3d4e5f6"},
    {"status": "Pushed", "progressDetail": {}, "id": "a1b2c3d4e5f6"},
    {"status": f"v2: digest: {DIGEST} size: 739"},
    {"progressDetail": {}, "aux": {"Tag": "v2", "Digest": DIGEST, "Size": 739}},
]


def test_a_push_reports_the_digest_and_the_layers_the_registry_did_not_have():
    assert module.push_outcome(PUSHED) == {"error": None, "digest": DIGEST, "layers_pushed": 1}


def test_a_push_of_what_the_registry_has_pushes_no_layer_but_still_reports_the_digest():
    known = [line for line in PUSHED if line.get("status") not in ("Pushing", "Pushed")]
    assert module.push_outcome(known) == {"error": None, "digest": DIGEST, "layers_pushed": 0}


def test_a_failure_in_the_stream_is_the_error_even_after_progress():
    # The engine answers HTTP 200 and reports a refused push inside the stream.
    refused = [*PUSHED[:3], {"errorDetail": {"message": "unauthorized: authentication required"},
                             "error": "unauthorized: authentication required"}]  # fmt: skip
    outcome = module.push_outcome(refused)
    assert outcome["error"] == "unauthorized: authentication required"
    assert outcome["digest"] is None
    assert module.push_outcome([{"error": "denied: requested access to the resource is denied"}])["error"] == (
        "denied: requested access to the resource is denied"
    )


@pytest.mark.parametrize(
    ("error", "hint"),
    [
        ("unauthorized: authentication required", "The registry refused the login"),
        ("denied: requested access to the resource is denied", "Does the repository exist"),
        ("name unknown: The repository with name 'shop/web' does not exist", "Does the repository exist"),
        ("received unexpected HTTP status: 500 Internal Server Error", None),
    ],
)
def test_a_refused_push_says_what_to_check(error, hint):
    message = module.explain_push_error(error, "127.0.0.1:29050/shop/web", "v2")
    assert message.startswith(f"Pushing 127.0.0.1:29050/shop/web:v2 failed: {error}")
    if hint:
        assert hint in message
    else:
        assert message == f"Pushing 127.0.0.1:29050/shop/web:v2 failed: {error}"


def test_the_login_goes_to_the_repositorys_registry_host_only_in_the_header():
    auth = module.registry_auth("123456789012.dkr.ecr.us-east-1.amazonaws.com/shop/web", "AWS", "s3cret")
    assert auth == {
        "username": "AWS",
        "password": "s3cret",
        "serveraddress": "123456789012.dkr.ecr.us-east-1.amazonaws.com",
    }
    decoded = json.loads(base64.urlsafe_b64decode(encode_header(auth)))
    assert decoded == auth
    # Anonymous: an empty auth, still sent (Docker 28.3.3 refuses a push without the header).
    assert module.registry_auth("127.0.0.1:29050/shop/web", None, None) == {}
    assert base64.urlsafe_b64decode(encode_header({})) == b"{}"


def test_the_password_is_masked_in_any_message():
    assert module._redact("login s3cret refused (s3cret)", "s3cret") == "login ******** refused (********)"
    assert module._redact("nothing to hide", None) == "nothing to hide"


# --- ecr_login: which registry is asked, TLS, and an empty answer (the AWS client recorded) ------------------------


class _Failed(Exception):
    pass


class _Module:
    """What ecr_login uses of a module: params (validate_certs is the Docker engine's, off here), _name, fail_json."""

    _name = "registry_image_push"

    def __init__(self):
        self.params = {"validate_certs": False, "region": "us-east-1"}

    def fail_json(self, msg, **_):
        raise _Failed(msg)


@pytest.fixture
def ecr(monkeypatch):
    """The ECR client ecr_login gets: records each GetAuthorizationToken's arguments and the connection's options."""
    seen = {
        "calls": [],
        "answer": {"authorizationData": [{"authorizationToken": base64.b64encode(b"AWS:pw").decode()}]},
    }

    class Client:
        def get_authorization_token(self, **kwargs):
            seen["calls"].append(kwargs)
            return seen["answer"]

    def connection_info(aws):
        seen["validate_certs"] = aws.params["validate_certs"]
        return "us-east-1", None, {}

    monkeypatch.setattr(module, "get_aws_connection_info", connection_info)
    monkeypatch.setattr(module, "boto3_conn", lambda aws, **kwargs: Client())
    return seen


def test_ecr_login_asks_for_the_repositorys_registry_or_the_one_named(ecr):
    ecr_host = "123456789012.dkr.ecr.us-east-1.amazonaws.com/shop/web"
    assert module.ecr_login(_Module(), ecr_host, None) == ("AWS", "pw")
    assert module.ecr_login(_Module(), "127.0.0.1:29050/shop/web", "210987654321") == ("AWS", "pw")
    assert module.ecr_login(_Module(), "127.0.0.1:29050/shop/web", None) == ("AWS", "pw")
    assert ecr["calls"] == [{"registryIds": ["123456789012"]}, {"registryIds": ["210987654321"]}, {}]


def test_ecr_login_verifies_tls_to_aws_whatever_the_engines_validate_certs_says(ecr):
    module.ecr_login(_Module(), "127.0.0.1:29050/shop/web", None)
    assert ecr["validate_certs"] is True


def test_ecr_login_says_when_ecr_returns_no_login(ecr):
    ecr["answer"] = {"authorizationData": []}
    with pytest.raises(_Failed, match="ecr_login: ECR returned no authorization data for 210987654321"):
        module.ecr_login(_Module(), "127.0.0.1:29050/shop/web", "210987654321")
