"""The GitHub Actions report (callback shipyard.fargate.github_actions): what a run's results become on GitHub.

The pure functions (report, Markdown, outputs, annotations) on results shaped like the roles' and ecs_rollout's,
and the callback itself fed the result objects Ansible hands it, writing to files named by GitHub's variables.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from ansible_collections.shipyard.fargate.plugins.callback import github_actions as gha

DIGEST = "sha256:" + "ab" * 32
TD = "arn:aws:ecs:us-east-1:123456789012:task-definition/shop-web:7"
PREVIOUS = "arn:aws:ecs:us-east-1:123456789012:task-definition/shop-web:6"
FACTS = {
    "image_reference": f"123456789012.dkr.ecr.us-east-1.amazonaws.com/shop/web@{DIGEST}",
    "image_digest": DIGEST,
    "image_resolved_tag": "4f1c2e9a7b3d",
    "image_built": True,
    "service_task_definition_arn": TD,
}
TIMELINE = [
    {"elapsed": 0.0, "kind": "start", "message": "watching deployment ecs-svc/1 (task definition shop-web:7)"},
    {"elapsed": 21.5, "kind": "verdict", "message": "web: deployment ecs-svc/1 completed: 2/2 | healthy"},
]
CRASH = (
    "web: 2 new task(s) stopped: exit code 1 (Essential container in task exited)\n"
    "Last log lines of web (task 0f3a):\nError: refusing to start\n```\n    at main.js:10"
)


def _succeeded(**extra):
    rollout = {"verdict": "SUCCEEDED", "changed": True, "task_definition_arn": TD, "timeline": TIMELINE}
    return {"facts": dict(FACTS), "rollout": {**rollout, **extra}, "changed": True, "seconds": 42.04}


def _failed():
    rollout = {
        "verdict": "FAILED",
        "reason_code": "tasks_stopped",
        "message": CRASH,
        "changed": True,
        "task_definition_arn": TD,
        "previous_task_definition_arn": PREVIOUS,
        "timeline": TIMELINE[:1],
        "rollback": {"verdict": "SUCCEEDED", "task_definition_arn": PREVIOUS, "message": "web: completed"},
    }
    failure = {"task": "Roll the service out to the task definition", "action": "ecs_rollout", "message": CRASH}
    return {"facts": dict(FACTS), "rollout": rollout, "failure": failure, "changed": True, "seconds": 80.0}


# --- the report ---------------------------------------------------------------------------------------------------


def test_a_rolled_out_service_reports_its_version_digest_task_definition_and_verdict():
    report = gha.build_report({"web": _succeeded()}, source={"sha": "4f1c2e9a7b3d5e6f", "ref": "main"})
    assert report["verdict"] == "SUCCEEDED"
    assert report["failed"] == []
    (web,) = report["services"]
    assert (web["image_tag"], web["image_digest"], web["task_definition_arn"]) == ("4f1c2e9a7b3d", DIGEST, TD)
    markdown = gha.render_markdown(report)
    assert markdown.startswith("## ✅ Shipyard deploy: succeeded\n")
    assert "Commit `4f1c2e9a7b3d` of `main`." in markdown
    row = next(line for line in markdown.splitlines() if line.startswith("| web |"))
    cells = row.split(" | ")
    assert cells[1:] == [
        "✅ SUCCEEDED (service updated)",
        "`4f1c2e9a7b3d` (built)",
        f"`{DIGEST}`",
        "shop-web:7",
        "42.0 |",
    ]
    assert "| 21.5 | verdict | web: deployment ecs-svc/1 completed: 2/2 \\| healthy |" in markdown  # pipe escaped
    assert gha.annotations(report) == []


@pytest.mark.parametrize(
    ("seen", "expected"),
    [
        pytest.param(_succeeded(), "service updated", id="updated"),
        pytest.param(_succeeded(changed=False), "rolled out", id="created-with-its-task-definition"),
        pytest.param({**_succeeded(changed=False), "changed": False}, "no update needed", id="nothing-to-do"),
    ],
)
def test_what_a_successful_rollout_did(seen, expected):
    (service,) = gha.build_report({"web": seen})["services"]
    assert gha.change(service) == expected


def test_a_failed_rollout_reports_the_reason_with_the_log_lines_and_the_rollback():
    report = gha.build_report({"web": _failed(), "api": _succeeded()})
    assert report["verdict"] == "FAILED"
    assert report["failed"] == ["web"]
    web = report["services"][0]
    assert web["reason"] == CRASH
    markdown = gha.render_markdown(report)
    assert markdown.startswith("## ❌ Shipyard deploy: failed (web failed)\n")
    assert '### ❌ web: failed at task "Roll the service out to the task definition"' in markdown
    # The message holds a ``` line: the fence around it is longer, so the block is not cut there.
    assert "````text\n" + CRASH + "\n````" in markdown
    assert "Rolled back to `shop-web:6`: SUCCEEDED, web: completed" in markdown
    (annotation,) = gha.annotations(report)
    assert annotation.startswith("::error title=Shipyard deploy%3A web failed::web: 2 new task(s) stopped: exit code 1")
    assert "\n" not in annotation
    assert "%0AError: refusing to start%0A" in annotation


def test_a_task_failure_before_the_rollout_is_the_reason():
    seen = {"failure": {"task": "Build the image from the Dockerfile", "action": "docker_image", "message": "boom"}}
    (service,) = gha.build_report({"web": seen})["services"]
    assert (service["verdict"], service["reason"]) == ("FAILED", "boom")
    empty = {"failure": {"task": "Check the options", "action": "assert", "message": ""}}
    (service,) = gha.build_report({"web": empty})["services"]
    assert service["reason"] == "task 'Check the options' failed"


def test_a_run_with_no_service_says_so():
    report = gha.build_report({})
    assert report["verdict"] == "SKIPPED"
    assert "No service was reached" in gha.render_markdown(report)


def test_outputs_name_the_single_service_digest_and_task_definition_and_every_service_as_json():
    one = gha.step_outputs(gha.build_report({"web": _succeeded()}), "/tmp/r.json")
    assert one["verdict"] == "SUCCEEDED"
    assert (one["image_digest"], one["task_definition_arn"], one["report"]) == (DIGEST, TD, "/tmp/r.json")
    assert json.loads(one["services"]) == {
        "web": {"verdict": "SUCCEEDED", "image_tag": "4f1c2e9a7b3d", "image_digest": DIGEST, "task_definition_arn": TD}
    }
    two = gha.step_outputs(gha.build_report({"web": _failed(), "api": _succeeded()}))
    assert (two["verdict"], two["image_digest"], two["task_definition_arn"]) == ("FAILED", "", "")
    assert set(json.loads(two["services"])) == {"web", "api"}


def test_output_lines_use_the_heredoc_form_for_a_value_with_a_line_break():
    text = gha.output_lines({"verdict": "FAILED", "note": "a\nb"}, "EOF_x")
    assert text == "verdict=FAILED\nnote<<EOF_x\na\nb\nEOF_x\n"
    with pytest.raises(ValueError, match="note"):
        gha.output_lines({"note": "a\nEOF_x\n"}, "EOF_x")


# --- the callback, fed what Ansible hands it ----------------------------------------------------------------------


def _result(host, action, data, name="a task"):
    task = SimpleNamespace(action=action, get_name=lambda: name)
    return SimpleNamespace(_host=SimpleNamespace(get_name=lambda: host), _task=task, _result=data)


def _stats(failures=(), dark=()):
    return SimpleNamespace(failures=dict.fromkeys(failures, 1), dark=dict.fromkeys(dark, 1))


@pytest.fixture
def github(tmp_path, monkeypatch):
    paths = {name: tmp_path / name for name in ("summary.md", "output", "report.json")}
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_SHA", "4f1c2e9a7b3d5e6f")
    monkeypatch.setenv("GITHUB_REF_NAME", "main")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(paths["summary.md"]))
    monkeypatch.setenv("GITHUB_OUTPUT", str(paths["output"]))
    monkeypatch.setenv("SHIPYARD_REPORT_FILE", str(paths["report.json"]))
    return paths


def test_the_callback_writes_the_summary_outputs_report_and_annotations(github, capsys):
    callback = gha.CallbackModule()
    callback.v2_runner_on_ok(_result("web", "ansible.builtin.set_fact", {"ansible_facts": FACTS}))
    callback.v2_runner_on_ok(_result("web", "ansible.builtin.set_fact", {"ansible_facts": {"unrelated": "x"}}))
    rollout = {"failed": True, "msg": CRASH, **_failed()["rollout"]}
    callback.v2_runner_on_failed(_result("web", "shipyard.fargate.ecs_rollout", rollout, "Roll out"))
    callback.v2_playbook_on_stats(_stats(failures=["web"]))

    report = json.loads(github["report.json"].read_text())
    (web,) = report["services"]
    assert (web["verdict"], web["image_digest"], web["reason"]) == ("FAILED", DIGEST, CRASH)
    assert "unrelated" not in json.dumps(report)
    assert web["rollout"]["rollback"]["task_definition_arn"] == PREVIOUS
    assert github["summary.md"].read_text().startswith("## ❌ Shipyard deploy: failed (web failed)")
    outputs = dict(line.split("=", 1) for line in github["output"].read_text().splitlines())
    assert outputs["verdict"] == "FAILED"
    assert outputs["report"] == str(github["report.json"])
    assert "::error title=Shipyard deploy%3A web failed::" in capsys.readouterr().out


def test_a_failure_that_a_rescue_handled_and_an_ignored_one_are_not_the_hosts_end(github):
    callback = gha.CallbackModule()
    callback.v2_runner_on_failed(_result("web", "ansible.builtin.uri", {"msg": "ignored"}), ignore_errors=True)
    callback.v2_runner_on_failed(_result("web", "ansible.builtin.command", {"msg": "rescued"}))
    callback.v2_runner_on_ok(_result("web", "shipyard.fargate.ecs_rollout", _succeeded()["rollout"]))
    callback.v2_playbook_on_stats(_stats())
    (web,) = json.loads(github["report.json"].read_text())["services"]
    assert (web["verdict"], web["failure"]) == ("SUCCEEDED", None)


def test_the_callback_writes_nothing_where_no_variable_points(tmp_path, monkeypatch, capsys):
    for name in ("GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY", "GITHUB_OUTPUT", "SHIPYARD_REPORT_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    callback = gha.CallbackModule()
    callback.v2_runner_on_failed(_result("web", "ansible.builtin.command", {"msg": "boom"}))
    callback.v2_playbook_on_stats(_stats(failures=["web"]))
    assert list(tmp_path.iterdir()) == []
    assert "::error" not in capsys.readouterr().out


def test_a_failed_public_url_check_reports_the_deploy_with_its_rollback_not_the_rollback_as_the_deploy(github):
    """The service role rolls back after a failed URL check with a second ecs_rollout (to the previous task
    definition), then fails: the row is the deploy's (its task definition), with the rollback under it."""
    callback = gha.CallbackModule()
    deploy = {**_succeeded()["rollout"], "previous_task_definition_arn": PREVIOUS}
    callback.v2_runner_on_ok(_result("web", "shipyard.fargate.ecs_rollout", deploy))
    back = {"verdict": "SUCCEEDED", "changed": True, "task_definition_arn": PREVIOUS, "message": "web: completed"}
    callback.v2_runner_on_ok(_result("web", "shipyard.fargate.ecs_rollout", back))
    message = f"The rollout to {TD} completed, but the service failed its public URL check: HTTP 500"
    callback.v2_runner_on_failed(
        _result("web", "ansible.builtin.fail", {"msg": message}, "Fail with what the URL said")
    )
    callback.v2_playbook_on_stats(_stats(failures=["web"]))
    (web,) = json.loads(github["report.json"].read_text())["services"]
    assert (web["verdict"], web["task_definition_arn"], web["reason"]) == ("FAILED", TD, message)
    assert web["rollout"]["rollback"] == {
        "task_definition_arn": PREVIOUS,
        "verdict": "SUCCEEDED",
        "message": back["message"],
    }
    assert "Rolled back to `shop-web:6`: SUCCEEDED" in github["summary.md"].read_text()


def test_a_later_rollout_to_another_task_definition_replaces_the_earlier_one():
    first = {"verdict": "SUCCEEDED", "task_definition_arn": PREVIOUS, "previous_task_definition_arn": None}
    second = {"verdict": "SUCCEEDED", "task_definition_arn": TD, "previous_task_definition_arn": PREVIOUS}
    assert gha.merge_rollout(first, second) == second
    assert gha.merge_rollout(None, second) == second


def test_services_found_in_place_report_the_outcome_published_for_them_not_a_skip(github):
    """deploy.yml reports the services its look-up found in place with one set_stats for all of them (run_once, on
    the first host): no role and no rollout ran for them; each is SUCCEEDED with nothing to do, its image and task
    definition from its outcome."""
    outcome = {"service": "web", "verdict": "SUCCEEDED", "updated": False, "image_tag": "4f1c2e9a7b3d",
               "image_digest": DIGEST, "task_definition_arn": TD}  # fmt: skip
    api = dict(outcome, service="api", task_definition_arn=PREVIOUS)
    stats = {"data": {"shipyard_services": {"web": outcome, "api": api}}, "per_host": False, "aggregate": True}
    callback = gha.CallbackModule()
    callback.v2_runner_on_ok(_result("web", "ansible.builtin.assert", {"changed": False}))
    callback.v2_runner_on_ok(_result("api", "ansible.builtin.assert", {"changed": False}))
    callback.v2_runner_on_ok(_result("web", "ansible.builtin.set_stats", {"ansible_stats": stats}))
    callback.v2_playbook_on_stats(_stats())

    report = json.loads(github["report.json"].read_text())
    assert report["verdict"] == "SUCCEEDED"
    web, api = report["services"]
    assert (web["verdict"], web["image_tag"], web["image_digest"], web["task_definition_arn"]) == (
        "SUCCEEDED", "4f1c2e9a7b3d", DIGEST, TD)  # fmt: skip
    assert (api["verdict"], api["task_definition_arn"]) == ("SUCCEEDED", PREVIOUS)
    assert "| api | ✅ SUCCEEDED (no update needed) | `4f1c2e9a7b3d` (already in the registry) |" in (
        github["summary.md"].read_text()
    )


def test_only_a_set_stats_of_shipyard_services_is_an_outcome():
    assert gha.published_outcomes({"ansible_stats": {"data": {"other": {"web": {}}}}}) == {}
    assert gha.published_outcomes({"ansible_facts": {"shipyard_services": {"web": {}}}}) == {}
    assert gha.published_outcomes({"ansible_stats": {"data": {"shipyard_services": {"web": "x", "api": {}}}}}) == {
        "api": {}
    }
