# Copyright: Shipyard maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``shipyard.fargate.monthly_cost`` filter (documentation: monthly_cost.yml beside this file).

A thin wrapper over ``module_utils/cost.py``: no AWS call, the same settings give the same estimate.
"""

from __future__ import annotations

from importlib import import_module

from ansible.errors import AnsibleFilterError


def monthly_cost(settings, usage=None, prices=None, price_source=None):
    """The monthly estimate of ``settings``, with its text table (``table``) and Markdown (``markdown``)."""
    # Imported here, not with the file: ansible-core loads every filter file of the collection to find any one of its
    # filters, in each task's process; only cost.yml's tasks need the estimate.
    cost = import_module("ansible_collections.shipyard.fargate.plugins.module_utils.cost")
    try:
        result = cost.estimate(settings, usage=usage or {}, prices=prices or None, price_source=price_source)
    except cost.CostError as e:
        raise AnsibleFilterError(f"shipyard.fargate.monthly_cost: {e}") from None
    result["table"] = cost.render_table(result)
    result["markdown"] = cost.render_markdown(result)
    return result


class FilterModule:
    def filters(self):
        return {"monthly_cost": monthly_cost}
