"""Role shipyard.fargate.secrets against the emulator over HTTP: secret values kept out of the output at -vvv.

The role's lifecycle (check, apply, re-apply, the valueFrom forms, a plain string, a secret without a value filled
out of band, state absent with and without a recovery window) is its Molecule scenario's: extensions/molecule/secrets/.
"""

from __future__ import annotations

import contextlib
import json
import uuid

import pytest

pytestmark = pytest.mark.stack
PLAYBOOK = "tests/integration/playbooks/secrets.yml"


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


def test_check_mode_on_an_existing_secret_plans_with_its_real_arn_never_a_stand_in(secret):
    """issue 16, item 3: a plan that adds a key to an existing secret names the secret's real ARN in every valueFrom
    (the task definition's plan follows from it), not the stand-in of a secret that does not exist yet."""
    created = secret(secrets_json={"DATABASE_URL": _value()})
    assert created.returncode == 0, created.output
    arn = created.fact["secret"]["arn"]
    assert ":000000000000:" not in arn

    plan = secret("--check", "--diff", secrets_json={"DATABASE_URL": _value(), "API_KEY": _value()})
    assert plan.returncode == 0, plan.output
    assert plan.recap()["web"]["changed"] == 1, plan.output
    assert plan.fact["secret"]["arn"] == arn
    assert plan.fact["value_from"] == {"DATABASE_URL": f"{arn}:DATABASE_URL::", "API_KEY": f"{arn}:API_KEY::"}
