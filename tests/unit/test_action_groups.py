"""meta/runtime.yml's action groups name exactly the modules the collection's roles and playbooks call.

The groups list their stock modules one by one instead of extending amazon.aws.aws and community.aws.aws (ansible-core
resolves every action of a module_defaults group for each play it loads: 340 actions cost each deploy a second). So a
module a role starts to call must be added by hand, or it runs without the play's region, endpoint and credentials:
against real AWS, with whatever credentials the machine has. These tests read every task file and fail on that.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
# Where the collection's tasks live: roles, playbooks (and their task files), the Molecule scenarios.
TASK_TREES = ("roles", "playbooks", "extensions/molecule")
ACTION = re.compile(r"^(?P<collection>amazon\.aws|community\.aws|community\.docker|shipyard\.fargate)\.(?P<name>\w+)$")
STOCK_GROUP = {"amazon.aws": "aws", "community.aws": "aws", "community.docker": "docker"}
# Our modules, by the client they are built on (a Docker module that also takes the AWS options, as
# registry_image_push does for its ECR login, is in both groups).
OUR_GROUP = {"AnsibleAWSModule": "aws", "aws_argument_spec": "aws", "AnsibleDockerClient": "docker"}


def _keys(node):
    """Every mapping key in a YAML document, at any depth."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield key
            yield from _keys(value)
    elif isinstance(node, list):
        for item in node:
            yield from _keys(item)


def called_modules(root: Path = REPO) -> dict[str, set[str]]:
    """FQCN -> the files that call it, for every AWS or Docker module (ours and the stock ones) a task names."""
    ours = {path.stem for path in (root / "plugins" / "modules").glob("*.py")}
    found: dict[str, set[str]] = {}
    for tree in TASK_TREES:
        for path in sorted((root / tree).rglob("*.yml")):
            for key in _keys(yaml.safe_load(path.read_text())):
                match = ACTION.match(key) if isinstance(key, str) else None
                if match and (match["collection"] != "shipyard.fargate" or match["name"] in ours):
                    found.setdefault(key, set()).add(str(path.relative_to(root)))
    return found


def our_groups(module: str, root: Path = REPO) -> list[str]:
    source = (root / "plugins" / "modules" / f"{module}.py").read_text()
    return sorted({group for client, group in OUR_GROUP.items() if client in source})


def expected_groups(fqcn: str) -> list[str]:
    collection, _, name = fqcn.rpartition(".")
    return our_groups(name) if collection == "shipyard.fargate" else [STOCK_GROUP[collection]]


def groups(root: Path = REPO) -> dict[str, set[str]]:
    """Group name -> its actions as FQCNs (ours are listed by short name)."""
    runtime = yaml.safe_load((root / "meta" / "runtime.yml").read_text())
    return {
        name: {action if "." in action else f"shipyard.fargate.{action}" for action in actions}
        for name, actions in runtime["action_groups"].items()
    }


def test_the_groups_list_their_actions_one_by_one():
    runtime = yaml.safe_load((REPO / "meta" / "runtime.yml").read_text())
    for name, actions in runtime["action_groups"].items():
        assert all(isinstance(action, str) for action in actions), f"{name}: no metadata (extend_group) entry"


def test_every_module_a_task_calls_is_in_its_group():
    listed = groups()
    missing = {
        fqcn: sorted(files)
        for fqcn, files in called_modules().items()
        for group in expected_groups(fqcn)
        if fqcn not in listed[group]
    }
    assert missing == {}, f"add these to meta/runtime.yml's action groups: {missing}"


def test_every_module_of_a_group_is_called_somewhere_or_is_ours():
    called = called_modules()
    stale = {
        group: sorted(a for a in actions if not a.startswith("shipyard.fargate.") and a not in called)
        for group, actions in groups().items()
    }
    assert stale == {"aws": [], "docker": []}


@pytest.mark.parametrize("module", sorted(path.stem for path in (REPO / "plugins" / "modules").glob("*.py")))
def test_each_of_our_modules_is_in_the_group_of_its_client(module):
    holding = sorted(name for name, actions in groups().items() if f"shipyard.fargate.{module}" in actions)
    assert holding == our_groups(module)


def test_a_task_file_calling_an_unlisted_module_is_found(tmp_path):
    """The scan itself: a stock module in a role's tasks that no group lists is reported."""
    for part in ("roles/demo/tasks", "plugins/modules", "meta"):
        (tmp_path / part).mkdir(parents=True)
    (tmp_path / "roles/demo/tasks/main.yml").write_text(
        "- name: A bucket\n  amazon.aws.s3_bucket:\n    name: b\n"
        "- name: Nested\n  block:\n    - name: Image\n      community.docker.docker_image_info:\n        name: x\n"
    )
    found = called_modules(tmp_path)
    assert found == {
        "amazon.aws.s3_bucket": {"roles/demo/tasks/main.yml"},
        "community.docker.docker_image_info": {"roles/demo/tasks/main.yml"},
    }
