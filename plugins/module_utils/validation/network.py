# Copyright: Shipyard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The rules of the ``shipyard.fargate.network`` role's options (filters ``network_option_errors`` for entry
point main and ``network_service_option_errors`` for entry point service)."""

from ansible_collections.shipyard.fargate.plugins.module_utils.validation import (
    SECURITY_GROUP_ID,
    SUBNET_ID,
    VPC_ID,
    Problems,
    as_list,
    is_port,
    matches,
    not_matching,
    text,
    to_bool,
)

NAME = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,199}$"
IPV4_ANY_CIDR = r"^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}/(3[0-2]|[12]?\d)$"
# A VPC or subnet block: AWS allows /16 to /28.
IPV4_CIDR = r"^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}/(1[6-9]|2[0-8])$"
IPV6_CIDR = r"^[0-9A-Fa-f:]*:[0-9A-Fa-f:]*/(12[0-8]|1[01]\d|[1-9]?\d)$"
SECURITY_GROUP_NAME = r"^[A-Za-z0-9][A-Za-z0-9 ._:/()#,@\[\]+=&;{}!$*-]{0,254}$"


def network_errors(options):
    """The problems of the network role's options (entry point main), one message each."""
    o = options
    p = Problems()
    create = to_bool(o.get("network_create_vpc", False))
    absent = o.get("network_state", "present") == "absent"
    existing = not create and not absent
    name = o.get("network_name")
    p.check(
        matches(NAME, name),
        "network_name",
        f"network_name '{name}' is not a valid name prefix: 1 to 200 letters, digits, '-' and '_', starting with a "
        "letter or digit.",
    )
    vpc_id = o.get("network_existing_vpc_id")
    p.check(
        not existing or bool(text(vpc_id)) != bool(as_list(o.get("network_existing_vpc_tags"))),
        "network_existing_vpc_id",
        "Give exactly one of network_existing_vpc_id and network_existing_vpc_tags to use an existing VPC, or set "
        "network_create_vpc to true.",
    )
    p.check(
        vpc_id is None or matches(VPC_ID, vpc_id),
        "network_existing_vpc_id",
        f"network_existing_vpc_id '{vpc_id}' is not a VPC id (vpc-...).",
    )
    for kind in ("public", "private"):
        ids, tags = f"network_existing_{kind}_subnet_ids", f"network_existing_{kind}_subnet_tags"
        p.check(
            not existing or bool(as_list(o.get(ids))) != bool(as_list(o.get(tags))),
            ids,
            f"Give exactly one of {ids} and {tags}.",
        )
    for kind in ("public", "private"):
        ids = f"network_existing_{kind}_subnet_ids"
        p.check(
            not not_matching(SUBNET_ID, o.get(ids)),
            ids,
            f"{ids} holds something that is not a subnet id (subnet-...).",
        )
    cidr = o.get("network_vpc_cidr")
    p.check(
        matches(IPV4_CIDR, cidr),
        "network_vpc_cidr",
        f"network_vpc_cidr '{cidr}' is not an IPv4 CIDR block (a.b.c.d/16 to /28).",
    )
    public = as_list(o.get("network_public_subnet_cidrs"))
    private = as_list(o.get("network_private_subnet_cidrs"))
    p.check(
        not create or (len(public) >= 2 and not not_matching(IPV4_CIDR, public)),
        "network_public_subnet_cidrs",
        "network_public_subnet_cidrs needs at least two IPv4 CIDR blocks (one per availability zone: an "
        "Application Load Balancer needs subnets in two zones).",
    )
    p.check(
        not create or (len(private) == len(public) and not not_matching(IPV4_CIDR, private)),
        "network_private_subnet_cidrs",
        "network_private_subnet_cidrs needs as many IPv4 CIDR blocks as network_public_subnet_cidrs (one per zone).",
    )
    zones = as_list(o.get("network_availability_zones"))
    p.check(
        not zones or len(zones) == len(public),
        "network_availability_zones",
        "network_availability_zones names one zone per entry of network_public_subnet_cidrs, or is empty.",
    )
    p.check(
        create or not to_bool(o.get("network_nat_gateway")),
        "network_nat_gateway",
        "network_nat_gateway applies only to a VPC the role creates (network_create_vpc: true).",
    )
    ports = as_list(o.get("network_load_balancer_ports"))
    p.check(
        len(ports) > 0 and all(is_port(port) for port in ports),
        "network_load_balancer_ports",
        "network_load_balancer_ports must list at least one TCP port, each 1 to 65535.",
    )
    ipv4 = as_list(o.get("network_load_balancer_ingress_cidrs"))
    ipv6 = as_list(o.get("network_load_balancer_ingress_ipv6_cidrs"))
    p.check(
        not not_matching(IPV4_ANY_CIDR, ipv4),
        "network_load_balancer_ingress_cidrs",
        "network_load_balancer_ingress_cidrs holds something that is not an IPv4 CIDR (a.b.c.d/n).",
    )
    p.check(
        not not_matching(IPV6_CIDR, ipv6),
        "network_load_balancer_ingress_ipv6_cidrs",
        "network_load_balancer_ingress_ipv6_cidrs holds something that is not an IPv6 CIDR (e.g. ::/0).",
    )
    p.check(
        len(ipv4) + len(ipv6) > 0,
        "network_load_balancer_ingress_cidrs",
        "network_load_balancer_ingress_cidrs and network_load_balancer_ingress_ipv6_cidrs are both empty: nothing "
        "could reach the load balancer.",
    )
    return p.messages()


def network_service_errors(options):
    """The problems of the network role's entry point service (network_service_* variables), one message each.

    ``ansible_check_mode`` in ``options``: in check mode, ids that entry point main would have created may be
    empty.
    """
    o = options
    p = Problems()
    check_mode = to_bool(o.get("ansible_check_mode"))
    absent = o.get("network_service_state", "present") == "absent"
    name = o.get("network_service_name")
    p.check(
        matches(SECURITY_GROUP_NAME, name),
        "network_service_name",
        f"network_service_name '{name}' is not a valid security group name (1 to 255 characters).",
    )
    port = o.get("network_service_container_port")
    p.check(
        is_port(port),
        "network_service_container_port",
        f"network_service_container_port {port} is not a TCP port (1 to 65535).",
    )
    vpc_id = o.get("network_service_vpc_id")
    p.check(
        matches(VPC_ID, text(vpc_id)) or ((check_mode or absent) and not text(vpc_id)),
        "network_service_vpc_id",
        f"network_service_vpc_id '{vpc_id}' is not a VPC id (vpc-...). Run entry point main first (it sets "
        "network_vpc_id), or set network_service_vpc_id.",
    )
    group = o.get("network_service_load_balancer_security_group_id")
    p.check(
        absent or matches(SECURITY_GROUP_ID, text(group)) or (check_mode and not text(group)),
        "network_service_load_balancer_security_group_id",
        f"network_service_load_balancer_security_group_id '{group}' is not a security group id "
        "(sg-...). Run entry point main first (it sets network_load_balancer_security_group_id).",
    )
    return p.messages()
