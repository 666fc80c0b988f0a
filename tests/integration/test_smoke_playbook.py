"""The smoke playbook against the emulator over HTTP.

check -> apply -> re-apply -> verify with boto3, and the secret value kept out of the output.
"""

from __future__ import annotations

import contextlib
import json
import uuid

import pytest

pytestmark = pytest.mark.stack
PLAYBOOK = "playbooks/smoke.yml"


@pytest.fixture
def smoke(unique_name, aws, tmp_path, run_playbook):
    """Run the smoke playbook for the `web` service under a stack name of its own; clean up afterwards."""
    secret_value = f"postgresql://app:{uuid.uuid4().hex}@db.example.invalid:5432/app"

    def run(*args: str, secrets: dict[str, str] | None = None):
        extra = tmp_path / "vars.json"
        extra.write_text(
            json.dumps(
                {
                    "shipyard_stack_name": unique_name,
                    "shipyard_service_secrets": secrets or {"DATABASE_URL": secret_value},
                }
            )
        )
        return run_playbook(PLAYBOOK, "--limit", "web", "-e", f"@{extra}", *args)

    run.name = f"{unique_name}/web"
    run.secret_value = secret_value
    yield run
    ecr, secrets = aws("ecr"), aws("secretsmanager")
    with contextlib.suppress(ecr.exceptions.RepositoryNotFoundException):
        ecr.delete_repository(repositoryName=run.name, force=True)
    with contextlib.suppress(secrets.exceptions.ResourceNotFoundException):
        secrets.delete_secret(SecretId=run.name, ForceDeleteWithoutRecovery=True)


def _repository(aws, name):
    return aws("ecr").describe_repositories(repositoryNames=[name])["repositories"][0]


def test_check_mode_changes_nothing(smoke, aws):
    run = smoke("--check")
    assert run.returncode == 0, run.output
    # Both roles report what they would do: the repository they would create, the secret they would write.
    assert run.recap()["web"]["changed"] == 2, run.output
    ecr, secrets = aws("ecr"), aws("secretsmanager")
    with pytest.raises(ecr.exceptions.RepositoryNotFoundException):
        _repository(aws, smoke.name)  # nothing was made
    with pytest.raises(secrets.exceptions.ResourceNotFoundException):
        secrets.describe_secret(SecretId=smoke.name)


def test_apply_then_reapply_reports_no_change(smoke, aws, local_stack):
    first = smoke()
    assert first.returncode == 0, first.output
    # The counts of the two roles' tasks (argument specs, checks, lookups, facts) and the summary.
    # (skipped: 15 with the registry role's image-tag look-up and image deletion, which a smoke run does not ask for,
    # the secrets role's check-mode look-up, and each role's option check, which stops the run only on a problem)
    assert first.recap()["web"] == {"ok": 9, "changed": 2, "unreachable": 0, "failed": 0, "skipped": 15}

    second = smoke()
    assert second.returncode == 0, second.output
    assert second.recap()["web"]["changed"] == 0, second.output

    repository = _repository(aws, smoke.name)
    assert repository["imageScanningConfiguration"] == {"scanOnPush": True}
    assert repository["imageTagMutability"] == "IMMUTABLE"
    # The summary names the local registry to push to, not the *.amazonaws.com host ECR hands out.
    assert f"push to: {local_stack.config.registry_address}/{smoke.name}" in first.output
    stored = aws("secretsmanager").get_secret_value(SecretId=smoke.name)
    assert json.loads(stored["SecretString"]) == {"DATABASE_URL": smoke.secret_value}
    tags = {t["Key"]: t["Value"] for t in aws("secretsmanager").describe_secret(SecretId=smoke.name)["Tags"]}
    assert tags["shipyard:stack"] == smoke.name.split("/")[0]


def test_secret_value_never_appears_in_output_even_at_vvv(smoke, aws):
    created = smoke("-vvv")
    assert created.returncode == 0, created.output
    assert smoke.secret_value not in created.output

    # The update path too: a new value is written, and shown nowhere.
    new_value = f"postgresql://app:{uuid.uuid4().hex}@db.example.invalid:5432/app"
    updated = smoke("-vvv", "--diff", secrets={"DATABASE_URL": new_value})
    assert updated.returncode == 0, updated.output
    assert updated.recap()["web"]["changed"] == 1, updated.output
    assert new_value not in updated.output
    assert smoke.secret_value not in updated.output
    stored = aws("secretsmanager").get_secret_value(SecretId=smoke.name)["SecretString"]
    assert json.loads(stored) == {"DATABASE_URL": new_value}
