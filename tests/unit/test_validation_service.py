"""The service role's option rules (plugins/module_utils/validation/service.py), one case per rule and boundary."""

from __future__ import annotations

import pytest
from ansible_collections.shipyard.fargate.plugins.module_utils import task_definition as td
from ansible_collections.shipyard.fargate.plugins.module_utils.validation import service as rules

ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/web-execution"
SECRET = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:stack/web-AbCdEf"
PARAMETER = f"arn:aws:ssm:us-east-1:{ACCOUNT}:parameter/stack/web/db"
TARGET_GROUP = f"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT}:targetgroup/web/0123456789abcdef"
DIGEST = "sha256:" + "a" * 64

VALID = {
    "service_name": "web",
    "service_cluster_name": "stack",
    "service_family": "stack-web",
    "service_container_name": "web",
    "service_state": "present",
    "service_image": "127.0.0.1:29050/stack/web:1.4.2",
    "service_initial_image": None,
    "service_execution_role_arn": ROLE,
    "service_task_role_arn": None,
    "service_subnet_ids": ["subnet-0a"],
    "service_security_group_ids": ["sg-0a"],
    "service_cpu": 256,
    "service_memory": 512,
    "service_container_port": 3000,
    "service_desired_count": 1,
    "service_environment": {"NODE_ENV": "production"},
    "service_secrets_value_from": {"DATABASE_URL": SECRET},
    "service_log_retention_days": 14,
    "service_container_health_check": None,
    "service_deployment_minimum_healthy_percent": 100,
    "service_deployment_maximum_percent": 200,
    "service_health_check_grace_period_seconds": 0,
    "service_target_group_arn": TARGET_GROUP,
    "service_capacity_provider_strategy": [],
    "service_autoscaling_enabled": False,
    "service_autoscaling_min_capacity": 1,
    "service_autoscaling_max_capacity": 4,
    "service_autoscaling_cpu_target": None,
    "service_autoscaling_memory_target": None,
}
HEALTH = {"command": ["CMD-SHELL", "curl -f http://localhost:3000/health || exit 1"]}


def errors(**overrides):
    return rules.service_errors({**VALID, **overrides})


def test_the_valid_options_pass():
    assert errors() == []


VALID_CASES = [
    pytest.param({"service_name": "a" * 255}, id="name-255"),
    pytest.param({"service_name": "A_b-1"}, id="name-chars"),
    pytest.param({"service_container_name": "c"}, id="container-name-1"),
    pytest.param({"service_image": None, "service_initial_image": "127.0.0.1:29050/stack/web:1"}, id="initial-only"),
    pytest.param({"service_image": f"stack/web@{DIGEST}"}, id="image-digest"),
    pytest.param({"service_image": f"web:1@{DIGEST}"}, id="image-tag-and-digest"),
    pytest.param({"service_image": "web:" + "a" * 128}, id="image-tag-128"),
    pytest.param(
        {
            "service_state": "absent",
            "service_image": None,
            "service_execution_role_arn": None,
            "service_subnet_ids": [],
            "service_security_group_ids": [],
        },
        id="absent-needs-little",
    ),
    pytest.param({"service_state": "absent", "service_image": "not pinned"}, id="absent-ignores-image"),
    pytest.param({"service_task_role_arn": f"arn:aws:iam::{ACCOUNT}:role/web-task"}, id="task-role"),
    pytest.param({"service_execution_role_arn": f"arn:aws-us-gov:iam::{ACCOUNT}:role/x"}, id="gov-partition"),
    pytest.param({"service_cpu": 256, "service_memory": 2048}, id="256-2048"),
    pytest.param({"service_cpu": "512", "service_memory": "4096"}, id="strings"),
    pytest.param({"service_cpu": 4096, "service_memory": 30720}, id="4096-30720"),
    pytest.param({"service_cpu": 8192, "service_memory": 61440}, id="8192-61440"),
    pytest.param({"service_cpu": 16384, "service_memory": 122880}, id="16384-122880"),
    pytest.param({"service_container_port": 1}, id="port-1"),
    pytest.param({"service_container_port": 65535}, id="port-65535"),
    pytest.param({"service_desired_count": 0}, id="desired-0"),
    pytest.param({"service_environment": {"_A1": "x", "a": ""}}, id="env-names"),
    pytest.param({"service_environment": ["NODE_ENV"]}, id="env-names-only"),
    pytest.param({"service_environment": {}, "service_secrets_value_from": {}}, id="no-env"),
    pytest.param({"service_secrets_value_from": {"DB": PARAMETER}}, id="ssm-parameter"),
    pytest.param({"service_secrets_value_from": {"DB": SECRET + ":password::"}}, id="json-key"),
    pytest.param({"service_log_retention_days": "never"}, id="retention-never"),
    pytest.param({"service_log_retention_days": 1}, id="retention-1"),
    pytest.param({"service_log_retention_days": 3653}, id="retention-3653"),
    pytest.param({"service_log_retention_days": "30"}, id="retention-string"),
    pytest.param({"service_container_health_check": HEALTH}, id="health-check"),
    pytest.param(
        {"service_container_health_check": {**HEALTH, "interval": 5, "timeout": 2, "retries": 1, "start_period": 0}},
        id="health-check-low",
    ),
    pytest.param(
        {
            "service_container_health_check": {
                **HEALTH,
                "interval": 300,
                "timeout": 60,
                "retries": 10,
                "start_period": 300,
            }
        },
        id="health-check-high",
    ),
    pytest.param({"service_container_health_check": {"command": ["CMD", "true"]}}, id="health-check-cmd"),
    pytest.param({"service_deployment_minimum_healthy_percent": 0}, id="min-0"),
    pytest.param({"service_deployment_minimum_healthy_percent": 100}, id="min-100"),
    pytest.param({"service_deployment_maximum_percent": 100}, id="max-100"),
    pytest.param({"service_health_check_grace_period_seconds": 2147483647}, id="grace-max"),
    pytest.param({"service_target_group_arn": None}, id="no-target-group"),
    pytest.param({"service_capacity_provider_strategy": [{"capacity_provider": "FARGATE"}]}, id="strategy-defaults"),
    pytest.param(
        {
            "service_capacity_provider_strategy": [
                {"capacity_provider": "FARGATE", "base": 100000, "weight": 0},
                {"capacity_provider": "FARGATE_SPOT", "base": 0, "weight": 1000},
            ]
        },
        id="strategy-bounds",
    ),
    pytest.param({"service_autoscaling_enabled": True, "service_autoscaling_cpu_target": 100}, id="scaling-cpu-100"),
    pytest.param(
        {
            "service_autoscaling_enabled": True,
            "service_autoscaling_memory_target": 0.5,
            "service_autoscaling_min_capacity": 0,
            "service_autoscaling_max_capacity": 1,
        },
        id="scaling-memory-min-0",
    ),
    pytest.param({"service_autoscaling_min_capacity": 9}, id="scaling-off-ignores-capacity"),
    pytest.param({"service_release_command": ["npm", "run", "migrate"]}, id="release-command"),
    pytest.param(
        {
            "service_url_check_url": "http://127.0.0.1:29080",
            "service_url_check_host": "web.shipyard.test",
            "service_url_check_path": "/health?deep=1",
            "service_url_check_consecutive": 1,
        },
        id="url-check-local-lb",
    ),
    pytest.param({"service_url_check_url": "https://api.example.com/"}, id="url-check-https"),
]


@pytest.mark.parametrize("overrides", VALID_CASES)
def test_valid_options_pass(overrides):
    assert errors(**overrides) == []


INVALID_CASES = [
    pytest.param({"service_name": "web app"}, "service_name", id="name-space"),
    pytest.param({"service_name": "a" * 256}, "service_name", id="name-256"),
    pytest.param({"service_name": ""}, "service_name", id="name-empty"),
    pytest.param({"service_cluster_name": "stack!"}, "service_cluster_name", id="cluster-name"),
    pytest.param({"service_family": "a.b"}, "service_family", id="family"),
    pytest.param({"service_container_name": "web/app"}, "service_container_name", id="container-name"),
    pytest.param({"service_image": None, "service_initial_image": None}, "service_image", id="no-image"),
    pytest.param({"service_image": "web:v 1"}, "service_image", id="image-space"),
    pytest.param({"service_image": "127.0.0.1:29050/stack/web"}, "service_image", id="image-untagged"),
    pytest.param({"service_image": "web@sha256:abc"}, "service_image", id="image-short-digest"),
    pytest.param({"service_image": "Web:1"}, "service_image", id="image-uppercase-repository"),
    pytest.param({"service_image": "web:" + "a" * 129}, "service_image", id="image-tag-129"),
    pytest.param({"service_initial_image": "web:v 1"}, "service_initial_image", id="initial-image-space"),
    pytest.param({"service_execution_role_arn": None}, "service_execution_role_arn", id="no-execution-role"),
    pytest.param({"service_execution_role_arn": "web-execution"}, "service_execution_role_arn", id="not-arn"),
    pytest.param(
        {"service_execution_role_arn": f"arn:aws:iam::{ACCOUNT}:policy/x"},
        "service_execution_role_arn",
        id="policy-not-role",
    ),
    pytest.param({"service_task_role_arn": "task"}, "service_task_role_arn", id="task-role-not-arn"),
    pytest.param({"service_subnet_ids": []}, "service_subnet_ids", id="no-subnets"),
    pytest.param({"service_security_group_ids": None}, "service_security_group_ids", id="no-groups"),
    pytest.param({"service_cpu": 256, "service_memory": 4096}, "service_memory", id="cpu-memory"),
    pytest.param({"service_cpu": 256, "service_memory": 256}, "service_memory", id="256-256"),
    pytest.param({"service_cpu": 512, "service_memory": 512}, "service_memory", id="512-512"),
    pytest.param({"service_cpu": 4096, "service_memory": 31744}, "service_memory", id="4096-31744"),
    pytest.param({"service_cpu": 8192, "service_memory": 18432}, "service_memory", id="8192-step-4096"),
    pytest.param({"service_cpu": 300, "service_memory": 512}, "service_cpu", id="cpu-not-offered"),
    pytest.param({"service_container_port": 0}, "service_container_port", id="port-0"),
    pytest.param({"service_container_port": 65536}, "service_container_port", id="port-65536"),
    pytest.param({"service_container_port": 70000}, "service_container_port", id="port-70000"),
    pytest.param({"service_desired_count": -1}, "service_desired_count", id="desired-count"),
    pytest.param({"service_environment": {"NOT VALID": "x"}}, "service_environment", id="env-name-space"),
    pytest.param({"service_environment": {"1A": "x"}}, "service_environment", id="env-name-digit"),
    pytest.param({"service_secrets_value_from": {"db-url": SECRET}}, "service_secrets_value_from", id="secret-name"),
    pytest.param(
        {"service_environment": {"DATABASE_URL": "x"}},
        "service_secrets_value_from",
        id="env-clash",
    ),
    pytest.param({"service_secrets_value_from": {"DB": "hunter2"}}, "service_secrets_value_from", id="value-not-arn"),
    pytest.param(
        {"service_secrets_value_from": {"DB": f"arn:aws:s3:::{ACCOUNT}/x"}},
        "service_secrets_value_from",
        id="value-other-service",
    ),
    pytest.param({"service_log_retention_days": 42}, "service_log_retention_days", id="retention"),
    pytest.param({"service_log_retention_days": 0}, "service_log_retention_days", id="retention-0"),
    pytest.param({"service_log_retention_days": "forever"}, "service_log_retention_days", id="retention-word"),
    pytest.param({"service_log_retention_days": 1096}, "service_log_retention_days", id="retention-not-in-module"),
    pytest.param(
        {"service_container_health_check": {"command": "curl"}},
        "service_container_health_check",
        id="health-command-string",
    ),
    pytest.param(
        {"service_container_health_check": {"command": ["CMD-SHELL"]}},
        "service_container_health_check",
        id="health-command-short",
    ),
    pytest.param(
        {"service_container_health_check": {"command": ["SH", "true"]}},
        "service_container_health_check",
        id="health-command-kind",
    ),
    pytest.param(
        {"service_container_health_check": {"interval": 30}}, "service_container_health_check", id="health-no-command"
    ),
    pytest.param(
        {"service_container_health_check": {**HEALTH, "interval": 4}},
        "service_container_health_check",
        id="health-interval-4",
    ),
    pytest.param(
        {"service_container_health_check": {**HEALTH, "interval": 301}},
        "service_container_health_check",
        id="health-interval-301",
    ),
    pytest.param(
        {"service_container_health_check": {**HEALTH, "timeout": 1}},
        "service_container_health_check",
        id="health-timeout-1",
    ),
    pytest.param(
        {"service_container_health_check": {**HEALTH, "timeout": 61}},
        "service_container_health_check",
        id="health-timeout-61",
    ),
    pytest.param(
        {"service_container_health_check": {**HEALTH, "retries": 0}},
        "service_container_health_check",
        id="health-retries-0",
    ),
    pytest.param(
        {"service_container_health_check": {**HEALTH, "retries": 11}},
        "service_container_health_check",
        id="health-retries-11",
    ),
    pytest.param(
        {"service_container_health_check": {**HEALTH, "start_period": 301}},
        "service_container_health_check",
        id="health-start-301",
    ),
    pytest.param(
        {"service_deployment_minimum_healthy_percent": -1}, "service_deployment_minimum_healthy_percent", id="min--1"
    ),
    pytest.param(
        {"service_deployment_minimum_healthy_percent": 101}, "service_deployment_minimum_healthy_percent", id="min-101"
    ),
    pytest.param({"service_deployment_maximum_percent": 99}, "service_deployment_maximum_percent", id="max-99"),
    pytest.param({"service_deployment_maximum_percent": 201}, "service_deployment_maximum_percent", id="max-201"),
    pytest.param(
        {"service_health_check_grace_period_seconds": -1}, "service_health_check_grace_period_seconds", id="grace--1"
    ),
    pytest.param({"service_target_group_arn": "tg-web"}, "service_target_group_arn", id="target-group"),
    pytest.param(
        {"service_capacity_provider_strategy": [{"capacity_provider": "EC2"}]},
        "service_capacity_provider_strategy",
        id="strategy-provider",
    ),
    pytest.param(
        {"service_capacity_provider_strategy": [{"capacity_provider": "FARGATE"}, {"capacity_provider": "FARGATE"}]},
        "service_capacity_provider_strategy",
        id="strategy-twice",
    ),
    pytest.param(
        {"service_capacity_provider_strategy": [{"capacity_provider": "FARGATE", "weight": 0}]},
        "service_capacity_provider_strategy",
        id="strategy-no-weight",
    ),
    pytest.param(
        {"service_capacity_provider_strategy": [{"capacity_provider": "FARGATE", "weight": 1001}]},
        "service_capacity_provider_strategy",
        id="strategy-weight-1001",
    ),
    pytest.param(
        {"service_capacity_provider_strategy": [{"capacity_provider": "FARGATE", "base": 100001}]},
        "service_capacity_provider_strategy",
        id="strategy-base-100001",
    ),
    pytest.param(
        {"service_capacity_provider_strategy": [{"capacity_provider": "FARGATE", "base": -1}]},
        "service_capacity_provider_strategy",
        id="strategy-base--1",
    ),
    pytest.param(
        {
            "service_capacity_provider_strategy": [
                {"capacity_provider": "FARGATE", "base": 1},
                {"capacity_provider": "FARGATE_SPOT", "base": 1},
            ]
        },
        "service_capacity_provider_strategy",
        id="strategy-two-bases",
    ),
    pytest.param(
        {
            "service_autoscaling_enabled": True,
            "service_autoscaling_cpu_target": 50,
            "service_autoscaling_min_capacity": 5,
            "service_autoscaling_max_capacity": 4,
        },
        "service_autoscaling_min_capacity",
        id="scaling-min-above-max",
    ),
    pytest.param(
        {
            "service_autoscaling_enabled": True,
            "service_autoscaling_cpu_target": 50,
            "service_autoscaling_min_capacity": -1,
        },
        "service_autoscaling_min_capacity",
        id="scaling-min--1",
    ),
    pytest.param(
        {
            "service_autoscaling_enabled": True,
            "service_autoscaling_cpu_target": 50,
            "service_autoscaling_min_capacity": 0,
            "service_autoscaling_max_capacity": 0,
        },
        "service_autoscaling_max_capacity",
        id="scaling-max-0",
    ),
    pytest.param({"service_autoscaling_enabled": True}, "service_autoscaling_cpu_target", id="scaling-no-target"),
    pytest.param({"service_autoscaling_cpu_target": 0}, "service_autoscaling_cpu_target", id="cpu-target-0"),
    pytest.param({"service_autoscaling_cpu_target": 100.5}, "service_autoscaling_cpu_target", id="cpu-target-100.5"),
    pytest.param(
        {"service_autoscaling_memory_target": 101}, "service_autoscaling_memory_target", id="memory-target-101"
    ),
    pytest.param({"service_release_command": "npm run migrate"}, "service_release_command", id="release-string"),
    pytest.param({"service_release_command": ["npm", ""]}, "service_release_command", id="release-empty-word"),
    pytest.param({"service_release_timeout": 0}, "service_release_timeout", id="release-timeout-0"),
    pytest.param({"service_url_check_url": "api.example.com"}, "service_url_check_url", id="url-no-scheme"),
    pytest.param({"service_url_check_url": "ftp://api.example.com"}, "service_url_check_url", id="url-ftp"),
    pytest.param(
        {"service_url_check_url": "https://api.example.com/health"}, "service_url_check_url", id="url-with-path"
    ),
    pytest.param({"service_url_check_host": "web shipyard"}, "service_url_check_host", id="url-host-space"),
    pytest.param({"service_url_check_path": "health"}, "service_url_check_path", id="url-path-relative"),
    pytest.param({"service_url_check_consecutive": 0}, "service_url_check_consecutive", id="url-consecutive-0"),
    pytest.param({"service_url_check_timeout": 0}, "service_url_check_timeout", id="url-timeout-0"),
]


@pytest.mark.parametrize(("overrides", "option"), INVALID_CASES)
def test_invalid_options_are_refused_naming_the_option(overrides, option):
    found = errors(**overrides)
    assert [m for m in found if option in m], found


def test_every_problem_is_reported_at_once():
    found = errors(service_cpu=256, service_memory=4096, service_desired_count=-1, service_container_port=70000)
    assert len(found) == 3
    assert [
        "service_memory" in found[0],
        "service_container_port" in found[1],
        "service_desired_count" in found[2],
    ] == [
        True,
        True,
        True,
    ]


def test_the_fargate_message_lists_what_the_cpu_allows():
    assert errors(service_cpu=256, service_memory=4096) == [
        "service_cpu 256 with service_memory 4096 is not a task size Fargate offers. With service_cpu 256, "
        "service_memory must be one of 512, 1024, 2048."
    ]
    assert "service_cpu must be one of 256, 512, 1024, 2048, 4096, 8192, 16384." in errors(service_cpu=300)[0]


def test_the_fargate_table_is_the_task_definition_modules():
    """One table: the role's rule and ecs_task_definition's fargate_size_error read the same object."""
    assert rules.FARGATE_MEMORY is td.FARGATE_MEMORY
    for cpu, sizes in td.FARGATE_MEMORY.items():
        for memory in sizes:
            assert rules.fargate_size_problem(cpu, memory) is None
            assert td.fargate_size_error(cpu, memory) is None
        assert rules.fargate_size_problem(cpu, sizes[-1] + 1024) is not None
        assert td.fargate_size_error(cpu, sizes[-1] + 1024) is not None


def test_no_environment_or_secret_value_is_shown():
    found = errors(
        service_environment={"DATABASE_URL": "postgres://user:hunter2@db", "bad name": "s3cr3t-value"},
        service_secrets_value_from={"DATABASE_URL": "hunter2-not-an-arn"},
    )
    assert len(found) == 3
    text = "\n".join(found)
    assert "hunter2" not in text
    assert "s3cr3t-value" not in text
    assert "postgres://" not in text
    assert "bad name" in text
    assert "DATABASE_URL" in text
