"""Bad input to playbooks/provision.yml stops in the pre-flight, naming the variable, before any AWS call.

Here: the checks that span the stack (playbooks/tasks/check_stack.yml), through the pre-flight. The roles' own rules
are unit-tested (tests/unit/test_validation_<role>.py, test_validation_stack.py), and
tests/integration/test_validation_wiring.py runs the pre-flight once with several services' bad options.
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
UNSET = "<unset>"  # an override that removes the variable from the host's host_vars


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
            host_vars = {name: value for name, value in host_vars.items() if value != UNSET}
            host_file.write_text(yaml.safe_dump(host_vars))
        if "api_renamed" in overrides:  # the second service under another inventory host name
            new = overrides["api_renamed"]
            hosts = root / "hosts.yml"
            hosts.write_text(hosts.read_text().replace("        api:", f"        {new}:"))
            (root / "host_vars" / "api.yml").rename(root / "host_vars" / f"{new}.yml")
        return str(root)

    make.stack = stack
    return make


# The stack-wide checks: one assert over the stack (every problem at once; each rule is unit-tested in
# tests/unit/test_validation_stack.py), and the secrets' names per service.
CASES = [
    pytest.param(
        {
            "all": {"shipyard_stack_name": "Shop!", "dns_certificate_request": True},
            "api": {"dns_record_name": "web.{{ dns_zone_name }}"},
        },
        ["shipyard_stack_name 'Shop!'", "claim the same dns_record_name", "dns_certificate_request is true"],
        id="stack-name-two-services-one-host-certificate-http-only",
    ),
    pytest.param(
        {"web": {"shipyard_service_secrets": {"not valid": "x"}}}, ["shipyard_service_secrets"], id="secret-key-name"
    ),
]


def _repositories(aws, stack: str) -> list[str]:
    """The names of the ECR repositories of ``stack`` (none, after a run the pre-flight stopped)."""
    return [r["repositoryName"] for r in aws("ecr").describe_repositories()["repositories"]
            if r["repositoryName"].startswith(stack)]  # fmt: skip


@pytest.mark.parametrize(("overrides", "named"), CASES)
def test_bad_input_is_refused_before_any_aws_call(inventory, overrides, named, run_playbook, aws):
    run = run_playbook("playbooks/provision.yml", "-i", inventory(**overrides))
    assert run.returncode != 0, run.output[-4000:]
    for text in named:
        assert text in run.output, run.output[-4000:]
    assert FIRST_AWS_PLAY not in run.output, "the pre-flight let bad input through to AWS"
    stack = overrides.get("all", {}).get("shipyard_stack_name", inventory.stack)
    assert _repositories(aws, stack) == []


# Errors that name the host and the variable the user sets, in a few lines (issue 16, item 6).
NAMED_CASES = [
    pytest.param(
        {"api": {"dns_record_name": UNSET}},
        ["Service api has no dns_record_name"],
        ["HostVarsVars"],
        id="no-dns-record",
    ),
    pytest.param(
        {"api_renamed": "WebApp", "api": {"dns_record_name": "webapp.{{ dns_zone_name }}"}},
        ["Service WebApp: a service's name (its inventory host name) must be lowercase", "for example webapp"],
        ["service_initial_image"],
        id="uppercase-host",
    ),
    pytest.param(
        {"api": {"shipyard_service_secrets": {"API-KEY": "local-only-not-a-secret"}}},
        ["shipyard_service_secrets of api has names that are not environment variable names", "bad names: API-KEY"],
        ["secrets_json", "local-only-not-a-secret"],
        id="bad-secret-name",
    ),
    pytest.param(
        {"api": {"service_cpu": "big", "service_environment": ["NODE_ENV"]}},
        ["api: service_cpu must be an int, one of: 256, 512", "api: service_environment must be a dict (got a list)"],
        ["argument_spec_data"],
        id="wrong-types",
    ),
]


@pytest.mark.parametrize(("overrides", "said", "not_said"), NAMED_CASES)
def test_errors_name_the_host_and_the_variable(inventory, overrides, said, not_said, run_playbook):
    run = run_playbook("playbooks/provision.yml", "--check", "-i", inventory(**overrides))
    assert run.returncode != 0, run.output[-4000:]
    for text in said:
        assert text in run.output, run.output[-4000:]
    for text in not_said:
        assert text not in run.output, run.output[-4000:]
    assert FIRST_AWS_PLAY not in run.output


def test_extra_vars_that_would_do_nothing_are_refused_before_any_aws_call(inventory, run_playbook):
    """deploy.yml: a typo, and an option its short path does not apply, both named in one run (issue 16, item 5)."""
    args = ("-i", inventory(), "--limit", "web", "-e", "service_desired_count=3", "-e", "shipyard_deploy_imag_tag=v9")
    run = run_playbook("playbooks/deploy.yml", *args)
    assert run.returncode != 0, run.output[-4000:]
    assert "-e service_desired_count: deploy.yml does not apply it" in run.output, run.output[-4000:]
    assert "ansible-playbook playbooks/provision.yml --limit web -e service_desired_count=" in run.output
    assert "Did you mean shipyard_deploy_image_tag?" in run.output
    assert "PLAY [Deploy - find the services" not in run.output, "the pre-flight let them through to AWS"


def test_deploy_checks_the_infrastructure_options_of_a_service_it_provisions_before_any_change(
    inventory, run_playbook, aws
):
    """deploy.yml's pre-flight checks what its short path uses; the infrastructure roles' options of a service that
    does not exist yet are checked after the (read-only) look-up, still before the first change."""
    run = run_playbook("playbooks/deploy.yml", "--limit", "web", "-i", inventory(all={"network_vpc_cidr": "10.0.0.0"}))
    assert run.returncode != 0, run.output[-4000:]
    assert "network_vpc_cidr '10.0.0.0' is not an IPv4 CIDR block" in run.output, run.output[-4000:]
    assert "PLAY [Pre-flight - the infrastructure options of the services deploy.yml provisions]" in run.output
    assert FIRST_AWS_PLAY not in run.output, "the pre-flight let bad input through to AWS"
    assert _repositories(aws, inventory.stack) == []
