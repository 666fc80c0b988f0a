"""destroy.yml -e shipyard_destroy_data=true: the registry role, state absent with force, takes the repository's images
out of the real local registry too (distribution keeps them when only the emulator's ECR repository goes)."""

from __future__ import annotations

import base64
import hashlib
import json
import urllib.error
import urllib.request

import pytest

pytestmark = pytest.mark.stack


def _ecr_login(aws):
    data = aws("ecr").get_authorization_token()["authorizationData"][0]
    user, _, password = base64.b64decode(data["authorizationToken"]).decode().partition(":")
    return user, password


class _Registry:
    """The Docker Registry HTTP API v2 with the ECR login: just what pushing a tiny image and reading tags needs."""

    def __init__(self, address, user, password):
        self.base = f"http://{address}"
        self.auth = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()

    def call(self, method, path, body=None, headers=None):
        url = path if path.startswith("http") else self.base + path
        request = urllib.request.Request(url, data=body, method=method, headers={"Authorization": self.auth})  # noqa: S310
        for key, value in (headers or {}).items():
            request.add_header(key, value)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - http://127.0.0.1 only
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()

    def push_blob(self, name, data):
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        status, headers, _ = self.call("POST", f"/v2/{name}/blobs/uploads/")
        assert status == 202, status
        location = headers["Location"]
        separator = "&" if "?" in location else "?"
        status, _, body = self.call(
            "PUT",
            f"{location}{separator}digest={digest}",
            data,
            {"Content-Type": "application/octet-stream"},
        )
        assert status == 201, (status, body)
        return digest

    def push_image(self, name, tag, text):
        """A one-layer image (config + layer blob + schema 2 manifest), no docker build."""
        config = json.dumps({"architecture": "amd64", "os": "linux", "config": {}, "rootfs": {"type": "layers"}})
        config = config.encode()
        layer = text.encode()
        media = "application/vnd.docker.distribution.manifest.v2+json"
        manifest = {
            "schemaVersion": 2,
            "mediaType": media,
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "size": len(config),
                "digest": self.push_blob(name, config),
            },
            "layers": [
                {
                    "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                    "size": len(layer),
                    "digest": self.push_blob(name, layer),
                }
            ],
        }
        status, _, body = self.call(
            "PUT", f"/v2/{name}/manifests/{tag}", json.dumps(manifest).encode(), {"Content-Type": media}
        )
        assert status == 201, (status, body)

    def tags(self, name):
        status, _, body = self.call("GET", f"/v2/{name}/tags/list")
        return sorted(json.loads(body).get("tags") or []) if status == 200 else []


def test_the_registry_role_finds_a_pushed_tag_and_deleting_the_repository_deletes_its_images(
    local_stack, aws, role_runner, unique_name
):
    name = f"{unique_name}/web"
    registry = _Registry(local_stack.config.registry_address, *_ecr_login(aws))
    aws("ecr").create_repository(repositoryName=name)
    registry.push_image(name, "v1", "one")
    registry.push_image(name, "v2", "two")
    registry.call("PUT", f"/v2/{name}/manifests/release-1", *_manifest_of(registry, name, "v1"))
    assert registry.tags(name) == ["release-1", "v1", "v2"]

    run = role_runner("tests/integration/playbooks/registry.yml", {"registry_name": name})
    # registry_image_tag (provision: is a new service's image there?) asks the same registry, at the push host.
    present = run(registry_image_tag="v2")
    assert present.returncode == 0, present.output[-4000:]
    assert (present.fact["image_tag"], present.fact["image_tag_exists"]) == ("v2", True)

    # Check mode and the re-run that changes nothing: tests/unit/test_module_registry_image.py.
    destroyed = run(registry_state="absent", registry_force_delete=True)
    assert destroyed.returncode == 0, destroyed.output[-4000:]
    assert registry.tags(name) == []
    assert registry.call("GET", f"/v2/{name}/manifests/v1")[0] == 404
    assert name not in [r["repositoryName"] for r in aws("ecr").describe_repositories()["repositories"]]


def _manifest_of(registry, name, tag):
    media = "application/vnd.docker.distribution.manifest.v2+json"
    status, _, body = registry.call("GET", f"/v2/{name}/manifests/{tag}", headers={"Accept": media})
    assert status == 200, status
    return body, {"Content-Type": media}
