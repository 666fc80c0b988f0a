# Copyright: Shipyard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
name: option_type_errors
short_description: Options of the collection's roles with a wrong type or choice, one short line each
version_added: 0.1.0
author:
  - Shipyard maintainers (@shipyard)
description:
  - For every option of the collection's roles (their C(meta/argument_specs.yml)) that the current host sets, checks
    its type, list elements and choices, and returns one message per wrong option naming the host, the option and what
    is allowed. Values are never shown, only the type that was given.
  - The playbooks' pre-flight runs it before the roles validate their arguments, whose failure shows the whole
    argument specification.
  - Options the playbooks' wiring sets (C(playbooks/roles/wiring)) are not the service's and are not checked here;
    their values win over the inventory's, and the roles' argument specs check them.
  - The rules are the pure function C(option_type_errors) of C(plugins/module_utils/validation/types.py).
options: {}
"""

EXAMPLES = r"""
- name: Check the options' types
  when: _problems | length > 0  # the problems worked out once (an assert templates fail_msg even when it passes)
  ansible.builtin.fail:
    msg: "{{ _problems }}"
  vars:
    _problems: "{{ query('shipyard.fargate.option_type_errors') }}"
"""

RETURN = r"""
_raw:
  description: One message per option with a wrong type or choice; empty when all fit.
  type: list
  elements: str
"""

import functools
from pathlib import Path

import yaml
from ansible.errors import AnsibleError
from ansible.plugins.lookup import LookupBase
from ansible_collections.shipyard.fargate.plugins.module_utils.validation.types import (
    option_type_errors,
)

COLLECTION = Path(__file__).resolve().parents[2]


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available


@functools.cache  # once per run, not once per host
def _specs():
    """option name -> its spec, over every role's entry points."""
    specs = {}
    for path in sorted(COLLECTION.glob("roles/*/meta/argument_specs.yml")):
        try:
            text = path.read_text(encoding="utf-8")
            entry_points = (yaml.load(text, Loader=_LOADER) or {}).get("argument_specs") or {}  # noqa: S506 - a safe loader
        except (OSError, yaml.YAMLError):
            continue  # ansible-playbook reports a broken spec itself
        for entry in entry_points.values():
            specs.update(entry.get("options") or {})
    return specs


@functools.cache
def _wired():
    """The options the playbooks' wiring sets (playbooks/roles/wiring): derived, not set by a service."""
    names = set()
    for path in sorted(COLLECTION.glob("playbooks/roles/wiring/vars/main/*.yml")):
        try:
            names.update(yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER) or {})  # noqa: S506 - a safe loader
        except (OSError, yaml.YAMLError):
            continue
    return frozenset(names)


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        variables = variables or {}
        specs = _specs()
        wired = _wired()
        values = {}
        for name in specs:
            # An option the wiring sets is the playbooks' value, not the service's (it wins over the inventory's):
            # the role's own argument spec checks it; templating it here would only cost time.
            if name not in variables or name in wired:
                continue
            try:
                values[name] = self._templar.template(variables[name])
            except AnsibleError:
                continue  # a value that cannot be computed yet: the role's own checks name it
        return option_type_errors(variables.get("inventory_hostname", "?"), specs, values)
