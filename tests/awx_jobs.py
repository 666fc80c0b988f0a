"""Run awx/controller.yml's job templates and workflow the way AWX / Automation Controller runs a job.

No controller can run here, so this module reproduces what one does with the same data, using the controller's own
executor, ansible-runner (``ansible_runner.run``, the call AWX's ``RunJob`` makes). What AWX does is read from its
source (awx/main/tasks/jobs.py, models/mixins.py, models/credential.py, models/inventory.py, models/workflow.py,
scheduler/dag_workflow.py, api/views: the survey spec checks), and each step below names the behaviour it copies:

- the launch: survey answers checked like the controller checks them (required, type, choices, min/max length) and
  refused before anything runs (``LaunchRefused``); survey defaults filled in; prompts (limit, verbosity, job type,
  diff mode) accepted only when the template asks for them on launch, extra variables outside the survey likewise;
- the inventory as the controller has it: the project's ``inventories/<env>`` (or the path given) imported with
  ``ansible-inventory --list --export`` (the SCM inventory source's update) and handed to the job as the executable
  script the controller writes (``inventory/hosts``), so group_vars templates are evaluated at job time, in the job's
  environment, and ``inventory_dir`` is the private data dir's ``inventory/``;
- a fresh private data dir per job: ``env/extravars`` (answers, artifacts and ``awx_*`` variables marked
  ``!unsafe``: the controller allows no Jinja in launch-time variables), ``env/cmdline`` (``-u root``, ``--check``,
  ``-l``, ``-v``...), ``env/settings`` (the job timeout, ``suppress_ansible_output``, no stdout file); the
  environment (never written to disk) is the execution environment's plus the controller's ``ANSIBLE_*`` settings
  and the credential types' injectors rendered with the credentials' inputs (a sandboxed Jinja, like AWX), file
  injectors written under ``env/``; the project's own directory is the working directory (its ansible.cfg applies);
- the result: status and rc, the job events (runner's event dicts), stdout as the controller shows it (the events'
  text, colours stripped) and the artifacts: the ``set_stats`` data an event carries as ``artifact_data``;
- workflows: nodes run from the roots along success / failure / always edges; each node's job gets the workflow's
  variables (its survey answers, not checked against the node's survey: the controller's "special historical case")
  and the artifacts of the jobs before it as extra variables; the workflow fails when a failed node has no failure or
  always path.

Where it differs from a controller: the "execution environment" is this virtualenv on this machine (``PATH`` leads
to its ``bin``); jobs of a workflow run one after the other (the controller runs parallel branches side by side);
the inventory is imported at every launch (the source's ``update_on_launch``); unprompted launch fields are refused
(``strict=True``) where the controller launches anyway and lists them as ``ignored_fields`` (``strict=False`` does
that too).

Use::

    from awx_jobs import run_job, run_workflow   # tests/ is on sys.path under pytest (rootdir conftest)

    job = run_job("Deploy", {"shipyard_service": "web"}, stack_env=stack_env, tmp_path=tmp_path, limit="web")
    assert job.status == "successful", job.stdout
    job.artifacts        # set_stats data; job.events, job.stats, job.extra_vars, job.env_names
"""

from __future__ import annotations

import configparser
import contextlib
import copy
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import ansible_runner
import yaml
from ansible_runner.utils import args2cmdline
from jinja2 import StrictUndefined, sandbox
from jinja2.nativetypes import NativeEnvironment

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "awx" / "controller.yml"
BIN = Path(sys.executable).parent

# awx/settings/defaults.py: ANSIBLE_* settings the controller puts in every job's environment.
CONTROLLER_ANSIBLE_SETTINGS = {
    "ANSIBLE_HOST_KEY_CHECKING": "False",
    "ANSIBLE_PARAMIKO_RECORD_HOST_KEYS": "False",
    "ANSIBLE_FORCE_COLOR": "True",
    "ANSIBLE_INVENTORY_UNPARSED_FAILED": "True",
}
# awx/main/constants.py STANDARD_INVENTORY_UPDATE_ENV: the inventory import's environment.
INVENTORY_UPDATE_ENV = {
    "ANSIBLE_INVENTORY_UNPARSED_FAILED": "True",
    "ANSIBLE_INVENTORY_EXPORT": "True",
    "ANSIBLE_VERBOSE_TO_STDERR": "True",
    "ANSIBLE_HOST_PATTERN_MISMATCH": "error",
}
# awx/main/constants.py ENV_BLOCKLIST: variables a credential type may not inject (nor any ANSIBLE_*).
ENV_BLOCKLIST = frozenset(
    (
        "VIRTUAL_ENV", "PATH", "PYTHONPATH", "JOB_ID", "INVENTORY_ID", "INVENTORY_SOURCE_ID", "INVENTORY_UPDATE_ID",
        "AD_HOC_COMMAND_ID", "REST_API_URL", "REST_API_TOKEN", "MAX_EVENT_RES", "CALLBACK_QUEUE",
        "CALLBACK_CONNECTION", "CACHE", "JOB_CALLBACK_DEBUG", "INVENTORY_HOSTVARS", "AWX_HOST", "PROJECT_REVISION",
        "SUPERVISOR_CONFIG_PATH",
    )
)  # fmt: skip
# awx/main/constants.py SURVEY_TYPE_MAPPING: question types and the Python type of their default.
SURVEY_TYPES = {
    "text": str, "textarea": str, "password": str, "multiplechoice": str, "multiselect": str, "integer": int,
    "float": (float, int),
}  # fmt: skip
# The launch fields a job template can prompt for (JobTemplate.get_ask_mapping), as run_job takes them.
PROMPTS = {
    "limit": "ask_limit_on_launch",
    "verbosity": "ask_verbosity_on_launch",
    "job_type": "ask_job_type_on_launch",
    "diff_mode": "ask_diff_mode_on_launch",
}
_FIELD_DEFAULTS = {"limit": "", "verbosity": 0, "job_type": "run", "diff_mode": False}  # a template's, when unset
# The controller's built-in "Amazon Web Services" type (a managed type: its injector is code, not a template).
AWS_CREDENTIAL_TYPE = {
    "name": "Amazon Web Services",
    "kind": "cloud",
    "managed": True,
    "inputs": {
        "fields": [
            {"id": "username", "label": "Access Key", "type": "string"},
            {"id": "password", "label": "Secret Key", "type": "string", "secret": True},
            {"id": "security_token", "label": "STS Token", "type": "string", "secret": True},
        ],
        "required": ["username", "password"],
    },
    "injectors": {},
}
JOB_TIMEOUT_DEFAULT = 0  # DEFAULT_JOB_TIMEOUT: no limit unless the template sets one
_ANSI = re.compile(r"\x1b\[[0-9;]*m")  # awx/main/constants.py ANSI_SGR_PATTERN
_job_ids = itertools.count(1)


class LaunchRefused(ValueError):
    """The controller would refuse this launch (HTTP 400): nothing ran. ``errors`` maps a field to its messages."""

    def __init__(self, template: str, errors: Mapping[str, list[str]]) -> None:
        self.template = template
        self.errors = {key: list(value) for key, value in errors.items()}
        detail = "; ".join(f"{key}: {' '.join(value)}" for key, value in self.errors.items())
        super().__init__(f"launch of {template!r} refused - {detail}")


# --- The data file ------------------------------------------------------------------------------------------------


class Raw(str):
    """A ``!unsafe`` string of the data file: rendered by the controller at job time, never when loading."""


class _Loader(yaml.SafeLoader):
    pass


_Loader.add_constructor("!unsafe", lambda loader, node: Raw(loader.construct_scalar(node)))
_NATIVE = NativeEnvironment(undefined=StrictUndefined)


def load_data(path: Path = CONFIG) -> dict[str, Any]:
    """awx/controller.yml as written (``!unsafe`` values as ``Raw``), nothing rendered."""
    return yaml.load(Path(path).read_text(), Loader=_Loader)  # noqa: S506 - a SafeLoader with one more tag


def render(value: Any, context: Mapping[str, Any]) -> Any:
    """Render the data's plain-Jinja templates (``Raw`` left alone), recursively, like Ansible does for the playbook."""
    if isinstance(value, Raw):
        return value
    if isinstance(value, str) and ("{{" in value or "{%" in value):
        return render(_NATIVE.from_string(value).render(context), context)
    if isinstance(value, Mapping):
        return {key: render(item, context) for key, item in value.items()}
    if isinstance(value, list):
        return [render(item, context) for item in value]
    return value


@dataclass
class Controller:
    """The configuration as a controller would hold it once configure_awx.yml applied it to one environment."""

    data: dict[str, Any]
    context: dict[str, Any]

    def job_template(self, name: str) -> dict[str, Any]:
        """A job template with controller_job_template_defaults applied, rendered; KeyError when there is none."""
        for template in self.data["controller_job_templates"]:
            if template["name"] == name:
                merged = {**self.data.get("controller_job_template_defaults", {}), **template}
                return render(merged, self.context)
        raise KeyError(f"no job template named {name!r} in awx/controller.yml")

    def job_template_names(self) -> list[str]:
        return [template["name"] for template in self.data["controller_job_templates"]]

    def workflow(self, name: str) -> dict[str, Any]:
        for workflow in self.data["controller_workflow_job_templates"]:
            if workflow["name"] == name:
                return render(workflow, self.context)
        raise KeyError(f"no workflow job template named {name!r} in awx/controller.yml")

    def credential(self, name: str) -> dict[str, Any]:
        for credential in self.data["controller_credentials"]:
            if credential["name"] == name:
                return render(credential, self.context)
        raise KeyError(f"no credential named {name!r} in awx/controller.yml")

    def credential_type(self, name: str) -> dict[str, Any]:
        if name == AWS_CREDENTIAL_TYPE["name"]:
            return AWS_CREDENTIAL_TYPE
        for credential_type in self.data["controller_credential_types"]:
            if credential_type["name"] == name:
                return credential_type  # injectors are Raw: rendered per job with the credential's inputs
        raise KeyError(f"no credential type named {name!r} in awx/controller.yml")


def load_controller(
    *, groups: Mapping[str, list[str]], overrides: Mapping[str, Any] | None = None, path: Path = CONFIG
) -> Controller:
    """The configuration for an inventory whose groups are ``groups`` (the survey's service choices come from its
    ``services`` group) and the ``shipyard_awx_*`` inputs in ``overrides`` (as configure_awx.yml's ``-e``)."""
    data = load_data(path)
    context: dict[str, Any] = {"groups": {name: list(hosts) for name, hosts in groups.items()}}
    inputs = {key: value for key, value in data.items() if key.startswith("shipyard_awx_")}
    inputs.update(overrides or {})
    context.update(inputs)
    for key, value in inputs.items():  # inputs may name each other (shipyard_awx_services -> groups)
        context[key] = render(value, context)
    return Controller(data, context)


# --- Surveys (AWX: api/views JobTemplateSurveySpec._validate_spec_data, models/mixins.py) --------------------------


def _choice_list(choices: Any) -> list[str]:
    if isinstance(choices, str):
        return [choice for choice in choices.splitlines() if choice.strip() != ""]
    return list(choices)


def survey_spec_errors(spec: Any) -> list[str]:
    """What the controller's survey_spec endpoint refuses in ``spec`` (every problem, not only the first)."""
    if not isinstance(spec, Mapping):
        return ["the survey spec is not a mapping"]
    errors = []
    for key, kind in (("name", str), ("description", str), ("spec", list)):
        if key not in spec:
            errors.append(f"Field '{key}' is missing from survey spec.")
        elif not isinstance(spec[key], kind):
            errors.append(f"Expected {kind.__name__} for field '{key}', received {type(spec[key]).__name__} type.")
    if errors:
        return errors
    if not spec["spec"]:
        return ["'spec' doesn't contain any items."]
    seen = set()
    for idx, item in enumerate(spec["spec"]):
        if not isinstance(item, Mapping):
            errors.append(f"Survey question {idx} is not a json object.")
            continue
        missing = [key for key in ("type", "question_name", "variable", "required") if key not in item]
        if missing:
            errors.extend(f"'{key}' missing from survey question {idx}" for key in missing)
            continue
        for key in ("type", "question_name", "variable"):
            if not isinstance(item[key], str):
                errors.append(f"'{key}' in survey question {idx} expected to be string.")
        if not isinstance(item["required"], bool):
            errors.append(f"'required' in survey question {idx} expected to be boolean.")
        if item["variable"] in seen:
            errors.append(f"'variable' '{item['variable']}' duplicated in survey question {idx}.")
        seen.add(item["variable"])
        qtype = item["type"]
        if qtype not in SURVEY_TYPES:
            errors.append(f"'{qtype}' in survey question {idx} is not one of '{', '.join(SURVEY_TYPES)}'.")
            continue
        if "default" in item and item["default"] != "" and not isinstance(item["default"], SURVEY_TYPES[qtype]):
            errors.append(f"Default value {item['default']} in survey question {idx} has the wrong type.")
        for key in ("min", "max"):
            if (
                key in item
                and item[key] is not None
                and (isinstance(item[key], bool) or not isinstance(item[key], int))
            ):
                errors.append(f"The {key} limit in survey question {idx} expected to be integer.")
        if qtype in ("multiplechoice", "multiselect"):
            if "choices" not in item:
                errors.append(f"Survey question {idx} of type {qtype} must specify choices.")
                continue
            choices = _choice_list(item["choices"])
            if not choices or not all(isinstance(choice, str) for choice in choices):
                errors.append(f"Survey question {idx}: choices must be a non-empty list of strings.")
            if "default" in item and item["default"] not in ("", None):
                defaults = item["default"].splitlines() if isinstance(item["default"], str) else item["default"]
                if qtype == "multiplechoice" and len(defaults) > 1:
                    errors.append("Multiple Choice (Single Select) can only have one default value.")
                if any(default not in choices for default in defaults):
                    errors.append("Default choice must be answered from the choices listed.")
        if "default" in item and isinstance(item["default"], str) and item["default"].startswith("$encrypted$"):
            errors.append(f"$encrypted$ is a reserved keyword, may not be used for new default in position {idx}.")
    return errors


def survey_answer_errors(question: Mapping[str, Any], data: Mapping[str, Any], *, validate_required=True) -> list[str]:
    """The controller's check of one question against the launch's variables (_survey_element_validation)."""
    variable, qtype = question["variable"], question["type"]
    if variable not in data:
        return [f"'{variable}' value missing"] if question["required"] and validate_required else []
    value = data[variable]
    if qtype in ("text", "textarea", "password"):
        if not isinstance(value, str):
            return [f"Value {value} for '{variable}' expected to be a string."]
        errors = []
        if question.get("min") not in ("", None) and len(value) < int(question["min"]):
            errors.append(
                f"'{variable}' value {value} is too small (length is {len(value)} must be at least {question['min']})."
            )
        if question.get("max") not in ("", None) and len(value) > int(question["max"]):
            errors.append(f"'{variable}' value {value} is too large (must be no more than {question['max']}).")
        return errors
    if qtype in ("integer", "float"):
        kinds = (int,) if qtype == "integer" else (float, int)
        if isinstance(value, bool) or not isinstance(value, kinds):
            return [
                f"Value {value} for '{variable}' expected to be {'an integer' if qtype == 'integer' else 'numeric'}."
            ]
        errors = []
        if question.get("min") not in ("", None) and value < question["min"]:
            errors.append(f"'{variable}' value {value} is too small (must be at least {question['min']}).")
        if question.get("max") not in ("", None) and value > question["max"]:
            errors.append(f"'{variable}' value {value} is too large (must be no more than {question['max']}).")
        return errors
    choices = _choice_list(question["choices"])
    if qtype == "multiselect":
        if not isinstance(value, list):
            return [f"'{variable}' value is expected to be a list."]
        return [
            f"Value {item} for '{variable}' expected to be one of {choices}." for item in value if item not in choices
        ]
    if value not in choices:  # multiplechoice
        return [f"Value {value} for '{variable}' expected to be one of {choices}."]
    return []


def _accept_variables(template: Mapping[str, Any], answers: Mapping[str, Any], *, validate_required=True):
    """(accepted, rejected, errors) of launch-time variables, as JobTemplate._accept_or_ignore_variables."""
    extra, accepted, rejected, errors = dict(answers), {}, {}, {}
    spec = template.get("survey_spec") or {}
    if template.get("survey_enabled") and spec:
        survey_errors = []
        for question in spec.get("spec", []):
            key = question["variable"]
            problems = survey_answer_errors(question, answers, validate_required=validate_required)
            if problems:
                survey_errors += problems
                if key in extra:
                    rejected[key] = extra.pop(key)
            elif key in extra:
                accepted[key] = extra.pop(key)
        if survey_errors:
            errors["variables_needed_to_start"] = survey_errors
    if template.get("ask_variables_on_launch"):
        accepted.update(extra)
        extra = {}
    template_vars = template.get("extra_vars") or {}
    extra = {key: value for key, value in extra.items() if template_vars.get(key, object()) != value}
    if extra:
        rejected.update(extra)
        errors["extra_vars"] = [
            f"Variables {', '.join(map(str, extra))} are not allowed on launch. Check the Prompt on Launch setting on"
            " the Job Template to include Extra Variables."
        ]
    return accepted, rejected, errors


def launch_variables(template: Mapping[str, Any], accepted: Mapping[str, Any]) -> dict[str, Any]:
    """The job's extra variables: the template's, then the survey defaults that pass the survey, then the launch's."""
    extra_vars = dict(template.get("extra_vars") or {})
    spec = template.get("survey_spec") or {}
    if template.get("survey_enabled") and "spec" in spec:
        for question in spec["spec"]:
            default = question.get("default")
            if default is not None and not survey_answer_errors(question, {question["variable"]: default}):
                extra_vars[question["variable"]] = default
    extra_vars.update(accepted)
    return extra_vars


def accept_launch(
    template: Mapping[str, Any], answers: Mapping[str, Any] | None = None, prompts: Mapping[str, Any] | None = None,
    *, strict: bool = True,
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:  # fmt: skip
    """What the controller's launch endpoint makes of ``answers`` (survey answers, or extra vars) and ``prompts``
    (``limit``, ``verbosity``, ``job_type``, ``diff_mode``): ``(extra_vars, fields, ignored_fields)``.

    Survey errors refuse the launch (``LaunchRefused``, as the controller's HTTP 400). Variables outside the survey
    and prompts the template does not ask for are "ignored fields" to the controller, which launches anyway; with
    ``strict`` (the default) they refuse the launch too, naming the field.
    """
    accepted, rejected, errors = _accept_variables(template, answers or {})
    fields, ignored, invalid = {}, dict(rejected), {}
    for name, value in (prompts or {}).items():
        if name not in PROMPTS:
            raise ValueError(f"unknown launch prompt {name!r} (one of {', '.join(PROMPTS)})")
        if value is None or value == template.get(name, _FIELD_DEFAULTS[name]):
            continue  # the template's own value: neither accepted nor ignored
        if name == "verbosity" and value not in range(6):
            invalid.setdefault(name, []).append(f"{value!r} is not a valid choice (0 to 5).")
        elif name == "job_type" and value not in ("run", "check"):
            invalid.setdefault(name, []).append(f"{value!r} is not a valid choice (run, check).")
        if template.get(PROMPTS[name]):
            fields[name] = value
        else:
            ignored[name] = value
            errors.setdefault(name, []).append("Field is not configured to prompt on launch.")
    blocking = {key: value for key, value in errors.items() if strict or key not in ("extra_vars", *PROMPTS)}
    for key, messages in invalid.items():
        blocking.setdefault(key, []).extend(messages)
    if blocking:
        raise LaunchRefused(template["name"], blocking)
    return launch_variables(template, accepted), fields, ignored


# --- Credentials (AWX: models/credential.py CredentialType.inject_credential, fields.py) ---------------------------


def credential_type_errors(credential_type: Mapping[str, Any]) -> list[str]:
    """What the controller refuses in a custom credential type (kind, inputs, injector names and templates)."""
    errors = []
    if credential_type.get("kind") not in ("cloud", "net"):
        errors.append(f"kind {credential_type.get('kind')!r}: custom credential types are cloud or net")
    fields = credential_type.get("inputs", {}).get("fields", [])
    ids = [item.get("id") for item in fields]
    for item in fields:
        if not re.fullmatch(r"[a-zA-Z_]+[a-zA-Z0-9_]*", str(item.get("id"))) or item.get("id") == "tower":
            errors.append(f"input id {item.get('id')!r} is not allowed")
        if "label" not in item:
            errors.append(f"input {item.get('id')!r} has no label")
        if item.get("type", "string") not in ("string", "boolean"):
            errors.append(f"input {item.get('id')!r}: type must be string or boolean")
        extra = set(item) - {"id", "label", "type", "help_text", "multiline", "secret", "ask_at_runtime", "default",
                             "format", "choices"}  # fmt: skip
        if extra:
            errors.append(f"input {item.get('id')!r}: unknown keys {sorted(extra)}")
        if item.get("type") == "boolean" and {"choices", "multiline", "format", "secret"} & set(item):
            errors.append(f"input {item.get('id')!r}: choices/multiline/format/secret only for strings")
    if len(ids) != len(set(ids)):
        errors.append("input ids must be unique")
    for required in credential_type.get("inputs", {}).get("required", []):
        if required not in ids:
            errors.append(f"required input {required!r} is not a field")
    injectors = credential_type.get("injectors", {})
    for kind in set(injectors) - {"env", "file", "extra_vars"}:
        errors.append(f"unknown injector kind {kind!r}")
    files = list(injectors.get("file", {}))
    for name in files:
        if not re.fullmatch(r"template(\.[a-zA-Z_]+[a-zA-Z0-9_]*)?", name):
            errors.append(f"file injector {name!r}: template or template.<name>")
    if "template" in files and len(files) > 1:
        errors.append("Must use multi-file syntax when injecting multiple files")
    for name in injectors.get("env", {}):
        if not re.fullmatch(r"[a-zA-Z_]+[a-zA-Z0-9_]*", name):
            errors.append(f"env injector {name!r} is not a variable name")
        if name.startswith("ANSIBLE_") or name in ENV_BLOCKLIST:
            errors.append(f"env injector {name!r} is not allowed in credentials")
    # Every template renders with every input defined (AWX renders them with StrictUndefined and 'EXAMPLE' values).
    namespace: dict[str, Any] = {field_id: "EXAMPLE" for field_id in ids}
    namespace["tower"] = _Tower({name.partition(".")[2] or "": "EXAMPLE_FILENAME" for name in files})
    env = sandbox.ImmutableSandboxedEnvironment(undefined=StrictUndefined)
    for kind in ("env", "file"):
        for name, template in injectors.get(kind, {}).items():
            try:
                env.from_string(template).render(namespace)
            except Exception as exc:  # the controller reports any rendering error alike
                errors.append(f"{kind} injector {name!r} uses an undefined field or is invalid ({exc})")
    return errors


class _Tower:
    """The ``tower`` namespace of injector templates: ``tower.filename`` or ``tower.filename.<name>``."""

    def __init__(self, files: Mapping[str, str]) -> None:
        if "" in files:
            self.filename: Any = files[""]
        else:
            self.filename = type("Files", (), dict(files))()


def credential_input_errors(credential_type: Mapping[str, Any], inputs: Mapping[str, Any]) -> list[str]:
    """What the controller refuses in a credential's inputs: unknown or missing required fields, wrong types."""
    fields = {item["id"]: item for item in credential_type.get("inputs", {}).get("fields", [])}
    errors = [f"{key}: not a field of {credential_type['name']!r}" for key in inputs if key not in fields]
    for key in credential_type.get("inputs", {}).get("required", []):
        if inputs.get(key) in (None, ""):
            errors.append(f"{key}: required by {credential_type['name']!r}")
    for key, value in inputs.items():
        kind = fields.get(key, {}).get("type", "string")
        if key in fields and not isinstance(value, bool if kind == "boolean" else str):
            errors.append(f"{key}: expected a {kind}")
    return errors


def inject_credential(
    credential_type: Mapping[str, Any], inputs: Mapping[str, Any], private_data_dir: Path
) -> tuple[dict[str, str], list[str]]:
    """``(env, args)`` a credential adds to a job: its type's env injectors rendered with its inputs (file injectors
    written under ``env/`` first, their paths as ``tower.filename``), extra_vars injectors as ``-e @file``."""
    if credential_type.get("managed"):  # the built-in Amazon Web Services type's injector (code, not templates)
        env = {"AWS_ACCESS_KEY_ID": inputs.get("username", ""), "AWS_SECRET_ACCESS_KEY": inputs.get("password", "")}
        if inputs.get("security_token"):
            env["AWS_SECURITY_TOKEN"] = env["AWS_SESSION_TOKEN"] = inputs["security_token"]
        return env, []
    namespace: dict[str, Any] = {key: value for key, value in inputs.items() if isinstance(value, bool) or len(value)}
    for item in credential_type.get("inputs", {}).get("fields", []):
        if item.get("type") == "boolean" and item["id"] not in inputs:
            namespace[item["id"]] = False
    jinja = sandbox.ImmutableSandboxedEnvironment()
    injectors = credential_type.get("injectors", {})
    files: dict[str, str] = {}
    for label, template in injectors.get("file", {}).items():
        handle, path = tempfile.mkstemp(dir=private_data_dir / "env")
        with os.fdopen(handle, "w") as out:
            out.write(jinja.from_string(template).render(namespace))
        os.chmod(path, 0o600)
        files[label.partition(".")[2]] = path
    namespace["tower"] = _Tower(files)
    env = {}
    for name, template in injectors.get("env", {}).items():
        if name.startswith("ANSIBLE_") or name in ENV_BLOCKLIST:
            continue  # the controller ignores (and logs) a prohibited variable
        env[name] = jinja.from_string(template).render(namespace)
    args = []
    if injectors.get("extra_vars"):
        rendered = _render_tree(injectors["extra_vars"], jinja, namespace)
        handle, path = tempfile.mkstemp(dir=private_data_dir / "env")
        with os.fdopen(handle, "w") as out:
            out.write(_unsafe_yaml(rendered))
        args += ["-e", f"@{path}"]
    return env, args


def _render_tree(node: Any, jinja, namespace) -> Any:
    if isinstance(node, Mapping):
        return {
            _render_tree(key, jinja, namespace): _render_tree(value, jinja, namespace) for key, value in node.items()
        }
    if isinstance(node, list):
        return [_render_tree(item, jinja, namespace) for item in node]
    return jinja.from_string(node).render(namespace)


def local_stack_credential_inputs(stack_env: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """The local credentials' inputs (by credential name) from a local stack's environment: conftest's ``stack_env``
    or ``.shipyard/env`` with the SHIPYARD_*_PORT variables. Only these values cross from the caller into a job."""
    endpoint = stack_env.get("AWS_ENDPOINT_URL") or stack_env.get("AWS_URL") or ""
    emulator_port = stack_env.get("SHIPYARD_EMULATOR_PORT") or str(urlparse(endpoint).port or "")
    registry_port = stack_env.get("SHIPYARD_REGISTRY_PORT") or stack_env.get("SHIPYARD_REGISTRY", "").rpartition(":")[2]
    region = stack_env.get("SHIPYARD_AWS_REGION") or stack_env.get("AWS_REGION") or stack_env.get("AWS_DEFAULT_REGION")
    return {
        "Shipyard local stack": {
            "emulator_port": emulator_port,
            "registry_port": registry_port,
            "lb_port": stack_env.get("SHIPYARD_LB_PORT") or "29080",
            "postgres_port": stack_env.get("SHIPYARD_POSTGRES_PORT") or "29040",
            "region": region or "us-east-1",
            "access_key": stack_env.get("AWS_ACCESS_KEY_ID") or "testing",
            "secret_key": stack_env.get("AWS_SECRET_ACCESS_KEY") or "testing",
        },
        "Shipyard local Docker engine": {"docker_host": stack_env.get("DOCKER_HOST") or "unix:///var/run/docker.sock"},
    }


# --- The inventory (AWX: RunInventoryUpdate, Inventory.get_script_data, BaseTask.write_inventory_file) -------------


def execution_environment(home: Path) -> dict[str, str]:
    """The environment an execution environment starts a job with: this virtualenv's tools first, a UTF-8 locale."""
    return {
        "PATH": os.pathsep.join(
            [str(BIN), "/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]
        ),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
    }


def import_inventory(source: Path, *, project_dir: Path = REPO, home: Path | None = None) -> dict[str, Any]:
    """An SCM inventory source's update: ``ansible-inventory --list --export`` of ``source``, run in the project (its
    ansible.cfg applies) with the controller's inventory-update environment. Templates stay unrendered."""
    source = Path(source).resolve()
    with tempfile.TemporaryDirectory(prefix="awx_inventory_update_") as scratch:
        env = {**execution_environment(Path(home or scratch)), **INVENTORY_UPDATE_ENV}
        output = Path(scratch) / "output.json"
        playbook_dir = source if source.is_dir() else source.parent
        result = subprocess.run(
            [str(BIN / "ansible-inventory"), "--list", "--export", "-i", str(source), "--output", str(output),
             "--playbook-dir", str(playbook_dir)],
            cwd=project_dir, env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        if result.returncode != 0:
            raise RuntimeError(f"inventory update of {source} failed:\n{result.stdout}{result.stderr}")
        return json.loads(output.read_text())


def script_data(exported: Mapping[str, Any]) -> dict[str, Any]:
    """The inventory script the controller hands a job, from an import: what the controller's database keeps of it
    (groups, their hosts, children and variables; host variables; ``remote_tower_*`` ids), in get_script_data's
    shape."""
    hostvars = exported.get("_meta", {}).get("hostvars", {})
    group_names = [name for name in exported if name not in ("_meta", "all", "ungrouped")]
    hosts = sorted(
        set(hostvars) | {host for name in exported if name != "_meta" for host in exported[name].get("hosts", [])}
    )
    grouped = {host for name in group_names for host in exported[name].get("hosts", [])}
    data: dict[str, Any] = {"all": {}}
    all_vars = exported.get("all", {}).get("vars", {})
    if all_vars:
        data["all"]["vars"] = all_vars
    data["all"]["hosts"] = [host for host in hosts if host not in grouped]
    for name in group_names:
        group = {key: exported[name][key] for key in ("hosts", "children", "vars") if exported[name].get(key)}
        if group:
            data[name] = group
    if group_names:
        data["all"]["children"] = group_names
    data["_meta"] = {"hostvars": {}}
    for number, host in enumerate(hosts, start=1):
        variables = dict(hostvars.get(host, {}))
        for prefix in ("host", "tower"):
            variables.update({f"remote_{prefix}_enabled": "true", f"remote_{prefix}_id": number})
        data["_meta"]["hostvars"][host] = variables
    return data


def groups_of(data: Mapping[str, Any]) -> dict[str, list[str]]:
    """Each group's hosts, children's included (what ``groups`` holds in a play)."""

    def members(name: str, seen: frozenset = frozenset()) -> set[str]:
        group = data.get(name, {})
        found = set(group.get("hosts", []))
        for child in group.get("children", []):
            if child not in seen:
                found |= members(child, seen | {name})
        return found

    names = [name for name in data if name != "_meta"]
    result = {name: sorted(members(name)) for name in names}
    result["all"] = sorted(data.get("_meta", {}).get("hostvars", {}))
    return result


def _write_inventory_script(private_data_dir: Path, data: Mapping[str, Any]) -> Path:
    path = private_data_dir / "inventory" / "hosts"
    path.write_text(f"#! /usr/bin/env python3\n# -*- coding: utf-8 -*-\nprint({json.dumps(data)!r})\n")
    path.chmod(0o700)
    return path


# --- Jobs ---------------------------------------------------------------------------------------------------------


class _UnsafeDumper(yaml.SafeDumper):
    pass


class _Unsafe(str):
    pass


_UnsafeDumper.add_representer(_Unsafe, lambda dumper, data: dumper.represent_scalar("!unsafe", str(data)))


def _mark_unsafe(value: Any, safe: Mapping[str, Any] | None = None) -> Any:
    """Every string marked ``!unsafe`` except the template's own top-level extra_vars (awx.main.utils.safe_yaml)."""
    if isinstance(value, Mapping):
        safe = safe or {}
        return {key: item if key in safe and safe[key] == item else _mark_unsafe(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_mark_unsafe(item) for item in value]
    if isinstance(value, str):
        return _Unsafe(value)
    return value


def _unsafe_yaml(value: Any, safe: Mapping[str, Any] | None = None) -> str:
    return yaml.dump(_mark_unsafe(value, safe), Dumper=_UnsafeDumper, default_flow_style=False, sort_keys=False)


@dataclass
class Job:
    """A finished job: what the controller shows of it."""

    id: int
    name: str
    status: str  # successful, failed (a timeout too, as the controller reports it), error, canceled
    rc: int | None
    events: list[dict[str, Any]]
    stdout: str  # the job's output as the controller shows it (the events' text, colours stripped)
    artifacts: dict[str, Any]  # set_stats data (per_host: false), as the controller keeps them
    stats: dict[str, Any] | None  # runner's summary per host (ok, changed, failures, ...)
    extra_vars: dict[str, Any]  # as passed to ansible-playbook (env/extravars)
    cmdline: list[str]
    env_names: list[str]  # names of the variables the credentials injected (values are secrets)
    ignored_fields: dict[str, Any]
    private_data_dir: Path
    explanation: str = ""

    @property
    def successful(self) -> bool:
        return self.status == "successful"

    def events_named(self, *names: str) -> list[dict[str, Any]]:
        return [event for event in self.events if event.get("event") in names]


def _job_artifacts(events: list[dict[str, Any]]) -> dict[str, Any]:
    """RunnerCallback.event_handler: the last event carrying artifact_data sets the job's artifacts."""
    artifacts: dict[str, Any] = {}
    for event in events:
        data = event.get("event_data", {}).get("artifact_data")
        if data:
            artifacts = data
    return artifacts


def run_job(
    template_name: str,
    answers: Mapping[str, Any] | None = None,
    *,
    stack_env: Mapping[str, str],
    tmp_path: Path,
    inventory: Path | None = None,
    limit: str | None = None,
    verbosity: int | None = None,
    job_type: str | None = None,
    diff_mode: bool | None = None,
    credential_inputs: Mapping[str, Mapping[str, Any]] | None = None,
    overrides: Mapping[str, Any] | None = None,
    project_dir: Path = REPO,
    config: Path = CONFIG,
    strict: bool = True,
    _workflow: Mapping[str, Any] | None = None,
) -> Job:
    """Launch job template ``template_name`` of awx/controller.yml as the controller would, and wait for it.

    ``answers``: the survey's answers (refused like the controller refuses them: ``LaunchRefused``, nothing runs).
    ``stack_env``: the local stack's environment; only the credentials' inputs are taken from it
    (``local_stack_credential_inputs``), or give ``credential_inputs`` by credential name.
    ``inventory``: the inventory source (a directory or file), by default ``inventories/<shipyard_awx_env>``; it is
    imported the controller's way at every launch. ``limit``, ``verbosity``, ``job_type``, ``diff_mode``: launch
    prompts, accepted only when the template asks for them. ``overrides``: ``shipyard_awx_*`` inputs of the data.
    ``tmp_path``: where the private data dirs go (one per job). Returns the finished ``Job``; a failed playbook is a
    job with status "failed", not an exception.
    """
    env_name = (overrides or {}).get("shipyard_awx_env") or load_data(config)["shipyard_awx_env"]
    source = Path(inventory) if inventory else project_dir / "inventories" / env_name
    imported = script_data(import_inventory(source, project_dir=project_dir))
    controller = load_controller(groups=groups_of(imported), overrides=overrides, path=config)
    template = controller.job_template(template_name)
    prompts = {"limit": limit, "verbosity": verbosity, "job_type": job_type, "diff_mode": diff_mode}
    if _workflow is None:
        extra_vars, fields, ignored = accept_launch(template, answers, prompts, strict=strict)
    else:  # a workflow node: its prompts are filtered already, the workflow's variables bypass the survey
        extra_vars, fields, ignored = _workflow["extra_vars"], _workflow["fields"], _workflow["ignored"]
    job = {key: template.get(key, default) for key, default in _FIELD_DEFAULTS.items()} | fields

    inputs_by_name = dict(credential_inputs or local_stack_credential_inputs(stack_env))
    credentials = []
    for name in template.get("credentials", []):
        credential = controller.credential(name)
        credential_type = controller.credential_type(credential["credential_type"])
        inputs = dict(inputs_by_name.get(name, {}))
        problems = credential_input_errors(credential_type, inputs)
        if problems:
            raise LaunchRefused(template_name, {"credentials": [f"{name}: {problem}" for problem in problems]})
        credentials.append((credential_type, inputs))

    job_id = next(_job_ids)
    tmp_path.mkdir(parents=True, exist_ok=True)
    private_data_dir = Path(tempfile.mkdtemp(prefix=f"awx_{job_id}_", dir=tmp_path))
    for sub in ("env", "inventory", "artifacts", "cp"):
        (private_data_dir / sub).mkdir(mode=0o700)

    env = {
        **execution_environment(private_data_dir),
        **CONTROLLER_ANSIBLE_SETTINGS,
        "AWX_PRIVATE_DATA_DIR": str(private_data_dir),
        "JOB_ID": str(job_id),
        "INVENTORY_ID": "1",
        "PROJECT_REVISION": _revision(project_dir),
        "ANSIBLE_RETRY_FILES_ENABLED": "False",
        "MAX_EVENT_RES": "700000",
        "AWX_HOST": "https://awx.invalid",
        "ANSIBLE_SSH_CONTROL_PATH_DIR": str(private_data_dir / "cp"),
        **_content_paths(private_data_dir, project_dir),
    }
    injected_env: dict[str, str] = {}
    credential_args: list[str] = []
    for credential_type, inputs in credentials:
        more_env, more_args = inject_credential(credential_type, inputs, private_data_dir)
        injected_env.update(more_env)
        credential_args += more_args
    env.update(injected_env)

    args: list[str] = ["--check"] if job["job_type"] == "check" else []
    args += ["-u", "root"]
    if job["diff_mode"]:
        args.append("--diff")
    if job["limit"]:
        args += ["-l", job["limit"]]
    if job["verbosity"]:
        args.append("-" + "v" * min(5, job["verbosity"]))
    args += credential_args
    (private_data_dir / "env" / "cmdline").write_text(args2cmdline(*args))

    meta = {"job_id": job_id, "job_launch_type": "workflow" if _workflow else "manual",
            "job_template_name": template_name, "project_revision": env["PROJECT_REVISION"],
            "inventory_name": template.get("inventory", ""), "user_name": "admin"}  # fmt: skip
    if _workflow:
        meta |= {"workflow_job_id": _workflow["id"], "workflow_job_name": _workflow["name"]}
    all_vars = {
        **extra_vars,
        **{f"{prefix}_{key}": value for prefix in ("awx", "tower") for key, value in meta.items()},
    }
    (private_data_dir / "env" / "extravars").write_text(_unsafe_yaml(all_vars, template.get("extra_vars")))
    settings = {"job_timeout": template.get("timeout") or JOB_TIMEOUT_DEFAULT, "suppress_ansible_output": True,
                "suppress_output_file": True}  # fmt: skip
    (private_data_dir / "env" / "settings").write_text(json.dumps(settings))

    with _process_environment(env):  # runner seeds a job's environment with its own process's (an EE has only its own)
        runner = ansible_runner.run(
            ident=str(job_id),
            private_data_dir=str(private_data_dir),
            project_dir=str(project_dir),
            playbook=template["playbook"],
            inventory=str(_write_inventory_script(private_data_dir, imported)),
            envvars=env,
            suppress_env_files=True,
            fact_cache_type="",
            quiet=True,
        )
    events = sorted(runner.events, key=lambda event: event.get("counter", 0))
    status, explanation = runner.status, ""
    if status == "timeout":
        status, explanation = "failed", "Job terminated due to timeout"
    return Job(
        id=job_id,
        name=template_name,
        status=status,
        rc=runner.rc,
        events=events,
        stdout=_ANSI.sub("", "\n".join(event["stdout"] for event in events if event.get("stdout"))).replace(
            "\r\n", "\n"
        ),
        artifacts=_job_artifacts(events),
        stats=runner.stats,
        extra_vars=all_vars,
        cmdline=args,
        env_names=sorted(injected_env),
        ignored_fields=ignored,
        private_data_dir=private_data_dir,
        explanation=explanation,
    )


def _content_paths(private_data_dir: Path, project_dir: Path) -> dict[str, str]:
    """RunJob.build_env: collections and roles the project sync installed first, then the project's ansible.cfg
    setting (relative paths stay relative to the project, the working directory), then Ansible's defaults."""
    config = configparser.ConfigParser(interpolation=None)
    config.read(project_dir / "ansible.cfg")
    result = {}
    for variable, setting, folder, default in (
        ("ANSIBLE_COLLECTIONS_PATH", "collections_path", "requirements_collections",
         "~/.ansible/collections:/usr/share/ansible/collections"),
        ("ANSIBLE_ROLES_PATH", "roles_path", "requirements_roles",
         "~/.ansible/roles:/usr/share/ansible/roles:/etc/ansible/roles"),
    ):  # fmt: skip
        configured = config.get("defaults", setting, fallback="")
        paths = [str(private_data_dir / folder), *([configured] if configured else []), *default.split(":")]
        result[variable] = os.pathsep.join(paths)
    return result


@contextlib.contextmanager
def _process_environment(env: Mapping[str, str]) -> Iterator[None]:
    """Run with exactly ``env`` as this process's environment, then restore it: ansible-runner (outside a container)
    starts the job with ``os.environ`` plus its ``envvars``, where the controller's execution environment has none of
    the caller's variables (a test's AWS_*, DOCKER_HOST, ANSIBLE_CONFIG...)."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _revision(project_dir: Path) -> str:
    result = subprocess.run(["git", "rev-parse", "HEAD"], cwd=project_dir, capture_output=True, text=True, check=False)
    return result.stdout.strip()


# --- Workflows (AWX: models/workflow.py WorkflowJobNode.get_job_kwargs, scheduler/dag_workflow.py) -----------------


@dataclass
class WorkflowRun:
    """A finished workflow job: its node jobs in the order they ran, and the nodes that did not run."""

    name: str
    status: str  # successful or failed
    jobs: dict[str, Job] = field(default_factory=dict)  # node identifier -> its job
    not_run: list[str] = field(default_factory=list)
    explanation: str = ""


_workflow_ids = itertools.count(1)


def run_workflow(
    workflow_name: str,
    answers: Mapping[str, Any] | None = None,
    *,
    stack_env: Mapping[str, str],
    tmp_path: Path,
    inventory: Path | None = None,
    credential_inputs: Mapping[str, Mapping[str, Any]] | None = None,
    overrides: Mapping[str, Any] | None = None,
    project_dir: Path = REPO,
    config: Path = CONFIG,
) -> WorkflowRun:
    """Launch workflow job template ``workflow_name`` as the controller would and run its nodes to the end.

    ``answers`` go through the workflow's survey (``LaunchRefused`` before any node runs) and reach every node's job
    as extra variables, beside the node's own ``extra_data`` (accepted per the node's template, like a launch) and
    the ``set_stats`` artifacts of the jobs before it (the workflow's variables win over artifacts). A node runs when
    its parents are done and one of them leads to it (success_nodes after a successful job, failure_nodes after a
    failed one, always_nodes after either). Other arguments as ``run_job``.
    """
    env_name = (overrides or {}).get("shipyard_awx_env") or load_data(config)["shipyard_awx_env"]
    source = Path(inventory) if inventory else project_dir / "inventories" / env_name
    groups = groups_of(script_data(import_inventory(source, project_dir=project_dir)))
    controller = load_controller(groups=groups, overrides=overrides, path=config)
    workflow = controller.workflow(workflow_name)
    workflow_vars, _fields, _ignored = accept_launch(
        {**workflow, "extra_vars": workflow.get("extra_vars") or {}}, answers, {}, strict=True
    )
    nodes = {node["identifier"]: node for node in workflow["workflow_nodes"]}
    edges = {
        identifier: {kind: [child["identifier"] for child in node.get("related", {}).get(kind, [])]
                     for kind in ("success_nodes", "failure_nodes", "always_nodes")}
        for identifier, node in nodes.items()
    }  # fmt: skip
    parents = {
        identifier: [p for p in nodes if any(identifier in c for c in edges[p].values())] for identifier in nodes
    }
    run = WorkflowRun(workflow_name, status="running")
    workflow_id = next(_workflow_ids)
    ancestor_artifacts: dict[str, dict[str, Any]] = {}

    while True:
        ready = _nodes_to_run(nodes, edges, parents, run.jobs)
        if not ready:
            break
        for identifier in ready:
            node = nodes[identifier]
            template = controller.job_template(node["unified_job_template"]["name"])
            node_prompts = {key: node[key] for key in PROMPTS if node.get(key) is not None}
            accepted, _rejected, _errors = _accept_variables(template, node.get("extra_data") or {},
                                                             validate_required=False)  # fmt: skip
            fields = {}
            for name, value in node_prompts.items():
                if value != template.get(name, _FIELD_DEFAULTS[name]) and template.get(PROMPTS[name]):
                    fields[name] = int(value) if name == "verbosity" else value
            artifacts: dict[str, Any] = {}
            for parent in parents[identifier]:
                artifacts.update(ancestor_artifacts.get(parent, {}))
                if parent in run.jobs:
                    artifacts.update(run.jobs[parent].artifacts)
            ancestor_artifacts[identifier] = artifacts
            extra_vars = launch_variables(template, {**accepted, **artifacts, **workflow_vars})
            run.jobs[identifier] = run_job(
                template["name"], stack_env=stack_env, tmp_path=tmp_path, inventory=inventory,
                credential_inputs=credential_inputs, overrides=overrides, project_dir=project_dir, config=config,
                _workflow={"id": workflow_id, "name": workflow_name, "extra_vars": extra_vars,
                           "fields": fields, "ignored": {}},
            )  # fmt: skip

    run.not_run = [identifier for identifier in nodes if identifier not in run.jobs]
    failed = [
        i
        for i, job in run.jobs.items()
        if not job.successful and not (edges[i]["failure_nodes"] or edges[i]["always_nodes"])
    ]
    run.status = "failed" if failed else "successful"
    if failed:
        run.explanation = f"No error handling path for workflow job node(s) [{', '.join(failed)}]."
    return run


def _nodes_to_run(nodes, edges, parents, jobs) -> list[str]:
    """DAGWorkflow.bfs_nodes_to_run and mark_dnr_nodes: the nodes without a job that a finished parent's chosen edge
    (or being a root) leads to, once every parent has finished or can no longer run."""

    def chosen(identifier: str) -> list[str]:
        job = jobs[identifier]
        kinds = ("success_nodes", "always_nodes") if job.successful else ("failure_nodes", "always_nodes")
        return [child for kind in kinds for child in edges[identifier][kind]]

    do_not_run: set[str] = set()
    changed = True
    while changed:  # a node will never run once each parent either will not run or finished without choosing it
        changed = False
        for identifier in nodes:
            if identifier in do_not_run or identifier in jobs or not parents[identifier]:
                continue
            if all(p in do_not_run or (p in jobs and identifier not in chosen(p)) for p in parents[identifier]):
                do_not_run.add(identifier)
                changed = True
    ready = []
    for identifier in nodes:
        if identifier in jobs or identifier in do_not_run:
            continue
        if all(p in jobs or p in do_not_run for p in parents[identifier]):
            ready.append(identifier)
    return ready


def copy_inventory(source: Path, destination: Path, **group_all_vars: Any) -> Path:
    """A copy of an inventory directory with more variables for every host (a file in group_vars/all): for a job
    on a stack of its own (``shipyard_stack_name=...``) without touching the repository's inventory."""
    shutil.copytree(source, destination)
    if group_all_vars:
        extra = destination / "group_vars" / "all" / "zz_override.yml"
        extra.write_text(yaml.safe_dump(copy.deepcopy(group_all_vars)))
    return destination
