"""The shipyard.fargate.<role>_option_errors filters are the module_utils rules, and the roles pass them every option.

The rules themselves are tested in tests/unit/test_validation_<role>.py; here: the wiring. Each filter returns
exactly what its module_utils function returns, refuses what is not a dict, has its documentation, and each role's
validate task gives it every option the function reads.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from ansible.errors import AnsibleFilterError
from ansible_collections.shipyard.fargate.plugins.filter import option_errors as plugin
from ansible_collections.shipyard.fargate.plugins.module_utils.validation import (
    ci_access,
    cluster,
    dns,
    iam,
    image,
    load_balancer,
    network,
    registry,
    secrets,
    service,
    stack,
)
from option_checks import options_passed

REPO = Path(__file__).resolve().parents[2]
FILTERS = plugin.FilterModule().filters()

# filter -> (module_utils function, the role's task file that calls it, options that reach it, one bad option)
WIRING = {
    "ci_access_option_errors": (
        ci_access.ci_access_errors,
        "roles/ci_access/tasks/validate.yml",
        {"ci_access_github_repository": "not-a-repo"},
    ),
    "cluster_option_errors": (cluster.cluster_errors, "roles/cluster/tasks/validate.yml", {"cluster_name": "a b"}),
    "dns_option_errors": (dns.dns_errors, "roles/dns/tasks/validate.yml", {"dns_zone_name": "x"}),
    "dns_certificate_option_errors": (
        dns.certificate_errors,
        "roles/dns/tasks/certificate_validate.yml",
        {"dns_certificate_domain": "elsewhere.test", "dns_zone_name": "shop.test"},
    ),
    "iam_option_errors": (iam.iam_errors, "roles/iam/tasks/validate.yml", {"iam_name_prefix": "a/b"}),
    "image_option_errors": (image.image_errors, "roles/image/tasks/validate.yml", {"image_platform": "amd64"}),
    "load_balancer_option_errors": (
        load_balancer.load_balancer_errors,
        "roles/load_balancer/tasks/validate.yml",
        {"load_balancer_name": "-x"},
    ),
    "load_balancer_service_option_errors": (
        load_balancer.load_balancer_service_errors,
        "roles/load_balancer/tasks/service_validate.yml",
        {"load_balancer_service_port": 0},
    ),
    "network_option_errors": (network.network_errors, "roles/network/tasks/validate.yml", {"network_name": "-x"}),
    "network_service_option_errors": (
        network.network_service_errors,
        "roles/network/tasks/service_validate.yml",
        {"network_service_container_port": 0},
    ),
    "registry_option_errors": (registry.registry_errors, "roles/registry/tasks/validate.yml", {"registry_name": "A"}),
    "secrets_option_errors": (secrets.secrets_errors, "roles/secrets/tasks/validate.yml", {"secrets_name": "a b"}),
    "service_option_errors": (service.service_errors, "roles/service/tasks/validate.yml", {"service_cpu": 300}),
    # Not a role's: the playbooks' checks that span the stack.
    "stack_option_errors": (stack.stack_errors, "playbooks/tasks/check_stack.yml", {"shipyard_stack_name": "Shop!"}),
}


def test_every_filter_is_wired_here():
    assert set(FILTERS) == set(WIRING)


@pytest.mark.parametrize("name", sorted(WIRING))
def test_the_filter_returns_exactly_the_module_utils_answer(name):
    rules, _tasks, bad = WIRING[name]
    answer = FILTERS[name](bad)
    assert answer == rules(bad)
    assert answer, "a bad option must give at least one problem"
    assert any(next(iter(bad)) in m for m in answer), answer


@pytest.mark.parametrize("name", sorted(WIRING))
def test_the_filter_refuses_what_is_not_a_dict(name):
    with pytest.raises(AnsibleFilterError, match=name):
        FILTERS[name](["not", "a", "dict"])


@pytest.mark.parametrize("name", sorted(WIRING))
def test_each_filter_has_its_documentation(name):
    doc = yaml.safe_load((REPO / "plugins/filter" / f"{name}.yml").read_text())
    assert doc["DOCUMENTATION"]["name"] == name
    assert name in doc["EXAMPLES"]


def _options_the_function_reads(rules) -> set[str]:
    """Option names (role-prefixed string literals) in the function's module."""
    source = Path(rules.__code__.co_filename).read_text()
    prefix = rules.__module__.rsplit(".", 1)[1]
    if prefix == "stack":  # its options are not prefixed: the keys it reads
        return set(re.findall(r'options\.get\("([a-z_]+)"', source))
    found = set(re.findall(rf'"({prefix}_[a-z0-9_]+)"', source))
    found |= {
        f"network_existing_{kind}_subnet_{what}"
        for kind in ("public", "private")
        for what in ("ids", "tags")
        if prefix == "network"
    }
    return found


@pytest.mark.parametrize("name", sorted(WIRING))
def test_the_role_passes_every_option_the_rules_read(name):
    rules, tasks, _bad = WIRING[name]
    task = next(t for t in yaml.safe_load((REPO / tasks).read_text()) if f"shipyard.fargate.{name}" in str(t))
    options_var = options_passed(task["vars"])
    read = _options_the_function_reads(rules)
    if name == "dns_certificate_option_errors":
        read = {o for o in read if o.startswith("dns_certificate_") and o != "dns_certificate_request"}
        read.add("dns_zone_name")
    elif name in ("network_option_errors", "load_balancer_option_errors"):
        read = {o for o in read if not o.startswith(name.replace("_option_errors", "_service_"))}
    elif name.endswith("_service_option_errors"):
        read = {o for o in read if o.startswith(name.replace("_option_errors", "_"))}
    assert read, name
    assert read <= set(options_var), sorted(read - set(options_var))


@pytest.mark.parametrize("name", sorted(WIRING))
def test_the_check_works_the_problems_out_once(name):
    """``fail`` when the list is not empty: an ``assert`` would template the list again for its ``fail_msg``."""
    _rules, tasks, _bad = WIRING[name]
    task = next(t for t in yaml.safe_load((REPO / tasks).read_text()) if f"shipyard.fargate.{name}" in str(t))
    errors = next(k for k, v in task["vars"].items() if f"shipyard.fargate.{name}" in str(v))
    conditions = task["when"] if isinstance(task["when"], list) else [task["when"]]
    assert f"{errors} | length > 0" in conditions
    assert task["ansible.builtin.fail"] == {"msg": "{{ " + errors + " }}"}
