# Copyright: Shipyard maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``shipyard.fargate.<role>_option_errors`` filters (documentation: one ``<filter>.yml`` beside this file).

Each filter is the pure function of ``plugins/module_utils/validation/<role>.py`` that holds the role's rules:
a dict of the role's options in, the list of problems out (empty when the options are valid), each message
naming its option. The roles' ``validate`` entry points call them before any AWS call; the modules that check
the same rules import the same functions.
"""

from __future__ import annotations

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError
from ansible_collections.shipyard.fargate.plugins.module_utils.validation.ci_access import ci_access_errors
from ansible_collections.shipyard.fargate.plugins.module_utils.validation.cluster import cluster_errors
from ansible_collections.shipyard.fargate.plugins.module_utils.validation.dns import certificate_errors, dns_errors
from ansible_collections.shipyard.fargate.plugins.module_utils.validation.iam import iam_errors
from ansible_collections.shipyard.fargate.plugins.module_utils.validation.image import image_errors
from ansible_collections.shipyard.fargate.plugins.module_utils.validation.load_balancer import (
    load_balancer_errors,
    load_balancer_service_errors,
)
from ansible_collections.shipyard.fargate.plugins.module_utils.validation.network import (
    network_errors,
    network_service_errors,
)
from ansible_collections.shipyard.fargate.plugins.module_utils.validation.registry import registry_errors
from ansible_collections.shipyard.fargate.plugins.module_utils.validation.secrets import secrets_errors
from ansible_collections.shipyard.fargate.plugins.module_utils.validation.service import service_errors
from ansible_collections.shipyard.fargate.plugins.module_utils.validation.stack import stack_errors

# filter name -> the module_utils function that holds the rules.
RULES = {
    "ci_access_option_errors": ci_access_errors,
    "cluster_option_errors": cluster_errors,
    "dns_option_errors": dns_errors,
    "dns_certificate_option_errors": certificate_errors,
    "iam_option_errors": iam_errors,
    "image_option_errors": image_errors,
    "load_balancer_option_errors": load_balancer_errors,
    "load_balancer_service_option_errors": load_balancer_service_errors,
    "network_option_errors": network_errors,
    "network_service_option_errors": network_service_errors,
    "registry_option_errors": registry_errors,
    "secrets_option_errors": secrets_errors,
    "service_option_errors": service_errors,
    "stack_option_errors": stack_errors,
}


def _filter(name, rules):
    def option_errors(options) -> list[str]:
        if not isinstance(options, Mapping):
            raise AnsibleFilterError(f"{name}: expected a dict of the role's options, got {type(options).__name__}")
        return rules(dict(options))

    option_errors.__name__ = name
    option_errors.__doc__ = f"The problems of a dict of options, one message each, by {rules.__name__}."
    return option_errors


class FilterModule:
    """Shipyard's option checks, one filter per role (entry point)."""

    def filters(self):
        return {name: _filter(name, rules) for name, rules in RULES.items()}
