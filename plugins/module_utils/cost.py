# Copyright: Shipyard maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A monthly cost estimate of a Shipyard stack, as pure functions (no AWS call, no Ansible).

One function per price component; each returns a *line*: ``{"component", "monthly_usd", "detail"}``.
``estimate()`` puts them together from the inventory's settings (per service and for the shared stack), adds what
each lever saves (Fargate Spot, ARM, fewer tasks at night) and, when asked, the comparison with the team's own
document. ``render_table()`` and ``render_markdown()`` print the same figures. Prices come from
``module_utils/prices.py`` unless the caller passes others (e.g. live ones from the AWS Price List API).

Usage the inventory cannot know (GB of logs per day, requests per second, image size, NAT GB) is in
``USAGE_DEFAULTS``; every one can be overridden and the estimate lists the values it used.
Errors are raised as ``CostError`` (a ValueError) naming the setting; callers turn it into a failure.
"""

from __future__ import annotations

import copy
import json
import re

from ansible_collections.shipyard.fargate.plugins.module_utils.prices import PRICES

HOURS_PER_MONTH = 730.0  # AWS's own monthly figure (8,760 h / 12)
DAYS_PER_MONTH = HOURS_PER_MONTH / 24.0
LCU_FREE_RULES = 10  # ALB rule evaluations: the first 10 rules of a request are free

USAGE_DEFAULTS = {
    "hours_per_month": HOURS_PER_MONTH,  # hours a task or a load balancer runs in a month
    "alb_requests_per_second": 5.0,  # average requests per second on the load balancer (all services)
    "alb_kb_per_request": 20.0,  # average KB processed per request (request + response)
    "alb_lcu": None,  # a measured LCU figure (ConsumedLCUs average) instead of the two above
    "image_gb": 0.3,  # compressed image size in GB (ECR bills what it stores; shared layers count once)
    "kept_images": 30,  # images kept per repository (registry_lifecycle_keep_tagged_count when set)
    "task_starts_per_month": 60,  # task starts per service and month (deploys, scaling, replacements)
    "log_gb_per_day": 0.1,  # GB of application logs per service and day
    "log_never_months": 12,  # months of logs counted when retention is "never" (it only grows)
    "route53_queries_millions": 1.0,  # DNS queries per month, in millions
    "route53_alias": True,  # the dns role writes alias records to the ALB: their queries are free
    "nat_gb_per_month": 20.0,  # GB through the NAT gateways per month (image pulls, outbound calls)
    "night_hours": 0.0,  # hours per day the service runs fewer tasks (scheduled scaling); 0: none
    "night_tasks": None,  # tasks during those hours (None: the desired count, i.e. no change)
    "lever_night_hours": 10.0,  # the night-scaling lever: this many hours per day ...
    "lever_night_tasks": 1,  # ... at this many tasks
    "insights_metrics_per_cluster": 10,  # Container Insights metrics per cluster (rough count)
    "insights_metrics_per_service": 12,  # ... per service
    "insights_metrics_per_task_enhanced": 12,  # ... per task, with enhanced observability
    "insights_log_gb_per_task_month": 0.05,  # performance log events per task and month, in GB
}

# The team's document (Korean, "비용 구조 (예상)"): ~$53/month for 0.5 vCPU / 1 GB x 2 tasks, an ALB, ECR, secrets.
TEAM_DOCUMENT = {
    "fargate": 30.0,
    "alb": 20.0,
    "ecr": 1.0,
    "secrets": 2.0,
}
TEAM_DOCUMENT_TOTAL = 53.0
_DOCUMENT_REASONS = {
    "fargate": "730 h x tasks x (vCPU x vCPU-hour + GB x GB-hour) at the region's list price; the document's ~$30 "
    "is below that for 0.5 vCPU / 1 GB x 2 tasks in either region (us-east-1 and Seoul list prices give more).",
    "alb": "730 h x the ALB-hour plus the LCU estimate (alb_requests_per_second, alb_kb_per_request); the "
    "document's ~$20 is the same order.",
    "ecr": "kept images x image size x GB-month; ~$1 is about 10 GB stored.",
    "secrets": "one Secrets Manager secret per service (a JSON of its keys) at the secret-month price, plus API "
    "calls; ~$2 would be five secrets.",
}
_COMPONENT_GROUP = {
    "fargate": "fargate",
    "fargate_spot": "fargate",
    "alb": "alb",
    "alb_lcu": "alb",
    "ecr": "ecr",
    "secrets": "secrets",
    "secrets_api": "secrets",
}


class CostError(ValueError):
    """Bad input for an estimate: the message names the setting."""


def region_prices(region, prices=None):
    """The price figures (USD) of ``region`` as {key: usd}; CostError naming the regions that have prices."""
    table = PRICES if prices is None else prices
    if region not in table:
        raise CostError(
            f"No prices for region {region!r} in plugins/module_utils/prices.py; regions with prices: "
            f"{', '.join(sorted(table))} (add the region there, or pick one with shipyard_cost_region)"
        )
    return {key: value["usd"] for key, value in table[region].items() if isinstance(value, dict)}


def _line(component, usd, detail):
    return {"component": component, "monthly_usd": round(float(usd), 4), "detail": detail}


def _number(value, name, minimum=0.0):
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise CostError(f"{name} must be a number, got {value!r}") from None
    if number < minimum:
        raise CostError(f"{name} must be >= {minimum:g}, got {value!r}")
    return number


def capacity_split(tasks, strategy):
    """(on-demand tasks, Spot tasks) of ``tasks`` under an ECS capacity provider strategy (base first, then weight).

    An empty strategy is all FARGATE. ``strategy`` is service_capacity_provider_strategy: a list of
    {capacity_provider, weight, base}. Fractions are kept (an estimate of the long-run share).
    """
    tasks = _number(tasks, "service_desired_count")
    if not strategy:
        return tasks, 0.0
    on_demand = spot = 0.0
    remaining = tasks
    for item in strategy:
        provider = item.get("capacity_provider")
        if provider not in ("FARGATE", "FARGATE_SPOT"):
            raise CostError(
                "service_capacity_provider_strategy: capacity_provider must be FARGATE or FARGATE_SPOT, "
                f"got {provider!r}"
            )
        base = min(_number(item.get("base") or 0, "service_capacity_provider_strategy base"), remaining)
        remaining -= base
        if provider == "FARGATE_SPOT":
            spot += base
        else:
            on_demand += base
    weights = [_number(item.get("weight", 1), "service_capacity_provider_strategy weight") for item in strategy]
    total_weight = sum(weights)
    if remaining > 0:
        if total_weight <= 0:
            raise CostError("service_capacity_provider_strategy: the weights add up to 0 beyond the base tasks")
        for index, item in enumerate(strategy):
            weight = weights[index]
            share = remaining * weight / total_weight
            if item["capacity_provider"] == "FARGATE_SPOT":
                spot += share
            else:
                on_demand += share
    return on_demand, spot


def task_hours(tasks, hours_per_month=HOURS_PER_MONTH, night_hours=0.0, night_tasks=None):
    """Task-hours in a month: ``tasks`` all day, except ``night_tasks`` for ``night_hours`` a day."""
    tasks = _number(tasks, "service_desired_count")
    night_hours = _number(night_hours, "night_hours")
    if night_hours > 24:
        raise CostError(f"night_hours must be <= 24, got {night_hours:g}")
    if not night_hours or night_tasks is None:
        return tasks * hours_per_month
    night_tasks = _number(night_tasks, "night_tasks")
    night = hours_per_month * night_hours / 24.0
    return tasks * (hours_per_month - night) + night_tasks * night


def fargate_cost(prices, cpu_units, memory_mib, task_hours_month, architecture="X86_64", spot_share=0.0):
    """Fargate compute: task-hours x (vCPU x vCPU-hour + GB x GB-hour), the Spot share at the Spot discount."""
    arch = str(architecture).upper()
    if arch not in ("X86_64", "ARM64"):
        raise CostError(f"service_cpu_architecture must be X86_64 or ARM64, got {architecture!r}")
    vcpu = _number(cpu_units, "service_cpu", 1) / 1024.0
    gb = _number(memory_mib, "service_memory", 1) / 1024.0
    if not 0.0 <= spot_share <= 1.0:
        raise CostError(f"the Spot share must be between 0 and 1, got {spot_share!r}")
    key = arch.lower()
    per_task_hour = vcpu * prices[f"fargate_vcpu_hour_{key}"] + gb * prices[f"fargate_gb_hour_{key}"]
    factor = (1.0 - spot_share) + spot_share * (1.0 - prices["fargate_spot_discount"])
    usd = task_hours_month * per_task_hour * factor
    detail = f"{task_hours_month:g} task-h x ({vcpu:g} vCPU + {gb:g} GB) {arch}"
    if spot_share:
        detail += f", {spot_share:.0%} on Spot"
    return _line("fargate", usd, detail)


def alb_lcu_estimate(requests_per_second, kb_per_request, rules=0):
    """Average LCUs of an ALB: the highest of its four dimensions (new connections, active connections are
    assumed no higher than new ones, GB processed per hour, rule evaluations beyond the free 10 per request)."""
    rps = _number(requests_per_second, "alb_requests_per_second")
    kb = _number(kb_per_request, "alb_kb_per_request")
    new_connections = rps / 25.0  # 25 new connections per second per LCU (every request a new one: the worst case)
    processed = rps * 3600.0 * kb / 1_000_000.0  # 1 GB per hour per LCU
    evaluations = rps * max(int(rules) - LCU_FREE_RULES, 0) / 1000.0  # 1,000 evaluations per second per LCU
    return max(new_connections, processed, evaluations)


def alb_cost(prices, load_balancers=1, lcu=0.0, hours=HOURS_PER_MONTH):
    """Application Load Balancer: ALB-hours plus LCU-hours."""
    count = _number(load_balancers, "load balancers")
    fixed = count * hours * prices["alb_hour"]
    capacity = _number(lcu, "alb_lcu") * hours * prices["alb_lcu_hour"]
    return [
        _line("alb", fixed, f"{count:g} ALB x {hours:g} h"),
        _line("alb_lcu", capacity, f"{lcu:.3g} LCU x {hours:g} h"),
    ]


def ecr_cost(prices, image_gb, kept_images, repositories=1):
    """ECR storage: repositories x kept images x image size, per GB-month (an upper bound: shared layers count once)."""
    stored = _number(repositories, "repositories") * _number(kept_images, "kept_images") * _number(image_gb, "image_gb")
    return _line("ecr", stored * prices["ecr_gb_month"], f"{stored:g} GB stored")


def secrets_cost(prices, secrets, api_calls_per_month):
    """Secrets Manager: secrets x secret-month, plus API calls (GetSecretValue at every task start)."""
    count = _number(secrets, "secrets")
    calls = _number(api_calls_per_month, "secrets API calls")
    return [
        _line("secrets", count * prices["secret_month"], f"{count:g} secret(s)"),
        _line("secrets_api", calls / 10_000.0 * prices["secrets_api_per_10k"], f"{calls:g} API calls"),
    ]


def route53_cost(prices, zones=1, queries_millions=0.0, alias=True):
    """Route53: the hosted zone, plus standard queries (alias queries to an ALB are free)."""
    count = _number(zones, "zones")
    queries = _number(queries_millions, "route53_queries_millions")
    lines = [_line("route53_zone", count * prices["route53_zone_month"], f"{count:g} hosted zone(s)")]
    if alias:
        lines.append(_line("route53_queries", 0.0, f"{queries:g} M queries to alias records (free)"))
    else:
        lines.append(
            _line("route53_queries", queries * prices["route53_queries_per_million"], f"{queries:g} M queries")
        )
    return lines


def logs_cost(prices, gb_per_day, retention_days, never_months=12):
    """CloudWatch Logs: ingest (GB a month) plus storage of what the retention keeps (steady state).

    ``retention_days`` is service_log_retention_days: a number of days, or "never"/0/None (kept forever:
    ``never_months`` of logs are counted).
    """
    daily = _number(gb_per_day, "log_gb_per_day")
    if retention_days in (None, 0, "0", "never", "Never"):
        days = _number(never_months, "log_never_months") * DAYS_PER_MONTH
        kept = f"never expires, {never_months} months counted"
    else:
        days = _number(retention_days, "service_log_retention_days", 1)
        kept = f"{days:g} days kept"
    ingested = daily * DAYS_PER_MONTH
    stored = daily * days
    return [
        _line("logs_ingest", ingested * prices["logs_ingest_gb"], f"{ingested:.3g} GB ingested"),
        _line("logs_storage", stored * prices["logs_storage_gb_month"], f"{stored:.3g} GB stored ({kept})"),
    ]


def nat_cost(prices, gateways, gb_per_month, hours=HOURS_PER_MONTH):
    """NAT gateways: gateway-hours plus GB processed (the gateway's Elastic IP is in public_ipv4_cost)."""
    count = _number(gateways, "NAT gateways")
    data = _number(gb_per_month, "nat_gb_per_month") if count else 0.0
    return [
        _line("nat_gateway", count * hours * prices["nat_gateway_hour"], f"{count:g} NAT gateway(s) x {hours:g} h"),
        _line("nat_data", data * prices["nat_gateway_gb"], f"{data:g} GB processed"),
    ]


def public_ipv4_cost(prices, addresses, hours=HOURS_PER_MONTH):
    """Public IPv4 addresses (ALB nodes, NAT Elastic IPs, tasks with a public IP): address-hours."""
    count = _number(addresses, "public IPv4 addresses")
    return _line("public_ipv4", count * hours * prices["public_ipv4_hour"], f"{count:g} address(es) x {hours:g} h")


def container_insights_cost(prices, mode, services, tasks, usage=None):
    """Container Insights: its metrics (charged as custom metrics) plus its performance log events.

    ``mode`` is cluster_container_insights: disabled, enabled or enhanced (per-task metrics too). Metric counts are
    rough (USAGE_DEFAULTS): the estimate says so.
    """
    use = dict(USAGE_DEFAULTS, **(usage or {}))
    mode = str(mode or "disabled").lower()
    if mode not in ("disabled", "enabled", "enhanced"):
        raise CostError(f"cluster_container_insights must be disabled, enabled or enhanced, got {mode!r}")
    if mode == "disabled":
        return [_line("container_insights", 0.0, "disabled")]
    metrics = use["insights_metrics_per_cluster"] + _number(services, "services") * use["insights_metrics_per_service"]
    if mode == "enhanced":
        metrics += _number(tasks, "tasks") * use["insights_metrics_per_task_enhanced"]
    log_gb = _number(tasks, "tasks") * use["insights_log_gb_per_task_month"]
    usd = metrics * prices["cloudwatch_metric_month"] + log_gb * prices["logs_ingest_gb"]
    return [_line("container_insights", usd, f"{mode}: ~{metrics:g} metrics + {log_gb:.3g} GB performance logs")]


def _total(lines):
    return round(sum(line["monthly_usd"] for line in lines), 2)


def _service_settings(service):
    name = service.get("name")
    if not name:
        raise CostError("every service needs a name")
    return {
        "name": name,
        "cpu": service.get("cpu", 512),
        "memory": service.get("memory", 1024),
        "desired_count": service.get("desired_count", 2),
        "architecture": service.get("architecture") or "X86_64",
        "capacity_provider_strategy": service.get("capacity_provider_strategy") or [],
        "secrets": service.get("secrets", 1),
        "log_retention_days": service.get("log_retention_days", 30),
        "assign_public_ip": bool(service.get("assign_public_ip", False)),
        "usage": service.get("usage") or {},
    }


def service_fargate(prices, service, use, **changes):
    """The Fargate line of one service (``changes`` override its settings: the levers use it)."""
    settings = dict(service, **changes)
    tasks = settings["desired_count"]
    on_demand, spot = capacity_split(tasks, settings["capacity_provider_strategy"])
    hours = task_hours(
        tasks,
        use["hours_per_month"],
        settings.get("night_hours", use["night_hours"]),
        settings.get("night_tasks", use["night_tasks"]),
    )
    share = spot / (on_demand + spot) if on_demand + spot else 0.0
    return fargate_cost(prices, settings["cpu"], settings["memory"], hours, settings["architecture"], share)


def service_lines(prices, service, use, repositories_kept_images=None):
    """Every line of one service: Fargate, ECR, secrets, logs, task public IPs."""
    tasks = _number(service["desired_count"], "service_desired_count")
    kept = use["kept_images"] if repositories_kept_images is None else repositories_kept_images
    lines = [service_fargate(prices, service, use)]
    lines.append(ecr_cost(prices, use["image_gb"], kept))
    lines.extend(secrets_cost(prices, service["secrets"], service["secrets"] * use["task_starts_per_month"]))
    lines.extend(logs_cost(prices, use["log_gb_per_day"], service["log_retention_days"], use["log_never_months"]))
    if service["assign_public_ip"]:
        line = public_ipv4_cost(prices, tasks, use["hours_per_month"])
        line["detail"] += " (a public IP per task)"
        lines.append(line)
    return lines


def stack_lines(prices, stack, services, use):
    """The shared stack's lines: the ALB (+ its public IPs), Route53, NAT, Container Insights."""
    lines = []
    hours = use["hours_per_month"]
    if stack.get("load_balancer", True):
        lcu = use["alb_lcu"]
        if lcu is None:
            lcu = alb_lcu_estimate(use["alb_requests_per_second"], use["alb_kb_per_request"], stack.get("alb_rules", 0))
        lines.extend(alb_cost(prices, 1, lcu, hours))
    addresses = 0
    notes = []
    if stack.get("load_balancer", True) and stack.get("load_balancer_internet_facing", True):
        addresses += int(stack.get("load_balancer_azs", 2))
        notes.append(f"{int(stack.get('load_balancer_azs', 2))} ALB nodes")
    gateways = int(stack.get("nat_gateways", 0))
    if gateways:
        addresses += gateways
        notes.append(f"{gateways} NAT Elastic IP(s)")
    if addresses:
        line = public_ipv4_cost(prices, addresses, hours)
        line["detail"] += f" ({', '.join(notes)})"
        lines.append(line)
    if stack.get("dns_zone", True):
        lines.extend(route53_cost(prices, 1, use["route53_queries_millions"], use["route53_alias"]))
    nat = nat_cost(prices, gateways, use["nat_gb_per_month"], hours)
    if stack.get("existing_vpc") and not gateways:
        nat[0]["detail"] += " (an existing VPC: its NAT gateways are not counted, set shipyard_cost_nat_gateways)"
    lines.extend(nat)
    tasks = sum(_number(service["desired_count"], "service_desired_count") for service in services)
    lines.extend(container_insights_cost(prices, stack.get("container_insights"), len(services), tasks, use))
    return [line for line in lines if line["monthly_usd"] or line["component"] in ("nat_gateway", "container_insights")]


def levers(prices, services, use):
    """What each lever saves a month over all services: all on Fargate Spot, ARM64, fewer tasks at night."""
    current = sum(service_fargate(prices, s, use)["monthly_usd"] for s in services)
    options = {
        "spot": (
            "run every task on FARGATE_SPOT (interruptible)",
            {"capacity_provider_strategy": [{"capacity_provider": "FARGATE_SPOT", "weight": 1}]},
        ),
        "arm64": ("service_cpu_architecture: ARM64 (an ARM image)", {"architecture": "ARM64"}),
        "night": (
            f"scheduled scaling to {use['lever_night_tasks']} task(s) for {use['lever_night_hours']:g} h a night",
            {"night_hours": use["lever_night_hours"], "night_tasks": use["lever_night_tasks"]},
        ),
    }
    result = []
    for name, (description, change) in options.items():
        after = 0.0
        for service in services:
            changes = dict(change)
            if name == "night":
                changes["night_tasks"] = min(change["night_tasks"], service["desired_count"])
            after += service_fargate(prices, service, use, **changes)["monthly_usd"]
        result.append(
            {
                "lever": name,
                "description": description,
                "fargate_monthly_usd": round(after, 2),
                "saves_monthly_usd": round(current - after, 2),
            }
        )
    return result


def compare_with_document(estimate_result, document=None, document_total=None):
    """Where the estimate differs from the team's document, component by component, and what it leaves out."""
    document = TEAM_DOCUMENT if document is None else document
    totals = {}
    hidden = {}
    for line in estimate_result["lines"]:
        group = _COMPONENT_GROUP.get(line["component"])
        if group:
            totals[group] = totals.get(group, 0.0) + line["monthly_usd"]
        elif line["monthly_usd"]:
            hidden[line["component"]] = hidden.get(line["component"], 0.0) + line["monthly_usd"]
    rows = []
    for component, figure in document.items():
        computed = round(totals.get(component, 0.0), 2)
        rows.append(
            {
                "component": component,
                "document_usd": figure,
                "estimate_usd": computed,
                "difference_usd": round(computed - figure, 2),
                "why": _DOCUMENT_REASONS.get(component, ""),
            }
        )
    return {
        "document_total_usd": document_total if document_total is not None else round(sum(document.values()), 2),
        "estimate_of_document_items_usd": round(sum(row["estimate_usd"] for row in rows), 2),
        "rows": rows,
        "left_out": {name: round(usd, 2) for name, usd in sorted(hidden.items())},
        "left_out_usd": round(sum(hidden.values()), 2),
    }


def _check_usage(usage, where):
    if not isinstance(usage or {}, dict):
        raise CostError(f"{where} must be a dict, got {type(usage).__name__}")
    unknown = set(usage or {}) - set(USAGE_DEFAULTS)
    if unknown:
        raise CostError(f"unknown {where} option(s): {', '.join(sorted(unknown))}; known: {', '.join(USAGE_DEFAULTS)}")


def estimate(settings, usage=None, prices=None, price_source=None):
    """The monthly estimate of a stack.

    ``settings``: {region, services: [{name, cpu, memory, desired_count, architecture, capacity_provider_strategy,
    secrets, log_retention_days, assign_public_ip, kept_images, usage}], stack: {load_balancer,
    load_balancer_azs, load_balancer_internet_facing, alb_rules, dns_zone, nat_gateways, existing_vpc,
    container_insights},
    compare_document}. ``usage`` overrides USAGE_DEFAULTS (a service's own ``usage`` overrides it again).
    ``prices``: {region: {key: {usd, ...}}} (default: prices.py); ``price_source`` says where they came from.
    """
    if not isinstance(settings, dict):
        raise CostError(f"the settings must be a dict, got {type(settings).__name__}")
    region = settings.get("region")
    if not region:
        raise CostError("region is required (shipyard_aws_region)")
    _check_usage(usage, "usage")
    price = region_prices(region, prices)
    use = dict(USAGE_DEFAULTS, **(usage or {}))
    raw_services = settings.get("services") or []
    if not isinstance(raw_services, list):
        raise CostError("services must be a list")
    services = [_service_settings(s) for s in raw_services]
    for service in services:
        _check_usage(service["usage"], f"usage of service {service['name']}")
    out_services = []
    for index, service in enumerate(services):
        raw = raw_services[index]
        service_use = dict(use, **service["usage"])
        lines = service_lines(price, service, service_use, raw.get("kept_images"))
        out_services.append({"name": service["name"], "lines": lines, "monthly_usd": _total(lines)})
    stack = stack_lines(price, settings.get("stack") or {}, services, use)
    all_lines = [line for s in out_services for line in s["lines"]] + stack
    result = {
        "region": region,
        "currency": "USD",
        "price_source": price_source or "file: plugins/module_utils/prices.py",
        "prices_checked": sorted(
            {
                value.get("checked")
                for value in (PRICES if prices is None else prices)[region].values()
                if isinstance(value, dict) and value.get("checked")
            }
        ),
        "unconfirmed_prices": sorted(
            key
            for key, value in (PRICES if prices is None else prices)[region].items()
            if isinstance(value, dict) and value.get("confirmed") is False
        ),
        "hours_per_month": use["hours_per_month"],
        "services": out_services,
        "stack": {"lines": stack, "monthly_usd": _total(stack)},
        "lines": all_lines,
        "monthly_usd": _total(all_lines),
        "levers": levers(price, services, use),
        "usage": copy.deepcopy(use),
    }
    if settings.get("compare_document"):
        result["document"] = compare_with_document(result)
    return result


def _money(usd):
    return f"${usd:,.2f}"


def _rows(result):
    rows = []
    for service in result["services"]:
        for line in service["lines"]:
            rows.append((service["name"], line["component"], line["monthly_usd"], line["detail"]))
    for line in result["stack"]["lines"]:
        rows.append(("(stack)", line["component"], line["monthly_usd"], line["detail"]))
    return rows


def render_table(result):
    """The estimate as fixed-width text lines (for the play's output)."""
    rows = _rows(result)
    width = max([len(r[0]) for r in rows] + [7])
    comp = max([len(r[1]) for r in rows] + [9])
    lines = [
        f"Monthly estimate, {result['region']} ({result['price_source']})",
        f"{'service':<{width}}  {'component':<{comp}}  {'USD/month':>10}  detail",
    ]
    for name, component, usd, detail in rows:
        lines.append(f"{name:<{width}}  {component:<{comp}}  {usd:>10.2f}  {detail}")
    for service in result["services"]:
        lines.append(f"{service['name']:<{width}}  {'total':<{comp}}  {service['monthly_usd']:>10.2f}")
    lines.append(f"{'(stack)':<{width}}  {'total':<{comp}}  {result['stack']['monthly_usd']:>10.2f}")
    lines.append(f"{'TOTAL':<{width}}  {'':<{comp}}  {result['monthly_usd']:>10.2f}")
    for lever in result["levers"]:
        lines.append(
            f"lever {lever['lever']}: saves {_money(lever['saves_monthly_usd'])}/month ({lever['description']})"
        )
    if result.get("document"):
        doc = result["document"]
        lines.append(
            f"team document: {_money(doc['document_total_usd'])}; the same items here: "
            f"{_money(doc['estimate_of_document_items_usd'])}; left out by the document: {_money(doc['left_out_usd'])}"
        )
    return lines


def render_markdown(result):
    """The estimate as Markdown (a CI step summary)."""
    out = [
        f"### Monthly cost estimate ({result['region']}): {_money(result['monthly_usd'])}",
        "",
        f"Prices: {result['price_source']}, checked {', '.join(result['prices_checked']) or 'n/a'}."
        + (f" Not confirmed: {', '.join(result['unconfirmed_prices'])}." if result["unconfirmed_prices"] else ""),
        "",
        "| Service | Component | USD/month | Detail |",
        "|---|---|---:|---|",
    ]
    for name, component, usd, detail in _rows(result):
        out.append(f"| {name} | {component} | {usd:.2f} | {detail} |")
    for service in result["services"]:
        out.append(f"| **{service['name']}** | **total** | **{service['monthly_usd']:.2f}** | |")
    out.append(f"| **(stack)** | **total** | **{result['stack']['monthly_usd']:.2f}** | |")
    out.append(f"| **TOTAL** | | **{result['monthly_usd']:.2f}** | |")
    out += ["", "| Lever | Saves USD/month | How |", "|---|---:|---|"]
    for lever in result["levers"]:
        out.append(f"| {lever['lever']} | {lever['saves_monthly_usd']:.2f} | {lever['description']} |")
    if result.get("document"):
        doc = result["document"]
        out += [
            "",
            f"Team document: {_money(doc['document_total_usd'])}/month; the same items estimated here: "
            f"{_money(doc['estimate_of_document_items_usd'])}.",
            "",
            "| Item | Document | Estimate | Why |",
            "|---|---:|---:|---|",
        ]
        for row in doc["rows"]:
            out.append(f"| {row['component']} | {row['document_usd']:.2f} | {row['estimate_usd']:.2f} | {row['why']} |")
        left = ", ".join(f"{name} {_money(usd)}" for name, usd in doc["left_out"].items()) or "nothing"
        out += ["", f"Left out by the document ({_money(doc['left_out_usd'])}/month): {left}."]
    return "\n".join(out) + "\n"


_LIVE_USAGE = re.compile(r"(?:^|-)Fargate-(ARM-)?(vCPU|GB)-Hours(?::perCPU)?$")
PRICE_LIST_PAGE = "AWS Price List API (pricing:GetProducts, service AmazonECS)"


def fargate_prices_from_price_list(items, checked=None):
    """Fargate Linux on-demand prices from ``pricing:GetProducts`` answers (``PriceList``: JSON strings or dicts).

    Returns {fargate_vcpu_hour_x86_64, fargate_gb_hour_x86_64, fargate_vcpu_hour_arm64, fargate_gb_hour_arm64}
    (only the ones found) in the price file's shape; Spot, Windows and EKS usage types are skipped.
    """
    found = {}
    for item in items or []:
        product = json.loads(item) if isinstance(item, str) else item
        usage = ((product.get("product") or {}).get("attributes") or {}).get("usagetype") or ""
        if "Spot" in usage or "Windows" in usage or "EKS" in usage:
            continue
        match = _LIVE_USAGE.search(usage)
        if not match:
            continue
        arch = "arm64" if match.group(1) else "x86_64"
        key = f"fargate_{'vcpu' if match.group(2) == 'vCPU' else 'gb'}_hour_{arch}"
        for term in ((product.get("terms") or {}).get("OnDemand") or {}).values():
            for dimension in (term.get("priceDimensions") or {}).values():
                usd = (dimension.get("pricePerUnit") or {}).get("USD")
                if usd is None:
                    continue
                found[key] = {
                    "usd": float(usd),
                    "unit": "hour",
                    "source": f"{PRICE_LIST_PAGE}, usagetype {usage}",
                    "checked": checked or "",
                    "confirmed": True,
                    "note": "live",
                }
    return found


def merge_live_prices(region, live, prices=None):
    """The file's prices for ``region`` with the ``live`` figures over them: {region: {...}} for estimate()."""
    table = PRICES if prices is None else prices
    region_prices(region, table)  # a region without file prices fails here, naming the ones that have them
    merged = copy.deepcopy(table[region])
    merged.update(live or {})
    return {region: merged}
