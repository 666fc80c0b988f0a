"""shipyard.fargate.cost_price_list_info: paging through pricing:GetProducts and the reason it gives when it cannot.

The whole module runs against the emulator in tests/integration/test_cost_playbook.py (the fallback); the parsing of
the answers is in tests/unit/test_cost.py.
"""

from __future__ import annotations

import json

from ansible_collections.shipyard.fargate.plugins.module_utils import cost
from ansible_collections.shipyard.fargate.plugins.modules import cost_price_list_info as module


class FakePricing:
    def __init__(self, pages):
        self.pages = pages
        self.calls = []

    def get_products(self, aws_retry=False, **kwargs):
        self.calls.append(kwargs)
        return self.pages[len(self.calls) - 1]


def item(usagetype, usd):
    return json.dumps(
        {
            "product": {"attributes": {"usagetype": usagetype}},
            "terms": {"OnDemand": {"T": {"priceDimensions": {"D": {"pricePerUnit": {"USD": str(usd)}}}}}},
        }
    )


def test_get_products_follows_next_token_and_filters_on_the_region():
    client = FakePricing(
        [
            {"PriceList": [item("APN2-Fargate-vCPU-Hours:perCPU", 0.05)], "NextToken": "t1"},
            {"PriceList": [item("APN2-Fargate-GB-Hours", 0.006)]},
        ]
    )
    items = module._get_products(client, "ap-northeast-2")
    assert len(items) == 2
    assert [call.get("NextToken") for call in client.calls] == [None, "t1"]
    assert client.calls[0]["ServiceCode"] == "AmazonECS"
    assert client.calls[0]["Filters"] == [{"Type": "TERM_MATCH", "Field": "regionCode", "Value": "ap-northeast-2"}]
    assert set(cost.fargate_prices_from_price_list(items)) == {"fargate_vcpu_hour_x86_64", "fargate_gb_hour_x86_64"}


def test_reason_is_the_first_line_of_the_error_and_short():
    error = RuntimeError("An error occurred (500)\n<!doctype html>\n<html>" + "x" * 500)
    assert module._first_line(error) == "An error occurred (500)"
    assert len(module._first_line(RuntimeError("y" * 500))) == 200
