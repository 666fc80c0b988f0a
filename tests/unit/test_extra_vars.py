"""Extra vars (-e) that would do nothing are refused (lookup shipyard.fargate.extra_var_problems, pre-flight
playbooks/tasks/check_extra_vars.yml): the pure rules, then the lookup on this repository's roles and playbooks with
extra vars parsed the way ansible-playbook parses them (k=v, JSON, @file)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ansible import context
from ansible.module_utils.common.collections import ImmutableDict
from ansible.parsing.dataloader import DataLoader
from ansible.utils.vars import load_extra_vars
from ansible_collections.shipyard.fargate.plugins.lookup import extra_var_problems as lookup
from ansible_collections.shipyard.fargate.plugins.module_utils.validation.extra_vars import (
    SERVICE_LEVEL,
    extra_var_problems,
    reached_names,
    service_level,
    strings_of,
)

REPO = Path(__file__).resolve().parents[2]
KNOWN = {"shipyard_deploy_image_tag", "shipyard_deploy_image_build", "service_desired_count", "service_cpu"}


# --- the rules --------------------------------------------------------------------------------------------------
def test_a_typo_is_refused_with_the_closest_name():
    (problem,) = extra_var_problems({"shipyard_deploy_imag_tag"}, KNOWN)
    assert problem.startswith("-e shipyard_deploy_imag_tag: no role or playbook")
    assert "Did you mean shipyard_deploy_image_tag?" in problem


def test_an_unknown_name_far_from_any_gets_no_guess():
    (problem,) = extra_var_problems({"dns_completely_different"}, KNOWN)
    assert "Did you mean" not in problem


def test_known_names_and_names_without_the_prefixes_pass():
    assert extra_var_problems({"shipyard_deploy_image_tag", "service_cpu", "my_own_var", "ansible_user"}, KNOWN) == []


def test_deploy_refuses_an_option_its_short_path_does_not_apply_with_the_command_that_does():
    options = {"service_desired_count", "service_cpu"}
    problems = extra_var_problems(
        {"service_desired_count", "service_cpu"}, KNOWN, deploy=True, deploy_applies={"service_cpu"}, options=options,
        host="api",
    )  # fmt: skip
    assert problems == [
        "-e service_desired_count: deploy.yml does not apply it to a service that exists (it rolls out the image and"
        " the task definition only). Apply it with: ansible-playbook playbooks/provision.yml --limit api"
        " -e service_desired_count=..."
    ]


def test_deploy_refuses_the_service_level_settings_even_where_its_path_reads_them():
    problems = extra_var_problems(
        {"service_desired_count", "service_autoscaling_enabled"}, KNOWN | {"service_autoscaling_enabled"}, deploy=True,
        deploy_applies={"service_desired_count", "service_autoscaling_enabled"},
        options={"service_desired_count", "service_autoscaling_enabled"},
    )  # fmt: skip
    assert [p.split(":")[0] for p in problems] == ["-e service_autoscaling_enabled", "-e service_desired_count"]


def test_provision_applies_every_option():
    options = {"service_desired_count"}
    assert extra_var_problems({"service_desired_count"}, KNOWN, deploy=False, options=options) == []


def test_reached_names_follow_imports_and_role_vars_but_not_validate_or_comments():
    files = {
        "deploy.yml": [
            {"name": "Keep service_desired_count", "ansible.builtin.import_tasks": "validate.yml"},
            {"name": "x", "ansible.builtin.import_tasks": "td.yml"},
        ],
        "validate.yml": [{"assert": {"that": "service_desired_count > 0 and service_autoscaling_enabled"}}],
        "td.yml": [{"mod": {"cpu": "{{ service_cpu }}", "containers": ["{{ _service_container }}"]}}],
        "service.yml": [{"mod": {"desired": "{{ service_desired_count }}"}}],
    }
    variables = {"_service_container": {"portMappings": [{"containerPort": "{{ service_container_port | int }}"}]}}
    assert reached_names(files, "deploy.yml", variables) == {"service_cpu", "service_container_port"}


def test_strings_of_skips_task_titles():
    assert list(strings_of({"name": "service_a", "x": ["service_b"]})) == ["name", "x", "service_b"]


# --- the lookup, on this repository ---------------------------------------------------------------------------
def test_the_deploy_short_path_applies_task_definition_options_and_not_service_level_ones():
    role_options = lookup._role_options()
    options = set().union(*role_options.values())
    applies = lookup._deploy_applies(role_options)

    def refused(name):
        return extra_var_problems({name}, options, deploy=True, deploy_applies=applies, options=options) != []

    for name in ("service_cpu", "service_memory", "service_environment", "service_container_port",
                 "service_rollout_timeout", "image_build_args"):  # fmt: skip
        assert not refused(name), name
    for name in ("service_desired_count", "service_autoscaling_enabled", "service_autoscaling_max_capacity",
                 "service_deployment_maximum_percent", "service_health_check_grace_period_seconds",
                 "network_vpc_cidr", "load_balancer_service_priority", "dns_record_name"):  # fmt: skip
        assert refused(name), name


def test_each_service_level_entry_is_a_service_option_that_the_main_entry_point_applies():
    service_options = lookup._role_options()["service"]
    tasks = {p.name: lookup._load(p) for p in (REPO / "roles" / "service" / "tasks").glob("*.yml")}
    variables = lookup._load(REPO / "roles" / "service" / "vars" / "main.yml")
    applied = set()
    for start in ("service.yml", "autoscaling.yml"):
        applied |= reached_names(tasks, start, variables)
    for entry in SERVICE_LEVEL:
        matched = {name for name in service_options if service_level(name) and name.startswith(entry)}
        assert matched, f"{entry} matches no option of the service role"
        assert matched <= applied, f"the main entry point does not apply {matched - applied}"


@pytest.fixture
def extra_vars(monkeypatch):
    """``extra_vars(*cli_args)``: ansible-playbook's -e arguments, as context.CLIARGS holds them."""

    def give(*args):
        monkeypatch.setattr(context, "CLIARGS", ImmutableDict(extra_vars=args))
        monkeypatch.setattr(load_extra_vars, "extra_vars", None, raising=False)  # its cache of the parsed vars

    yield give
    load_extra_vars.extra_vars = None


def _run(**options):
    plugin = lookup.LookupModule(loader=DataLoader())
    plugin.set_options = lambda var_options=None, direct=None: plugin._options.update(direct)  # no config manager
    plugin._options = {"deploy": False, "host": "web", "playbook_dir": None, "inventory_sources": []}
    return plugin.run([], **options)


def test_the_lookup_reads_every_form_of_extra_vars(extra_vars, tmp_path):
    awx = tmp_path / "extravars"  # AWX and ansible-runner pass theirs as a file
    awx.write_text(json.dumps({"shipyard_deploy_imag_tag": "v9", "shipyard_service": "web"}))
    extra_vars("service_desired_count=3", '{"service_cpus": 512}', f"@{awx}", "my_var=1")
    problems = _run(deploy=True, host="web", inventory_sources=[str(REPO / "inventories" / "local")])
    assert [p.split(":")[0] for p in problems] == [
        "-e service_cpus",
        "-e service_desired_count",
        "-e shipyard_deploy_imag_tag",
    ]
    assert "Did you mean service_cpu?" in problems[0]
    assert "Did you mean shipyard_deploy_image_tag?" in problems[2]


def test_names_the_inventory_or_playbooks_read_are_known(extra_vars):
    extra_vars("shipyard_postgres_port=1", "shipyard_rollback_to=web:3", "shipyard_destroy_data=true")
    assert _run(inventory_sources=[str(REPO / "inventories" / "local")]) == []
    # without the inventory, the name only it reads is not known
    assert [p.split(":")[0] for p in _run()] == ["-e shipyard_postgres_port"]
