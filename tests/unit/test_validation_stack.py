"""The rules that span the stack (plugins/module_utils/validation/stack.py), one case per rule and boundary.

tests/integration/test_provision_bad_input.py runs them once through provision.yml's pre-flight.
"""

from __future__ import annotations

import pytest
from ansible_collections.shipyard.fargate.plugins.module_utils.validation import stack as rules

VALID = {
    "shipyard_stack_name": "shop",
    "hosts": ["web", "api"],
    "services": ["web", "api"],
    "dns_record_names": {"web": "web.shop.test", "api": "api.shop.test"},
    "load_balancer_service_priorities": {"web": 10, "api": 20},
    "dns_zone_name": "shop.test",
    "dns_certificate_request": False,
    "load_balancer_http_only": True,
}


def errors(**overrides):
    return rules.stack_errors({**VALID, **overrides})


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({}, id="valid"),
        pytest.param({"shipyard_stack_name": "a" * 20}, id="stack-name-20"),
        pytest.param({"shipyard_stack_name": "a1-b2"}, id="stack-name-chars"),
        pytest.param({"hosts": ["a" * 27], "services": ["a" * 27]}, id="service-name-fills-32"),
        pytest.param({"hosts": ["web"]}, id="limit-checks-only-its-names"),
        pytest.param({"dns_certificate_request": True, "load_balancer_http_only": False}, id="certificate-https"),
        pytest.param({"dns_certificate_request": "no", "load_balancer_http_only": "yes"}, id="bool-strings"),
    ],
)
def test_valid_options_have_no_problem(overrides):
    if "services" in overrides:
        name = overrides["services"][0]
        overrides |= {"dns_record_names": {name: "a.shop.test"}, "load_balancer_service_priorities": {name: 1}}
    assert errors(**overrides) == []


@pytest.mark.parametrize(
    ("name", "said"),
    [
        pytest.param("Shop!", "shipyard_stack_name 'Shop!' must be 1 to 20 lowercase letters", id="chars"),
        pytest.param("a" * 21, "must be 1 to 20", id="too-long"),
        pytest.param("", "shipyard_stack_name '' must be", id="empty"),
        pytest.param(None, "shipyard_stack_name '' must be", id="unset"),
        pytest.param("1shop", "starting with a letter", id="digit-first"),
        pytest.param("shop--a", "single hyphens", id="double-hyphen"),
    ],
)
def test_a_bad_stack_name_is_named(name, said):
    found = errors(shipyard_stack_name=name)
    assert any(said in message for message in found), found


@pytest.mark.parametrize(
    ("host", "suggestion"),
    [
        pytest.param("WebApp", "webapp", id="uppercase"),
        pytest.param("web_app", "web-app", id="underscore"),
        pytest.param("web--app", "web-app", id="double-hyphen"),
        pytest.param("-web", "web", id="leading-hyphen"),
        pytest.param("a" * 28, "a" * 27, id="one-too-long"),
    ],
)
def test_a_bad_service_name_is_named_with_a_suggestion(host, suggestion):
    found = errors(
        hosts=[host],
        services=[host],
        dns_record_names={host: "x.shop.test"},
        load_balancer_service_priorities={host: 1},
    )
    assert len(found) == 1, found
    assert found[0].startswith(f"Service {host}: a service's name (its inventory host name) must be lowercase"), found
    assert "at most 27 characters with shipyard_stack_name shop" in found[0]
    assert found[0].endswith(f"for example {suggestion}.")


def test_a_service_outside_the_limit_is_not_named_for_its_name():
    found = errors(
        hosts=["web"],
        services=["web", "API"],
        dns_record_names={"web": "web.shop.test", "API": "api.shop.test"},
        load_balancer_service_priorities={"web": 10, "API": 20},
    )
    assert found == []


def test_every_service_without_a_host_name_or_priority_is_named_with_an_example():
    found = errors(dns_record_names={"web": "web.shop.test"}, load_balancer_service_priorities={"web": 10})
    assert found == [
        "Service api has no dns_record_name: set the host name the load balancer routes to it in its host_vars, for "
        "example dns_record_name: api.shop.test.",
        "Service api has no load_balancer_service_priority: set its listener rule priority (1-50000, unique per "
        "service) in its host_vars.",
    ]


def test_the_example_host_name_falls_back_to_example_com_without_a_zone():
    found = errors(dns_zone_name=None, dns_record_names={"web": "web.shop.test", "api": None})
    assert found == [
        "Service api has no dns_record_name: set the host name the load balancer routes to it in its host_vars, for "
        "example dns_record_name: api.example.com."
    ]


@pytest.mark.parametrize(
    ("option", "field", "values", "value"),
    [
        pytest.param(
            "dns_record_name", "dns_record_names", {"web": "x.shop.test", "api": "x.shop.test"}, "x.shop.test"
        ),
        pytest.param("load_balancer_service_priority", "load_balancer_service_priorities", {"web": 7, "api": 7}, "7"),
    ],
)
def test_two_services_claiming_the_same_value_are_both_named(option, field, values, value):
    found = errors(**{field: values}, hosts=["web"])  # --limit web: the clash still counts
    assert found == [
        f"Services web and api claim the same {option} ({value}): each service needs its own host name and listener "
        "rule priority."
    ]


def test_a_certificate_without_https_is_refused():
    found = errors(dns_certificate_request=True, load_balancer_http_only=True)
    assert found == [
        "dns_certificate_request is true but load_balancer_http_only is true: the load balancer would have no HTTPS "
        "listener for the certificate. Set load_balancer_http_only to false (HTTPS with the requested certificate) or "
        "dns_certificate_request to false."
    ]


def test_every_problem_is_reported_at_once():
    found = errors(
        shipyard_stack_name="Shop",
        hosts=["Web"],
        services=["Web"],
        dns_record_names={},
        load_balancer_service_priorities={"Web": 1},
        dns_certificate_request=True,
    )
    assert [message.split(" ")[0:2] for message in found] == [
        ["shipyard_stack_name", "'Shop'"],
        ["Service", "Web:"],
        ["Service", "Web"],
        ["dns_certificate_request", "is"],
    ]
