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


# playbooks/tasks/settle_names.yml: the per-service names, kept as facts once the pre-flight has checked them.
SETTLE = REPO / "playbooks" / "tasks" / "settle_names.yml"


def _wiring() -> dict:
    wiring = {}
    for path in sorted((REPO / "playbooks" / "roles" / "wiring" / "vars" / "main").glob("*.yml")):
        wiring.update(yaml.safe_load(path.read_text()) or {})
    return wiring


def _inventory_settings() -> dict:
    """The local inventory's settings for every host (group_vars/all): the stack's region is one of them."""
    settings = {}
    for path in sorted((REPO / "inventories" / "local" / "group_vars" / "all").glob("*.yml")):
        settings.update(yaml.safe_load(path.read_text()) or {})
    return settings


def _settled() -> dict:
    (task,) = yaml.safe_load(SETTLE.read_text())
    return task["ansible.builtin.set_fact"]


def test_each_settled_name_is_the_wirings_own_value():
    wiring, settled = {**_inventory_settings(), **_wiring()}, _settled()
    assert settled, "nothing settled"
    for name, value in settled.items():
        assert name in wiring, f"{name} is neither a wiring variable nor an inventory setting"
        assert value == "{{ " + name + " }}", f"{name} must be the wiring's value, evaluated once: {value}"


def test_no_settled_name_depends_on_the_run():
    """A fact outlives the play: a name that could change during a run (a role's published fact, the play it runs
    in, check mode) must stay a role variable."""
    wiring, settled = {**_inventory_settings(), **_wiring()}, _settled()
    moving = ("_shipyard_stand_in", "shipyard_stand_ins", "shipyard_deploy", "ansible_check_mode", "ansible_play")
    for name in settled:
        assert not any(word in str(wiring[name]) for word in moving), f"{name}: {wiring[name]}"


def _task_level_vars(node, found: list, where: str):
    if isinstance(node, dict):
        if isinstance(node.get("vars"), dict) and ("hosts" not in node):  # a task's or a block's, not a play's
            found.extend((where, name) for name in node["vars"])
        for value in node.values():
            _task_level_vars(value, found, where)
    elif isinstance(node, list):
        for item in node:
            _task_level_vars(item, found, where)


def test_no_task_or_block_sets_a_settled_name():
    """A fact outranks task and block vars: a task that set one of these names for itself would silently get the
    settled value instead (in the playbooks that run the pre-flight, and in the roles they call)."""
    settled = set(_settled())
    found: list = []
    for path in [*(REPO / "playbooks").glob("*.yml"), *(REPO / "playbooks" / "tasks").glob("*.yml"),
                 *(REPO / "roles").glob("*/tasks/*.yml")]:  # fmt: skip
        if path.name in ("smoke.yml", SETTLE.name):  # smoke.yml runs no pre-flight: its own names stand
            continue
        _task_level_vars(yaml.safe_load(path.read_text()), found, str(path.relative_to(REPO)))
    clashes = [(where, name) for where, name in found if name in settled]
    assert not clashes, clashes


def test_the_pre_flight_settles_the_names_after_checking_them():
    (preflight, *_rest) = yaml.safe_load((REPO / "playbooks" / "provision.yml").read_text())
    steps = [task.get("ansible.builtin.import_tasks") for task in preflight["tasks"]]
    assert "tasks/settle_names.yml" in steps
    assert steps.index("tasks/check_stack.yml") < steps.index("tasks/settle_names.yml")
    assert steps.index("tasks/check_option_types.yml") < steps.index("tasks/settle_names.yml")  # the secrets' shape
