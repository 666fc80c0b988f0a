"""Role shipyard.fargate.registry against the emulator over HTTP.

check -> apply -> re-apply (changed=0) -> verify with boto3; KMS encryption, a full lifecycle policy,
bad input refused by name before any AWS call, and state absent.
"""

from __future__ import annotations

import contextlib
import json

import pytest

pytestmark = pytest.mark.stack
PLAYBOOK = "tests/integration/playbooks/registry.yml"
LOOKUP_TASK = "TASK [shipyard.fargate.registry : Look the repository up"


@pytest.fixture
def registry(unique_name, aws, role_runner):
    """``registry(*ansible_args, **role_vars)`` runs the role for a repository of its own; cleans up afterwards."""
    name = f"{unique_name}/web"
    run = role_runner(PLAYBOOK, {"registry_name": name})
    run.name = name
    yield run
    ecr = aws("ecr")
    with contextlib.suppress(ecr.exceptions.RepositoryNotFoundException):
        ecr.delete_repository(repositoryName=name, force=True)


def _repository(aws, name):
    return aws("ecr").describe_repositories(repositoryNames=[name])["repositories"][0]


def _lifecycle(aws, name):
    return json.loads(aws("ecr").get_lifecycle_policy(repositoryName=name)["lifecyclePolicyText"])


def _expected_rules(days, keep):
    return [
        {
            "rulePriority": 1,
            "description": f"Expire untagged images {days} days after push",
            "selection": {
                "tagStatus": "untagged",
                "countType": "sinceImagePushed",
                "countUnit": "days",
                "countNumber": days,
            },
            "action": {"type": "expire"},
        },
        {
            "rulePriority": 2,
            "description": f"Keep the {keep} most recent tagged images",
            "selection": {
                "tagStatus": "tagged",
                "tagPatternList": ["*"],
                "countType": "imageCountMoreThan",
                "countNumber": keep,
            },
            "action": {"type": "expire"},
        },
    ]


PULL_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "pull",
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::210987654321:root"},
            "Action": ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
        }
    ],
}


def test_check_mode_creates_nothing_and_reports_the_change(registry, aws, local_stack):
    run = registry("--check")
    assert run.returncode == 0, run.output
    assert run.recap()["web"]["changed"] == 1, run.output
    ecr = aws("ecr")
    with pytest.raises(ecr.exceptions.RepositoryNotFoundException):
        _repository(aws, registry.name)
    assert run.fact["exists"] is False
    assert run.fact["arn"] is None
    assert run.fact["push_uri"] == f"{local_stack.config.registry_address}/{registry.name}"


def test_apply_reapply_and_verify(registry, aws, local_stack):
    settings = {
        "registry_lifecycle_untagged_expire_days": 7,
        "registry_lifecycle_keep_tagged_count": 5,
        "registry_repository_policy": PULL_POLICY,
    }
    first = registry(**settings)
    assert first.returncode == 0, first.output
    assert first.recap()["web"]["changed"] == 1, first.output

    second = registry(**settings)
    assert second.returncode == 0, second.output
    assert second.recap()["web"]["changed"] == 0, second.output

    repository = _repository(aws, registry.name)
    assert repository["imageScanningConfiguration"] == {"scanOnPush": True}
    assert repository["imageTagMutability"] == "IMMUTABLE"
    assert repository["encryptionConfiguration"]["encryptionType"] == "AES256"
    assert _lifecycle(aws, registry.name)["rules"] == _expected_rules(7, 5)
    policy = json.loads(aws("ecr").get_repository_policy(repositoryName=registry.name)["policyText"])
    assert policy["Statement"][0]["Principal"] == PULL_POLICY["Statement"][0]["Principal"]
    assert sorted(policy["Statement"][0]["Action"]) == PULL_POLICY["Statement"][0]["Action"]

    assert second.fact == {
        "name": registry.name,
        "exists": True,
        "arn": repository["repositoryArn"],
        "registry_id": repository["registryId"],
        "uri": repository["repositoryUri"],
        "push_uri": f"{local_stack.config.registry_address}/{registry.name}",
    }

    # A changed setting in check mode changes nothing in ECR; applied, it converges.
    checked = registry("--check", **{**settings, "registry_lifecycle_keep_tagged_count": 9})
    assert checked.returncode == 0, checked.output
    assert _lifecycle(aws, registry.name)["rules"] == _expected_rules(7, 5)
    applied = registry(**{**settings, "registry_lifecycle_keep_tagged_count": 9, "registry_scan_on_push": False})
    assert applied.returncode == 0, applied.output
    assert applied.recap()["web"]["changed"] == 1, applied.output
    assert _lifecycle(aws, registry.name)["rules"] == _expected_rules(7, 9)
    assert _repository(aws, registry.name)["imageScanningConfiguration"] == {"scanOnPush": False}


def test_kms_encryption_and_a_full_lifecycle_policy(registry, aws):
    policy = {
        "rules": [
            {
                "rulePriority": 10,
                "description": "only the last 3 images",
                "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 3},
                "action": {"type": "expire"},
            }
        ]
    }
    settings = {
        "registry_encryption_type": "KMS",
        "registry_kms_key": "alias/shipyard-test",
        "registry_lifecycle_policy": policy,
    }
    first = registry(**settings)
    assert first.returncode == 0, first.output
    again = registry(**settings)
    assert again.returncode == 0, again.output
    assert again.recap()["web"]["changed"] == 0, again.output

    encryption = _repository(aws, registry.name)["encryptionConfiguration"]
    assert encryption == {"encryptionType": "KMS", "kmsKey": "alias/shipyard-test"}
    assert _lifecycle(aws, registry.name) == policy  # the user's policy replaces the built one

    # ECR cannot change the encryption of an existing repository: refused, by option name.
    changed = registry(registry_encryption_type="AES256")
    assert changed.returncode != 0
    assert "registry_encryption_type" in changed.output
    assert _repository(aws, registry.name)["encryptionConfiguration"]["encryptionType"] == "KMS"


@pytest.mark.parametrize(
    ("role_vars", "option"),
    [
        ({"registry_image_tag_mutability": "sometimes"}, "registry_image_tag_mutability"),
        ({"registry_scan_on_push": "maybe"}, "registry_scan_on_push"),
        ({"registry_lifecycle_keep_tagged_count": "many"}, "registry_lifecycle_keep_tagged_count"),
        ({"registry_encryption_type": "KMS"}, "registry_kms_key"),
        ({"registry_kms_key": "alias/x"}, "registry_kms_key"),
        ({"registry_lifecycle_untagged_expire_days": -1}, "registry_lifecycle_untagged_expire_days"),
        ({"registry_name": "Not A Name"}, "registry_name"),
    ],
)
def test_bad_input_is_refused_by_name_before_any_aws_call(registry, aws, role_vars, option):
    run = registry(**role_vars)
    assert run.returncode != 0
    assert option in run.output
    assert LOOKUP_TASK not in run.output  # stopped before the first AWS call
    ecr = aws("ecr")
    with pytest.raises(ecr.exceptions.RepositoryNotFoundException):
        _repository(aws, registry.name)


def test_missing_name_is_refused(run_playbook, tmp_path):
    run = run_playbook(PLAYBOOK, "--limit", "web", "-e", f"result_file={tmp_path / 'out.json'}")
    assert run.returncode != 0
    assert "registry_name" in run.output
    assert LOOKUP_TASK not in run.output


def test_state_absent_removes_the_repository(registry, aws):
    assert registry().returncode == 0
    checked = registry("--check", registry_state="absent")
    assert checked.returncode == 0, checked.output
    assert checked.recap()["web"]["changed"] == 1, checked.output
    assert _repository(aws, registry.name)["repositoryName"] == registry.name  # check mode deleted nothing

    removed = registry(registry_state="absent")
    assert removed.returncode == 0, removed.output
    assert removed.recap()["web"]["changed"] == 1, removed.output
    ecr = aws("ecr")
    with pytest.raises(ecr.exceptions.RepositoryNotFoundException):
        _repository(aws, registry.name)
    assert removed.fact["exists"] is False

    again = registry(registry_state="absent")
    assert again.returncode == 0, again.output
    assert again.recap()["web"]["changed"] == 0, again.output
