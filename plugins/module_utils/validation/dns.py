# Copyright: Shipyard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The rules of the ``shipyard.fargate.dns`` role's options (filter ``dns_option_errors``), the certificate's
included (``dns_certificate_request``). A zone that does not exist needs a look-up in AWS: that check stays in
the role. ``certificate_name_problem`` is also what ``shipyard.fargate.acm_certificate_request`` checks names with.
"""

import re

from ansible_collections.shipyard.fargate.plugins.module_utils.validation import (
    Problems,
    as_list,
    matches,
    text,
    to_bool,
    to_int,
)

# A domain name: labels of 1-63 letters, digits and '-' (no '-' at either end), a final dot allowed, at most
# 253 characters, a top-level label of letters. '*' only as a whole first label (wildcard record).
DOMAIN = r"^(?=.{1,253}\.?$)(\*\.)?([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}\.?$"
HOSTED_ZONE_ID = r"^Z[A-Z0-9]{1,31}$"
# ACM: at most 64 characters in the certificate's domain name (253 in an alternative name), 100 names per
# certificate. The certificate's names are checked by certificate_name_problem (the role and the module).
CERTIFICATE_DOMAIN_MAX = 64
CERTIFICATE_NAMES_MAX = 100
CERTIFICATE_NAME_MAX = 253  # an alternative name


def normalized(name):
    """A domain name as compared: lower case, no final dot."""
    return re.sub(r"\.$", "", text(name).lower())


def inside(name, zone):
    """Whether ``name`` (normalized) is ``zone`` or a name under it."""
    name, zone = normalized(name), normalized(zone)
    return name == zone or name.endswith("." + zone)


def dns_errors(options):
    """The problems of the dns role's options (with ``ansible_check_mode``), one message each."""
    o = options
    p = Problems()
    check_mode = to_bool(o.get("ansible_check_mode"))
    absent = o.get("dns_state", "present") == "absent"
    zone, record = o.get("dns_zone_name"), o.get("dns_record_name")
    p.check(
        matches(DOMAIN, zone) and not text(zone).startswith("*"),
        "dns_zone_name",
        f"dns_zone_name '{zone}' is not a valid domain name (e.g. example.com).",
    )
    p.check(
        matches(DOMAIN, record),
        "dns_record_name",
        f"dns_record_name '{record}' is not a valid domain name (e.g. web.example.com).",
    )
    p.check(
        inside(record, zone),
        "dns_record_name",
        f"dns_record_name '{record}' is not inside dns_zone_name '{zone}'.",
    )
    lb_name = o.get("dns_load_balancer_dns_name")
    p.check(
        absent or matches(DOMAIN, text(lb_name)) or (check_mode and not text(lb_name)),
        "dns_load_balancer_dns_name",
        f"dns_load_balancer_dns_name '{lb_name}' is not a DNS name: run the load_balancer role first (it sets "
        "load_balancer_dns_name) or set dns_load_balancer_dns_name.",
    )
    lb_zone = o.get("dns_load_balancer_hosted_zone_id")
    p.check(
        absent or matches(HOSTED_ZONE_ID, text(lb_zone)) or (check_mode and not text(lb_zone)),
        "dns_load_balancer_hosted_zone_id",
        f"dns_load_balancer_hosted_zone_id '{lb_zone}' is not a hosted zone id (Z...): run the "
        "load_balancer role first (it sets load_balancer_hosted_zone_id) or set dns_load_balancer_hosted_zone_id.",
    )
    if to_bool(o.get("dns_certificate_request")):
        _certificate(o, p)
    return p.messages()


def certificate_errors(options):
    """The problems of the certificate's options (dns_certificate_*, entry point certificate), one message each."""
    p = Problems()
    _certificate(options, p)
    return p.messages()


def _certificate(o, p):
    zone = o.get("dns_zone_name")
    domain = o.get("dns_certificate_domain")
    p.check(
        certificate_name_problem("dns_certificate_domain", normalized(domain), CERTIFICATE_DOMAIN_MAX) is None,
        "dns_certificate_domain",
        f"dns_certificate_domain '{domain}' is not a domain name of 64 characters at most (e.g. example.com or "
        "*.example.com; a wildcard only as the whole first label).",
    )
    p.check(
        inside(domain, zone),
        "dns_certificate_domain",
        f"dns_certificate_domain '{domain}' is not inside dns_zone_name '{zone}' (its validation record goes into that "
        "zone).",
    )
    alternatives = as_list(o.get("dns_certificate_alternative_names"))
    bad = [
        text(n)
        for n in alternatives
        if certificate_name_problem("dns_certificate_alternative_names", normalized(n), CERTIFICATE_NAME_MAX)
    ]
    p.check(
        not bad,
        "dns_certificate_alternative_names",
        "dns_certificate_alternative_names: not domain names (a wildcard only as the whole first label, as in "
        "*.example.com): {}.".format(", ".join(bad)),
    )
    outside = [normalized(n) for n in alternatives if not inside(n, zone)]
    p.check(
        not outside,
        "dns_certificate_alternative_names",
        "dns_certificate_alternative_names: not inside dns_zone_name '{}' (their validation records go into that "
        "zone): {}.".format(zone, ", ".join(outside)),
    )
    all_names = set([normalized(domain)] + [normalized(n) for n in alternatives])
    p.check(
        len(all_names) <= CERTIFICATE_NAMES_MAX,
        "dns_certificate_alternative_names",
        f"dns_certificate_alternative_names: {len(all_names)} names in all, ACM allows 100 per "
        "certificate at most (and 10 unless the quota was raised).",
    )
    timeout = o.get("dns_certificate_wait_timeout", 300)
    p.check(
        to_int(timeout) > 0,
        "dns_certificate_wait_timeout",
        f"dns_certificate_wait_timeout must be a number of seconds above 0, got {timeout}.",
    )


_LABEL = r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"
_CERTIFICATE_NAME = re.compile(rf"^(\*\.)?({_LABEL}\.)+[a-z]{{2,63}}$")


def certificate_name_problem(option, name, max_length):
    """Why ``name`` (normalized: lower case, no final dot) cannot be on a certificate, naming ``option``; or None.

    What ``shipyard.fargate.acm_certificate_request`` checks each name with.
    """
    if not name:
        return f"{option}: an empty name"
    if len(name) > max_length:
        return f"{option}: '{name}' is longer than {max_length} characters"
    if "*" in name and not (name.startswith("*.") and "*" not in name[2:]):
        return f"{option}: '{name}': a wildcard must be the whole first label, as in *.example.com"
    if name.startswith("*.") and name.count(".") < 2:
        return f"{option}: '{name}': a wildcard needs a domain of two labels at least, as in *.example.com"
    if not _CERTIFICATE_NAME.match(name):
        return (
            f"{option}: '{name}' is not a domain name (labels of 1-63 letters, digits and inner hyphens, "
            "a top-level label of letters)"
        )
    return None
