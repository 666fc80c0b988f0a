"""The secrets role's option rules (plugins/module_utils/validation/secrets.py); no message shows a value."""

from __future__ import annotations

import pytest
from ansible_collections.shipyard.fargate.plugins.module_utils.validation import secrets as rules

VALUE = "hunter2-s3cr3t"
VALID = {
    "secrets_name": "stack/web",
    "secrets_state": "present",
    "secrets_json": {"DATABASE_URL": VALUE},
    "secrets_string": None,
    "secrets_without_value": False,
    "secrets_keys": [],
    "secrets_recovery_window_days": 7,
}


def errors(**overrides):
    return rules.secrets_errors({**VALID, **overrides})


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({}, id="json"),
        pytest.param({"secrets_json": ["DATABASE_URL"]}, id="json-as-key-names"),
        pytest.param({"secrets_json": None, "secrets_string": VALUE}, id="string"),
        pytest.param(
            {"secrets_json": None, "secrets_without_value": True, "secrets_keys": ["A", "_b1"]}, id="without-value"
        ),
        pytest.param({"secrets_state": "absent", "secrets_json": None}, id="absent"),
        pytest.param({"secrets_name": "a" * 512}, id="name-512"),
        pytest.param({"secrets_name": "a/b_c+d=e.f@g-h"}, id="name-chars"),
        pytest.param({"secrets_recovery_window_days": 0}, id="window-0"),
        pytest.param({"secrets_recovery_window_days": 30}, id="window-30"),
    ],
)
def test_valid_options_pass(overrides):
    assert errors(**overrides) == []


@pytest.mark.parametrize(
    ("overrides", "option"),
    [
        pytest.param({"secrets_name": "web secret"}, "secrets_name", id="name-space"),
        pytest.param({"secrets_name": "a" * 513}, "secrets_name", id="name-513"),
        pytest.param({"secrets_json": None}, "secrets_json", id="no-value"),
        pytest.param({"secrets_string": VALUE}, "secrets_json", id="json-and-string"),
        pytest.param({"secrets_json": {"not valid": VALUE}}, "secrets_json", id="json-key-space"),
        pytest.param({"secrets_json": {"1KEY": VALUE}}, "secrets_json", id="json-key-digit"),
        pytest.param({"secrets_json": {}}, "secrets_json", id="json-empty"),
        pytest.param({"secrets_without_value": True}, "secrets_without_value", id="without-value-with-json"),
        pytest.param({"secrets_keys": ["A"]}, "secrets_keys", id="keys-without-without-value"),
        pytest.param(
            {"secrets_json": None, "secrets_without_value": True, "secrets_keys": ["db-url"]},
            "secrets_keys",
            id="without-value-key-name",
        ),
        pytest.param({"secrets_recovery_window_days": 6}, "secrets_recovery_window_days", id="window-6"),
        pytest.param({"secrets_recovery_window_days": 31}, "secrets_recovery_window_days", id="window-31"),
    ],
)
def test_invalid_options_are_refused_naming_the_option(overrides, option):
    found = errors(**overrides)
    assert [m for m in found if option in m], found
    assert VALUE not in "\n".join(found)


def test_the_value_sources_are_named_never_shown():
    found = errors(secrets_string=VALUE, secrets_without_value=True)
    assert any("secrets_json and secrets_string" in m for m in found)
    assert VALUE not in "\n".join(found)
