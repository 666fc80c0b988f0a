"""awx/controller.yml and playbooks/configure_awx.yml, without a controller: the data is consistent and is what the
controller accepts, the playbook passes only options the awx.awx modules have, and the launch rules of
tests/awx_jobs.py (the harness that runs the templates like the controller) refuse what the controller refuses.

tests/integration/test_awx_jobs.py runs a template on the local stack with that harness.
"""

from __future__ import annotations

import ast
import configparser
import importlib
import json
import re
from pathlib import Path
from unittest import mock

import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible_collections.awx.awx.plugins.module_utils.controller_api import ControllerModule
from awx_jobs import (
    AWS_CREDENTIAL_TYPE,
    LaunchRefused,
    _job_artifacts,
    _nodes_to_run,
    accept_launch,
    credential_input_errors,
    credential_type_errors,
    groups_of,
    inject_credential,
    load_controller,
    load_data,
    local_stack_credential_inputs,
    render,
    script_data,
    survey_spec_errors,
)

REPO = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).parent / "fixtures" / "awx"
PLAYBOOK = REPO / "playbooks" / "configure_awx.yml"
LOCAL_GROUPS = {"services": ["web", "api"], "all": ["api", "web"]}
STACK_ENV = {
    "AWS_ENDPOINT_URL": "http://127.0.0.1:29410",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_REGION": "us-east-1",
    "SHIPYARD_EMULATOR_PORT": "29410",
    "SHIPYARD_REGISTRY_PORT": "29450",
    "SHIPYARD_LB_PORT": "29480",
    "SHIPYARD_POSTGRES_PORT": "29440",
    "DOCKER_HOST": "unix:///tmp/shipyard-test/docker.sock",
}
# Which data section each configure_awx.yml task applies, and with which awx.awx module.
SECTIONS = {
    "controller_organization": "organization",
    "controller_credential_types": "credential_type",
    "controller_credentials": "credential",
    "controller_execution_environment": "execution_environment",
    "controller_project": "project",
    "controller_inventory": "inventory",
    "controller_inventory_source": "inventory_source",
    "controller_job_templates": "job_template",
    "controller_job_template_defaults": "job_template",
    "controller_workflow_job_templates": "workflow_job_template",
}


@pytest.fixture(scope="module")
def controller():
    return load_controller(groups=LOCAL_GROUPS)


def inventory_services(inventory: str) -> list[str]:
    hosts = yaml.safe_load((REPO / "inventories" / inventory / "hosts.yml").read_text())
    return sorted(hosts["all"]["children"]["services"]["hosts"])


# --- The awx.awx modules' argument specs --------------------------------------------------------------------------


class _Spec(Exception):
    pass


def argument_spec(module_name: str) -> dict:
    """The module's real argument spec: main() is run up to the point it builds its ControllerAPIModule."""
    module = importlib.import_module(f"ansible_collections.awx.awx.plugins.modules.{module_name}")
    captured = {}

    def capture(argument_spec=None, **_kwargs):
        captured.update(argument_spec)
        raise _Spec

    with mock.patch.object(module, "ControllerAPIModule", capture), pytest.raises(_Spec):
        module.main()
    return {**ControllerModule.AUTH_ARGSPEC, **captured}


def option_names(spec: dict) -> set[str]:
    return set(spec) | {alias for option in spec.values() for alias in option.get("aliases", [])}


def documented_suboptions(module_name: str, option: str) -> dict:
    """An option's suboptions from the module's DOCUMENTATION, as an argument spec (the spec itself has none)."""
    source = Path(importlib.import_module(f"ansible_collections.awx.awx.plugins.modules.{module_name}").__file__)
    tree = ast.parse(source.read_text())
    doc = next(
        yaml.safe_load(node.value.value)
        for node in tree.body
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "DOCUMENTATION"
    )

    def to_spec(options: dict) -> dict:
        spec = {}
        for name, option in options.items():
            entry = {
                key: option[key] for key in ("type", "choices", "required", "elements", "aliases") if key in option
            }
            if "suboptions" in option:
                entry["options"] = to_spec(option["suboptions"])
            spec[name] = entry
        return spec

    return to_spec(doc["options"][option]["suboptions"])


def playbook_tasks() -> list[dict]:
    plays = yaml.safe_load(PLAYBOOK.read_text())
    return [task for play in plays for task in play["tasks"]]


def awx_tasks() -> dict[str, dict]:
    """configure_awx.yml's awx.awx tasks: module name -> the options the task passes."""
    found = {}
    for task in playbook_tasks():
        for key, value in task.items():
            if key.startswith("awx.awx."):
                found[key.removeprefix("awx.awx.")] = value
    return found


def test_the_playbook_uses_only_awx_awx_modules_by_fqcn_and_each_once():
    modules = [key for task in playbook_tasks() for key in task if "." in key and key.split(".")[0] == "awx"]
    assert sorted(modules) == sorted(f"awx.awx.{name}" for name in set(SECTIONS.values()))


@pytest.mark.parametrize("module_name", sorted(set(SECTIONS.values())))
def test_every_option_the_playbook_passes_exists_in_the_module(module_name):
    passed = set(awx_tasks()[module_name])
    unknown = passed - option_names(argument_spec(module_name))
    assert not unknown, f"awx.awx.{module_name} has no option {sorted(unknown)}"


@pytest.mark.parametrize("section", sorted(SECTIONS))
def test_every_key_of_the_data_is_a_module_option_the_playbook_passes(section):
    """A key the playbook does not pass would be silently ignored; one the module lacks would fail at apply time."""
    module_name = SECTIONS[section]
    items = load_data()[section]
    items = items if isinstance(items, list) else [items]
    spec_names = option_names(argument_spec(module_name))
    passed = set(awx_tasks()[module_name])
    for item in items:
        assert set(item) <= spec_names, f"{section} {item.get('name')}: not options of awx.awx.{module_name}"
        unused = set(item) - passed
        assert not unused, f"{section} {item.get('name')}: keys configure_awx.yml does not pass: {sorted(unused)}"


def rendered_items(controller, section):
    data = controller.data[section]
    if section == "controller_job_templates":
        return [controller.job_template(item["name"]) for item in data]
    if section == "controller_workflow_job_templates":
        return [controller.workflow(item["name"]) for item in data]
    items = render(data, controller.context)
    return items if isinstance(items, list) else [items]


@pytest.mark.parametrize("section", sorted(set(SECTIONS) - {"controller_job_template_defaults"}))
def test_the_data_passes_the_modules_argument_specs(controller, section):
    """Types, choices and required options, by Ansible's own validator (as the module would check them)."""
    module_name = SECTIONS[section]
    spec = argument_spec(module_name)
    for item in rendered_items(controller, section):
        params = {key: value for key, value in item.items() if key in spec}
        if module_name == "credential":
            params["inputs"] = {}
        result = ArgumentSpecValidator(spec).validate(params)
        assert not result.error_messages, f"{item['name']}: {result.error_messages}"


def test_workflow_nodes_pass_the_documented_node_schema(controller):
    node_spec = documented_suboptions("workflow_job_template", "workflow_nodes")
    for node in controller.workflow("Provision, deploy, check")["workflow_nodes"]:
        result = ArgumentSpecValidator(node_spec).validate(node)
        assert not result.error_messages, f"{node['identifier']}: {result.error_messages}"
        assert not result.unsupported_parameters, f"{node['identifier']}: {result.unsupported_parameters}"


# --- The data's consistency ---------------------------------------------------------------------------------------


def test_the_templates_are_the_five_the_issue_names_and_their_playbooks_exist(controller):
    playbooks = {name: controller.job_template(name)["playbook"] for name in controller.job_template_names()}
    assert playbooks == {
        "Provision": "playbooks/provision.yml",
        "Deploy": "playbooks/deploy.yml",
        "Rollback": "playbooks/rollback.yml",
        "Destroy": "playbooks/destroy.yml",
        "Check": "playbooks/smoke.yml",
    }
    for playbook in playbooks.values():
        assert (REPO / playbook).is_file(), playbook


def test_deploy_prompts_for_limit_and_verbosity_and_check_changes_nothing(controller):
    deploy = controller.job_template("Deploy")
    assert deploy["ask_limit_on_launch"] is True
    assert deploy["ask_verbosity_on_launch"] is True
    assert deploy["ask_variables_on_launch"] is False  # only the survey's variables get in
    assert controller.job_template("Check")["job_type"] == "check"


def test_survey_specs_are_what_the_controller_accepts(controller):
    surveys = [controller.job_template(name) for name in controller.job_template_names()]
    surveys.append(controller.workflow("Provision, deploy, check"))
    with_survey = [item for item in surveys if item.get("survey_spec")]
    assert {item["name"] for item in with_survey} == {"Deploy", "Rollback", "Destroy", "Provision, deploy, check"}
    for item in with_survey:
        assert item["survey_enabled"] is True, item["name"]
        assert survey_spec_errors(item["survey_spec"]) == [], item["name"]


@pytest.mark.parametrize("inventory", ["local", "production.example"])
def test_the_service_questions_offer_exactly_the_inventorys_services(inventory):
    services = inventory_services(inventory)
    controller = load_controller(groups={"services": services})
    items = [controller.job_template(name) for name in ("Deploy", "Rollback")]
    items.append(controller.workflow("Provision, deploy, check"))
    for item in items:
        (question,) = [q for q in item["survey_spec"]["spec"] if q["variable"] == "shipyard_service"]
        assert question["type"] == "multiplechoice"
        assert question["required"] is True
        assert question["choices"] == services


def test_destroy_asks_for_the_stack_name(controller):
    spec = {q["variable"]: q for q in controller.job_template("Destroy")["survey_spec"]["spec"]}
    confirm = spec["shipyard_destroy_confirm"]
    assert confirm["type"] == "text"
    assert confirm["required"] is True
    assert confirm["min"] == 1
    assert spec["shipyard_destroy_data"]["default"] == "false"


def test_the_workflow_is_provision_then_deploy_then_check_on_success(controller):
    workflow = controller.workflow("Provision, deploy, check")
    nodes = {node["identifier"]: node for node in workflow["workflow_nodes"]}
    assert len(nodes) == len(workflow["workflow_nodes"])  # identifiers are unique
    names = set(controller.job_template_names())
    for node in nodes.values():
        template = node["unified_job_template"]
        assert template["type"] == "job_template"
        assert template["name"] in names
        assert template["organization"]["name"] == controller.context["shipyard_awx_organization"]
        for children in node.get("related", {}).values():
            assert {child["identifier"] for child in children} <= set(nodes)
    chain = {
        (parent, kind, child["identifier"])
        for parent, node in nodes.items()
        for kind, children in node.get("related", {}).items()
        for child in children
    }
    assert chain == {("provision", "success_nodes", "deploy"), ("deploy", "success_nodes", "check")}
    assert [nodes[i]["unified_job_template"]["name"] for i in ("provision", "deploy", "check")] == [
        "Provision", "Deploy", "Check",
    ]  # fmt: skip


def test_templates_carry_the_environments_credentials():
    local = load_controller(groups=LOCAL_GROUPS)
    production = load_controller(groups=LOCAL_GROUPS, overrides={"shipyard_awx_env": "production"})
    assert local.job_template("Deploy")["credentials"] == ["Shipyard local stack", "Shipyard local Docker engine"]
    assert production.job_template("Deploy")["credentials"] == ["Shipyard AWS"]
    assert production.job_template("Deploy")["inventory"] == "Shipyard production"
    assert production.credential_type(production.credential("Shipyard AWS")["credential_type"]) is AWS_CREDENTIAL_TYPE
    for name in ("Shipyard local stack", "Shipyard local Docker engine"):
        credential = local.credential(name)
        assert local.credential_type(credential["credential_type"])["name"] == credential["credential_type"]


# --- Credential types ---------------------------------------------------------------------------------------------


def test_credential_types_are_what_the_controller_accepts(controller):
    for credential_type in controller.data["controller_credential_types"]:
        assert credential_type_errors(credential_type) == [], credential_type["name"]


def test_credential_type_check_refuses_what_the_controller_refuses():
    bad = {
        "name": "bad",
        "kind": "ssh",
        "inputs": {"fields": [{"id": "key", "label": "Key"}], "required": ["token"]},
        "injectors": {"env": {"ANSIBLE_CONFIG": "{{ key }}", "PATH": "x", "TOKEN": "{{ token }}"}},
    }
    errors = " | ".join(credential_type_errors(bad))
    for expected in ("custom credential types are cloud or net", "required input 'token'", "'ANSIBLE_CONFIG' is not",
                     "'PATH' is not allowed", "'TOKEN' uses an undefined field"):  # fmt: skip
        assert expected in errors, errors


def test_the_local_credentials_inject_every_variable_the_local_inventory_reads(controller):
    read = set()
    for path in (REPO / "inventories" / "local").rglob("*.yml"):
        read |= set(re.findall(r"lookup\('ansible\.builtin\.env', '([A-Z0-9_]+)'\)", path.read_text()))
    assert read == {
        "SHIPYARD_AWS_REGION",
        "SHIPYARD_EMULATOR_PORT",
        "SHIPYARD_REGISTRY_PORT",
        "SHIPYARD_LB_PORT",
        "SHIPYARD_POSTGRES_PORT",
    }
    injected = set()
    for name in controller.context["shipyard_awx_environments"]["local"]["credentials"]:
        credential_type = controller.credential_type(controller.credential(name)["credential_type"])
        injected |= set(credential_type["injectors"]["env"])
    assert read <= injected
    # and what boto3, awscli and the Docker client read without the inventory's help
    assert {"AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION", "DOCKER_HOST"} <= (
        injected
    )


def test_the_local_injectors_render_the_stacks_values(controller, tmp_path):
    (tmp_path / "env").mkdir()
    inputs = local_stack_credential_inputs(STACK_ENV)
    stack_type = controller.credential_type("Shipyard local stack")
    assert credential_input_errors(stack_type, inputs["Shipyard local stack"]) == []
    env, args = inject_credential(stack_type, inputs["Shipyard local stack"], tmp_path)
    assert env == {
        "AWS_ENDPOINT_URL": "http://127.0.0.1:29410",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "SHIPYARD_AWS_REGION": "us-east-1",
        "SHIPYARD_EMULATOR_PORT": "29410",
        "SHIPYARD_REGISTRY_PORT": "29450",
        "SHIPYARD_LB_PORT": "29480",
        "SHIPYARD_POSTGRES_PORT": "29440",
    }
    assert args == []


def test_the_docker_host_type_writes_its_tls_files(controller, tmp_path):
    (tmp_path / "env").mkdir()
    docker_type = controller.credential_type("Shipyard Docker host")
    plain, _ = inject_credential(docker_type, {"docker_host": "unix:///run/docker.sock"}, tmp_path)
    assert plain["DOCKER_HOST"] == "unix:///run/docker.sock"
    assert plain["DOCKER_TLS_VERIFY"] == "0"
    assert plain["SHIPYARD_DOCKER_CA_PATH"] == plain["SHIPYARD_DOCKER_CLIENT_KEY"] == ""

    inputs = {"docker_host": "tcp://build:2376", "tls_verify": True, "ca_cert": "CA-PEM", "client_cert": "CERT-PEM",
              "client_key": "KEY-PEM"}  # fmt: skip
    assert credential_input_errors(docker_type, inputs) == []
    tls, _ = inject_credential(docker_type, inputs, tmp_path)
    assert tls["DOCKER_TLS_VERIFY"] == "1"
    for variable, content in (("SHIPYARD_DOCKER_CA_PATH", "CA-PEM"), ("SHIPYARD_DOCKER_CLIENT_CERT", "CERT-PEM"),
                              ("SHIPYARD_DOCKER_CLIENT_KEY", "KEY-PEM")):  # fmt: skip
        path = Path(tls[variable])
        assert path.parent == tmp_path / "env"
        assert path.read_text() == content
        assert path.stat().st_mode & 0o777 == 0o600


def test_credential_inputs_are_checked_like_the_controller(controller):
    stack_type = controller.credential_type("Shipyard local stack")
    errors = credential_input_errors(stack_type, {"emulator_port": 29410, "colour": "blue"})
    assert "colour: not a field of 'Shipyard local stack'" in errors
    assert "emulator_port: expected a string" in errors
    assert "registry_port: required by 'Shipyard local stack'" in errors


def test_the_builtin_aws_type_injects_the_keys(tmp_path):
    env, _ = inject_credential(AWS_CREDENTIAL_TYPE, {"username": "AKIA1", "password": "s3cret"}, tmp_path)
    assert env == {"AWS_ACCESS_KEY_ID": "AKIA1", "AWS_SECRET_ACCESS_KEY": "s3cret"}
    env, _ = inject_credential(AWS_CREDENTIAL_TYPE, {"username": "A", "password": "B", "security_token": "T"}, tmp_path)
    assert env["AWS_SECURITY_TOKEN"] == env["AWS_SESSION_TOKEN"] == "T"


# --- Launch rules (surveys, prompts) ------------------------------------------------------------------------------


def test_good_answers_become_extra_vars_with_the_survey_defaults(controller):
    extra_vars, fields, ignored = accept_launch(
        controller.job_template("Deploy"), {"shipyard_service": "web"}, {"limit": "web", "verbosity": 2}
    )
    assert extra_vars == {
        "shipyard_service": "web",
        "shipyard_deploy_image_tag": "",
        "shipyard_deploy_image_build": "false",
    }
    assert fields == {"limit": "web", "verbosity": 2}
    assert ignored == {}
    extra_vars, _, _ = accept_launch(controller.job_template("Destroy"), {"shipyard_destroy_confirm": "shipyard-local"})
    assert extra_vars == {"shipyard_destroy_confirm": "shipyard-local", "shipyard_destroy_data": "false"}


@pytest.mark.parametrize(
    ("template", "answers", "prompts", "field", "message"),
    [
        ("Deploy", {"shipyard_service": "wbe"}, {}, "variables_needed_to_start",
         "Value wbe for 'shipyard_service' expected to be one of ['api', 'web']."),
        ("Deploy", {}, {}, "variables_needed_to_start", "'shipyard_service' value missing"),
        ("Deploy", {"shipyard_service": "web", "shipyard_deploy_image_tag": "v" * 129}, {},
         "variables_needed_to_start", "is too large (must be no more than 128)."),
        ("Deploy", {"shipyard_service": "web", "shipyard_deploy_image_tag": 42}, {}, "variables_needed_to_start",
         "Value 42 for 'shipyard_deploy_image_tag' expected to be a string."),
        ("Deploy", {"shipyard_service": "web", "image_tag": "v2"}, {}, "extra_vars",
         "Variables image_tag are not allowed on launch."),
        ("Destroy", {"shipyard_destroy_confirm": ""}, {}, "variables_needed_to_start",
         "is too small (length is 0 must be at least 1)."),
        ("Destroy", {"shipyard_destroy_confirm": "x", "shipyard_destroy_data": "yes"}, {},
         "variables_needed_to_start", "Value yes for 'shipyard_destroy_data' expected to be one of ['false', 'true']."),
        ("Rollback", {"shipyard_service": "web"}, {"limit": "web"}, "limit",
         "Field is not configured to prompt on launch."),
        ("Deploy", {"shipyard_service": "web"}, {"job_type": "check"}, "job_type",
         "Field is not configured to prompt on launch."),
        ("Deploy", {"shipyard_service": "web"}, {"verbosity": 9}, "verbosity", "is not a valid choice (0 to 5)."),
    ],
)  # fmt: skip
def test_answers_and_prompts_the_controller_refuses(controller, template, answers, prompts, field, message):
    with pytest.raises(LaunchRefused) as refused:
        accept_launch(controller.job_template(template), answers, prompts)
    assert any(message in text for text in refused.value.errors[field]), refused.value.errors


def test_unprompted_fields_are_ignored_not_refused_when_not_strict(controller):
    """The controller's own behaviour on a manual launch: it launches and lists them as ignored_fields."""
    extra_vars, fields, ignored = accept_launch(
        controller.job_template("Rollback"), {"shipyard_service": "web", "x": 1}, {"limit": "web"}, strict=False
    )
    assert extra_vars == {"shipyard_service": "web"}
    assert fields == {}
    assert ignored == {"x": 1, "limit": "web"}
    with pytest.raises(LaunchRefused):  # a survey error still refuses
        accept_launch(controller.job_template("Rollback"), {"shipyard_service": "db"}, strict=False)


def test_the_template_values_are_no_prompt(controller):
    """A prompt equal to the template's own value is neither accepted nor refused (Check is a check already)."""
    _, fields, _ = accept_launch(controller.job_template("Check"), {}, {"job_type": "check", "verbosity": 0})
    assert fields == {}


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"name": "x", "spec": [{"type": "text", "question_name": "q", "variable": "v", "required": True}]},
         "Field 'description' is missing from survey spec."),
        ({"name": "x", "description": "", "spec": []}, "'spec' doesn't contain any items."),
        ({"name": "x", "description": "", "spec": [{"type": "text", "question_name": "q", "variable": "v"}]},
         "'required' missing from survey question 0"),
        ({"name": "x", "description": "", "spec": [{"type": "radio", "question_name": "q", "variable": "v",
                                                    "required": True}]}, "'radio' in survey question 0 is not one of"),
        ({"name": "x", "description": "", "spec": [{"type": "multiplechoice", "question_name": "q", "variable": "v",
                                                    "required": True, "choices": ["a"], "default": "b"}]},
         "Default choice must be answered from the choices listed."),
        ({"name": "x", "description": "", "spec": [{"type": "multiplechoice", "question_name": "q", "variable": "v",
                                                    "required": True}]}, "must specify choices."),
        ({"name": "x", "description": "", "spec": [{"type": "text", "question_name": "q", "variable": "v",
                                                    "required": True, "max": "8"}]}, "max limit in survey question 0"),
        ({"name": "x", "description": "", "spec": [
            {"type": "text", "question_name": "q", "variable": "v", "required": True},
            {"type": "text", "question_name": "r", "variable": "v", "required": False}]},
         "'variable' 'v' duplicated in survey question 1."),
    ],
)  # fmt: skip
def test_survey_spec_check_refuses_what_the_controller_refuses(spec, message):
    assert any(message in error for error in survey_spec_errors(spec)), survey_spec_errors(spec)


# --- The controller's inventory, artifacts and workflow scheduling ------------------------------------------------


def test_the_inventory_script_keeps_what_the_controllers_database_keeps():
    exported = {
        "_meta": {"hostvars": {"web": {"dns_record_name": "web.{{ dns_zone_name }}"}}},
        "all": {"children": ["ungrouped", "services"], "vars": {"dns_zone_name": "shipyard.test"}},
        "services": {"hosts": ["web", "api"], "vars": {"service_cpu": 512}},
        "ungrouped": {"hosts": ["lonely"]},
    }
    data = script_data(exported)
    assert data["all"] == {"vars": {"dns_zone_name": "shipyard.test"}, "hosts": ["lonely"], "children": ["services"]}
    assert data["services"] == {"hosts": ["web", "api"], "vars": {"service_cpu": 512}}
    assert data["_meta"]["hostvars"]["web"]["dns_record_name"] == "web.{{ dns_zone_name }}"  # rendered at job time
    assert data["_meta"]["hostvars"]["api"]["remote_tower_enabled"] == "true"
    assert groups_of(data)["services"] == ["api", "web"]


def test_set_stats_data_become_the_jobs_artifacts():
    """A real playbook_on_stats event (ansible-runner's awx_display callback): set_stats data are artifact_data."""
    event = json.loads((FIXTURES / "playbook_on_stats.json").read_text())
    events = [{"event": "playbook_on_start", "event_data": {}}, event]
    assert _job_artifacts(events) == {
        "shipyard_deploy_results": {
            "api": {"task_definition_arn": "arn:aws:ecs:us-east-1:123456789012:task-definition/shipyard-local-api:2",
                    "verdict": "SUCCEEDED"},
            "web": {"task_definition_arn": "arn:aws:ecs:us-east-1:123456789012:task-definition/shipyard-local-web:2",
                    "verdict": "SUCCEEDED"},
        }
    }  # fmt: skip


class _Done:
    def __init__(self, ok: bool) -> None:
        self.successful = ok


def test_workflow_nodes_run_along_the_edges_their_parents_chose():
    nodes = {"provision": {}, "deploy": {}, "check": {}, "cleanup": {}}
    edges = {
        "provision": {"success_nodes": ["deploy"], "failure_nodes": [], "always_nodes": []},
        "deploy": {"success_nodes": ["check"], "failure_nodes": ["cleanup"], "always_nodes": []},
        "check": {"success_nodes": [], "failure_nodes": [], "always_nodes": []},
        "cleanup": {"success_nodes": [], "failure_nodes": [], "always_nodes": []},
    }
    parents = {"provision": [], "deploy": ["provision"], "check": ["deploy"], "cleanup": ["deploy"]}
    assert _nodes_to_run(nodes, edges, parents, {}) == ["provision"]
    assert _nodes_to_run(nodes, edges, parents, {"provision": _Done(False)}) == []  # nothing follows a failure
    assert _nodes_to_run(nodes, edges, parents, {"provision": _Done(True)}) == ["deploy"]
    assert _nodes_to_run(nodes, edges, parents, {"provision": _Done(True), "deploy": _Done(False)}) == ["cleanup"]
    assert _nodes_to_run(nodes, edges, parents, {"provision": _Done(True), "deploy": _Done(True)}) == ["check"]


# --- What the controller needs from the repository ----------------------------------------------------------------


def test_ansible_cfg_lets_the_controllers_inventory_script_parse():
    """The controller hands every job its inventory as an executable script (inventory/hosts): the project's
    ansible.cfg must enable the script plugin where it lists inventory plugins, or every job fails to parse it."""
    config = configparser.ConfigParser()
    config.read(REPO / "ansible.cfg")
    plugins = [name.strip() for name in config.get("inventory", "enable_plugins", fallback="").split(",") if name]
    assert not plugins or {"script", "ansible.builtin.script"} & set(plugins), plugins


def test_inventory_paths_do_not_depend_on_where_the_inventory_lives():
    """The controller imports the inventory and hands it to jobs from the private data dir: inventory_dir is then
    <private data dir>/inventory, not inventories/<env>; paths into the repository start from playbook_dir."""
    for path in (REPO / "inventories").rglob("*.yml"):
        assert "inventory_dir" not in path.read_text(), path.relative_to(REPO)


def test_every_survey_answer_is_read_by_the_playbooks(controller):
    """An answer no playbook reads would be ignored: a Deploy of one service would deploy all of them."""
    sources = {
        path: path.read_text()
        for folder in ("playbooks", "roles")
        for path in (REPO / folder).rglob("*.yml")
        if path != PLAYBOOK
    }
    items = [controller.job_template(name) for name in controller.job_template_names()]
    items += [controller.workflow(item["name"]) for item in controller.data["controller_workflow_job_templates"]]
    for item in items:
        for question in (item.get("survey_spec") or {}).get("spec", []):
            pattern = re.compile(rf"\b{question['variable']}\b")
            readers = [path for path, text in sources.items() if pattern.search(text)]
            assert readers, f"{item['name']}: no playbook or role reads {question['variable']}"
