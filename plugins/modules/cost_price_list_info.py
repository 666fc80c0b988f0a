#!/usr/bin/python

# Copyright: Shipyard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: cost_price_list_info
short_description: Live Fargate prices of a region from the AWS Price List API, or why there are none
version_added: 0.1.0
description:
  - Calls the AWS Price List API (C(pricing:GetProducts), service code C(AmazonECS)) for the Fargate Linux
    on-demand prices (vCPU-hour and GB-hour, x86_64 and ARM64) of O(region_code), in the shape of the collection's
    price file (plugins/module_utils/prices.py), for the C(shipyard.fargate.monthly_cost) filter.
  - B(Never fails because the API does not answer:) when the endpoint is unreachable, refuses the call or has no
    such prices, RV(available) is V(false) and RV(reason) says why, so the caller falls back to the price file and
    says so. Bad options still fail.
  - The Price List API has endpoints in a few regions only (us-east-1, eu-central-1, ap-south-1). Set the module's
    O(region) to one of them; O(region_code) is the region whose prices are asked.
  - Changes nothing; runs in check mode.
options:
  region_code:
    description: The region whose prices are asked, e.g. V(ap-northeast-2).
    type: str
    required: true
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
  diff_mode:
    description: Returns details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
author:
  - Shipyard maintainers (@shipyard)
"""

EXAMPLES = r"""
- name: Ask the Price List API for Seoul's Fargate prices
  shipyard.fargate.cost_price_list_info:
    region: us-east-1
    region_code: ap-northeast-2
  register: live

- name: Estimate with them (the file's prices for the rest, or all of them when the API did not answer)
  ansible.builtin.debug:
    msg: "{{ (settings | shipyard.fargate.monthly_cost(prices=live.prices if live.available else None)).table }}"
"""

RETURN = r"""
available:
  description: Whether the API answered with Fargate prices for O(region_code).
  returned: always
  type: bool
reason:
  description: Why there are no live prices (empty when RV(available)).
  returned: always
  type: str
  sample: "Could not connect to the endpoint URL"
prices:
  description: >-
    The file's prices of O(region_code) with the live figures over them, C({region_code: {key: {usd, unit,
    source, checked, confirmed, note}}}); empty when not RV(available).
  returned: always
  type: dict
live_keys:
  description: The price keys that came from the API.
  returned: always
  type: list
  elements: str
"""

import datetime

try:
    import botocore
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.shipyard.fargate.plugins.module_utils import cost


def _get_products(client, region_code):
    """Every ``PriceList`` entry of AmazonECS in ``region_code`` (paged); raises botocore errors."""
    filters = [{"Type": "TERM_MATCH", "Field": "regionCode", "Value": region_code}]
    items = []
    token = None
    while True:
        kwargs = {"ServiceCode": "AmazonECS", "Filters": filters, "MaxResults": 100}
        if token:
            kwargs["NextToken"] = token
        answer = client.get_products(aws_retry=True, **kwargs)
        items.extend(answer.get("PriceList") or [])
        token = answer.get("NextToken")
        if not token:
            return items


def _first_line(error):
    """The first line of an error, at most 200 characters (an HTML error page is not a reason)."""
    text = str(error).strip().splitlines()
    return (text[0] if text else type(error).__name__)[:200]


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(region_code=dict(type="str", required=True)),
        supports_check_mode=True,
    )
    region_code = module.params["region_code"]
    try:
        cost.region_prices(region_code)
    except cost.CostError as e:
        module.fail_json(msg=f"region_code: {e}")
    result = dict(changed=False, available=False, reason="", prices={}, live_keys=[])
    try:
        client = module.client("pricing", retry_decorator=AWSRetry.jittered_backoff(retries=3))
        items = _get_products(client, region_code)
        live = cost.fargate_prices_from_price_list(items, datetime.date.today().isoformat())
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        result["reason"] = f"the Price List API did not answer: {_first_line(e)}"
        module.exit_json(**result)
    except ValueError as e:  # e.g. an endpoint that answers something that is not the API
        result["reason"] = f"the Price List API answered something unreadable: {_first_line(e)}"
        module.exit_json(**result)
    if not live:
        result["reason"] = f"the Price List API returned no Fargate prices for {region_code}"
        module.exit_json(**result)
    result.update(available=True, prices=cost.merge_live_prices(region_code, live), live_keys=sorted(live))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
