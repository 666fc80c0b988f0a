"""The registry role's option rules (plugins/module_utils/validation/registry.py), one case per rule and boundary."""

from __future__ import annotations

import pytest
from ansible_collections.shipyard.fargate.plugins.module_utils.validation import registry as rules

KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
VALID = {
    "registry_name": "stack/web",
    "registry_encryption_type": "AES256",
    "registry_kms_key": None,
    "registry_lifecycle_untagged_expire_days": 7,
    "registry_lifecycle_keep_tagged_count": 30,
    "registry_repository_policy": None,
    "registry_purge_repository_policy": False,
}


def errors(**overrides):
    return rules.registry_errors({**VALID, **overrides})


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({}, id="defaults"),
        pytest.param({"registry_name": "ab"}, id="name-2"),
        pytest.param({"registry_name": "a" * 256}, id="name-256"),
        pytest.param({"registry_name": "a.b_c-d/e/f"}, id="name-separators"),
        pytest.param({"registry_encryption_type": "KMS", "registry_kms_key": KEY}, id="kms"),
        pytest.param({"registry_encryption_type": "KMS", "registry_kms_key": "alias/ecr"}, id="kms-alias"),
        pytest.param(
            {"registry_lifecycle_untagged_expire_days": 0, "registry_lifecycle_keep_tagged_count": 0}, id="no-lifecycle"
        ),
        pytest.param({"registry_repository_policy": {"Version": "2012-10-17"}}, id="policy"),
        pytest.param({"registry_purge_repository_policy": True}, id="purge"),
    ],
)
def test_valid_options_pass(overrides):
    assert errors(**overrides) == []


@pytest.mark.parametrize(
    ("overrides", "option"),
    [
        pytest.param({"registry_name": "Stack/Web"}, "registry_name", id="name-uppercase"),
        pytest.param({"registry_name": "a" * 257}, "registry_name", id="name-257"),
        pytest.param({"registry_name": "stack//web"}, "registry_name", id="name-empty-component"),
        pytest.param({"registry_name": "-web"}, "registry_name", id="name-leading-dash"),
        pytest.param({"registry_encryption_type": "KMS"}, "registry_kms_key", id="kms-without-key"),
        pytest.param({"registry_kms_key": KEY}, "registry_kms_key", id="key-with-aes256"),
        pytest.param(
            {"registry_lifecycle_untagged_expire_days": -1},
            "registry_lifecycle_untagged_expire_days",
            id="expire-negative",
        ),
        pytest.param(
            {"registry_lifecycle_keep_tagged_count": -1}, "registry_lifecycle_keep_tagged_count", id="keep-negative"
        ),
        pytest.param(
            {"registry_repository_policy": {"Version": "2012-10-17"}, "registry_purge_repository_policy": True},
            "registry_repository_policy",
            id="policy-and-purge",
        ),
    ],
)
def test_invalid_options_are_refused_naming_the_option(overrides, option):
    found = errors(**overrides)
    assert [m for m in found if option in m], found
