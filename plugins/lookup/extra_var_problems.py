# Copyright: Shipyard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
name: extra_var_problems
short_description: Extra vars (-e) with the collection's prefixes that would do nothing
version_added: 0.1.0
author:
  - Shipyard maintainers (@shipyard)
description:
  - Reads the extra vars of this run (C(-e k=v), C(-e @file), C(-e '{...}'), as ansible-playbook parsed them; AWX and
    Automation Controller pass theirs as a file) and returns one message per name that would do nothing.
  - A name with one of the collection's prefixes (C(shipyard_), C(service_), C(network_), C(cluster_),
    C(load_balancer_), C(dns_), C(registry_), C(image_), C(secrets_), C(iam_), C(ci_access_)) that no role option,
    playbook, role file or inventory file mentions is a typo; the message names the closest valid name.
  - With O(deploy=true) (C(playbooks/deploy.yml)), a role option that the deploy short path for a service that exists
    does not apply (desired count, network, load balancer, auto scaling, ...) gets the C(provision.yml) command that
    applies it. The options it does apply are derived from the service role's C(deploy) entry point and the image role,
    at run time, so the list cannot drift from the roles.
  - The rules are the pure function C(extra_var_problems) of C(plugins/module_utils/validation/extra_vars.py).
options:
  deploy:
    description: The playbook is C(deploy.yml).
    type: bool
    default: false
  host:
    description: The service named in the command the message suggests.
    type: str
    default: web
  playbook_dir:
    description: The directory of the playbook being run; its YAML files count as readers.
    type: str
  inventory_sources:
    description: The inventory sources (C(ansible_inventory_sources)); their files count as readers.
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
- name: Refuse extra vars that would do nothing
  run_once: true
  when: _problems | length > 0  # the problems worked out once (an assert templates fail_msg even when it passes)
  ansible.builtin.fail:
    msg: "{{ _problems | join(' ') }}"
  vars:
    _problems: >-
      {{ query('shipyard.fargate.extra_var_problems', playbook_dir=playbook_dir,
               inventory_sources=ansible_inventory_sources) }}
"""

RETURN = r"""
_raw:
  description: One message per extra var that would do nothing; empty when every one takes effect.
  type: list
  elements: str
"""

import functools
import re
from pathlib import Path

import yaml
from ansible.plugins.lookup import LookupBase
from ansible.utils.vars import load_extra_vars
from ansible_collections.shipyard.fargate.plugins.module_utils.validation.extra_vars import (
    extra_var_problems,
    names_in,
    reached_names,
    strings_of,
)

COLLECTION = Path(__file__).resolve().parents[2]


def _yaml_files(root):
    root = Path(root)
    if root.is_file():
        return [root]
    if not root.is_dir():
        return []
    return [p for p in sorted(root.rglob("*")) if p.is_file() and p.suffix in (".yml", ".yaml", "")]


def _read(path):
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ""


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: the ~150 files in a fraction of a second


@functools.cache
def _load(path):
    """Parsed YAML, or {} when the file does not parse (ansible-playbook reports that itself). Read once per run."""
    try:
        return yaml.load(_read(path), Loader=_LOADER)  # noqa: S506 - CSafeLoader or SafeLoader or {}
    except yaml.YAMLError:
        return {}


def _text(path):
    """The strings of a YAML file (comments left out: a name only mentioned there is not read), or its raw text."""
    data = _load(path)
    return " ".join(strings_of(data, skip_keys=())) if data else _read(path)


def _role_options():
    """role name -> the options of all its entry points (meta/argument_specs.yml)."""
    options = {}
    for spec in sorted(COLLECTION.glob("roles/*/meta/argument_specs.yml")):
        entry_points = (_load(spec).get("argument_specs") or {}).values()
        options[spec.parents[1].name] = {name for entry in entry_points for name in (entry.get("options") or {})}
    return options


def _deploy_applies(role_options):
    """The options the deploy short path applies: the image role's, and what the service role's deploy entry point
    reads (its task files and the role vars they use; validate.yml, which reads every option, is not followed). The
    registry, secrets and iam roles are only looked up there: none of their options is applied."""
    tasks = {p.name: _load(p) for p in sorted(COLLECTION.glob("roles/service/tasks/*.yml"))}
    variables = {}
    for vars_file in sorted(COLLECTION.glob("roles/service/vars/*.yml")):
        variables.update(_load(vars_file))
    return set(role_options.get("image", ())) | reached_names(tasks, "deploy.yml", variables)


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        given = set(load_extra_vars(self._loader))  # parsed once by ansible-playbook, cached: the same dict
        role_options = _role_options()
        options = set().union(*role_options.values())
        # deploy.yml's rule covers the roles provision.yml applies (not ci_access: bootstrap_ci.yml applies that one).
        provision = _read(COLLECTION / "playbooks" / "provision.yml")
        provisioned = {
            name
            for role in set(re.findall(r"shipyard\.fargate\.([a-z_]+)", provision)) & set(role_options)
            for name in role_options[role]
        }
        readers = [
            COLLECTION / "playbooks",
            *COLLECTION.glob("roles/*/tasks"),
            *COLLECTION.glob("roles/*/vars"),
            *COLLECTION.glob("roles/*/defaults"),
            *COLLECTION.glob("roles/*/meta"),
            *COLLECTION.glob("roles/*/templates"),
        ]
        if self.get_option("playbook_dir"):
            readers.append(Path(self.get_option("playbook_dir")))
        readers.extend(Path(source) for source in self.get_option("inventory_sources") or [])
        known = set(options)
        for path in {path.resolve() for root in readers for path in _yaml_files(root)}:
            known |= names_in(_text(path))
        return extra_var_problems(
            given,
            known,
            deploy=self.get_option("deploy"),
            deploy_applies=_deploy_applies(role_options) if self.get_option("deploy") else (),
            options=provisioned,
            host=self.get_option("host"),
        )
