"""Task construction: a moto Task for a deployment, its network interface (awsvpc ENI) and its container specs.

:class:`TaskFactory` is a part of :class:`.engine.Engine` (a mixin): it uses the engine's ``clock``, ``config``,
``task_ports``, ``tasks``, ``services``, ``event`` and ``runner_for``. A service's tasks come from
:meth:`TaskFactory._start_task`, standalone ones from :meth:`TaskFactory.run_task` (RunTask); both are made by
``_make_task`` and handed to their runner by ``_launch``.
"""

from __future__ import annotations

import logging
import random
import socket
import uuid

from ..runners import base
from .records import TaskRecord, as_engine_task
from .secrets import resolve_secret

log = logging.getLogger("shipyard_local.cloud")
PLACEMENT_RETRY_SECONDS = 15.0  # after "unable to place a task", the next try


# Each task's own port on 127.0.0.1 (the PORT contract, runners/base.py) comes from a range below the kernel's
# ephemeral ports (Linux: 32768-60999), so that no outgoing connection (a health check, the load balancer's proxying,
# an API call) can take a task's port between its choice and the container's bind; and below the stacks' own 29xxx
# ports. Ports are handed out in turn from a random start (another stack's engine on the machine starts elsewhere):
# one comes back only after the whole range has gone round, so a stopped task's container, which may hold its port
# for seconds while docker removes it, never meets a new task on it. (Before: bind(0), close, hand the number out:
# nothing reserved it, and the kernel could give it to anyone - a target's health check could reach another
# task's app.)
HOST_PORTS = (20000, 28999)


def _ephemeral_low() -> int:
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range", encoding="ascii") as ports:
            return int(ports.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _bindable(host: str, port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


class HostPorts:
    """Hands out task ports from ``low..high`` in turn, skipping ``busy`` ones and any that cannot be bound now."""

    def __init__(self, host: str, low: int = HOST_PORTS[0], high: int | None = None, start: int | None = None,
                 bindable=_bindable) -> None:  # fmt: skip
        high = HOST_PORTS[1] if high is None else high
        ephemeral = _ephemeral_low()
        self.host, self.low, self.high = host, low, min(high, ephemeral - 1)
        if self.high < self.low:
            raise ValueError(f"no task ports below the ephemeral range: {low}-{high}, ephemeral from {ephemeral}")
        self._bindable = bindable
        self._next = start if start is not None else random.randint(self.low, self.high)  # noqa: S311 - not security

    def take(self, busy: set[int] | frozenset[int] = frozenset()) -> int:
        size = self.high - self.low + 1
        for _ in range(size):
            port = self._next
            self._next = self.low + (port - self.low + 1) % size
            if port not in busy and self._bindable(self.host, port):
                return port
        raise RuntimeError(f"no free task port in {self.low}-{self.high}")


class RunTaskError(Exception):
    """A RunTask request ECS refuses: ``code`` is the API error (InvalidParameterException, ...)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _container_overrides(overrides: dict | None, task_definition) -> dict[str, dict]:
    """RunTask's ``overrides.containerOverrides`` by container name; a name the definition lacks is refused."""
    names = {c.get("name") for c in task_definition.container_definitions}
    found: dict[str, dict] = {}
    for item in (overrides or {}).get("containerOverrides") or []:
        name = item.get("name")
        if name not in names:
            raise RunTaskError(
                "InvalidParameterException",
                f"Override for container named {name} is not a container in the TaskDefinition.",
            )
        found[name] = item
    return found


class TaskFactory:
    def _start_task(self, backend, service, deployment) -> TaskRecord | None:
        """A service's new task for ``deployment`` (None: it could not be placed; an event says why)."""
        task_definition = backend.describe_task_definition(deployment["taskDefinition"])
        try:
            record = self._make_task(
                backend,
                service.cluster_name,
                task_definition,
                network_configuration=service.network_configuration,
                group=f"service:{service.name}",
                launch_type=service.launch_type or "FARGATE",
                started_by=deployment["id"],
                platform_version=service.platform_version,
                service=service,
                deployment_id=deployment["id"],
            )
        except Exception as error:  # surfaced as ECS does: an "unable to place" event, then a retry later
            self.services[service.arn].retry_at = self.clock.now() + PLACEMENT_RETRY_SECONDS
            self.event(service, f"was unable to place a task. Reason: {getattr(error, 'message', error)}.")
            return None
        self._launch(backend, record, task_definition)
        return record

    def run_task(
        self,
        backend,
        cluster_name: str,
        task_definition_ref: str,
        *,
        overrides: dict | None = None,
        started_by: str | None = None,
        group: str | None = None,
        launch_type: str | None = None,
        capacity_provider_strategy: list | None = None,
        network_configuration: dict | None = None,
        platform_version: str | None = None,
        tags: list | None = None,
        count: int = 1,
    ) -> list:
        """RunTask: standalone tasks the engine runs like a service's (no service, no targets). Returns moto Tasks.

        Raises :class:`RunTaskError` with ECS's wording for a request ECS refuses (nothing is made then).
        """
        if launch_type and capacity_provider_strategy:
            raise RunTaskError(
                "InvalidParameterException", "Specify either Launch Type or Capacity Provider Strategy, but not both."
            )
        if launch_type and launch_type != "FARGATE":
            raise RunTaskError("InvalidParameterException", "the local cloud runs FARGATE tasks only")
        if not 1 <= int(count or 1) <= 10:
            raise RunTaskError("InvalidParameterException", "count must be between 1 and 10.")
        cluster = backend._get_cluster(cluster_name)
        task_definition = backend.describe_task_definition(task_definition_ref)
        vpc = (network_configuration or {}).get("awsvpcConfiguration") or {}
        if task_definition.network_mode == "awsvpc" and not vpc.get("subnets"):
            raise RunTaskError(
                "InvalidParameterException",
                "Network Configuration must be provided when networkMode 'awsvpc' is specified.",
            )
        by_name = _container_overrides(overrides, task_definition)
        if task_definition.network_mode == "awsvpc":
            self._check_subnets(backend, vpc["subnets"])
        provider = (capacity_provider_strategy or [{}])[0].get("capacityProvider")
        tasks = []
        for _ in range(int(count or 1)):
            record = self._make_task(
                backend,
                cluster.name,
                task_definition,
                network_configuration=network_configuration,
                group=group or f"family:{task_definition.family}",
                launch_type="FARGATE",
                started_by=started_by or "",
                platform_version=platform_version,
            )
            record.task.overrides = {
                "containerOverrides": list((overrides or {}).get("containerOverrides") or []),
                "inferenceAcceleratorOverrides": [],
                **{k: v for k, v in (overrides or {}).items() if k != "containerOverrides"},
            }
            record.task.tags = list(tags or [])
            if provider:
                record.task.capacity_provider_name = provider
            self._launch(backend, record, task_definition, by_name)
            tasks.append(record.task)
        return tasks

    @staticmethod
    def _check_subnets(backend, subnets: list) -> None:
        from moto.ec2 import ec2_backends

        ec2 = ec2_backends[backend.account_id][backend.region_name]
        for subnet in subnets:
            try:
                ec2.get_subnet(subnet)
            except Exception:
                raise RunTaskError(
                    "InvalidParameterException",
                    f"Error retrieving subnet information for [{subnet}]: The subnet ID '{subnet}' does not exist",
                ) from None

    def _make_task(
        self,
        backend,
        cluster_name: str,
        task_definition,
        *,
        network_configuration: dict | None,
        group: str,
        launch_type: str,
        started_by: str,
        platform_version: str | None,
        service=None,
        deployment_id: str = "",
    ) -> TaskRecord:
        """A moto Task in PROVISIONING with its ENI and containers, and the engine's record of it (not started)."""
        from types import SimpleNamespace

        from moto.ecs.models import Task

        cluster = backend._get_cluster(cluster_name)
        attachment, ip = self._network_interface(backend, network_configuration, task_definition)
        # moto's Task would make its own ENI (and fails to in moto 5.2): it gets a definition without awsvpc.
        containers = task_definition.container_definitions
        definition = SimpleNamespace(arn=task_definition.arn, network_mode="none", container_definitions=containers)
        task = Task(
            cluster=cluster,
            task_definition=definition,
            container_instance_arn=None,
            resource_requirements=None,
            backend=backend,
            group=group,
            launch_type=launch_type,
            started_by=started_by,
            platform_version=platform_version,
        )
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
        lb = ((service.load_balancers if service is not None else None) or [{}])[0]
        record = TaskRecord(
            task=task,
            service_arn=service.arn if service is not None else "",
            service_name=service.name if service is not None else "",
            deployment_id=deployment_id,
            cluster=cluster.name,
            ip=ip,
            host_port=self.task_ports.take({r.host_port for r in self.tasks.values() if r.done_at is None}),
            lb_container=lb.get("containerName"),
            created=self.clock.now(),
        )
        self.tasks[task.task_arn] = record
        return record

    def _launch(self, backend, record: TaskRecord, task_definition, overrides: dict[str, dict] | None = None) -> None:
        """Resolve the containers (secrets, overrides) and hand the task to its runner; a failure stops it later."""
        task = record.task
        containers, error = self._container_specs(backend, task_definition, overrides)
        if error:
            record.start_error = ("TaskFailedToStart", error)
            return
        spec = base.TaskSpec(
            task_arn=task.task_arn,
            task_id=task.id,
            cluster=record.cluster,
            family=task_definition.family,
            revision=task_definition.revision,
            group=task.group,
            host_port=record.host_port,
            containers=tuple(containers),
            cpu=task_definition.cpu,
            memory=task_definition.memory,
        )
        try:
            record.runner = self.runner_for(task_definition, containers)
            record.run = record.runner.start(spec)
        except Exception as error:
            log.exception("ECS engine: runner failed to start %s", task.id)
            record.start_error = ("TaskFailedToStart", f"CannotStartContainerError: {error}")

    def _network_interface(self, backend, network_configuration, task_definition) -> tuple[dict | None, str]:
        """awsvpc: an ENI in the first subnet of the service's (or RunTask's) network configuration (its private IP
        is data, never connected to)."""
        from moto.ec2 import ec2_backends
        from moto.ec2.utils import random_private_ip

        vpc = (network_configuration or {}).get("awsvpcConfiguration") or {}
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

    def _container_specs(
        self, backend, task_definition, overrides: dict[str, dict] | None = None
    ) -> tuple[list[base.ContainerSpec], str | None]:
        """The containers as runners see them: environment with secrets resolved; RunTask's ``containerOverrides``
        (by container name) replace ``command`` and add to or replace ``environment``."""
        specs = []
        for c in task_definition.container_definitions:
            override = (overrides or {}).get(c["name"]) or {}
            env = {item["name"]: item.get("value", "") for item in c.get("environment") or []}
            env.update({item["name"]: item.get("value", "") for item in override.get("environment") or []})
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
                    command=tuple(override.get("command") or c.get("command") or ()) or None,
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
