"""The image role's pure parts: the registry v2 client (against a tiny in-process HTTP server on 127.0.0.1),
the ECR token decoding, the re-tag decision and the docker build error filter."""

from __future__ import annotations

import base64
import datetime
import hashlib
import http.server
import json
import threading
from typing import ClassVar

import pytest
from ansible_collections.shipyard.fargate.plugins.filter.docker_build_error import docker_build_error
from ansible_collections.shipyard.fargate.plugins.module_utils import ecr_login, registry_v2
from ansible_collections.shipyard.fargate.plugins.modules import registry_image_tag

MANIFEST = json.dumps({"schemaVersion": 2, "mediaType": registry_v2.MANIFEST_MEDIA_TYPES[0]}).encode()
DIGEST = "sha256:" + hashlib.sha256(MANIFEST).hexdigest()
AUTH = "Basic " + base64.b64encode(b"AWS:secret-password").decode()


class _Registry(http.server.BaseHTTPRequestHandler):
    """Manifests of repository ``shop/web``: tag ``v1`` only; HEAD sends no digest when ``nodigest`` is asked."""

    stored: ClassVar[dict] = {}

    def log_message(self, *args):
        pass

    def _answer(self, status, body=b"", headers=None):
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _route(self):
        if self.headers.get("Authorization") != AUTH:
            return self._answer(401, b'{"errors": [{"code": "UNAUTHORIZED"}]}')
        prefix = "/v2/shop/web/manifests/"
        reference = self.path[len(prefix) :] if self.path.startswith(prefix) else None
        body = {"v1": MANIFEST, "nodigest": MANIFEST, DIGEST: MANIFEST, **self.stored}.get(reference)
        if body is None:
            return self._answer(404, b'{"errors": [{"code": "MANIFEST_UNKNOWN"}]}')
        headers = {"Content-Type": registry_v2.MANIFEST_MEDIA_TYPES[0]}
        if reference != "nodigest":
            headers["Docker-Content-Digest"] = DIGEST
        return self._answer(200, body, headers)

    do_GET = do_HEAD = _route

    def do_PUT(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.stored[self.path.rsplit("/", 1)[1]] = body
        self._answer(201, headers={"Docker-Content-Digest": "sha256:" + hashlib.sha256(body).hexdigest()})


@pytest.fixture
def registry():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Registry)
    _Registry.stored = {}
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


GOOD_PASSWORD = "secret-password"


def client(address, secret=GOOD_PASSWORD):
    return registry_v2.RegistryClient(f"{address}/shop/web", username="AWS", password=secret)


def test_head_reports_an_existing_tag_with_its_digest(registry):
    assert client(registry).head("v1") == {
        "exists": True,
        "digest": DIGEST,
        "media_type": registry_v2.MANIFEST_MEDIA_TYPES[0],
    }


def test_head_without_a_digest_header_hashes_the_manifest(registry):
    assert client(registry).head("nodigest")["digest"] == DIGEST


def test_a_missing_tag_is_not_an_error(registry):
    assert client(registry).head("v2") == {"exists": False, "digest": None, "media_type": None}


def test_a_refused_password_is_a_401_that_never_shows_the_password(registry):
    with pytest.raises(registry_v2.RegistryError) as caught:
        client(registry, secret="wrong-password").head("v1")
    assert caught.value.status == 401
    assert "401 Unauthorized" in str(caught.value)
    assert "username/password" in str(caught.value)
    assert "wrong-password" not in str(caught.value)


def test_an_unreachable_registry_names_the_url(free_port):
    port = free_port()
    with pytest.raises(registry_v2.RegistryError, match=f"Cannot reach the registry at http://127.0.0.1:{port}/v2/"):
        client(f"127.0.0.1:{port}").head("v1")


def test_put_stores_the_same_bytes_under_a_new_tag(registry):
    registry_client = client(registry)
    manifest = registry_client.get(DIGEST)
    assert registry_client.put("release", manifest["body"], manifest["media_type"]) == DIGEST
    assert registry_client.head("release")["digest"] == DIGEST


@pytest.mark.parametrize(
    ("repository", "expected"),
    [
        ("127.0.0.1:29050/shop/web", ("127.0.0.1:29050", "shop/web")),
        ("123456789012.dkr.ecr.us-east-1.amazonaws.com/web", ("123456789012.dkr.ecr.us-east-1.amazonaws.com", "web")),
        ("localhost/a", ("localhost", "a")),
    ],
)
def test_split_repository(repository, expected):
    assert registry_v2.split_repository(repository) == expected


@pytest.mark.parametrize("repository", ["web", "shop/web", "127.0.0.1:5000", "127.0.0.1:5000/Web", ""])
def test_split_repository_refuses_a_reference_without_host_or_path(repository):
    with pytest.raises(ValueError, match=r"repository|registry host|not a valid"):
        registry_v2.split_repository(repository)


@pytest.mark.parametrize(
    ("host", "scheme"),
    [
        ("127.0.0.1:29050", "http"),
        ("localhost", "http"),
        ("[::1]:5000", "http"),
        ("123456789012.dkr.ecr.us-east-1.amazonaws.com", "https"),
        ("registry.example.com:5000", "https"),
    ],
)
def test_default_scheme(host, scheme):
    assert registry_v2.default_scheme(host) == scheme


@pytest.mark.parametrize(("value", "valid"), [("v1.0.0", True), ("3f2a9c1d0b7e", True), ("-x", False), ("a b", False)])
def test_is_reference(value, valid):
    assert registry_v2.is_reference(value) is valid
    assert registry_v2.is_reference(DIGEST)


def test_error_codes_reads_registry_errors_and_tolerates_junk():
    assert registry_v2.error_codes(b'{"errors": [{"code": "DENIED"}, {"code": "NAME_UNKNOWN"}]}') == [
        "DENIED",
        "NAME_UNKNOWN",
    ]
    assert registry_v2.error_codes(b"<html>") == []


def test_ecr_token_decodes_to_username_password_and_host():
    expires = datetime.datetime(2030, 1, 1, tzinfo=datetime.UTC)
    entry = {
        "authorizationToken": base64.b64encode(b"AWS:abc:def").decode(),
        "proxyEndpoint": "https://123456789012.dkr.ecr.us-east-1.amazonaws.com",
        "expiresAt": expires,
    }
    assert ecr_login.decode_authorization(entry) == {
        "registry": "123456789012.dkr.ecr.us-east-1.amazonaws.com",
        "proxy_endpoint": "https://123456789012.dkr.ecr.us-east-1.amazonaws.com",
        "username": "AWS",
        "password": "abc:def",  # only the first ':' separates user and password
        "expires_at": "2030-01-01T00:00:00+00:00",
    }


@pytest.mark.parametrize(
    ("repository", "registry_id"),
    [
        ("123456789012.dkr.ecr.us-east-1.amazonaws.com/shop/web", "123456789012"),
        ("123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com/web", "123456789012"),
        ("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/web", "123456789012"),
        ("127.0.0.1:29050/shop/web", None),  # the local registry: the caller's default ECR registry
        ("ghcr.io/shop/web", None),
        ("123456789012.dkr.ecr.us-east-1.amazonaws.com.evil.test/web", None),
    ],
)
def test_the_ecr_registry_of_a_repository_is_its_account(repository, registry_id):
    assert ecr_login.registry_id_of(repository) == registry_id


@pytest.mark.parametrize("token", ["not base64!", base64.b64encode(b"no-colon").decode()])
def test_a_malformed_ecr_token_is_refused(token):
    with pytest.raises(ValueError, match="not base64 'user:password'"):
        ecr_login.decode_authorization({"authorizationToken": token})


@pytest.mark.parametrize(
    ("source", "target", "action"),
    [
        ({"exists": True, "digest": DIGEST}, {"exists": False, "digest": None}, "tag"),
        ({"exists": True, "digest": DIGEST}, {"exists": True, "digest": DIGEST}, "noop"),
        ({"exists": True, "digest": DIGEST}, {"exists": True, "digest": "sha256:" + "0" * 64}, "error"),
        ({"exists": False, "digest": None}, {"exists": False, "digest": None}, "error"),
    ],
)
def test_retag_decision_never_moves_a_tag(source, target, action):
    assert registry_image_tag._decide(source, target)[0] == action


def test_docker_build_error_shows_the_failing_step_and_its_output():
    message = (
        "Error building 127.0.0.1:29050/t/web - code: 3, message: The command '/bin/sh -c make && exit 3' returned a "
        "non-zero code: 3, logs: ['Step 1/2 : FROM base', '', ' ---> 2e90f672cb38', 'Step 2/2 : RUN make && exit 3', "
        "'building step', '\\x1b[91mcompiler says no', '\\x1b[0m']"
    )
    text = docker_build_error(message)
    assert text.splitlines()[0] == "The command '/bin/sh -c make && exit 3' returned a non-zero code: 3 (exit code 3)"
    assert "  Step 2/2 : RUN make && exit 3" in text.splitlines()
    assert "  compiler says no" in text.splitlines()
    assert "\x1b" not in text


def test_docker_build_error_keeps_the_last_lines_and_passes_other_messages():
    logs = [f"line {n}" for n in range(100)]
    text = docker_build_error(f"Error building x - code: 1, message: failed, logs: {logs!r}", tail=5)
    assert text.splitlines()[2:] == ["  ... (95 earlier lines)", *[f"  line {n}" for n in range(95, 100)]]
    assert docker_build_error("Cannot connect to the Docker daemon") == "Cannot connect to the Docker daemon"


# --- Deleting a repository's images (destroy.yml -e shipyard_destroy_data=true on a registry that is not ECR) ----


class _DeletingRegistry(http.server.BaseHTTPRequestHandler):
    """Repository ``shop/web`` with tags (two on one manifest), listed one per page; DELETE by digest drops every tag
    on that manifest, as distribution does. ``deletes_allowed`` False answers 405 like distribution without
    ``storage.delete.enabled``."""

    tags: ClassVar[dict] = {}
    deletes: ClassVar[list] = []
    deletes_allowed: ClassVar[bool] = True

    def log_message(self, *args):
        pass

    def _answer(self, status, body=b"", headers=None):
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _authorized(self):
        if self.headers.get("Authorization") == AUTH:
            return True
        self._answer(401, b'{"errors": [{"code": "UNAUTHORIZED"}]}')
        return False

    def do_GET(self):
        if not self._authorized():
            return None
        path, _, query = self.path.partition("?")
        if path != "/v2/shop/web/tags/list":
            return self._answer(404)
        if not self.tags:
            return self._answer(404, b'{"errors": [{"code": "NAME_UNKNOWN"}]}')
        names = sorted(self.tags)
        last = query.partition("last=")[2]
        page = [n for n in names if n > last][:1]
        headers = {"Content-Type": "application/json"}
        if page and page[-1] != names[-1]:
            headers["Link"] = f'</v2/shop/web/tags/list?n=1&last={page[-1]}>; rel="next"'
        return self._answer(200, json.dumps({"name": "shop/web", "tags": page}).encode(), headers)

    def do_HEAD(self):
        if not self._authorized():
            return None
        digest = self.tags.get(self.path.rsplit("/", 1)[1])
        if digest is None:
            return self._answer(404)
        return self._answer(200, headers={"Docker-Content-Digest": digest})

    def do_DELETE(self):
        if not self._authorized():
            return None
        digest = self.path.rsplit("/", 1)[1]
        if not self.deletes_allowed:
            return self._answer(405, b'{"errors": [{"code": "UNSUPPORTED"}]}')
        if digest not in self.tags.values():
            return self._answer(404, b'{"errors": [{"code": "MANIFEST_UNKNOWN"}]}')
        self.deletes.append(digest)
        for tag in [t for t, d in self.tags.items() if d == digest]:
            del self.tags[tag]
        return self._answer(202)


OTHER = "sha256:" + "b" * 64


@pytest.fixture
def deleting_registry():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _DeletingRegistry)
    _DeletingRegistry.tags = {"v1": DIGEST, "release-1": DIGEST, "v2": OTHER}
    _DeletingRegistry.deletes = []
    _DeletingRegistry.deletes_allowed = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_tags_follows_the_pages_of_the_listing(deleting_registry):
    assert client(deleting_registry).tags() == ["release-1", "v1", "v2"]


def test_tags_of_a_repository_the_registry_does_not_know_is_empty(deleting_registry):
    _DeletingRegistry.tags = {}
    assert client(deleting_registry).tags() == []


def test_delete_removes_a_manifest_and_every_tag_on_it(deleting_registry):
    registry_client = client(deleting_registry)
    assert registry_client.delete(DIGEST) is True
    assert registry_client.tags() == ["v2"]
    assert registry_client.delete(DIGEST) is False  # already gone: not an error


def test_delete_refuses_a_tag_before_asking_the_registry(deleting_registry):
    with pytest.raises(registry_v2.RegistryError, match="Only a manifest digest"):
        client(deleting_registry).delete("v1")
    assert _DeletingRegistry.deletes == []


def test_a_registry_that_forbids_deletes_says_which_setting_allows_them(deleting_registry):
    _DeletingRegistry.deletes_allowed = False
    with pytest.raises(registry_v2.RegistryError, match=r"storage\.delete\.enabled: true") as caught:
        client(deleting_registry).delete(DIGEST)
    assert caught.value.status == 405


def test_digests_to_delete_names_each_manifest_once():
    assert registry_v2.digests_to_delete({"v1": OTHER, "latest": OTHER, "v0": DIGEST, "gone": None}) == sorted(
        [OTHER, DIGEST]
    )
    assert registry_v2.digests_to_delete({}) == []


@pytest.mark.parametrize(
    ("host", "ecr"),
    [
        ("123456789012.dkr.ecr.us-east-1.amazonaws.com", True),
        ("123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com", True),
        ("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn", True),
        ("127.0.0.1:29050", False),
        ("registry.example.com", False),
        ("123456789012.dkr.ecr.us-east-1.amazonaws.com.evil.example", False),
    ],
)
def test_only_ecr_deletes_the_images_with_the_repository(host, ecr):
    assert registry_v2.deletes_images_with_repository(host) is ecr


def _run_images_absent(capsys, address, check_mode=False, **extra):
    from ansible.module_utils.testing import patch_module_args
    from ansible_collections.shipyard.fargate.plugins.modules import registry_images_absent

    args = {
        "repository": f"{address}/shop/web",
        "username": "AWS",
        "password": GOOD_PASSWORD,
        "_ansible_check_mode": check_mode,
        "_ansible_diff": True,
        **extra,
    }
    with patch_module_args(args), pytest.raises(SystemExit):
        registry_images_absent.main()
    return json.loads(capsys.readouterr().out)


def test_the_module_deletes_every_image_and_a_rerun_changes_nothing(deleting_registry, capsys):
    result = _run_images_absent(capsys, deleting_registry)
    assert result["changed"] is True
    assert result["deleted_tags"] == ["release-1", "v1", "v2"]
    assert sorted(_DeletingRegistry.deletes) == sorted([DIGEST, OTHER])  # each manifest once
    assert result["diff"] == {"before": {"tags": ["release-1", "v1", "v2"]}, "after": {"tags": []}}
    assert GOOD_PASSWORD not in json.dumps(result)
    assert client(deleting_registry).tags() == []
    again = _run_images_absent(capsys, deleting_registry)
    assert (again["changed"], again["deleted_tags"]) == (False, [])


def test_the_module_in_check_mode_lists_what_it_would_delete_and_deletes_nothing(deleting_registry, capsys):
    result = _run_images_absent(capsys, deleting_registry, check_mode=True)
    assert (result["changed"], result["deleted_digests"]) == (True, sorted([DIGEST, OTHER]))
    assert _DeletingRegistry.deletes == []
    assert client(deleting_registry).tags() == ["release-1", "v1", "v2"]


def test_the_module_leaves_ecr_to_the_repository_deletion(capsys):
    # No server at all: on ECR the module must not even ask.
    result = _run_images_absent(capsys, "123456789012.dkr.ecr.us-east-1.amazonaws.com")
    assert result["changed"] is False
    assert "ECR deletes" in result["skipped_reason"]
