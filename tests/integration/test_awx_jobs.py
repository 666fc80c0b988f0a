"""A job template of awx/controller.yml run the way the controller runs a job (tests/awx_jobs.py: ansible-runner, a
private data dir, the inventory imported and handed over as the controller's script, the credentials' injectors),
against the local stack.

The cheapest template that reaches AWS: Check (playbooks/smoke.yml as a check job, so it creates nothing), for one
service (the launch's limit), under a stack name of its own. The heavy templates (Provision, Deploy, Rollback,
Destroy) and the workflow run as stages of tests/integration/test_stack_flow.py with the same harness.
"""

from __future__ import annotations

import json

import pytest
from awx_jobs import REPO, LaunchRefused, copy_inventory, run_job

pytestmark = pytest.mark.stack


def test_check_job_runs_like_the_controller_runs_it(stack_env, aws, unique_name, tmp_path):
    jobs = tmp_path / "jobs"
    inventory = copy_inventory(REPO / "inventories" / "local", tmp_path / "inventory", shipyard_stack_name=unique_name)

    # An answer the survey refuses: refused at launch, before any job exists.
    with pytest.raises(LaunchRefused, match=r"Value wbe for 'shipyard_service' expected to be one of \['api', 'web'\]"):
        run_job("Deploy", {"shipyard_service": "wbe"}, stack_env=stack_env, tmp_path=jobs, inventory=inventory)
    assert not jobs.exists() or not list(jobs.iterdir())

    job = run_job("Check", stack_env=stack_env, tmp_path=jobs, inventory=inventory, limit="web")

    assert job.status == "successful", job.stdout
    assert job.rc == 0
    assert job.cmdline[:1] == ["--check"]  # the template's job type
    assert job.cmdline[job.cmdline.index("-l") : job.cmdline.index("-l") + 2] == ["-l", "web"]
    # The job's environment is the execution environment's and the injectors', nothing of this test process's.
    command = json.loads((job.private_data_dir / "artifacts" / str(job.id) / "command").read_text())
    assert {"SHIPYARD_EMULATOR_PORT", "SHIPYARD_REGISTRY_PORT", "AWS_ENDPOINT_URL", "DOCKER_HOST"} <= set(job.env_names)
    assert command["env"]["SHIPYARD_EMULATOR_PORT"] == stack_env["SHIPYARD_EMULATOR_PORT"]
    assert "ANSIBLE_CONFIG" not in command["env"]
    assert command["cwd"] == str(REPO)

    # The event stream: a playbook, its play and tasks, results per host (web only: the limit), the stats last.
    names = [event["event"] for event in job.events]
    assert names[0] == "playbook_on_start"
    assert names[-1] == "playbook_on_stats"
    assert {"playbook_on_play_start", "playbook_on_task_start", "runner_on_start", "runner_on_ok"} <= set(names)
    assert "runner_on_failed" not in names
    results = job.events_named("runner_on_ok", "runner_on_skipped", "runner_on_failed")
    assert {event["event_data"]["host"] for event in results} == {"web"}
    tasks = {event["event_data"]["task"] for event in job.events_named("playbook_on_task_start")}
    assert "Ensure the service's ECR repository exists" in tasks
    assert [event["counter"] for event in job.events] == sorted(event["counter"] for event in job.events)

    # A check job reports what it would change (the repository and the secret of a stack that has none) ...
    assert job.stats["changed"] == {"web": 2}
    assert job.stats["failures"] == {}
    assert job.artifacts == {}  # smoke.yml publishes nothing with set_stats
    assert "PLAY RECAP" in job.stdout
    assert "\x1b[" not in job.stdout
    # ... and changes nothing.
    ecr = aws("ecr")
    with pytest.raises(ecr.exceptions.RepositoryNotFoundException):
        ecr.describe_repositories(repositoryNames=[f"{unique_name}/web"])
