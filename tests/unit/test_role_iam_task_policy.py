"""The iam role's task role statements (roles/iam/vars/main.yml) as Ansible renders them: ECS Exec's session
channels join the user's statements only when the service enables ECS Exec."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from ansible.template import Templar, trust_as_template

VARS = yaml.safe_load((Path(__file__).resolve().parents[2] / "roles" / "iam" / "vars" / "main.yml").read_text())
OWN = {"Sid": "ReadBucket", "Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::b/*"}
CHANNELS = {
    "ssmmessages:CreateControlChannel",
    "ssmmessages:CreateDataChannel",
    "ssmmessages:OpenControlChannel",
    "ssmmessages:OpenDataChannel",
}


def _statements(own, exec_on):
    variables = {**VARS, "iam_task_role_policy_statements": own, "iam_enable_execute_command": exec_on}
    return Templar(loader=None, variables=variables).template(trust_as_template(VARS["_iam_task_statements"]))


@pytest.mark.parametrize("own", [[], [OWN]], ids=["no-own-statements", "own-statements"])
def test_ecs_exec_adds_the_session_channels_to_the_task_role(own):
    statements = _statements(own, True)
    assert statements[: len(own)] == own
    exec_statement = statements[-1]
    assert exec_statement["Sid"] == "ECSExecSessionChannels"
    assert set(exec_statement["Action"]) == CHANNELS
    assert exec_statement["Resource"] == "*"  # these actions take no resource


@pytest.mark.parametrize("own", [[], [OWN]], ids=["no-own-statements", "own-statements"])
def test_without_ecs_exec_the_task_role_has_only_its_own_statements(own):
    assert _statements(own, False) == own
