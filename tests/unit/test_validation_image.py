"""The image role's option rules (plugins/module_utils/validation/image.py); the disk checks stay in the role."""

from __future__ import annotations

import pytest
from ansible_collections.shipyard.fargate.plugins.module_utils.validation import image as rules

VALID = {
    "image_repository": {
        "uri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/stack/web",
        "push_uri": "127.0.0.1:29050/stack/web",
    },
    "image_source_dir": "/src/web/",
    "image_build": True,
    "image_dockerfile": "Dockerfile",
    "image_tag": "",
    "image_release_tag": "",
    "image_platform": "linux/amd64",
    "image_build_args": {"NODE_VERSION": "18"},
    "image_version_build_arg": "APP_VERSION",
    "image_labels": {"org.opencontainers.image.title": "web"},
}


def errors(**overrides):
    return rules.image_errors({**VALID, **overrides})


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({}, id="defaults"),
        pytest.param({"image_tag": "1.4.2", "image_release_tag": "latest"}, id="tags"),
        pytest.param({"image_tag": "a" * 128}, id="tag-128"),
        pytest.param({"image_tag": "_x"}, id="tag-underscore-first"),
        pytest.param({"image_build": False, "image_source_dir": "", "image_tag": "1.0"}, id="no-build-with-tag"),
        pytest.param({"image_dockerfile": "docker/Dockerfile.prod"}, id="dockerfile-subdir"),
        pytest.param({"image_platform": "linux/arm64/v8"}, id="platform-variant"),
        pytest.param({"image_build_args": {}, "image_version_build_arg": "", "image_labels": {}}, id="empty"),
    ],
)
def test_valid_options_pass(overrides):
    assert errors(**overrides) == []


@pytest.mark.parametrize(
    ("overrides", "option"),
    [
        pytest.param({"image_repository": "stack/web"}, "image_repository", id="repository-not-dict"),
        pytest.param(
            {"image_repository": {"uri": "x/y", "push_uri": "no-host"}}, "image_repository", id="push-uri-shape"
        ),
        pytest.param(
            {"image_repository": {"uri": "Host/Stack", "push_uri": "127.0.0.1:29050/stack/web"}},
            "image_repository",
            id="uri-shape",
        ),
        pytest.param({"image_source_dir": ""}, "image_source_dir", id="no-source"),
        pytest.param(
            {"image_build": False, "image_source_dir": None}, "image_source_dir", id="no-build-no-source-no-tag"
        ),
        pytest.param({"image_dockerfile": "/etc/Dockerfile"}, "image_dockerfile", id="dockerfile-absolute"),
        pytest.param({"image_dockerfile": "../Dockerfile"}, "image_dockerfile", id="dockerfile-outside"),
        pytest.param({"image_dockerfile": ""}, "image_dockerfile", id="dockerfile-empty"),
        pytest.param({"image_tag": "v 1"}, "image_tag", id="tag-space"),
        pytest.param({"image_tag": "-bad tag"}, "image_tag", id="tag-leading-dash-and-space"),
        pytest.param({"image_tag": ".v1"}, "image_tag", id="tag-leading-dot"),
        pytest.param({"image_tag": "a" * 129}, "image_tag", id="tag-129"),
        pytest.param({"image_release_tag": "-rc"}, "image_release_tag", id="release-tag-shape"),
        pytest.param({"image_release_tag": "v1 0"}, "image_release_tag", id="release-tag-space"),
        pytest.param({"image_tag": "1.0", "image_release_tag": "1.0"}, "image_release_tag", id="release-tag-same"),
        pytest.param({"image_platform": "amd64"}, "image_platform", id="platform"),
        pytest.param({"image_build_args": {"NODE-VERSION": "18"}}, "image_build_args", id="build-arg-name"),
        pytest.param({"image_version_build_arg": "1VERSION"}, "image_version_build_arg", id="version-arg"),
        pytest.param({"image_labels": {"": "x"}}, "image_labels", id="empty-label"),
    ],
)
def test_invalid_options_are_refused_naming_the_option(overrides, option):
    found = errors(**overrides)
    assert [m for m in found if option in m], found


def test_the_repository_message_shows_how_to_pass_the_registry_fact():
    assert errors(image_repository={"uri": "x/y", "push_uri": "nohost"})[0] == (
        "image_repository.push_uri 'nohost' is not <registry host>/<repository>: pass the registry role's fact "
        '(image_repository: "{{ registry_repository }}") or a dict with uri and push_uri.'
    )
