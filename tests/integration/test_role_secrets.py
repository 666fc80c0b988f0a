"""Role shipyard.fargate.secrets against the emulator over HTTP.

check -> apply -> re-apply (changed=0) -> verify with boto3; the ECS valueFrom forms, values kept out of
the output at -vvv, bad input refused by name before any AWS call, and state absent.
"""

from __future__ import annotations

import contextlib
import json
import re
import uuid

import pytest

pytestmark = pytest.mark.stack
PLAYBOOK = "tests/integration/playbooks/secrets.yml"
WRITE_TASK = "TASK [shipyard.fargate.secrets : Ensure the secret and its value]"


def _value() -> str:
    return f"v-{uuid.uuid4().hex}"


@pytest.fixture
def secret(unique_name, aws, role_runner):
    """``secret(*ansible_args, **role_vars)`` runs the role for a secret of its own; deletes it afterwards."""
    name = f"{unique_name}/web"
    run = role_runner(PLAYBOOK, {"secrets_name": name})
    run.name = name
    yield run
    client = aws("secretsmanager")
    with contextlib.suppress(client.exceptions.ResourceNotFoundException):
        client.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)


def test_check_mode_creates_nothing(secret, aws):
    run = secret("--check", secrets_json={"DATABASE_URL": _value()})
    assert run.returncode == 0, run.output
    assert run.recap()["web"]["changed"] == 1, run.output
    client = aws("secretsmanager")
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.describe_secret(SecretId=secret.name)
    assert run.fact == {"secret": {"name": secret.name, "arn": None, "exists": False}, "value_from": {}}


def test_json_secret_apply_reapply_verify_and_value_from(secret, aws):
    value = {"DATABASE_URL": _value(), "API_TOKEN": _value()}
    settings = {
        "secrets_json": value,
        "secrets_description": "runtime secrets of web",
        "secrets_tags": {"shipyard:stack": "pytest", "team": "web"},
    }
    first = secret(**settings)
    assert first.returncode == 0, first.output
    assert first.recap()["web"]["changed"] == 1, first.output
    second = secret(**settings)
    assert second.returncode == 0, second.output
    assert second.recap()["web"]["changed"] == 0, second.output

    client = aws("secretsmanager")
    assert json.loads(client.get_secret_value(SecretId=secret.name)["SecretString"]) == value
    described = client.describe_secret(SecretId=secret.name)
    assert described["Description"] == "runtime secrets of web"
    assert {t["Key"]: t["Value"] for t in described["Tags"]} == settings["secrets_tags"]

    arn = described["ARN"]
    assert second.fact["secret"] == {"name": secret.name, "arn": arn, "exists": True}
    # What ECS takes as `valueFrom` to inject one JSON key as one environment variable.
    assert second.fact["value_from"] == {key: f"{arn}:{key}::" for key in value}


def test_values_never_appear_in_output_even_at_vvv(secret, aws):
    value = _value()
    created = secret("-vvv", secrets_json={"DATABASE_URL": value})
    assert created.returncode == 0, created.output
    assert value not in created.output

    new_value = _value()
    updated = secret("-vvv", "--diff", secrets_json={"DATABASE_URL": new_value})
    assert updated.returncode == 0, updated.output
    assert updated.recap()["web"]["changed"] == 1, updated.output
    assert new_value not in updated.output
    assert value not in updated.output
    stored = aws("secretsmanager").get_secret_value(SecretId=secret.name)["SecretString"]
    assert json.loads(stored) == {"DATABASE_URL": new_value}

    # A refused input does not echo the value either.
    refused = secret("-vvv", secrets_json={"DATABASE_URL": new_value}, secrets_string=new_value)
    assert refused.returncode != 0
    assert new_value not in refused.output


def test_plain_string_secret(secret, aws):
    value = _value()
    first = secret(secrets_string=value)
    assert first.returncode == 0, first.output
    again = secret(secrets_string=value)
    assert again.returncode == 0, again.output
    assert again.recap()["web"]["changed"] == 0, again.output
    assert aws("secretsmanager").get_secret_value(SecretId=secret.name)["SecretString"] == value
    assert again.fact["secret"]["arn"].startswith("arn:aws:secretsmanager:")
    assert again.fact["value_from"] == {}  # no JSON keys: the ARN itself is the valueFrom


@pytest.mark.parametrize(
    ("role_vars", "option"),
    [
        ({}, "secrets_json"),  # no value at all
        ({"secrets_json": {"A": "1"}, "secrets_string": "x"}, "secrets_string"),
        ({"secrets_json": "not-a-dict"}, "secrets_json"),
        ({"secrets_json": {"NOT-AN-ENV-NAME": "1"}}, "secrets_json"),
        ({"secrets_json": {"A": "1"}, "secrets_state": "gone"}, "secrets_state"),
        ({"secrets_json": {"A": "1"}, "secrets_recovery_window_days": 3}, "secrets_recovery_window_days"),
        ({"secrets_json": {"A": "1"}, "secrets_tags": ["team", "web"]}, "secrets_tags"),
    ],
)
def test_bad_input_is_refused_by_name_before_any_aws_call(secret, aws, role_vars, option):
    run = secret(**role_vars)
    assert run.returncode != 0
    assert option in run.output
    assert WRITE_TASK not in run.output  # stopped before the first AWS call
    client = aws("secretsmanager")
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.describe_secret(SecretId=secret.name)


def test_state_absent_with_a_recovery_window_then_at_once(secret, aws):
    assert secret(secrets_json={"A": _value()}).returncode == 0
    client = aws("secretsmanager")

    checked = secret("--check", secrets_state="absent")
    assert checked.returncode == 0, checked.output
    assert checked.recap()["web"]["changed"] == 1, checked.output
    assert "DeletedDate" not in client.describe_secret(SecretId=secret.name)

    scheduled = secret(secrets_state="absent", secrets_recovery_window_days=7)
    assert scheduled.returncode == 0, scheduled.output
    assert scheduled.recap()["web"]["changed"] == 1, scheduled.output
    assert "DeletedDate" in client.describe_secret(SecretId=secret.name)  # restorable for 7 days
    assert scheduled.fact == {"secret": {"name": secret.name, "arn": None, "exists": False}, "value_from": {}}

    removed = secret(secrets_state="absent", secrets_recovery_window_days=0)
    assert removed.returncode == 0, removed.output
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.describe_secret(SecretId=secret.name)
    again = secret(secrets_state="absent", secrets_recovery_window_days=0)
    assert again.returncode == 0, again.output
    assert again.recap()["web"]["changed"] == 0, again.output


def test_without_value_creates_an_empty_secret_and_never_overwrites_what_is_put_later(secret, aws):
    settings = {"secrets_without_value": True, "secrets_keys": ["STRIPE_KEY"], "secrets_tags": {"team": "payments"}}
    check = secret("--check", **settings)
    assert check.returncode == 0, check.output
    assert check.recap()["web"]["changed"] == 1, check.output
    client = aws("secretsmanager")
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.describe_secret(SecretId=secret.name)

    first = secret(**settings)
    assert first.returncode == 0, first.output
    assert first.recap()["web"]["changed"] == 1, first.output
    described = client.describe_secret(SecretId=secret.name)
    assert not any("AWSCURRENT" in stages for stages in described.get("VersionIdsToStages", {}).values())
    arn = described["ARN"]
    assert first.fact["value_from"] == {"STRIPE_KEY": f"{arn}:STRIPE_KEY::"}

    # Another team fills it in out of band; the role's next runs leave that value alone.
    filled = json.dumps({"STRIPE_KEY": _value()})
    client.put_secret_value(SecretId=secret.name, SecretString=filled)
    again = secret("-vvv", **settings)
    assert again.returncode == 0, again.output
    assert again.recap()["web"]["changed"] == 0, again.output
    assert client.get_secret_value(SecretId=secret.name)["SecretString"] == filled
    assert json.loads(filled)["STRIPE_KEY"] not in again.output

    retagged = secret("--diff", **{**settings, "secrets_tags": {"team": "billing"}})
    assert retagged.recap()["web"]["changed"] == 1, retagged.output
    # --diff shows the metadata change (and no value: the module never reads one).
    assert re.search(r"^-\s+team: payments$", retagged.output, re.M), retagged.output
    assert re.search(r"^\+\s+team: billing$", retagged.output, re.M), retagged.output
    assert client.get_secret_value(SecretId=secret.name)["SecretString"] == filled


@pytest.mark.parametrize(
    ("role_vars", "named"),
    [
        ({"secrets_without_value": True, "secrets_json": {"A": "x"}}, "secrets_without_value"),
        ({"secrets_keys": ["A"], "secrets_json": {"A": "x"}}, "secrets_keys"),
        ({"secrets_without_value": True, "secrets_keys": ["not valid"]}, "secrets_keys"),
    ],
)
def test_without_value_bad_combinations_are_refused_by_name(secret, aws, role_vars, named):
    run = secret(**role_vars)
    assert run.returncode != 0
    assert named in run.output
    client = aws("secretsmanager")
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.describe_secret(SecretId=secret.name)
