"""The short type check of the pre-flight (module_utils/validation/types.py, lookup option_type_errors)."""

from __future__ import annotations

from ansible_collections.shipyard.fargate.plugins.module_utils.validation.types import option_type_errors

SPECS = {
    "service_cpu": {"type": "int", "choices": [256, 512, 1024], "description": "long text"},
    "service_environment": {"type": "dict"},
    "service_rollout_wait": {"type": "bool"},
    "service_subnet_ids": {"type": "list", "elements": "str"},
    "secrets_json": {"type": "dict", "no_log": True},
}


def test_wrong_types_and_choices_give_one_short_line_each_naming_host_option_and_what_is_allowed():
    problems = option_type_errors(
        "api", SPECS, {"service_cpu": "big", "service_environment": ["A"], "service_rollout_wait": "maybe"}
    )
    assert problems == [
        "api: service_cpu must be an int, one of: 256, 512, 1024 (got a str).",
        "api: service_environment must be a dict (got a list).",
        "api: service_rollout_wait must be a bool (got a str).",
    ]


def test_a_value_outside_the_choices_is_named():
    assert option_type_errors("web", SPECS, {"service_cpu": 300}) == [
        "web: service_cpu must be an int, one of: 256, 512, 1024 (got an int)."
    ]


def test_values_ansible_converts_pass_and_unset_or_unknown_options_are_not_checked():
    values = {"service_cpu": "512", "service_rollout_wait": "yes", "service_subnet_ids": ["subnet-1"],
              "service_environment": None, "not_an_option": 1}  # fmt: skip
    assert option_type_errors("web", SPECS, values) == []


def test_a_value_is_never_shown():
    (problem,) = option_type_errors("web", SPECS, {"secrets_json": "s3cr3t-value"})
    assert "s3cr3t-value" not in problem
    assert problem == "web: secrets_json must be a dict (got a str)."
