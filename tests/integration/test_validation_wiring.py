"""Each role's option checks are wired in: one playbook run per entry point with several bad options at once.

The rules themselves are unit-tested (tests/unit/test_validation_<role>.py, test_role_argument_specs.py); these
runs show, once per role entry point, that the role calls them before anything else: the run fails, every bad
option is named in the one failure, the check is the last task that ran (nothing after it, so no AWS call), and
the AWS API shows nothing was made. Plus one run of playbooks/provision.yml's pre-flight with bad options in two
services, each named.
"""

from __future__ import annotations

import json
import re
import shutil
import uuid
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.stack
ACCOUNT = "123456789012"  # the emulator's account
REGION = "us-east-1"
STAND_IN_LB = {
    "dns_load_balancer_dns_name": "stand-in-1.us-east-1.elb.amazonaws.com",
    "dns_load_balancer_hosted_zone_id": "Z35SXDOTRQ7X7K",
}


def _refused(run, check_task: str, *options: str) -> str:
    """Assert that the run stopped at ``check_task`` (the last task that ran) naming every option; the failure."""
    assert run.returncode != 0, run.output
    tasks = re.findall(r"^TASK \[(.*?)\]", run.output, re.M)
    assert tasks, run.output
    assert tasks[-1] == check_task, f"the run went on after the check: {tasks[-3:]}\n{run.output[-3000:]}"
    failure = "\n".join(line for line in run.output.splitlines() if line.startswith("[ERROR]"))
    missing = [option for option in options if option not in failure]
    assert not missing, f"not named: {missing}\n{run.output[-4000:]}"
    return failure


def test_cluster(unique_name, aws, role_runner):
    run = role_runner("tests/integration/playbooks/cluster_role.yml", {"cluster_name": unique_name})(
        cluster_capacity_providers=["FARGATE"],
        cluster_default_capacity_provider_strategy=[{"capacity_provider": "FARGATE_SPOT", "weight": 1001}],
        cluster_execute_command_logging="override",
    )
    failure = _refused(
        run,
        "shipyard.fargate.cluster : Check the options that depend on each other",
        "cluster_default_capacity_provider_strategy uses FARGATE_SPOT",
        "cluster_default_capacity_provider_strategy: weight must be 0 to 1000",
        "cluster_execute_command_log_group_name",
    )
    assert failure
    clusters = aws("ecs").describe_clusters(clusters=[unique_name])["clusters"]
    assert [c for c in clusters if c["status"] == "ACTIVE"] == []


def test_cluster_argument_spec_runs_first(unique_name, aws, role_runner):
    """Types and choices (meta/argument_specs.yml) stop the role before its own checks."""
    run = role_runner("tests/integration/playbooks/cluster_role.yml", {"cluster_name": unique_name})(
        cluster_state="gone", cluster_capacity_providers=[]
    )
    assert run.returncode != 0, run.output
    failure = run.output[run.output.find("Validation of arguments failed") :]
    assert "value of cluster_state must be one of: present, absent, got: gone" in failure, run.output
    assert "Check the options that depend on each other" not in run.output
    clusters = aws("ecs").describe_clusters(clusters=[unique_name])["clusters"]
    assert [c for c in clusters if c["status"] == "ACTIVE"] == []


def test_iam(unique_name, aws, role_runner):
    run = role_runner("tests/integration/playbooks/iam_role.yml", {"iam_name_prefix": f"{unique_name}-web"})(
        iam_path="shipyard",
        iam_kms_key_arn="alias/aws/secretsmanager",
        iam_task_role_managed_policies=["S3"],
        iam_log_group_name="/ecs/*",
    )
    _refused(
        run,
        "shipyard.fargate.iam : Check the options that depend on each other",
        "iam_path",
        "iam_kms_key_arn",
        "iam_task_role_managed_policies",
        "iam_log_group_name",
    )
    iam = aws("iam")
    for name in (f"{unique_name}-web-execution", f"{unique_name}-web-task"):
        with pytest.raises(iam.exceptions.NoSuchEntityException):
            iam.get_role(RoleName=name)


def test_image(unique_name, aws, role_runner, local_stack, tmp_path):
    name = f"{unique_name}/web"
    repository = {
        "name": name,
        "uri": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{name}",
        "push_uri": f"{local_stack.config.registry_address}/{name}",
    }
    source = tmp_path / "app"
    source.mkdir()
    (source / "Dockerfile").write_text("FROM scratch\n")
    run = role_runner("tests/integration/playbooks/image.yml", {"image_repository": repository})(
        image_source_dir=str(source),
        image_tag="-bad tag",
        image_platform="amd64",
        image_build_args={"NOT-AN-ARG": "x"},
        image_dockerfile="../Dockerfile",
    )
    _refused(
        run,
        "shipyard.fargate.image : Check the options that depend on each other, the build context, the Dockerfile"
        " and the tag",
        "image_tag",
        "image_platform",
        "image_build_args",
        "image_dockerfile",
    )
    assert "ECR login" not in run.output
    assert not [r for r in aws("ecr").describe_repositories()["repositories"] if r["repositoryName"] == name]


def test_load_balancer_main(unique_name, aws, role_runner, tmp_path):
    run = role_runner(
        "tests/integration/playbooks/load_balancer_apply.yml",
        {"load_balancer_name": unique_name, "load_balancer_service_port": 3000, "load_balancer_http_only": False},
    )(
        "--start-at-task",
        "Ensure the load balancer",  # the network before it has checks of its own
        load_balancer_certificate_arn="not-an-arn",
        load_balancer_idle_timeout=0,
        load_balancer_security_group_ids=["group"],
    )
    _refused(
        run,
        "shipyard.fargate.load_balancer : Check the options that depend on each other",
        "load_balancer_certificate_arn 'not-an-arn'",
        "load_balancer_idle_timeout",
        "load_balancer_security_group_ids",
        "load_balancer_subnet_ids",
    )
    balancers = aws("elbv2").describe_load_balancers()["LoadBalancers"]
    assert [b for b in balancers if b["LoadBalancerName"] == unique_name] == []


def test_load_balancer_service(unique_name, aws, role_runner):
    service = {"name": f"{unique_name}-web", "priority": 0, "host_headers": ["web shop"]}
    run = role_runner(
        "tests/integration/playbooks/load_balancer_apply.yml",
        {"load_balancer_name": unique_name, "load_balancer_service_port": 70000},
    )(
        "--start-at-task",
        "Ensure the services' target groups and rules",
        load_balancer_test_services=[service],
        load_balancer_service_health_check_path="health",
        load_balancer_service_health_check_matcher="ok",
    )
    _refused(
        run,
        "shipyard.fargate.load_balancer : Check the service options",
        "load_balancer_service_port 70000",
        "load_balancer_service_priority 0",
        "load_balancer_service_host_headers",
        "load_balancer_service_health_check_path",
        "load_balancer_service_health_check_matcher",
    )
    groups = aws("elbv2").describe_target_groups()["TargetGroups"]
    assert [g for g in groups if g["TargetGroupName"] == service["name"]] == []


def test_network_main(unique_name, aws, role_runner):
    run = role_runner(
        "tests/integration/playbooks/network_apply.yml",
        {"network_name": unique_name, "network_create_vpc": True, "network_service_name": f"{unique_name}-web",
         "network_service_container_port": 3000},
    )(
        network_vpc_cidr="10.0.0.0/8",
        network_public_subnet_cidrs=["10.42.0.0/24"],
        network_load_balancer_ports=[80, 65536],
        network_load_balancer_ingress_cidrs=["10.1.2.3"],
    )  # fmt: skip
    _refused(
        run,
        "shipyard.fargate.network : Check the options that depend on each other",
        "network_vpc_cidr",
        "network_public_subnet_cidrs",
        "network_load_balancer_ports",
        "network_load_balancer_ingress_cidrs",
    )
    assert aws("ec2").describe_vpcs(Filters=[{"Name": "tag:Name", "Values": [f"{unique_name}-vpc"]}])["Vpcs"] == []


def test_network_service(unique_name, aws, role_runner):
    run = role_runner(
        "tests/integration/playbooks/network_apply.yml",
        {"network_name": unique_name, "network_create_vpc": True, "network_service_name": f"{unique_name}-web"},
    )(
        "--start-at-task",
        "Ensure the service's security group",
        network_service_container_port=0,
        network_service_vpc_id="vpc_1",
    )
    _refused(
        run,
        "shipyard.fargate.network : Check the service options",
        "network_service_container_port 0",
        "network_service_vpc_id 'vpc_1'",
        "network_service_load_balancer_security_group_id",
    )
    groups = aws("ec2").describe_security_groups(Filters=[{"Name": "group-name", "Values": [f"{unique_name}-web"]}])
    assert groups["SecurityGroups"] == []


def _dns(role_runner, unique_name):
    return role_runner(
        "tests/integration/playbooks/dns_apply.yml",
        {
            "dns_test_name": unique_name,
            "dns_zone_name": f"{unique_name}.example.test",
            "dns_record_name": f"web.{unique_name}.example.test",
            "dns_create_zone": True,
            "dns_test_skip_load_balancer": True,
            **STAND_IN_LB,
        },
    )


def _zones(aws, name):
    zones = aws("route53").list_hosted_zones_by_name(DNSName=name)["HostedZones"]
    return [z for z in zones if z["Name"] == f"{name}."]


def test_dns_main(unique_name, aws, role_runner):
    run = _dns(role_runner, unique_name)(
        dns_record_name="web..example.test",
        dns_load_balancer_hosted_zone_id="not-a-zone",
        dns_load_balancer_dns_name="not a name",
    )
    _refused(
        run,
        "shipyard.fargate.dns : Check the options that depend on each other (the certificate's too)",
        "dns_record_name 'web..example.test' is not a valid domain name",
        "dns_record_name 'web..example.test' is not inside dns_zone_name",
        "dns_load_balancer_hosted_zone_id",
        "dns_load_balancer_dns_name",
    )
    assert _zones(aws, f"{unique_name}.example.test") == []


def test_dns_certificate(unique_name, aws, role_runner):
    zone = f"{unique_name}.example.test"
    run = _dns(role_runner, unique_name)(
        dns_certificate_request=True,
        dns_certificate_domain="shop.elsewhere.test",
        dns_certificate_alternative_names=["*.*.{{ dns_zone_name }}", "www.elsewhere.test"],
    )
    _refused(
        run,
        "shipyard.fargate.dns : Check the certificate's options",
        "dns_certificate_domain 'shop.elsewhere.test' is not inside dns_zone_name",
        f"not domain names (a wildcard only as the whole first label, as in *.example.com): *.*.{zone}",
        "not inside dns_zone_name",
        "www.elsewhere.test",
    )
    assert _zones(aws, zone) == []
    acm = aws("acm").list_certificates()["CertificateSummaryList"]
    assert [c for c in acm if c["DomainName"] in ("shop.elsewhere.test", zone)] == []


def test_registry(unique_name, aws, role_runner):
    name = f"{unique_name}/web"
    run = role_runner("tests/integration/playbooks/registry.yml", {"registry_name": name})(
        registry_encryption_type="KMS",
        registry_lifecycle_untagged_expire_days=-1,
        registry_lifecycle_keep_tagged_count=-1,
    )
    _refused(
        run,
        "shipyard.fargate.registry : Check the options that depend on each other",
        "registry_kms_key",
        "registry_lifecycle_untagged_expire_days",
        "registry_lifecycle_keep_tagged_count",
    )
    ecr = aws("ecr")
    with pytest.raises(ecr.exceptions.RepositoryNotFoundException):
        ecr.describe_repositories(repositoryNames=[name])


def test_secrets(unique_name, aws, role_runner):
    name = f"{unique_name}/web"
    value = f"v-{uuid.uuid4().hex}"
    run = role_runner("tests/integration/playbooks/secrets.yml", {"secrets_name": name})(
        secrets_json={"NOT-AN-ENV-NAME": value},
        secrets_keys=["A"],
        secrets_recovery_window_days=3,
    )
    _refused(
        run,
        "shipyard.fargate.secrets : Check the options that depend on each other",
        "secrets_json / secrets_keys keys must be environment variable names",
        "NOT-AN-ENV-NAME",
        "secrets_keys names the keys of a secret without a value",
        "secrets_recovery_window_days",
    )
    assert value not in run.output
    client = aws("secretsmanager")
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.describe_secret(SecretId=name)


def test_service(unique_name, aws, role_runner):
    family = f"{unique_name}-web"
    plain = f"plain-{uuid.uuid4().hex}"
    run = role_runner(
        "tests/integration/playbooks/service_role.yml",
        {
            "service_name": "web",
            "service_cluster_name": unique_name,
            "service_family": family,
            "service_execution_role_arn": f"arn:aws:iam::{ACCOUNT}:role/{unique_name}-exec",
            "service_subnet_ids": ["subnet-0123"],
            "service_security_group_ids": ["sg-0123"],
            "service_log_group_name": f"/ecs/{unique_name}/web",
        },
    )(
        service_cpu=256,
        service_memory=4096,
        service_desired_count=-1,
        service_container_port=70000,
        service_image="127.0.0.1:29050/shipyard/web:1.0 beta",
        service_log_retention_days=10,
        service_environment={"DATABASE_URL": plain},
        service_secrets_value_from={"DATABASE_URL": "the-value-itself"},
    )
    _refused(
        run,
        "shipyard.fargate.service : Check the options that depend on each other",
        "service_cpu 256 with service_memory 4096",
        "service_desired_count",
        "service_container_port",
        "service_image",
        "service_log_retention_days",
        "DATABASE_URL is in both service_secrets_value_from and service_environment",
        "not an ARN for: DATABASE_URL",
    )
    assert plain not in run.output  # names only, never a value
    assert "the-value-itself" not in run.output
    assert aws("logs").describe_log_groups(logGroupNamePrefix=f"/ecs/{unique_name}/")["logGroups"] == []
    assert aws("ecs").list_task_definitions(familyPrefix=family)["taskDefinitionArns"] == []


@pytest.fixture
def inventory(tmp_path):
    """A copy of the local inventory with a stack name of its own and the given host variables."""
    stack = f"bad{uuid.uuid4().hex[:6]}"

    def make(**hosts):
        root = tmp_path / "local"
        shutil.copytree(REPO / "inventories" / "local", root, dirs_exist_ok=True)
        everyone = {"shipyard_stack_name": stack, "dns_zone_name": f"{stack}.test"}
        (root / "group_vars" / "all" / "zz_test.yml").write_text(yaml.safe_dump(everyone))
        for host, overrides in hosts.items():
            host_file = root / "host_vars" / f"{host}.yml"
            host_file.write_text(yaml.safe_dump({**yaml.safe_load(host_file.read_text()), **overrides}))
        return str(root)

    make.stack = stack
    return make


def test_provision_preflight_names_every_bad_option_of_every_service(inventory, run_playbook, aws):
    secret_env = f"env-{uuid.uuid4().hex}"
    run = run_playbook(
        "playbooks/provision.yml",
        "-i",
        inventory(
            web={
                "service_cpu": 256,
                "service_memory": 4096,
                "service_desired_count": -1,
                "service_log_retention_days": 42,
                "service_environment": {"DATABASE_URL": secret_env},
            },
            api={"service_container_port": 70000, "shipyard_service_image_tag": "v 1"},
        ),
    )
    assert run.returncode != 0, run.output[-4000:]
    failure = "\n".join(line for line in run.output.splitlines() if line.startswith("[ERROR]") or "fatal: [" in line)
    web = [line for line in run.output.split("fatal: [")[1:] if line.startswith("web]")]
    api = [line for line in run.output.split("fatal: [")[1:] if line.startswith("api]")]
    assert web, run.output[-4000:]
    assert api, run.output[-4000:]
    for option in ("service_memory", "service_desired_count", "service_log_retention_days", "service_environment"):
        assert option in web[0], f"{option} not named for web\n{web[0][:3000]}"
    for option in ("service_container_port", "service_initial_image"):
        assert option in api[0], f"{option} not named for api\n{api[0][:3000]}"
    assert failure
    assert secret_env not in run.output
    assert "PLAY [Shared stack" not in run.output, "the pre-flight let bad input through to AWS"
    repositories = aws("ecr").describe_repositories()["repositories"]
    assert not [r for r in repositories if r["repositoryName"].startswith(inventory.stack)]


def test_ci_access(inventory, run_playbook, aws, tmp_path):
    """playbooks/bootstrap_ci.yml: the ci_access role's checks stop it before any AWS call, naming each option."""
    extra = tmp_path / "ci_access.json"
    extra.write_text(
        json.dumps(
            {
                "ci_access_github_repository": "acme/*",
                "ci_access_github_environment": None,
                "ci_access_github_branch": "",
                "ci_access_oidc_thumbprints": ["not-a-thumbprint"],
                "ci_access_max_session_duration": 60,
            }
        )
    )
    run = run_playbook("playbooks/bootstrap_ci.yml", "-i", inventory(), "-e", f"@{extra}")
    _refused(
        run,
        "shipyard.fargate.ci_access : Check the options that depend on each other",
        "ci_access_github_repository 'acme/*'",
        "ci_access_github_branch is empty",
        "ci_access_oidc_thumbprints",
        "ci_access_max_session_duration",
    )
    iam = aws("iam")
    for name in (f"{inventory.stack}-github-deploy", f"{inventory.stack}-github-provision"):
        with pytest.raises(iam.exceptions.NoSuchEntityException):
            iam.get_role(RoleName=name)
