"""The GitHub workflow's deploy step (ci/github/deploy): its inputs, the command it runs, what it says on GitHub.

ansible-playbook is a stand-in on PATH here that records its arguments and environment: bad input must be refused
before it runs. The step's real runs (the runner image, a healthy and a broken release on the local stack) are
stages of tests/integration/test_stack_flow.py.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
STEP = REPO / "ci" / "github" / "deploy"

STAND_IN = """#!/usr/bin/env bash
python3 - "$@" <<'EOF'
import json, os, sys
with open(os.environ["CALLS"], "a") as calls:
    calls.write(json.dumps({"argv": sys.argv[1:], "env": {k: v for k, v in os.environ.items()
                            if k.startswith(("ANSIBLE_", "SHIPYARD_", "GIT_CONFIG"))}}) + "\\n")
EOF
if [[ -n "${WRITE_REPORT:-}" ]]; then echo '{"verdict": "SUCCEEDED"}' > "$SHIPYARD_REPORT_FILE"; fi
exit "${EXIT:-0}"
"""


@pytest.fixture
def step(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "ansible-playbook").write_text(STAND_IN)
    (bin_dir / "ansible-playbook").chmod(0o755)
    (tmp_path / "inventory").mkdir()
    runner_temp = tmp_path / "runner-temp"
    runner_temp.mkdir()
    calls = tmp_path / "calls.jsonl"

    def run(**env):
        base = {
            "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
            "CALLS": str(calls),
            "GITHUB_ACTIONS": "true",
            "GITHUB_WORKSPACE": str(tmp_path),
            "GITHUB_STEP_SUMMARY": str(runner_temp / "summary.md"),
            "GITHUB_OUTPUT": str(runner_temp / "output"),
            "RUNNER_TEMP": str(runner_temp),
            "SHIPYARD_INVENTORY": "inventory",
        }
        done = subprocess.run(
            [str(STEP)], cwd=tmp_path, env={**base, **env}, capture_output=True, text=True, check=False
        )
        done.calls = [json.loads(line) for line in calls.read_text().splitlines()] if calls.exists() else []
        done.summary = (runner_temp / "summary.md").read_text() if (runner_temp / "summary.md").exists() else ""
        done.outputs = (runner_temp / "output").read_text() if (runner_temp / "output").exists() else ""
        return done

    return run


@pytest.mark.parametrize(
    ("env", "named"),
    [
        pytest.param({"SHIPYARD_INVENTORY": ""}, "SHIPYARD_INVENTORY is empty", id="no-inventory"),
        pytest.param({"SHIPYARD_INVENTORY": "nope"}, "SHIPYARD_INVENTORY 'nope' does not exist", id="missing"),
        pytest.param({"SHIPYARD_SERVICES": "web;rm"}, "SHIPYARD_SERVICES: 'web;rm' is not", id="service-name"),
        pytest.param({"SHIPYARD_SERVICES": "web -e"}, "SHIPYARD_SERVICES: '-e' is not", id="option-as-service"),
        pytest.param({"SHIPYARD_SERVICES": "*"}, "SHIPYARD_SERVICES: '*' is not", id="glob"),
        pytest.param({"SHIPYARD_IMAGE_TAG": "a:b"}, "SHIPYARD_IMAGE_TAG 'a:b' is not an image tag", id="tag"),
        pytest.param({"SHIPYARD_IMAGE_TAG": "x" * 129}, "SHIPYARD_IMAGE_TAG", id="tag-too-long"),
        pytest.param({"SHIPYARD_VERBOSITY": "9"}, "SHIPYARD_VERBOSITY '9' is not 0-4", id="verbosity"),
    ],
)
def test_bad_input_is_refused_naming_the_variable_before_anything_runs(step, env, named):
    done = step(**env)
    assert done.returncode == 2, done.stdout + done.stderr
    assert named in done.stderr
    assert f"::error title=Shipyard deploy: bad input::{named}" in done.stdout
    assert "bad input" in done.summary
    assert named in done.summary
    assert done.calls == []  # ansible-playbook never ran


def test_the_step_runs_the_collections_deploy_playbook_with_the_report_callback(step):
    done = step(
        SHIPYARD_SERVICES="web, api", SHIPYARD_IMAGE_TAG="4f1c2e9a7b3d", SHIPYARD_VERBOSITY="2", WRITE_REPORT="1"
    )
    assert done.returncode == 0, done.stdout + done.stderr
    (call,) = done.calls
    assert call["argv"] == [
        "shipyard.fargate.deploy", "-i", "inventory", "--limit", "web,api",
        "-e", "shipyard_deploy_image_tag=4f1c2e9a7b3d", "-vv",
    ]  # fmt: skip
    env = call["env"]
    assert env["ANSIBLE_CALLBACKS_ENABLED"].split(",")[-1] == "shipyard.fargate.github_actions"
    assert env["SHIPYARD_REPORT_FILE"].endswith("runner-temp/shipyard-deploy-report.json")
    # git may read the checkout's commit whoever owns it (a job container), with no config file written.
    count = int(env["GIT_CONFIG_COUNT"])
    assert env[f"GIT_CONFIG_KEY_{count - 1}"] == "safe.directory"
    assert env[f"GIT_CONFIG_VALUE_{count - 1}"] == str(Path(env["SHIPYARD_REPORT_FILE"]).parents[1])


def test_every_service_when_none_is_named(step):
    done = step(WRITE_REPORT="1")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.calls[0]["argv"] == ["shipyard.fargate.deploy", "-i", "inventory"]


def test_a_run_that_ends_before_its_report_fails_the_step_and_says_so(step):
    done = step(EXIT="250")
    assert done.returncode == 250
    message = "ansible-playbook ended with status 250 before any service was reported"
    assert f"::error title=Shipyard deploy::{message}" in done.stdout
    assert message in done.summary
    assert done.outputs == "verdict=FAILED\n"


def test_the_playbooks_status_is_the_steps(step):
    done = step(EXIT="2", WRITE_REPORT="1")  # a failed service: the callback has written the report and summary
    assert done.returncode == 2
    assert "before any service" not in done.stdout
