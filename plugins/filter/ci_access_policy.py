# Copyright: Shipyard maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``shipyard.fargate.ci_access_*`` policy filters (documentation: one ``<filter>.yml`` beside this file).

The policies themselves, and which calls each one allows and why, are plugins/module_utils/ci_access_policy.py:
pure functions, imported when a filter is first called. ansible-core loads every filter file of the collection to
find any one of its filters, in each task's process, and only bootstrap_ci.yml's tasks make these policies.
"""

from __future__ import annotations

from importlib import import_module

from ansible.errors import AnsibleFilterError


def _policy(function: str):
    def policy(*args, **kwargs):
        module = import_module("ansible_collections.shipyard.fargate.plugins.module_utils.ci_access_policy")
        try:
            return getattr(module, function)(*args, **kwargs)
        except module.PolicyError as e:
            raise AnsibleFilterError(str(e)) from None

    policy.__name__ = function
    policy.__doc__ = f"module_utils.ci_access_policy.{function}, its errors as AnsibleFilterError."
    return policy


ci_access_deploy_policy = _policy("ci_access_deploy_policy")
ci_access_provision_policy = _policy("ci_access_provision_policy")
ci_access_trust_policy = _policy("ci_access_trust_policy")


class FilterModule:
    """Shipyard's keyless CI access policies."""

    def filters(self):
        return {
            "ci_access_deploy_policy": ci_access_deploy_policy,
            "ci_access_provision_policy": ci_access_provision_policy,
            "ci_access_trust_policy": ci_access_trust_policy,
        }
