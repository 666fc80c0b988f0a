# Copyright: Shipyard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The rules of the ``shipyard.fargate.load_balancer`` role's options (filters ``load_balancer_option_errors``
for entry point main and ``load_balancer_service_option_errors`` for entry point service).

A priority another service's rule already holds needs a look-up in AWS: that check stays in the role.
"""

from ansible_collections.shipyard.fargate.plugins.module_utils.validation import (
    CERTIFICATE_ARN,
    SECURITY_GROUP_ID,
    SUBNET_ID,
    VPC_ID,
    Problems,
    as_list,
    in_range,
    is_port,
    matches,
    not_matching,
    text,
    to_bool,
    to_int,
)

# ALB and target group names: 1-32 letters, digits and hyphens, no hyphen at either end.
NAME = r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?$"
MATCHER = r"^[1-5][0-9]{2}(-[1-5][0-9]{2})?(,[1-5][0-9]{2}(-[1-5][0-9]{2})?)*$"
HOST_HEADER = r"^[A-Za-z0-9*?.-]{1,128}$"
PATH_PATTERN = r"^/\S{0,127}$"
HEALTH_CHECK_PATH = r"^/\S{0,1023}$"
LISTENER_PORTS = (80, 443)


def priority_problem(priority, option="load_balancer_service_priority"):
    """Why ``priority`` is not a listener rule priority (1 to 50000), or None."""
    if in_range(priority, 1, 50000):
        return None
    return f"{option} {priority} is out of range: 1 to 50000."


def path_pattern_problem(patterns, option="load_balancer_service_path_patterns"):
    """Why ``patterns`` are not listener rule path patterns, or None."""
    if not not_matching(PATH_PATTERN, patterns):
        return None
    return f"{option}: each pattern starts with '/' (at most 128 characters, no spaces)."


def host_header_problem(hosts, option="load_balancer_service_host_headers"):
    """Why ``hosts`` are not listener rule host headers, or None."""
    if not not_matching(HOST_HEADER, hosts):
        return None
    return f"{option}: each entry is a host name (letters, digits, '-', '.', '*', '?')."


def load_balancer_errors(options):
    """The problems of the load balancer role's options (entry point main), one message each."""
    o = options
    p = Problems()
    check_mode = to_bool(o.get("ansible_check_mode"))
    absent = o.get("load_balancer_state", "present") == "absent"
    http_only = to_bool(o.get("load_balancer_http_only"))
    name = o.get("load_balancer_name")
    p.check(
        matches(NAME, name) and not text(name).startswith("internal-"),
        "load_balancer_name",
        f"load_balancer_name '{name}' is not a valid load balancer name: 1 to 32 letters, digits and '-', no '-' at "
        "either end, not starting with 'internal-'.",
    )
    certificate = text(o.get("load_balancer_certificate_arn"))
    p.check(
        absent or http_only or certificate,
        "load_balancer_certificate_arn",
        "load_balancer_certificate_arn is required for the HTTPS listener. Give the ARN of an ACM certificate for "
        "the service's domain, or set load_balancer_http_only to true to run without HTTPS (not for production).",
    )
    p.check(
        not certificate or matches(CERTIFICATE_ARN, certificate),
        "load_balancer_certificate_arn",
        f"load_balancer_certificate_arn '{certificate}' is not an ACM (or IAM) certificate ARN.",
    )
    p.check(
        not (http_only and certificate),
        "load_balancer_certificate_arn",
        "load_balancer_certificate_arn is set, but load_balancer_http_only is true (no HTTPS listener to put it "
        "on): set one of them only.",
    )
    subnets = as_list(o.get("load_balancer_subnet_ids"))
    p.check(
        absent or check_mode or len(subnets) >= 2,
        "load_balancer_subnet_ids",
        "load_balancer_subnet_ids needs two subnets at least, in different availability zones (default: the fact "
        "network_public_subnet_ids of the network role).",
    )
    p.check(
        not not_matching(SUBNET_ID, subnets),
        "load_balancer_subnet_ids",
        "load_balancer_subnet_ids holds something that is not a subnet id (subnet-...).",
    )
    groups = as_list(o.get("load_balancer_security_group_ids"))
    p.check(
        absent or check_mode or len(groups) > 0,
        "load_balancer_security_group_ids",
        "load_balancer_security_group_ids is empty (default: the fact network_load_balancer_security_group_id of "
        "the network role): without a group the ALB would get the VPC's default group.",
    )
    p.check(
        not not_matching(SECURITY_GROUP_ID, groups),
        "load_balancer_security_group_ids",
        "load_balancer_security_group_ids holds something that is not a security group id (sg-...).",
    )
    timeout = o.get("load_balancer_idle_timeout", 60)
    p.check(
        in_range(timeout, 1, 4000),
        "load_balancer_idle_timeout",
        f"load_balancer_idle_timeout {timeout} is out of range: 1 to 4000 seconds.",
    )
    return p.messages()


def load_balancer_service_errors(options):
    """The problems of the load balancer role's entry point service (load_balancer_service_*), one message each."""
    o = options
    p = Problems()
    check_mode = to_bool(o.get("ansible_check_mode"))
    absent = o.get("load_balancer_service_state", "present") == "absent"
    name = o.get("load_balancer_service_name")
    p.check(
        matches(NAME, name),
        "load_balancer_service_name",
        f"load_balancer_service_name '{name}' is not a valid target group name: 1 to 32 letters, digits and '-', no "
        "'-' at either end.",
    )
    port = o.get("load_balancer_service_port")
    p.check(
        is_port(port),
        "load_balancer_service_port",
        f"load_balancer_service_port {port} is not a TCP port (1 to 65535).",
    )
    problem = priority_problem(o.get("load_balancer_service_priority"))
    p.check(problem is None, "load_balancer_service_priority", problem)
    p.check(
        to_int(o.get("load_balancer_service_listener_port", 443)) in LISTENER_PORTS,
        "load_balancer_service_listener_port",
        "load_balancer_service_listener_port must be 443 (HTTPS listener) or 80 (HTTP-only load balancer).",
    )
    hosts = as_list(o.get("load_balancer_service_host_headers"))
    paths = as_list(o.get("load_balancer_service_path_patterns"))
    p.check(
        absent or len(hosts) + len(paths) > 0,
        "load_balancer_service_host_headers",
        "load_balancer_service_host_headers and load_balancer_service_path_patterns are both empty: give the "
        "service's host name(s) or path pattern(s), so that the listener knows which requests are the service's.",
    )
    problem = host_header_problem(hosts)
    p.check(problem is None, "load_balancer_service_host_headers", problem)
    problem = path_pattern_problem(paths)
    p.check(problem is None, "load_balancer_service_path_patterns", problem)
    path = o.get("load_balancer_service_health_check_path")
    p.check(
        matches(HEALTH_CHECK_PATH, path),
        "load_balancer_service_health_check_path",
        f"load_balancer_service_health_check_path '{path}' must start with '/' (at most 1024 characters, no spaces).",
    )
    interval = o.get("load_balancer_service_health_check_interval", 30)
    p.check(
        in_range(interval, 5, 300),
        "load_balancer_service_health_check_interval",
        "load_balancer_service_health_check_interval must be 5 to 300 seconds.",
    )
    timeout = o.get("load_balancer_service_health_check_timeout", 5)
    p.check(
        in_range(timeout, 2, 120) and to_int(timeout) < to_int(interval),
        "load_balancer_service_health_check_timeout",
        "load_balancer_service_health_check_timeout must be 2 to 120 seconds and below "
        "load_balancer_service_health_check_interval.",
    )
    for option in ("load_balancer_service_healthy_threshold", "load_balancer_service_unhealthy_threshold"):
        p.check(in_range(o.get(option, 2), 2, 10), option, f"{option} must be 2 to 10.")
    matcher = o.get("load_balancer_service_health_check_matcher")
    p.check(
        matches(MATCHER, matcher),
        "load_balancer_service_health_check_matcher",
        f"load_balancer_service_health_check_matcher '{matcher}' is not a list of HTTP codes or "
        "ranges, e.g. 200, 200-299 or 200,302.",
    )
    p.check(
        in_range(o.get("load_balancer_service_deregistration_delay", 300), 0, 3600),
        "load_balancer_service_deregistration_delay",
        "load_balancer_service_deregistration_delay must be 0 to 3600 seconds.",
    )
    vpc_id = o.get("load_balancer_service_vpc_id")
    p.check(
        matches(VPC_ID, text(vpc_id)) or ((check_mode or absent) and not text(vpc_id)),
        "load_balancer_service_vpc_id",
        f"load_balancer_service_vpc_id '{vpc_id}' is not a VPC id (vpc-...). Run the network role first (it sets "
        "network_vpc_id), or set load_balancer_service_vpc_id.",
    )
    return p.messages()
