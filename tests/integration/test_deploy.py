"""playbooks/deploy.yml against the local cloud, tasks on the simulated runner.

The deploy provisions what is missing, registers the service's task definition and rolls it out through
shipyard.fargate.ecs_rollout, waiting for the verdict. Each version here is a task definition whose container
environment scripts its tasks (SHIPYARD_SIMULATE): a healthy first version, a re-run that changes nothing, and a
crashing version that fails with its exit code and is rolled back to the previous task definition.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
def inventory(tmp_path_factory):
    """A copy of the local inventory with a stack of its own and quick health checks."""
    name = f"dt{uuid.uuid4().hex[:8]}"
    path = tmp_path_factory.mktemp("inventory") / "local"
    shutil.copytree(REPO / "inventories" / "local", path)
    settings = {
        "shipyard_stack_name": name,
        "dns_zone_name": f"{name}.test",
        "load_balancer_service_health_check_interval": 5,
        "load_balancer_service_health_check_timeout": 3,
        "load_balancer_service_deregistration_delay": 2,
    }
    (path / "group_vars" / "all" / "zz_test.yml").write_text(yaml.safe_dump(settings))
    # The tasks are simulated, so the image only has to exist: a one-file image from scratch, built from a git
    # checkout of its own (the deploy tags it with that commit), instead of the sample API.
    source = tmp_path_factory.mktemp("source")
    (source / "Dockerfile").write_text("FROM scratch\nCOPY version.txt /version.txt\n")
    (source / "version.txt").write_text(name + "\n")
    for command in (["init", "-q"], ["add", "."], ["commit", "-q", "-m", "image"]):
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t.invalid", *command], cwd=source, check=True)
    host_file = path / "host_vars" / "web.yml"
    host_vars = yaml.safe_load(host_file.read_text())
    host_vars.update(image_source_dir=str(source), image_build_args={}, image_version_build_arg="")
    host_file.write_text(yaml.safe_dump(host_vars))
    return {"name": name, "path": str(path)}


def _deploy(run_playbook, inventory, tmp_path, simulate: str, *args: str, playbook: str = "playbooks/deploy.yml"):
    extra = tmp_path / f"deploy-{uuid.uuid4().hex[:6]}.json"
    extra.write_text(json.dumps({"service_environment": {"SHIPYARD_SIMULATE": simulate}}))
    return run_playbook(playbook, "-i", inventory["path"], "--limit", "web", "-e", f"@{extra}", *args)


def _service(aws, inventory) -> dict:
    name = inventory["name"]
    return aws("ecs").describe_services(cluster=name, services=["web"])["services"][0]


def test_deploy_rolls_out_waits_and_a_rerun_changes_nothing_then_a_crash_is_rolled_back(
    run_playbook, inventory, tmp_path, aws
):
    first = _deploy(run_playbook, inventory, tmp_path, "start=1")
    assert first.returncode == 0, first.output[-4000:]
    assert "web: 2/2 new tasks running, 0 failed, targets 2/2 healthy" in first.output
    assert "rollout SUCCEEDED" in first.output
    service = _service(aws, inventory)
    good = service["taskDefinition"]
    primary = next(d for d in service["deployments"] if d["status"] == "PRIMARY")
    assert primary["rolloutState"] == "COMPLETED"
    assert primary["taskDefinition"] == good

    again = _deploy(run_playbook, inventory, tmp_path, "start=1")
    assert again.returncode == 0, again.output[-4000:]
    assert again.recap()["web"]["changed"] == 0, again.output[-4000:]
    families = aws("ecs").list_task_definitions(familyPrefix=f"{inventory['name']}-web")["taskDefinitionArns"]
    assert families[-1] == good  # no new revision
    # The service exists: the short path (image, task definition, rollout), none of the infrastructure roles.
    assert "Deploy - services that exist" in again.output
    provision_plays = again.output.split("PLAY [Shared stack")[1].split("PLAY [Deploy - services that exist")[0]
    assert "TASK [shipyard.fargate." not in provision_plays

    # Provisioning alone keeps the image the service runs (it does not swap in the initial tag).
    provisioned = _deploy(run_playbook, inventory, tmp_path, "start=1", playbook="playbooks/provision.yml")
    assert provisioned.returncode == 0, provisioned.output[-4000:]
    assert provisioned.recap()["web"]["changed"] == 0, provisioned.output[-4000:]
    assert _service(aws, inventory)["taskDefinition"] == good

    broken = _deploy(run_playbook, inventory, tmp_path, "start=1,exit=7@4,reason=boom")
    assert broken.returncode != 0
    assert "exit code 7" in broken.output
    assert "rolling back" in broken.output
    settled = _service(aws, inventory)
    assert settled["taskDefinition"] == good
    primary = next(d for d in settled["deployments"] if d["status"] == "PRIMARY")
    assert primary["taskDefinition"] == good
    assert primary["rolloutState"] == "COMPLETED"
