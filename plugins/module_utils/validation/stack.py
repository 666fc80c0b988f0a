# Copyright: Shipyard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The rules that span the stack (filter ``stack_option_errors``; the playbooks' ``tasks/check_stack.yml``).

The stack's name, which prefixes every resource name; each service's name (its inventory host name); the host name
and listener rule priority every service needs, and that no two services share (over the whole ``services`` group,
so ``--limit`` cannot hide a clash); a requested certificate with no HTTPS listener to go on. (The names in
``shipyard_service_secrets`` are checked per service by the task beside it: their values never come here.)
"""

import re

from ansible_collections.shipyard.fargate.plugins.module_utils.validation import Problems, text, to_bool

STACK_NAME = re.compile(r"^[a-z][a-z0-9-]{0,19}$")
SERVICE_NAME = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
NAME_ROOM = 32  # load balancer and target group names: <stack>-<service>


def _stack_name_errors(p, name):
    name = text(name)
    p.check(
        STACK_NAME.match(name) is not None and "--" not in name,
        "shipyard_stack_name",
        f"shipyard_stack_name '{name}' must be 1 to 20 lowercase letters, digits and single hyphens, starting with a "
        f"letter: it prefixes every resource name (load balancer and target group names allow {NAME_ROOM} characters, "
        "<stack>-<service> included).",
    )


def _service_name_errors(p, stack_name, host):
    room = NAME_ROOM - len(text(stack_name)) - 1
    suggestion = re.sub(r"[^a-z0-9]+", "-", host.lower())[: max(room, 0)].strip("-")
    p.check(
        SERVICE_NAME.match(host) is not None and len(host) <= room,
        "inventory_hostname",
        f"Service {host}: a service's name (its inventory host name) must be lowercase letters, digits and single "
        f"hyphens, at most {room} characters with shipyard_stack_name {stack_name} (it names the ECR repository, the "
        f"target group {stack_name}-<service>, the ECS service). Rename the host in the inventory, for example "
        f"{suggestion}.",
    )


def _routing_errors(p, services, claims, zone):
    """Every service of the inventory has a host name and a listener rule priority, and none shares them.

    ``claims``: option -> {service: value}, None or missing when the service does not set it."""
    for host in services:
        if claims["dns_record_name"].get(host) is None:
            p.add(
                "dns_record_name",
                f"Service {host} has no dns_record_name: set the host name the load balancer routes to it in its "
                f"host_vars, for example dns_record_name: {host.lower()}.{zone}.",
            )
    for host in services:
        if claims["load_balancer_service_priority"].get(host) is None:
            p.add(
                "load_balancer_service_priority",
                f"Service {host} has no load_balancer_service_priority: set its listener rule priority (1-50000, "
                "unique per service) in its host_vars.",
            )
    for option, values in claims.items():
        claimed = {}
        for host in services:
            if values.get(host) is not None:
                claimed.setdefault(text(values[host]), []).append(host)
        for value, hosts in claimed.items():
            p.check(
                len(hosts) == 1,
                option,
                f"Services {' and '.join(hosts)} claim the same {option} ({value}): each service needs its own host "
                "name and listener rule priority.",
            )


def stack_errors(options):
    """The problems of the stack's options, one message each.

    ``options``: ``shipyard_stack_name``; ``hosts``: the services this run works on (their names are checked);
    ``services``: every service of the inventory, with ``dns_record_names`` and ``load_balancer_service_priorities``
    (service -> value, None or missing when unset); ``dns_zone_name`` (for the examples); ``dns_certificate_request``
    and ``load_balancer_http_only``.
    """
    p = Problems()
    stack_name = options.get("shipyard_stack_name")
    _stack_name_errors(p, stack_name)
    for host in options.get("hosts") or []:
        _service_name_errors(p, text(stack_name), text(host))
    claims = {
        "dns_record_name": options.get("dns_record_names") or {},
        "load_balancer_service_priority": options.get("load_balancer_service_priorities") or {},
    }
    services = [text(host) for host in options.get("services") or []]
    _routing_errors(p, services, claims, options.get("dns_zone_name") or "example.com")
    p.check(
        not (to_bool(options.get("dns_certificate_request")) and to_bool(options.get("load_balancer_http_only"))),
        "dns_certificate_request",
        "dns_certificate_request is true but load_balancer_http_only is true: the load balancer would have no HTTPS "
        "listener for the certificate. Set load_balancer_http_only to false (HTTPS with the requested certificate) or "
        "dns_certificate_request to false.",
    )
    return p.messages()
