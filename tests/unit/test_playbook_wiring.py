"""The playbooks' wiring (playbooks/roles/wiring) reaches every play that uses it, whatever the user's ansible.cfg says.

Its variables are role vars of an imported role: each play of the playbooks that call the roles imports it as its
first task, with ``public: true`` (so ``private_role_vars = True`` in a user's ansible.cfg cannot hide them), and no
play reads the wiring as ``vars_files`` (ansible-core 2.19 reads those again for every task and host)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
WIRED = ("provision", "deploy", "destroy", "rollback", "status", "logs", "bootstrap_ci")  # every play of these


def plays():
    for path in sorted((REPO / "playbooks").glob("*.yml")):
        for index, play in enumerate(yaml.safe_load(path.read_text()) or []):
            if "hosts" in play:
                yield pytest.param(path.stem, play, id=f"{path.stem}-{index}")


def wiring_import(task: dict) -> dict | None:
    role = task.get("ansible.builtin.import_role") or {}
    return role if role.get("name") == "wiring" else None


def test_the_wiring_names_what_the_roles_need():
    names = set()
    for path in sorted((REPO / "playbooks" / "roles" / "wiring" / "vars" / "main").glob("*.yml")):
        names.update(yaml.safe_load(path.read_text()) or {})
    assert {"cluster_name", "service_name", "registry_name", "shipyard_aws_environment", "shipyard_stand_ins"} <= names


@pytest.mark.parametrize(("playbook", "play"), list(plays()))
def test_the_wiring_is_a_plays_first_task_and_public(playbook, play):
    tasks = play.get("tasks") or []
    imports = [index for index, task in enumerate(tasks) if wiring_import(task)]
    assert not any("wiring" in str(item) or "stand_ins" in str(item) for item in play.get("vars_files") or [])
    if playbook in WIRED:
        assert imports == [0], f"{playbook}: {play['name']}: the wiring must be imported first, once"
    if imports:
        assert imports == [0], f"{playbook}: {play['name']}: the wiring must be imported first, once"
        assert wiring_import(tasks[0]).get("public") is True, f"{playbook}: {play['name']}: public: true"
