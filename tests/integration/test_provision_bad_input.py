"""Bad input to playbooks/provision.yml stops in the pre-flight, naming the variable, before any AWS call.

Here: the checks that span the stack (playbooks/tasks/check_stack.yml). The roles' own rules are unit-tested
(tests/unit/test_validation_<role>.py), and tests/integration/test_validation_wiring.py runs the pre-flight once
with several services' bad options.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.stack
FIRST_AWS_PLAY = "PLAY [Shared stack"


@pytest.fixture
def inventory(tmp_path):
    """``inventory(web={...}, api={...}, all={...})`` -> a copy of the local inventory with those variables set."""
    stack = f"bad{uuid.uuid4().hex[:6]}"

    def make(**overrides):
        root = tmp_path / "local"
        shutil.copytree(REPO / "inventories" / "local", root, dirs_exist_ok=True)
        everyone = {"shipyard_stack_name": stack, "dns_zone_name": f"{stack}.test", **overrides.get("all", {})}
        (root / "group_vars" / "all" / "zz_test.yml").write_text(yaml.safe_dump(everyone))
        for host in ("web", "api"):
            host_file = root / "host_vars" / f"{host}.yml"
            host_vars = {**yaml.safe_load(host_file.read_text()), **overrides.get(host, {})}
            host_file.write_text(yaml.safe_dump(host_vars))
        return str(root)

    make.stack = stack
    return make


# The stack-wide checks, each its own assert task (the first one that fails stops the run).
CASES = [
    pytest.param(
        {"api": {"dns_record_name": "web.{{ dns_zone_name }}"}}, "dns_record_name", id="two-services-one-host"
    ),
    pytest.param({"api": {"load_balancer_service_priority": 10}}, "load_balancer_service_priority", id="same-priority"),
    pytest.param({"all": {"shipyard_stack_name": "Shop!"}}, "shipyard_stack_name", id="stack-name"),
    pytest.param(
        {"web": {"shipyard_service_secrets": {"not valid": "x"}}}, "shipyard_service_secrets", id="secret-key-name"
    ),
    pytest.param({"all": {"dns_certificate_request": True}}, "dns_certificate_request", id="certificate-http-only"),
]


@pytest.mark.parametrize(("overrides", "named"), CASES)
def test_bad_input_is_refused_before_any_aws_call(inventory, overrides, named, run_playbook, aws):
    run = run_playbook("playbooks/provision.yml", "-i", inventory(**overrides))
    assert run.returncode != 0, run.output[-4000:]
    assert named in run.output, run.output[-4000:]
    assert FIRST_AWS_PLAY not in run.output, "the pre-flight let bad input through to AWS"
    stack = overrides.get("all", {}).get("shipyard_stack_name", inventory.stack)
    assert not [r for r in aws("ecr").describe_repositories()["repositories"] if r["repositoryName"].startswith(stack)]
