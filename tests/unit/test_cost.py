"""module_utils/cost.py: one test per price component, the team's breakdown, the levers and the price file.

Expected figures are worked out here from the price file's own numbers (quantity x unit price), so a changed price
moves both sides; the team's document figures (~$30, ~$20, ~$1, ~$2) are checked within the bounds the estimate
explains.
"""

from __future__ import annotations

import json

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.shipyard.fargate.plugins.filter import monthly_cost as plugin
from ansible_collections.shipyard.fargate.plugins.module_utils import cost
from ansible_collections.shipyard.fargate.plugins.module_utils.prices import PRICES

H = 730.0
US = cost.region_prices("us-east-1")
SEOUL = cost.region_prices("ap-northeast-2")


def team(region, **service):
    """The team's setup: one service of 0.5 vCPU / 1 GB x 2 tasks, 2 secrets, an ALB, ECR, a Route53 zone."""
    svc = {"name": "api", "cpu": 512, "memory": 1024, "desired_count": 2, "secrets": 2, "log_retention_days": 30}
    svc.update(service)
    return {"region": region, "services": [svc], "stack": {"dns_zone": True}, "compare_document": True}


# --- the price file -------------------------------------------------------------------------------------------


def test_price_file_has_both_regions_with_the_same_keys_and_a_source_for_every_figure():
    assert {"us-east-1", "ap-northeast-2"} <= set(PRICES)
    keys = {k for k, v in PRICES["us-east-1"].items() if isinstance(v, dict)}
    for region, figures in PRICES.items():
        assert {k for k, v in figures.items() if isinstance(v, dict)} == keys, region
        for key in keys:
            figure = figures[key]
            assert figure["usd"] > 0, (region, key)
            assert figure["source"].startswith("https://aws.amazon.com/"), (region, key)
            assert figure["checked"], (region, key)
            assert isinstance(figure["confirmed"], bool), (region, key)
            if not figure["confirmed"]:
                assert "not confirmed" in figure["note"], (region, key)


def test_region_without_prices_names_it_and_the_regions_that_have_them():
    with pytest.raises(cost.CostError) as e:
        cost.region_prices("eu-west-3")
    assert "'eu-west-3'" in str(e.value)
    assert "ap-northeast-2, us-east-1" in str(e.value)


# --- one test per component -----------------------------------------------------------------------------------


def test_fargate_x86_and_arm64():
    line = cost.fargate_cost(US, 512, 1024, 2 * H, "X86_64")
    assert line["monthly_usd"] == pytest.approx(2 * H * (0.5 * 0.04048 + 1 * 0.004445), abs=1e-3)
    arm = cost.fargate_cost(US, 512, 1024, 2 * H, "ARM64")
    assert arm["monthly_usd"] == pytest.approx(2 * H * (0.5 * 0.03238 + 0.00356), abs=1e-3)
    with pytest.raises(cost.CostError, match="service_cpu_architecture"):
        cost.fargate_cost(US, 512, 1024, H, "MIPS")


def test_fargate_spot_share_gets_the_discount():
    full = cost.fargate_cost(US, 1024, 2048, H)["monthly_usd"]
    half = cost.fargate_cost(US, 1024, 2048, H, spot_share=0.5)["monthly_usd"]
    assert half == pytest.approx(full * (0.5 + 0.5 * (1 - US["fargate_spot_discount"])), abs=1e-3)


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [
        ([], (4.0, 0.0)),
        ([{"capacity_provider": "FARGATE_SPOT", "weight": 1}], (0.0, 4.0)),
        (
            [{"capacity_provider": "FARGATE", "weight": 1}, {"capacity_provider": "FARGATE_SPOT", "weight": 3}],
            (1.0, 3.0),
        ),
        (
            [
                {"capacity_provider": "FARGATE", "base": 2, "weight": 0},
                {"capacity_provider": "FARGATE_SPOT", "weight": 1},
            ],
            (2.0, 2.0),
        ),
    ],
)
def test_capacity_split_follows_base_then_weights(strategy, expected):
    assert cost.capacity_split(4, strategy) == expected


def test_capacity_split_refuses_an_unknown_provider():
    with pytest.raises(cost.CostError, match="capacity_provider must be FARGATE or FARGATE_SPOT"):
        cost.capacity_split(2, [{"capacity_provider": "EC2", "weight": 1}])


def test_task_hours_with_scheduled_scaling_at_night():
    assert cost.task_hours(2) == 2 * H
    assert cost.task_hours(2, H, 12, 1) == pytest.approx(2 * H / 2 + 1 * H / 2)
    assert cost.task_hours(2, H, 12, None) == 2 * H
    with pytest.raises(cost.CostError, match="night_hours"):
        cost.task_hours(2, H, 25, 1)


def test_alb_hours_and_lcu():
    fixed, lcu = cost.alb_cost(US, 1, 0.5)
    assert fixed["monthly_usd"] == pytest.approx(H * 0.0225, abs=1e-3)
    assert lcu["monthly_usd"] == pytest.approx(0.5 * H * 0.008, abs=1e-3)


def test_alb_lcu_estimate_takes_the_highest_dimension():
    assert cost.alb_lcu_estimate(5, 20) == pytest.approx(5 * 3600 * 20 / 1e6)  # processed bytes: 0.36 LCU
    assert cost.alb_lcu_estimate(50, 0.1) == pytest.approx(50 / 25)  # new connections: 2 LCU
    assert cost.alb_lcu_estimate(1000, 0.01, rules=60) == pytest.approx(1000 * 50 / 1000)  # rule evaluations


def test_ecr_storage():
    assert cost.ecr_cost(US, 0.3, 30)["monthly_usd"] == pytest.approx(9 * 0.10)


def test_secrets_and_api_calls():
    secrets, calls = cost.secrets_cost(US, 2, 20_000)
    assert secrets["monthly_usd"] == pytest.approx(0.80)
    assert calls["monthly_usd"] == pytest.approx(0.10)


def test_route53_zone_and_queries_alias_free():
    zone, queries = cost.route53_cost(US, 1, 3, alias=True)
    assert zone["monthly_usd"] == 0.50
    assert queries["monthly_usd"] == 0
    assert cost.route53_cost(US, 1, 3, alias=False)[1]["monthly_usd"] == pytest.approx(1.20)


def test_logs_ingest_and_storage_by_retention():
    ingest, storage = cost.logs_cost(US, 1.0, 30)
    assert ingest["monthly_usd"] == pytest.approx(cost.DAYS_PER_MONTH * 0.50, abs=1e-3)
    assert storage["monthly_usd"] == pytest.approx(30 * 0.03, abs=1e-3)
    longer = cost.logs_cost(US, 1.0, 365)[1]["monthly_usd"]
    never = cost.logs_cost(US, 1.0, "never", never_months=24)[1]["monthly_usd"]
    assert longer == pytest.approx(365 * 0.03, abs=1e-3)
    assert never == pytest.approx(24 * cost.DAYS_PER_MONTH * 0.03, abs=1e-3)


def test_nat_gateway_hours_and_data():
    hours, data = cost.nat_cost(SEOUL, 1, 100)
    assert hours["monthly_usd"] == pytest.approx(H * 0.059, abs=1e-3)
    assert data["monthly_usd"] == pytest.approx(100 * 0.059, abs=1e-3)
    assert [line["monthly_usd"] for line in cost.nat_cost(SEOUL, 0, 100)] == [0, 0]


def test_public_ipv4_addresses():
    assert cost.public_ipv4_cost(US, 3)["monthly_usd"] == pytest.approx(3 * H * 0.005, abs=1e-3)


def test_container_insights_off_on_and_enhanced():
    assert cost.container_insights_cost(US, "disabled", 2, 4)[0]["monthly_usd"] == 0
    on = cost.container_insights_cost(US, "enabled", 2, 4)[0]["monthly_usd"]
    assert on == pytest.approx((10 + 2 * 12) * 0.30 + 4 * 0.05 * 0.50, abs=1e-3)
    assert cost.container_insights_cost(US, "enhanced", 2, 4)[0]["monthly_usd"] > on
    with pytest.raises(cost.CostError, match="cluster_container_insights"):
        cost.container_insights_cost(US, "sometimes", 1, 1)


# --- the whole estimate ---------------------------------------------------------------------------------------


def components(result):
    out = {}
    for line in result["lines"]:
        out[line["component"]] = out.get(line["component"], 0) + line["monthly_usd"]
    return out


@pytest.mark.parametrize("region", ["us-east-1", "ap-northeast-2"])
def test_team_setup_reproduces_the_document_and_names_what_it_leaves_out(region):
    result = cost.estimate(team(region))
    prices = cost.region_prices(region)
    rows = {row["component"]: row for row in result["document"]["rows"]}
    fargate = 2 * H * (0.5 * prices["fargate_vcpu_hour_x86_64"] + prices["fargate_gb_hour_x86_64"])
    assert rows["fargate"]["estimate_usd"] == pytest.approx(fargate, abs=0.01)
    assert rows["fargate"]["document_usd"] == 30
    assert 30 < rows["fargate"]["estimate_usd"] < 45
    assert 15 < rows["alb"]["estimate_usd"] < 25  # ~$20
    assert 0.5 < rows["ecr"]["estimate_usd"] < 1.5  # ~$1
    assert rows["secrets"]["estimate_usd"] == pytest.approx(0.80, abs=0.01)  # 2 secrets; ~$2 would be 5
    assert all(row["why"] for row in rows.values())
    assert result["document"]["document_total_usd"] == 53
    # The hidden costs: the ALB's public IPv4 addresses (2 AZs), the logs, the zone.
    left = result["document"]["left_out"]
    assert left["public_ipv4"] == pytest.approx(2 * H * 0.005, abs=0.01)
    assert left["logs_ingest"] > 0
    assert left["route53_zone"] == 0.50
    assert "nat_gateway" not in left  # no NAT gateway in this setup
    assert result["monthly_usd"] == pytest.approx(
        result["document"]["estimate_of_document_items_usd"] + result["document"]["left_out_usd"], abs=0.02
    )


def test_nat_gateway_of_the_network_counts_its_hours_data_and_elastic_ip():
    settings = team("ap-northeast-2")
    settings["stack"]["nat_gateways"] = 1
    with_nat = components(cost.estimate(settings))
    without = components(cost.estimate(team("ap-northeast-2")))
    assert with_nat["nat_gateway"] == pytest.approx(H * 0.059, abs=0.01)
    assert with_nat["nat_data"] == pytest.approx(20 * 0.059, abs=0.01)
    assert with_nat["public_ipv4"] - without["public_ipv4"] == pytest.approx(H * 0.005, abs=0.01)


def test_an_existing_vpc_says_its_nat_gateways_are_not_counted():
    settings = team("us-east-1")
    settings["stack"]["existing_vpc"] = True
    nat = next(line for line in cost.estimate(settings)["lines"] if line["component"] == "nat_gateway")
    assert nat["monthly_usd"] == 0
    assert "not counted, set shipyard_cost_nat_gateways" in nat["detail"]


def test_service_settings_change_its_lines():
    spot = components(
        cost.estimate(team("us-east-1", capacity_provider_strategy=[{"capacity_provider": "FARGATE_SPOT"}]))
    )
    base = components(cost.estimate(team("us-east-1")))
    assert spot["fargate"] == pytest.approx(base["fargate"] * 0.30, abs=0.01)
    public = components(cost.estimate(team("us-east-1", assign_public_ip=True)))
    assert public["public_ipv4"] - base["public_ipv4"] == pytest.approx(2 * H * 0.005, abs=0.01)


def test_levers_say_what_spot_arm_and_night_scaling_save():
    result = cost.estimate(team("ap-northeast-2"))
    base = components(result)["fargate"]
    saves = {lever["lever"]: lever["saves_monthly_usd"] for lever in result["levers"]}
    assert saves["spot"] == pytest.approx(base * 0.70, abs=0.02)
    arm = 2 * H * (0.5 * SEOUL["fargate_vcpu_hour_arm64"] + SEOUL["fargate_gb_hour_arm64"])
    assert saves["arm64"] == pytest.approx(base - arm, abs=0.02)
    # 10 h a night at 1 task instead of 2: one task's cost for 10/24 of the month.
    assert saves["night"] == pytest.approx(base / 2 * 10 / 24, abs=0.02)


def test_a_service_usage_overrides_the_play_usage_for_that_service_only():
    settings = team("us-east-1")
    settings["services"].append(dict(settings["services"][0], name="chatty", usage={"log_gb_per_day": 1.0}))
    result = cost.estimate(settings, usage={"log_gb_per_day": 0.1})
    ingest = {
        s["name"]: next(line["monthly_usd"] for line in s["lines"] if line["component"] == "logs_ingest")
        for s in result["services"]
    }
    assert ingest["api"] == pytest.approx(0.1 * cost.DAYS_PER_MONTH * US["logs_ingest_gb"], abs=0.01)
    assert ingest["chatty"] == pytest.approx(10 * ingest["api"], abs=0.01)


def test_night_scaling_option_lowers_the_fargate_line():
    night = cost.estimate(team("us-east-1"), usage={"night_hours": 8, "night_tasks": 1})
    assert components(night)["fargate"] == pytest.approx(
        components(cost.estimate(team("us-east-1")))["fargate"] * (1 - 8 / 24 / 2), abs=0.02
    )


def test_unknown_usage_option_and_missing_region_are_refused():
    with pytest.raises(cost.CostError, match=r"unknown usage option.*log_gb"):
        cost.estimate(team("us-east-1"), usage={"log_gb": 1})
    settings = team("us-east-1")
    settings["services"][0]["usage"] = {"log_gb_a_day": 1}
    with pytest.raises(cost.CostError, match=r"unknown usage of service api option\(s\): log_gb_a_day"):
        cost.estimate(settings)
    with pytest.raises(cost.CostError, match="region is required"):
        cost.estimate({"services": []})


def test_table_and_markdown_show_the_same_totals():
    result = cost.estimate(team("us-east-1"))
    table = "\n".join(cost.render_table(result))
    markdown = cost.render_markdown(result)
    assert f"{result['monthly_usd']:.2f}" in table
    assert f"**{result['monthly_usd']:.2f}**" in markdown
    for lever in result["levers"]:
        assert f"{lever['saves_monthly_usd']:.2f}" in markdown
    assert "Left out by the document" in markdown
    assert "public_ipv4" in markdown


# --- live prices (parsing only; the module's fallback runs against the emulator) ------------------------------


def price_item(usagetype, usd):
    return json.dumps(
        {
            "product": {"attributes": {"usagetype": usagetype}},
            "terms": {"OnDemand": {"T": {"priceDimensions": {"D": {"pricePerUnit": {"USD": str(usd)}}}}}},
        }
    )


def test_live_price_list_parsing_and_merge():
    items = [
        price_item("APN2-Fargate-vCPU-Hours:perCPU", 0.05),
        price_item("APN2-Fargate-GB-Hours", 0.006),
        price_item("APN2-Fargate-ARM-vCPU-Hours:perCPU", 0.04),
        price_item("APN2-SpotUsage-Fargate-vCPU-Hours:perCPU", 0.01),
        price_item("APN2-Fargate-Windows-vCPU-Hours:perCPU", 0.09),
    ]
    live = cost.fargate_prices_from_price_list(items, "2026-12-06")
    assert {k: v["usd"] for k, v in live.items()} == {
        "fargate_vcpu_hour_x86_64": 0.05,
        "fargate_gb_hour_x86_64": 0.006,
        "fargate_vcpu_hour_arm64": 0.04,
    }
    merged = cost.merge_live_prices("ap-northeast-2", live)
    result = cost.estimate(team("ap-northeast-2"), prices=merged, price_source="live")
    assert components(result)["fargate"] == pytest.approx(2 * H * (0.5 * 0.05 + 0.006), abs=0.01)
    assert result["price_source"] == "live"
    assert "fargate_vcpu_hour_x86_64" not in result["unconfirmed_prices"]


# --- the filter -----------------------------------------------------------------------------------------------


def test_filter_adds_table_and_markdown_and_turns_errors_into_filter_errors():
    result = plugin.monthly_cost(team("us-east-1"))
    assert result["table"] == cost.render_table(result)
    assert result["markdown"].startswith("### Monthly cost")
    with pytest.raises(AnsibleFilterError, match=r"shipyard\.fargate\.monthly_cost: No prices for region 'sa-east-1'"):
        plugin.monthly_cost(team("sa-east-1"))
