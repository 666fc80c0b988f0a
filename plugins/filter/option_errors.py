# Copyright: Shipyard maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``shipyard.fargate.<role>_option_errors`` filters (documentation: one ``<filter>.yml`` beside this file).

Each filter is the pure function of ``plugins/module_utils/validation/<role>.py`` that holds the role's rules:
a dict of the role's options in, the list of problems out (empty when the options are valid), each message
naming its option. The roles' ``validate`` entry points call them before any AWS call; the modules that check
the same rules import the same functions.

How a role calls one (``roles/<role>/tasks/validate.yml``): its options in one template, read with the vars lookup
(``dict(_<role>_option_names | zip(query('ansible.builtin.vars', *_<role>_option_names)))``, plus the options it
passes in another form, such as names only), and ``ansible.builtin.fail`` when the list is not empty. ansible-core
2.19 compiles every template each time it evaluates it, and ``ansible.builtin.assert`` templates its ``fail_msg``
even when the check passes: an assert would work the whole list out twice, a template per option each time.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import import_module

from ansible.errors import AnsibleFilterError

_VALIDATION = "ansible_collections.shipyard.fargate.plugins.module_utils.validation"

# filter name -> the module_utils module and function that hold the rules. Imported when the filter is first called:
# every task runs in a process of its own (a fork of ansible-playbook), which would otherwise import all thirteen
# rule modules to use one of them (~20 ms each time).
RULES = {
    "ci_access_option_errors": ("ci_access", "ci_access_errors"),
    "cluster_option_errors": ("cluster", "cluster_errors"),
    "dns_option_errors": ("dns", "dns_errors"),
    "dns_certificate_option_errors": ("dns", "certificate_errors"),
    "iam_option_errors": ("iam", "iam_errors"),
    "image_option_errors": ("image", "image_errors"),
    "load_balancer_option_errors": ("load_balancer", "load_balancer_errors"),
    "load_balancer_service_option_errors": ("load_balancer", "load_balancer_service_errors"),
    "network_option_errors": ("network", "network_errors"),
    "network_service_option_errors": ("network", "network_service_errors"),
    "registry_option_errors": ("registry", "registry_errors"),
    "secrets_option_errors": ("secrets", "secrets_errors"),
    "service_option_errors": ("service", "service_errors"),
    "stack_option_errors": ("stack", "stack_errors"),
}


def rules_of(name: str):
    """The module_utils function that holds the rules of the filter ``name``."""
    module, function = RULES[name]
    return getattr(import_module(f"{_VALIDATION}.{module}"), function)


def _filter(name):
    module, function = RULES[name]

    def option_errors(options) -> list[str]:
        if not isinstance(options, Mapping):
            raise AnsibleFilterError(f"{name}: expected a dict of the role's options, got {type(options).__name__}")
        return rules_of(name)(dict(options))

    option_errors.__name__ = name
    option_errors.__doc__ = f"The problems of a dict of options, one message each, by validation.{module}.{function}."
    return option_errors


class FilterModule:
    """Shipyard's option checks, one filter per role (entry point)."""

    def filters(self):
        return {name: _filter(name) for name in RULES}
