"""Task construction: a moto Task for a deployment, its network interface (awsvpc ENI) and its container specs.

:class:`TaskFactory` is a part of :class:`.engine.Engine` (a mixin): it uses the engine's ``clock``, ``config``,
``tasks``, ``services``, ``event`` and ``runner_for``.
"""

from __future__ import annotations

import logging
import socket
import uuid

from ..runners import base
from .records import TaskRecord, as_engine_task
from .secrets import resolve_secret

log = logging.getLogger("shipyard_local.cloud")
PLACEMENT_RETRY_SECONDS = 15.0  # after "unable to place a task", the next try


def _free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


class TaskFactory:
    def _start_task(self, backend, service, deployment) -> TaskRecord | None:
        from types import SimpleNamespace

        from moto.ecs.models import Task

        cluster = backend._get_cluster(service.cluster_name)
        task_definition = backend.describe_task_definition(deployment["taskDefinition"])
        try:
            attachment, ip = self._network_interface(backend, service, task_definition)
            # moto's Task would make its own ENI (and fails to in moto 5.2): it gets a definition without awsvpc.
            containers = task_definition.container_definitions
            definition = SimpleNamespace(arn=task_definition.arn, network_mode="none", container_definitions=containers)
            task = Task(
                cluster=cluster,
                task_definition=definition,
                container_instance_arn=None,
                resource_requirements=None,
                backend=backend,
                group=f"service:{service.name}",
                launch_type=service.launch_type or "FARGATE",
                started_by=deployment["id"],
                platform_version=service.platform_version,
            )
        except Exception as error:  # surfaced as ECS does: an "unable to place" event, then a retry later
            self.services[service.arn].retry_at = self.clock.now() + PLACEMENT_RETRY_SECONDS
            self.event(service, f"was unable to place a task. Reason: {getattr(error, 'message', error)}.")
            return None
        if attachment:
            task.attachments = [attachment]
        as_engine_task(task)
        now = self.clock.wall()
        task.last_status = "PROVISIONING"
        task.desired_status = "RUNNING"
        task.created_at = now
        task.cpu = task_definition.cpu
        task.memory = task_definition.memory
        task.health_status = "UNKNOWN"
        task.availability_zone = f"{backend.region_name}a"
        task.connectivity = "CONNECTED"
        task.connectivity_at = now
        task.version = 1
        task.enable_execute_command = bool(getattr(service, "enable_execute_command", False))
        task.platform_family = "Linux"
        task.containers = [
            {
                "containerArn": f"arn:aws:ecs:{backend.region_name}:{backend.account_id}:container/"
                f"{cluster.name}/{task.id}/{uuid.uuid4()}",
                "taskArn": task.task_arn,
                "name": c.get("name"),
                "image": c.get("image"),
                "lastStatus": "PENDING",
                "networkInterfaces": [{"attachmentId": task.attachments[0]["id"], "privateIpv4Address": ip}]
                if task.attachments
                else [],
                "healthStatus": "UNKNOWN",
                "cpu": str(c.get("cpu", 0)),
                **({"memory": str(c["memory"])} if c.get("memory") else {}),
            }
            for c in task_definition.container_definitions
        ]
        backend.tasks.setdefault(cluster.name, {})[task.task_arn] = task
        lb = (service.load_balancers or [{}])[0]
        record = TaskRecord(
            task=task,
            service_arn=service.arn,
            service_name=service.name,
            deployment_id=deployment["id"],
            cluster=cluster.name,
            ip=ip,
            host_port=_free_port(self.config.host),
            lb_container=lb.get("containerName"),
            created=self.clock.now(),
        )
        self.tasks[task.task_arn] = record
        containers, error = self._container_specs(backend, task_definition)
        if error:
            record.start_error = ("TaskFailedToStart", error)
            return record
        spec = base.TaskSpec(
            task_arn=task.task_arn,
            task_id=task.id,
            cluster=cluster.name,
            family=task_definition.family,
            revision=task_definition.revision,
            group=task.group,
            host_port=record.host_port,
            containers=tuple(containers),
            cpu=task_definition.cpu,
            memory=task_definition.memory,
        )
        try:
            record.runner = self.runner_for(task_definition)
            record.run = record.runner.start(spec)
        except Exception as error:
            log.exception("ECS engine: runner failed to start %s", task.id)
            record.start_error = ("TaskFailedToStart", f"CannotStartContainerError: {error}")
        return record

    def _network_interface(self, backend, service, task_definition) -> tuple[dict | None, str]:
        """awsvpc: an ENI in the service's first subnet (its private IP is data, never connected to)."""
        from moto.ec2 import ec2_backends
        from moto.ec2.utils import random_private_ip

        vpc = (service.network_configuration or {}).get("awsvpcConfiguration") or {}
        if task_definition.network_mode != "awsvpc" or not vpc.get("subnets"):
            return None, random_private_ip()
        ec2 = ec2_backends[backend.account_id][backend.region_name]
        subnet = ec2.get_subnet(vpc["subnets"][0])
        # An address no other ENI of the subnet holds: targets are ip:port, so a task sharing a running task's
        # address would take that task's target with it when it stops (seen: a crashing task deregistering a
        # healthy one). Random, as AWS's choice is, retried on a clash.
        in_use = {eni.private_ip_address for eni in ec2.enis.values() if getattr(eni.subnet, "id", None) == subnet.id}
        ip = random_private_ip(subnet.cidr_block)
        for _ in range(100):
            if ip not in in_use:
                break
            ip = random_private_ip(subnet.cidr_block)
        eni = ec2.create_network_interface(
            subnet=subnet, private_ip_address=ip, group_ids=vpc.get("securityGroups") or [], description="ECS task"
        )
        eni.status = "in-use"
        eni.device_index = 1
        details = {
            "subnetId": subnet.id,
            "networkInterfaceId": eni.id,
            "macAddress": eni.mac_address,
            "privateDnsName": f"ip-{ip.replace('.', '-')}.ec2.internal",
            "privateIPv4Address": ip,
        }
        attachment = {
            "id": str(uuid.uuid4()),
            "type": "ElasticNetworkInterface",
            "status": "ATTACHED",
            "details": [{"name": key, "value": value} for key, value in details.items()],
        }
        return attachment, ip

    def _release_network_interface(self, record: TaskRecord) -> None:
        from moto.ec2 import ec2_backends

        for attachment in record.task.attachments:
            details = {d["name"]: d["value"] for d in attachment.get("details", [])}
            if "networkInterfaceId" in details:
                backend = record.task._backend
                try:
                    ec2_backends[backend.account_id][backend.region_name].delete_network_interface(
                        details["networkInterfaceId"]
                    )
                except Exception:
                    log.debug("ENI %s already gone", details["networkInterfaceId"])
                attachment["status"] = "DELETED"

    def _container_specs(self, backend, task_definition) -> tuple[list[base.ContainerSpec], str | None]:
        specs = []
        for c in task_definition.container_definitions:
            env = {item["name"]: item.get("value", "") for item in c.get("environment") or []}
            secret_names = []
            for secret in c.get("secrets") or []:
                value, error = resolve_secret(backend.account_id, backend.region_name, secret["valueFrom"])
                if error:
                    return [], error
                env[secret["name"]] = value
                secret_names.append(secret["name"])
            ports = c.get("portMappings") or []
            logging_config = c.get("logConfiguration") or {}
            specs.append(
                base.ContainerSpec(
                    name=c["name"],
                    image=c.get("image", ""),
                    essential=c.get("essential", True),
                    environment=env,
                    secret_names=tuple(secret_names),
                    container_port=ports[0].get("containerPort") if ports else None,
                    command=tuple(c["command"]) if c.get("command") else None,
                    entry_point=tuple(c["entryPoint"]) if c.get("entryPoint") else None,
                    working_directory=c.get("workingDirectory"),
                    user=c.get("user"),
                    read_only_root=bool(c.get("readonlyRootFilesystem")),
                    log_options=dict(logging_config.get("options") or {})
                    if logging_config.get("logDriver") == "awslogs"
                    else {},
                    health_check=c.get("healthCheck"),
                )
            )
        return specs, None
