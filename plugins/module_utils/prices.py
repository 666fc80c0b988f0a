# Copyright: Shipyard maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""List prices (USD) that ``module_utils/cost.py`` estimates a month with, per region.

Why a Python dict and not a YAML vars file beside the playbooks: the filter, the unit tests and any module read the same
object with a plain import (no file lookup relative to a playbook, nothing to parse), and it ships in the collection
artifact with the code that uses it; ``ansible-test sanity`` checks it like the rest.

Every figure says where it comes from: ``source`` (the page), ``checked`` (the date it was read) and ``confirmed``.
``confirmed: False`` means the figure could not be checked against a page when this file was written (no internet
here; figures were read through a search index of stored pages): it is the best known list price, to be checked on
the page named in ``source`` before anyone relies on it. ``note`` says what was seen instead.

Units: ``hour`` figures are per hour of one thing (a task's vCPU, one GB of task memory, a load balancer, a NAT
gateway, one public IPv4 address); ``gb`` per GB; ``gb_month`` per GB stored for a month; ``month`` per thing and
month; ``per_10k`` per 10,000 API calls; ``per_million`` per million queries.
Add a region by copying a block: the keys must be the same (tests/unit/test_cost.py checks it).
"""

from __future__ import annotations

FARGATE_PAGE = "https://aws.amazon.com/fargate/pricing/"
ELB_PAGE = "https://aws.amazon.com/elasticloadbalancing/pricing/"
ECR_PAGE = "https://aws.amazon.com/ecr/pricing/"
SECRETS_PAGE = "https://aws.amazon.com/secrets-manager/pricing/"
ROUTE53_PAGE = "https://aws.amazon.com/route53/pricing/"
CLOUDWATCH_PAGE = "https://aws.amazon.com/cloudwatch/pricing/"
VPC_PAGE = "https://aws.amazon.com/vpc/pricing/"

CHECKED = "2026-12-06"


def _p(usd, unit, source, confirmed, note=""):
    return {"usd": usd, "unit": unit, "source": source, "checked": CHECKED, "confirmed": confirmed, "note": note}


PRICES = {
    "us-east-1": {
        "name": "US East (N. Virginia)",
        "fargate_vcpu_hour_x86_64": _p(
            0.04048, "hour", FARGATE_PAGE, True, "Linux/x86; same figure quoted from the page by vantage.sh/blog"
        ),
        "fargate_gb_hour_x86_64": _p(0.004445, "hour", FARGATE_PAGE, True, "Linux/x86"),
        "fargate_vcpu_hour_arm64": _p(0.03238, "hour", FARGATE_PAGE, True, "Linux/ARM"),
        "fargate_gb_hour_arm64": _p(0.00356, "hour", FARGATE_PAGE, True, "Linux/ARM"),
        "fargate_spot_discount": _p(
            0.70,
            "fraction",
            FARGATE_PAGE,
            True,
            "the page says 'up to a 70% discount'; Spot prices move, so this is the best case",
        ),
        "alb_hour": _p(0.0225, "hour", ELB_PAGE, False, "not confirmed here: the figure AWS has long listed"),
        "alb_lcu_hour": _p(0.008, "hour", ELB_PAGE, False, "not confirmed here: the figure AWS has long listed"),
        "ecr_gb_month": _p(0.10, "gb_month", ECR_PAGE, False, "not confirmed here: the figure AWS has long listed"),
        "secret_month": _p(0.40, "month", SECRETS_PAGE, False, "not confirmed here: the figure AWS has long listed"),
        "secrets_api_per_10k": _p(0.05, "per_10k", SECRETS_PAGE, False, "not confirmed here"),
        "route53_zone_month": _p(0.50, "month", ROUTE53_PAGE, False, "first 25 hosted zones; not confirmed here"),
        "route53_queries_per_million": _p(
            0.40,
            "per_million",
            ROUTE53_PAGE,
            False,
            "standard queries, not confirmed here; alias queries to an ALB are free",
        ),
        "logs_ingest_gb": _p(0.50, "gb", CLOUDWATCH_PAGE, True, "standard class; quoted by c3x.dev for us-east-1"),
        "logs_storage_gb_month": _p(0.03, "gb_month", CLOUDWATCH_PAGE, True, "quoted by c3x.dev for us-east-1"),
        "cloudwatch_metric_month": _p(
            0.30, "month", CLOUDWATCH_PAGE, False, "first 10,000 metrics; not confirmed here"
        ),
        "nat_gateway_hour": _p(0.045, "hour", VPC_PAGE, True, "quoted by several pages for us-east-1"),
        "nat_gateway_gb": _p(0.045, "gb", VPC_PAGE, True, "data processed, quoted for us-east-1"),
        "public_ipv4_hour": _p(0.005, "hour", VPC_PAGE, True, "every public IPv4 address, in use or not"),
    },
    "ap-northeast-2": {
        "name": "Asia Pacific (Seoul)",
        "fargate_vcpu_hour_x86_64": _p(
            0.04656, "hour", FARGATE_PAGE, False, "not confirmed here (the page renders region prices by script)"
        ),
        "fargate_gb_hour_x86_64": _p(0.00511, "hour", FARGATE_PAGE, False, "not confirmed here"),
        "fargate_vcpu_hour_arm64": _p(0.03725, "hour", FARGATE_PAGE, False, "not confirmed here"),
        "fargate_gb_hour_arm64": _p(0.00409, "hour", FARGATE_PAGE, False, "not confirmed here"),
        "fargate_spot_discount": _p(0.70, "fraction", FARGATE_PAGE, True, "'up to a 70% discount' (every region)"),
        "alb_hour": _p(0.0225, "hour", ELB_PAGE, False, "not confirmed here"),
        "alb_lcu_hour": _p(0.008, "hour", ELB_PAGE, False, "not confirmed here"),
        "ecr_gb_month": _p(0.10, "gb_month", ECR_PAGE, False, "not confirmed here"),
        "secret_month": _p(0.40, "month", SECRETS_PAGE, False, "not confirmed here: same in the regions seen"),
        "secrets_api_per_10k": _p(0.05, "per_10k", SECRETS_PAGE, False, "not confirmed here"),
        "route53_zone_month": _p(
            0.50, "month", ROUTE53_PAGE, False, "not confirmed here; Route53 is global: same as us-east-1"
        ),
        "route53_queries_per_million": _p(
            0.40, "per_million", ROUTE53_PAGE, False, "not confirmed here; global, alias queries are free"
        ),
        "logs_ingest_gb": _p(
            0.76, "gb", CLOUDWATCH_PAGE, False, "not confirmed for Seoul: $0.76 is Tokyo's (awsi.click), assumed equal"
        ),
        "logs_storage_gb_month": _p(
            0.033, "gb_month", CLOUDWATCH_PAGE, False, "not confirmed for Seoul: Tokyo's figure, assumed equal"
        ),
        "cloudwatch_metric_month": _p(0.30, "month", CLOUDWATCH_PAGE, False, "not confirmed here"),
        "nat_gateway_hour": _p(
            0.059, "hour", VPC_PAGE, False, "not confirmed for Seoul: $0.059 is Singapore's (basavytix.com)"
        ),
        "nat_gateway_gb": _p(0.059, "gb", VPC_PAGE, False, "not confirmed for Seoul: Singapore's figure"),
        "public_ipv4_hour": _p(0.005, "hour", VPC_PAGE, True, "the same in every region"),
    },
}
