# Copyright: Shipyard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The rules of the ``shipyard.fargate.service`` role's options (filter ``service_option_errors``)."""

import re

from ansible_collections.shipyard.fargate.plugins.module_utils.task_definition import FARGATE_MEMORY
from ansible_collections.shipyard.fargate.plugins.module_utils.validation import (
    ECS_NAME,
    ENV_NAME,
    FARGATE_CAPACITY_PROVIDERS,
    IAM_ROLE_ARN,
    IMAGE_REFERENCE,
    TARGET_GROUP_ARN,
    VALUE_FROM_ARN,
    Problems,
    as_list,
    in_range,
    matches,
    names,
    text,
    to_bool,
    to_float,
    to_int,
    with_defaults,
)

# The base URL of the public check: scheme, host (or address), optional port; no path, query or credentials.
CHECK_URL = re.compile(r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?/?$")
_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
HOST_NAME = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(\.{_LABEL})*$")

# Retention periods CloudWatch Logs offers, in days.
LOG_RETENTIONS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)
# amazon.aws.cloudwatchlogs_log_group 10.1.2 knows only these; asked for another one it DELETES the log group.
LOG_RETENTIONS_MODULE = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1827, 3653)


def fargate_size_problem(cpu, memory, cpu_option="service_cpu", memory_option="service_memory"):
    """Why ``cpu``/``memory`` (CPU units, MiB) is not a Fargate task size, naming the options; None when it is."""
    offered = FARGATE_MEMORY.get(text(cpu))
    if offered is not None and to_int(memory, default=-1) in offered:
        return None
    if offered is not None:
        advice = "With {} {}, {} must be one of {}.".format(
            cpu_option, cpu, memory_option, ", ".join(str(m) for m in offered)
        )
    else:
        advice = "{} must be one of {}.".format(cpu_option, ", ".join(FARGATE_MEMORY))
    return f"{cpu_option} {cpu} with {memory_option} {memory} is not a task size Fargate offers. {advice}"


def log_retention_problems(days, option="service_log_retention_days"):
    """The problems of a CloudWatch Logs retention (days, or 'never')."""
    if text(days) == "never":
        return []
    if not matches(r"^[0-9]+$", days) or to_int(days) not in LOG_RETENTIONS:
        return [
            "{} {} is not a retention CloudWatch Logs offers: never or one of {} days.".format(
                option, days, ", ".join(str(d) for d in LOG_RETENTIONS)
            )
        ]
    if to_int(days) not in LOG_RETENTIONS_MODULE:
        return [
            "{} {} is offered by AWS but not supported yet: amazon.aws.cloudwatchlogs_log_group deletes the log "
            "group when asked for it. Use one of {} or never.".format(
                option, days, ", ".join(str(d) for d in LOG_RETENTIONS_MODULE)
            )
        ]
    return []


def _health_check_valid(check):
    if not check:
        return True
    if not isinstance(check, dict):
        return False
    command = check.get("command", [])
    if isinstance(command, (str, dict)) or not isinstance(command, (list, tuple)):
        return False
    return (
        len(command) > 1
        and command[0] in ("CMD", "CMD-SHELL")
        and in_range(check.get("interval", 30), 5, 300)
        and in_range(check.get("timeout", 5), 2, 60)
        and in_range(check.get("retries", 3), 1, 10)
        and in_range(check.get("start_period", 0), 0, 300)
    )


def _strategy_valid(strategy):
    if not strategy:
        return True
    providers = [entry.get("capacity_provider") for entry in strategy]
    weights = [to_int(entry.get("weight")) for entry in strategy]
    bases = [to_int(entry.get("base")) for entry in strategy]
    return (
        len(set(providers)) == len(providers)
        and any(w > 0 for w in weights)
        and len([b for b in bases if b > 0]) <= 1
        and all(0 <= w <= 1000 for w in weights)
        and all(0 <= b <= 100000 for b in bases)
    )


def service_errors(options):
    """The problems of the service role's options (a dict of service_* variables), one message each."""
    o = options
    p = Problems()
    present = o.get("service_state", "present") != "absent"
    for option, what, chars in (
        ("service_name", "a valid ECS service name", "1 to 255 letters, digits, '-' and '_'"),
        ("service_cluster_name", "a valid ECS cluster name", "1 to 255 letters, digits, '-' and '_'"),
        ("service_family", "a valid task definition family", "1 to 255 letters, digits, '-' and '_'"),
        ("service_container_name", "a valid container name", "letters, digits, '-' and '_'"),
    ):
        p.check(
            matches(ECS_NAME, o.get(option)),
            option,
            f"{option} '{o.get(option)}' is not {what}: {chars}.",
        )
    image, initial = text(o.get("service_image")), text(o.get("service_initial_image"))
    p.check(
        not present or image or initial,
        "service_image",
        "service_image or service_initial_image is required with service_state present (service_image null keeps "
        "the image the existing service runs; a new service starts with service_initial_image).",
    )
    p.check(
        not present or not image or matches(IMAGE_REFERENCE, image),
        "service_image",
        f"service_image '{image}' is not an image reference pinned by a tag or a digest: no spaces, "
        "[host[:port]/]repository:tag or repository@sha256:<64 hex digits>, for example "
        "127.0.0.1:29050/stack/web:1.4.2.",
    )
    p.check(
        not present or not initial or matches(IMAGE_REFERENCE, initial),
        "service_initial_image",
        f"service_initial_image '{initial}' is not an image reference pinned by a tag or a digest: no spaces, "
        "[host[:port]/]repository:tag or repository@sha256:<64 hex digits>.",
    )
    p.check(
        not present or matches(IAM_ROLE_ARN, o.get("service_execution_role_arn")),
        "service_execution_role_arn",
        "service_execution_role_arn is required with service_state present and must be an IAM role ARN "
        "(arn:aws:iam::<account>:role/...).",
    )
    p.check(
        not o.get("service_task_role_arn") or matches(IAM_ROLE_ARN, o.get("service_task_role_arn")),
        "service_task_role_arn",
        "service_task_role_arn must be an IAM role ARN (arn:aws:iam::<account>:role/...) or unset.",
    )
    p.check(
        not present or as_list(o.get("service_subnet_ids")),
        "service_subnet_ids",
        "service_subnet_ids is required with service_state present: give the private subnets of the tasks.",
    )
    p.check(
        not present or as_list(o.get("service_security_group_ids")),
        "service_security_group_ids",
        "service_security_group_ids is required with service_state present: give the security groups of the tasks.",
    )
    size = fargate_size_problem(o.get("service_cpu"), o.get("service_memory"))
    p.check(size is None, "service_cpu", size)
    port = o.get("service_container_port")
    p.check(
        in_range(port, 1, 65535),
        "service_container_port",
        f"service_container_port {port} is not a port: 1 to 65535.",
    )
    count = o.get("service_desired_count", 0)
    p.check(to_int(count) >= 0, "service_desired_count", f"service_desired_count {count} must be 0 or more.")

    env_names = names(o.get("service_environment"))
    secret_names = names(o.get("service_secrets_value_from"))
    bad = [n for n in env_names if not matches(ENV_NAME, n)]
    p.check(
        not bad,
        "service_environment",
        "service_environment names must be environment variable names ([A-Za-z_][A-Za-z0-9_]*): " + ", ".join(bad),
    )
    bad = [n for n in secret_names if not matches(ENV_NAME, n)]
    p.check(
        not bad,
        "service_secrets_value_from",
        "service_secrets_value_from names must be environment variable names ([A-Za-z_][A-Za-z0-9_]*): "
        + ", ".join(bad),
    )
    clash = sorted(set(env_names) & set(secret_names))
    p.check(
        not clash,
        "service_secrets_value_from",
        "{} is in both service_secrets_value_from and service_environment: a secret must never also be a plain "
        "environment variable. Remove it from service_environment.".format(", ".join(clash)),
    )
    value_from = o.get("service_secrets_value_from") or {}
    bad = (
        [text(k) for k, v in value_from.items() if not matches(VALUE_FROM_ARN, v)]
        if isinstance(value_from, dict)
        else []
    )
    p.check(
        not bad,
        "service_secrets_value_from",
        "service_secrets_value_from must map each name to a Secrets Manager or SSM parameter ARN (the valueFrom, "
        "never the value itself); not an ARN for: " + ", ".join(bad),
    )
    for message in log_retention_problems(o.get("service_log_retention_days", "never")):
        p.add("service_log_retention_days", message)
    p.check(
        _health_check_valid(o.get("service_container_health_check")),
        "service_container_health_check",
        "service_container_health_check needs command (a list starting with CMD or CMD-SHELL, e.g. "
        '[CMD-SHELL, "curl -f http://localhost:3000/health || exit 1"]) and optionally interval (5-300), '
        "timeout (2-60), retries (1-10) and start_period (0-300).",
    )
    minimum = o.get("service_deployment_minimum_healthy_percent", 100)
    p.check(
        in_range(minimum, 0, 100),
        "service_deployment_minimum_healthy_percent",
        f"service_deployment_minimum_healthy_percent {minimum} must be 0 to 100.",
    )
    maximum = o.get("service_deployment_maximum_percent", 200)
    p.check(
        in_range(maximum, 100, 200),
        "service_deployment_maximum_percent",
        f"service_deployment_maximum_percent {maximum} must be 100 to 200.",
    )
    p.check(
        in_range(o.get("service_health_check_grace_period_seconds", 0), 0, 2147483647),
        "service_health_check_grace_period_seconds",
        "service_health_check_grace_period_seconds must be 0 or more seconds.",
    )
    target_group = o.get("service_target_group_arn")
    p.check(
        not target_group or matches(TARGET_GROUP_ARN, target_group),
        "service_target_group_arn",
        f"service_target_group_arn '{target_group}' is not a target group ARN.",
    )
    strategy = with_defaults(o.get("service_capacity_provider_strategy"))
    p.check(
        all(entry.get("capacity_provider") in FARGATE_CAPACITY_PROVIDERS for entry in strategy),
        "service_capacity_provider_strategy",
        "service_capacity_provider_strategy: capacity_provider must be FARGATE or FARGATE_SPOT.",
    )
    p.check(
        _strategy_valid(strategy),
        "service_capacity_provider_strategy",
        "service_capacity_provider_strategy: each capacity provider once, weight 0 to 1000 (at least one above 0), "
        "base 0 to 100000 (at most one above 0).",
    )
    if to_bool(o.get("service_autoscaling_enabled")):
        low, high = o.get("service_autoscaling_min_capacity"), o.get("service_autoscaling_max_capacity")
        p.check(
            0 <= to_int(low) <= to_int(high),
            "service_autoscaling_min_capacity",
            f"service_autoscaling_min_capacity ({low}) must be 0 or more and at most service_autoscaling_max_capacity "
            f"({high}).",
        )
        p.check(
            to_int(high) >= 1, "service_autoscaling_max_capacity", "service_autoscaling_max_capacity must be 1 or more."
        )
        p.check(
            o.get("service_autoscaling_cpu_target") is not None
            or o.get("service_autoscaling_memory_target") is not None,
            "service_autoscaling_cpu_target",
            "service_autoscaling_enabled needs service_autoscaling_cpu_target, service_autoscaling_memory_target "
            "or both.",
        )
    for option in ("service_autoscaling_cpu_target", "service_autoscaling_memory_target"):
        target = o.get(option)
        p.check(
            target is None or 0 < to_float(target) <= 100,
            option,
            f"{option} {target} must be a percentage above 0, at most 100.",
        )
    release = o.get("service_release_command") or []
    p.check(
        isinstance(release, list) and all(isinstance(word, str) and word for word in release),
        "service_release_command",
        "service_release_command must be a list of non-empty strings (the command and its arguments, e.g. "
        '["npm", "run", "migrate"]), or empty for no release step.',
    )
    p.check(
        in_range(o.get("service_release_timeout", 600), 1, 86400),
        "service_release_timeout",
        f"service_release_timeout {o.get('service_release_timeout')} must be 1 to 86400 seconds.",
    )
    url = o.get("service_url_check_url")
    p.check(
        not url or matches(CHECK_URL, url),
        "service_url_check_url",
        f"service_url_check_url '{url}' must be an http:// or https:// URL without a path (for example "
        "https://api.example.com); the path is service_url_check_path.",
    )
    host = o.get("service_url_check_host")
    p.check(
        not host or matches(HOST_NAME, host),
        "service_url_check_host",
        f"service_url_check_host '{host}' is not a host name.",
    )
    path = text(o.get("service_url_check_path", "/health"))
    p.check(
        path.startswith("/") and " " not in path,
        "service_url_check_path",
        f"service_url_check_path '{path}' must start with '/' and have no spaces.",
    )
    p.check(
        in_range(o.get("service_url_check_consecutive", 3), 1, 100),
        "service_url_check_consecutive",
        f"service_url_check_consecutive {o.get('service_url_check_consecutive')} must be 1 to 100.",
    )
    p.check(
        in_range(o.get("service_url_check_timeout", 60), 1, 3600),
        "service_url_check_timeout",
        f"service_url_check_timeout {o.get('service_url_check_timeout')} must be 1 to 3600 seconds.",
    )
    return p.messages()
