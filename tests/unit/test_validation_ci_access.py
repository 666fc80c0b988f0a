"""The ci_access role's option rules (plugins/module_utils/validation/ci_access.py), and their wiring: the filter
ci_access_option_errors is exactly those rules, and the role's validate task passes it every option they read."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from ansible_collections.shipyard.fargate.plugins.filter import option_errors as filters
from ansible_collections.shipyard.fargate.plugins.module_utils.validation import ci_access as rules
from option_checks import options_passed

REPO = Path(__file__).resolve().parents[2]
SERVICE = {
    "name": "web",
    "repository": "shop/web",
    "log_group": "/ecs/shop/web",
    "execution_role": "shop-web-execution",
    "task_role": "shop-web-task",
    "secret": "shop/web",
    "role_path": "/",
}
VALID = {
    "ci_access_stack_name": "shop",
    "ci_access_state": "present",
    "ci_access_github_repository": "acme-corp/shop.api_v2",
    "ci_access_github_environment": "production",
    "ci_access_github_branch": None,
    "ci_access_oidc_provider_url": "https://token.actions.githubusercontent.com",
    "ci_access_oidc_audience": "sts.amazonaws.com",
    "ci_access_oidc_thumbprints": [],
    "ci_access_aws_region": "eu-west-1",
    "ci_access_cluster_name": "shop",
    "ci_access_services": [SERVICE, {**SERVICE, "name": "api", "secret": None}],
    "ci_access_role_path": "/",
    "ci_access_permissions_boundary": None,
    "ci_access_max_session_duration": 3600,
}


def errors(**overrides):
    return rules.ci_access_errors({**VALID, **overrides})


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({}, id="defaults"),
        pytest.param({"ci_access_github_environment": None, "ci_access_github_branch": "main"}, id="branch-only"),
        pytest.param({"ci_access_github_branch": "release/2024.1"}, id="both"),
        pytest.param({"ci_access_github_repository": "a/b"}, id="short-names"),
        pytest.param({"ci_access_github_repository": f"{'a' * 39}/{'b' * 100}"}, id="longest-names"),
        pytest.param({"ci_access_github_repository": "Acme/My-Repo"}, id="mixed-case"),
        pytest.param({"ci_access_github_environment": "Production EU"}, id="environment-with-space"),
        pytest.param({"ci_access_github_environment": "staging/eu"}, id="environment-with-slash"),
        pytest.param({"ci_access_oidc_thumbprints": ["6938fd4d98bab03faadb97b34396831e3780aea1"]}, id="thumbprint"),
        pytest.param({"ci_access_oidc_provider_url": "https://issuer.example.com/tenant/1"}, id="url-with-path"),
        pytest.param({"ci_access_max_session_duration": 43200}, id="longest-session"),
        pytest.param({"ci_access_permissions_boundary": "arn:aws:iam::123456789012:policy/boundary"}, id="boundary"),
        pytest.param({"ci_access_role_path": "/ci/"}, id="path"),
        pytest.param(
            {"ci_access_state": "absent", "ci_access_github_repository": None, "ci_access_services": []},
            id="absent-needs-no-github",
        ),
    ],
)
def test_valid_options_pass(overrides):
    assert errors(**overrides) == []


@pytest.mark.parametrize(
    ("overrides", "option"),
    [
        pytest.param({"ci_access_github_repository": "not-a-repo"}, "ci_access_github_repository", id="no-slash"),
        pytest.param({"ci_access_github_repository": None}, "ci_access_github_repository", id="missing"),
        pytest.param({"ci_access_github_repository": "acme/*"}, "ci_access_github_repository", id="wildcard-name"),
        pytest.param({"ci_access_github_repository": "*/shop"}, "ci_access_github_repository", id="wildcard-owner"),
        pytest.param({"ci_access_github_repository": "acme/shop/x"}, "ci_access_github_repository", id="two-slashes"),
        pytest.param({"ci_access_github_repository": "-acme/shop"}, "ci_access_github_repository", id="owner-hyphen"),
        pytest.param({"ci_access_github_repository": "ac--me/shop"}, "ci_access_github_repository", id="double-hyphen"),
        pytest.param({"ci_access_github_repository": f"{'a' * 40}/b"}, "ci_access_github_repository", id="owner-long"),
        pytest.param({"ci_access_github_repository": "acme/.."}, "ci_access_github_repository", id="dot-dot"),
        pytest.param({"ci_access_github_repository": "acme/shop.git"}, "ci_access_github_repository", id="dot-git"),
        pytest.param({"ci_access_github_repository": "acme/sh op"}, "ci_access_github_repository", id="space"),
        pytest.param(
            {"ci_access_github_environment": None, "ci_access_github_branch": None},
            "ci_access_github_environment or ci_access_github_branch must be set",
            id="neither-environment-nor-branch",
        ),
        pytest.param({"ci_access_github_branch": ""}, "ci_access_github_branch is empty", id="empty-branch"),
        pytest.param({"ci_access_github_branch": "feature/*"}, "ci_access_github_branch", id="branch-wildcard"),
        pytest.param({"ci_access_github_branch": "refs/heads/main"}, "ci_access_github_branch", id="branch-ref"),
        pytest.param({"ci_access_github_branch": "a..b"}, "ci_access_github_branch", id="branch-dots"),
        pytest.param({"ci_access_github_branch": "a b"}, "ci_access_github_branch", id="branch-space"),
        pytest.param({"ci_access_github_branch": "a:b"}, "ci_access_github_branch", id="branch-colon"),
        pytest.param({"ci_access_github_branch": "main.lock"}, "ci_access_github_branch", id="branch-lock"),
        pytest.param({"ci_access_github_branch": "a//b"}, "ci_access_github_branch", id="branch-empty-part"),
        pytest.param({"ci_access_github_branch": "x/.hidden"}, "ci_access_github_branch", id="branch-dot-part"),
        pytest.param({"ci_access_github_environment": ""}, "ci_access_github_environment is empty", id="env-empty"),
        pytest.param({"ci_access_github_environment": "prod*"}, "ci_access_github_environment", id="env-wildcard"),
        pytest.param({"ci_access_github_environment": "a:b"}, "ci_access_github_environment", id="env-colon"),
        pytest.param({"ci_access_github_environment": " prod"}, "ci_access_github_environment", id="env-blank"),
        pytest.param({"ci_access_github_environment": "x" * 256}, "ci_access_github_environment", id="env-long"),
        pytest.param({"ci_access_stack_name": "Shop"}, "ci_access_stack_name", id="stack-uppercase"),
        pytest.param({"ci_access_stack_name": "a" * 21}, "ci_access_stack_name", id="stack-long"),
        pytest.param({"ci_access_stack_name": "a--b"}, "ci_access_stack_name", id="stack-double-hyphen"),
        pytest.param({"ci_access_oidc_provider_url": "http://x.example"}, "ci_access_oidc_provider_url", id="http"),
        pytest.param(
            {"ci_access_oidc_provider_url": "https://x.example:8443"}, "ci_access_oidc_provider_url", id="url-port"
        ),
        pytest.param(
            {"ci_access_oidc_provider_url": "https://x.example/?a=1"}, "ci_access_oidc_provider_url", id="url-query"
        ),
        pytest.param({"ci_access_oidc_audience": ""}, "ci_access_oidc_audience", id="audience-empty"),
        pytest.param({"ci_access_oidc_audience": "a" * 256}, "ci_access_oidc_audience", id="audience-long"),
        pytest.param({"ci_access_oidc_thumbprints": ["abc"]}, "ci_access_oidc_thumbprints", id="thumbprint-short"),
        pytest.param({"ci_access_oidc_thumbprints": ["a" * 40] * 6}, "ci_access_oidc_thumbprints", id="thumbprints-6"),
        pytest.param({"ci_access_aws_region": ""}, "ci_access_aws_region", id="region"),
        pytest.param({"ci_access_cluster_name": None}, "ci_access_cluster_name", id="cluster-missing"),
        pytest.param({"ci_access_services": []}, "ci_access_services is empty", id="no-services"),
        pytest.param({"ci_access_services": "web"}, "ci_access_services", id="services-not-list"),
        pytest.param({"ci_access_services": [SERVICE, SERVICE]}, "names a service twice", id="service-twice"),
        pytest.param(
            {"ci_access_services": [{**SERVICE, "repository": "Shop/Web"}]}, "repository 'Shop/Web'", id="repository"
        ),
        pytest.param({"ci_access_services": [{**SERVICE, "log_group": "/ecs/*"}]}, "log_group", id="log-group"),
        pytest.param({"ci_access_services": [{**SERVICE, "task_role": None}]}, "task_role", id="role-missing"),
        pytest.param({"ci_access_services": [{**SERVICE, "extra": 1}]}, "unknown keys extra", id="unknown-key"),
        pytest.param({"ci_access_max_session_duration": 900}, "ci_access_max_session_duration", id="session-short"),
        pytest.param({"ci_access_role_path": "ci"}, "ci_access_role_path", id="path"),
        pytest.param({"ci_access_permissions_boundary": "b"}, "ci_access_permissions_boundary", id="boundary"),
    ],
)
def test_invalid_options_are_refused_naming_the_option(overrides, option):
    found = errors(**overrides)
    assert [m for m in found if option in m], found


def test_every_problem_is_reported_at_once():
    found = errors(ci_access_github_repository="not-a-repo", ci_access_github_branch="", ci_access_aws_region="nowhere")
    assert len(found) == 3, found
    assert "not-a-repo" in found[0]


def test_provider_rules_name_the_caller_options():
    problems = rules.provider_errors("ftp://x", [], ["zz"])
    assert problems.options() == ["url", "client_ids", "thumbprints"]
    assert rules.provider_errors("https://token.actions.githubusercontent.com", ["sts.amazonaws.com"], None).items == []


# --- wiring: the filter is these rules, and the role's validate task passes every option they read ----------------


def test_the_filter_returns_exactly_the_rules_answer():
    bad = {"ci_access_github_repository": "not-a-repo"}
    answer = filters.FilterModule().filters()["ci_access_option_errors"](bad)
    assert answer == rules.ci_access_errors(bad)
    assert any("ci_access_github_repository" in m for m in answer)


def test_the_filter_has_its_documentation():
    doc = yaml.safe_load((REPO / "plugins/filter/ci_access_option_errors.yml").read_text())
    assert doc["DOCUMENTATION"]["name"] == "ci_access_option_errors"
    assert "ci_access_option_errors" in doc["EXAMPLES"]


def test_the_role_passes_every_option_the_rules_read():
    source = Path(rules.__file__).read_text()
    read = set(re.findall(r'"(ci_access_[a-z0-9_]+)"', source))
    tasks = yaml.safe_load((REPO / "roles/ci_access/tasks/validate.yml").read_text())
    task = next(t for t in tasks if "shipyard.fargate.ci_access_option_errors" in str(t))
    assert read
    passed = options_passed(task["vars"])
    assert read <= passed, sorted(read - passed)


def test_every_option_the_role_passes_is_documented_in_its_argument_spec():
    specs = yaml.safe_load((REPO / "roles/ci_access/meta/argument_specs.yml").read_text())["argument_specs"]
    tasks = yaml.safe_load((REPO / "roles/ci_access/tasks/validate.yml").read_text())
    passed = options_passed(tasks[0]["vars"])
    for entry_point in ("main", "validate"):
        assert passed <= set(specs[entry_point]["options"]), entry_point


# --- types, choices and required options: the role's meta/argument_specs.yml, through Ansible's own validator ------


def _spec_errors(options, entry_point="validate"):
    from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

    specs = yaml.safe_load((REPO / "roles/ci_access/meta/argument_specs.yml").read_text())["argument_specs"]
    return list(ArgumentSpecValidator(specs[entry_point]["options"]).validate(options).error_messages)


def test_the_required_option_alone_passes_the_argument_spec():
    assert _spec_errors({"ci_access_stack_name": "shop"}) == []
    assert _spec_errors({"ci_access_stack_name": "shop", "ci_access_services": [SERVICE]}, "main") == []


@pytest.mark.parametrize(
    ("options", "option"),
    [
        pytest.param({}, "ci_access_stack_name", id="stack-missing"),
        pytest.param({"ci_access_state": "gone"}, "ci_access_state", id="state-choice"),
        pytest.param({"ci_access_services": "web"}, "ci_access_services", id="services-not-list"),
        pytest.param({"ci_access_services": [{"name": "web"}]}, "repository", id="service-without-repository"),
        pytest.param({"ci_access_provision_role": "maybe"}, "ci_access_provision_role", id="provision-not-bool"),
        pytest.param({"ci_access_max_session_duration": "long"}, "ci_access_max_session_duration", id="session-int"),
    ],
)
def test_the_argument_spec_refuses_bad_types_naming_the_option(options, option):
    given = {"ci_access_stack_name": "shop", **options} if option != "ci_access_stack_name" else options
    found = _spec_errors(given)
    assert [m for m in found if option in m], found
