"""What the engine changes in moto's request handlers (ECS, ELBv2), in this process only.

Every ECS and ELBv2 request runs under the engine's lock (handler and serialization), so a reader never
sees a half-done reconcile step. The changed handlers:

- CreateService / UpdateService keep what moto drops (deploymentConfiguration, healthCheckGracePeriodSeconds,
  enableExecuteCommand, ...) and create deployments (:meth:`.ecs.Engine.new_deployment`);
- ListTasks filters by service name, desired status (default RUNNING, as AWS), family, startedBy, launch type;
- RunTask makes standalone Fargate tasks the engine runs like a service's (:meth:`.ecs.Engine.run_task`: command
  and environment overrides, awsvpc network configuration, ``startedBy``), not moto's never-running ones (EC2 and
  EXTERNAL launch types, and capacity providers other than FARGATE / FARGATE_SPOT, stay moto's);
- StopTask stops an engine task the way ECS does (drain, then stop; stopCode UserInitiated);
- DescribeTargetHealth reports what the engine knows about the targets it registered;
- ListServiceDeployments, DescribeServiceDeployments, StopServiceDeployment and DescribeServiceRevisions (moto has
  none of them) answer from the engine's service deployments (:mod:`.ecs.deployments`);
- ACM's RequestCertificate with an idempotency token whose certificate was deleted since requests a new one (moto
  looks the deleted ARN up: KeyError, HTTP 500 - seen when a stack is destroyed and made again within the hour).

:func:`install` patches the classes once per process and points them at an engine; installing again only
points them at the new engine. :func:`uninstall` puts moto's own handlers back (unit tests that drive an engine
in-process through ``mock_aws`` do, so other tests see plain moto).
"""

from __future__ import annotations

import functools
from typing import Any

SERVICE_EXTRAS = {
    # request parameter -> moto Service attribute the serializer reads back
    "healthCheckGracePeriodSeconds": "health_check_grace_period_seconds",
    "enableExecuteCommand": "enable_execute_command",
    "enableECSManagedTags": "enable_ecs_managed_tags",
    "placementConstraints": "placement_constraints",
    "placementStrategy": "placement_strategy",
    "capacityProviderStrategy": "capacity_provider_strategy",
    "availabilityZoneRebalancing": "availability_zone_rebalancing",
}


def _merged_configuration(current: dict | None, given: dict | None) -> dict:
    from .ecs import DEFAULT_DEPLOYMENT_CONFIGURATION

    merged = {**DEFAULT_DEPLOYMENT_CONFIGURATION, **(current or {})}
    for key, value in (given or {}).items():
        if value is not None:
            merged[key] = value
    breaker = dict(DEFAULT_DEPLOYMENT_CONFIGURATION["deploymentCircuitBreaker"])
    breaker.update(merged.get("deploymentCircuitBreaker") or {})
    merged["deploymentCircuitBreaker"] = breaker
    return merged


_INHERITED = object()  # marks a handler the class did not define itself (uninstall deletes the override)
_current: dict[str, Any] = {}  # "engine": the engine the patched handlers serve
_originals: list[tuple[type, str, Any]] = []  # (class, attribute, moto's own) while installed


def uninstall() -> None:
    """Restore moto's own handlers (no-op when not installed)."""
    while _originals:
        cls, name, original = _originals.pop()
        if original is _INHERITED:
            delattr(cls, name)
        else:
            setattr(cls, name, original)
    _current.clear()


def install(engine) -> None:
    """Serve ``engine`` from moto's ECS and ELBv2 handlers (patching them the first time)."""
    _current["engine"] = engine
    if _originals:
        return
    _patch()


def _engine():
    return _current["engine"]


def _patch() -> None:
    from moto.core.responses import ActionResult
    from moto.ecs.responses import EC2ContainerServiceResponse as ECS
    from moto.elbv2.models import FakeHealthStatus, FakeTargetGroup
    from moto.elbv2.responses import ELBV2Response as ELBV2

    def replace(cls, name: str, new) -> None:
        _originals.append((cls, name, cls.__dict__.get(name, _INHERITED)))
        setattr(cls, name, new)

    def locked(call_action):
        @functools.wraps(call_action)
        def wrapper(self, *args, **kwargs):
            with _engine().lock:
                return call_action(self, *args, **kwargs)

        return wrapper

    replace(ECS, "call_action", locked(ECS.call_action))
    replace(ELBV2, "call_action", locked(ELBV2.call_action))

    def store_extras(self, service) -> None:
        for param, attribute in SERVICE_EXTRAS.items():
            value = self._get_param(param)
            if value is not None:
                setattr(service, attribute, value)

    original_create = ECS.create_service

    def create_service(self) -> ActionResult:
        result = original_create(self)
        service = result.result["service"]
        service.deployment_configuration = _merged_configuration(None, self._get_param("deploymentConfiguration"))
        store_extras(self, service)
        if not hasattr(service, "enable_execute_command"):
            service.enable_execute_command = False
        if not hasattr(service, "health_check_grace_period_seconds"):
            service.health_check_grace_period_seconds = 0
        if service.deployment_controller.get("type", "ECS") == "ECS":
            _engine().adopt_service(service, created=True)
        return result

    original_update = ECS.update_service

    def update_service(self) -> ActionResult:
        cluster = self._get_param("cluster", "default")
        name = (self._get_param("service") or "").split("/")[-1]
        backend = self.ecs_backend
        service = backend._get_service(cluster, name)
        before_configuration = getattr(service, "deployment_configuration", None)
        before_task_definition = service.task_definition
        before_desired = service.desired_count
        before_deployments = [dict(d) for d in service.deployments]
        result = original_update(self)
        service.deployments[:] = before_deployments  # moto renames its deployment in place on forceNewDeployment
        service = result.result["service"]
        service.deployment_configuration = _merged_configuration(
            before_configuration, self._get_param("deploymentConfiguration")
        )
        store_extras(self, service)
        if service.deployment_controller.get("type", "ECS") != "ECS":
            return result
        if service.arn not in _engine().services:
            _engine().adopt_service(service, created=False)
        given = self._get_param("taskDefinition")
        new_task_definition = backend.describe_task_definition(given).arn if given else before_task_definition
        service.task_definition = new_task_definition
        if new_task_definition != before_task_definition or self._get_param("forceNewDeployment"):
            _engine().new_deployment(service, new_task_definition)
        elif before_desired != service.desired_count:
            _engine().services[service.arn].steady = False
        _engine().refresh_counts(service)
        return result

    original_list_tasks = ECS.list_tasks

    def list_tasks(self) -> ActionResult:
        backend = self.ecs_backend
        cluster = backend._get_cluster(self._get_param("cluster", "default"))
        service_name = (self._get_param("serviceName") or "").split("/")[-1]
        family = self._get_param("family")
        started_by = self._get_param("startedBy")
        desired = self._get_param("desiredStatus") or "RUNNING"
        launch_type = self._get_param("launchType")
        instance = self._get_param("containerInstance")
        if instance:
            return original_list_tasks(self)
        arns = []
        for task in backend.tasks.get(cluster.name, {}).values():
            if service_name and task.group != f"service:{service_name}":
                continue
            if family and task.task_definition_arn.rsplit("/", 1)[-1].rsplit(":", 1)[0] != family:
                continue
            if started_by and task.started_by != started_by:
                continue
            if task.desired_status != desired:
                continue
            if launch_type and (task.launch_type or "") != launch_type:
                continue
            arns.append(task.task_arn)
        return ActionResult({"taskArns": arns})

    original_stop_task = ECS.stop_task

    def stop_task(self) -> ActionResult:
        task = _engine().user_stop(self._get_param("task") or "", self._get_param("reason"))
        if task is None:
            return original_stop_task(self)
        return ActionResult({"task": task})

    original_run_task = ECS.run_task

    def run_task(self) -> ActionResult:
        from moto.ecs.exceptions import EcsClientException, InvalidParameterException

        from .ecs.tasks import RunTaskError

        providers = [item.get("capacityProvider") for item in self._get_param("capacityProviderStrategy") or []]
        if self._get_param("launchType") in ("EC2", "EXTERNAL") or any(
            name not in ("FARGATE", "FARGATE_SPOT") for name in providers
        ):
            return original_run_task(self)  # container instances: moto's own (the engine runs Fargate tasks only)
        try:
            tasks = _engine().run_task(
                self.ecs_backend,
                self._get_param("cluster", "default"),
                self._get_param("taskDefinition"),
                overrides=self._get_param("overrides"),
                started_by=self._get_param("startedBy"),
                group=self._get_param("group"),
                launch_type=self._get_param("launchType"),
                capacity_provider_strategy=self._get_param("capacityProviderStrategy"),
                network_configuration=self._get_param("networkConfiguration"),
                platform_version=self._get_param("platformVersion"),
                tags=self._get_param("tags"),
                count=self._get_int_param("count", 1),
            )
        except RunTaskError as error:
            if error.code == "InvalidParameterException":
                raise InvalidParameterException(error.message) from None
            raise EcsClientException(error.message) from None
        return ActionResult({"tasks": tasks, "failures": []})

    def deployment_api(call):
        """Answer a service deployment request from the engine; its refusals become ECS's errors."""
        from moto.ecs.exceptions import ECSException

        from .ecs.deployments import DeploymentApiError

        try:
            return ActionResult(call())
        except DeploymentApiError as error:
            raise ECSException(error.code, error.message) from None

    def list_service_deployments(self) -> ActionResult:
        given = self._get_param("service") or ""
        cluster = self._get_param("cluster")
        if not cluster and given.count("/") == 2:  # a service ARN names its cluster (long ARN format)
            cluster = given.split("/")[1]
        service = self.ecs_backend._get_service(cluster or "default", given)
        return deployment_api(
            lambda: _engine().list_service_deployments(
                service,
                self._get_param("status"),
                self._get_param("createdAt"),
                self._get_param("nextToken"),
                self._get_param("maxResults"),
            )
        )

    def describe_service_deployments(self) -> ActionResult:
        return deployment_api(
            lambda: _engine().describe_service_deployments(self._get_param("serviceDeploymentArns") or [])
        )

    def describe_service_revisions(self) -> ActionResult:
        return deployment_api(
            lambda: _engine().describe_service_revisions(self._get_param("serviceRevisionArns") or [])
        )

    def stop_service_deployment(self) -> ActionResult:
        return deployment_api(
            lambda: _engine().stop_service_deployment(
                self._get_param("serviceDeploymentArn") or "", self._get_param("stopType")
            )
        )

    replace(ECS, "list_service_deployments", list_service_deployments)
    replace(ECS, "describe_service_deployments", describe_service_deployments)
    replace(ECS, "describe_service_revisions", describe_service_revisions)
    replace(ECS, "stop_service_deployment", stop_service_deployment)
    replace(ECS, "run_task", run_task)
    replace(ECS, "create_service", create_service)
    replace(ECS, "update_service", update_service)
    replace(ECS, "list_tasks", list_tasks)
    replace(ECS, "stop_task", stop_task)

    original_health_for = FakeTargetGroup.health_for

    def health_for(self, target: dict[str, Any], ec2_backend) -> Any:
        health = _engine().target_health(self.arn, target["Id"], target.get("Port"))
        if health is None:
            return original_health_for(self, target, ec2_backend)
        port = target.get("Port") or self.targets.get(target["Id"], {}).get("Port") or self.port
        return FakeHealthStatus(
            target["Id"], port, self.health_check_port, health.state, health.reason, health.description
        )

    replace(FakeTargetGroup, "health_for", health_for)

    from moto.acm.models import AWSCertificateManagerBackend as ACM

    original_token_arn = ACM._get_arn_from_idempotency_token

    def token_arn(self, token: str) -> str | None:
        arn = original_token_arn(self, token)
        if arn is not None and arn not in self._certificates:  # deleted since: the token names nothing any more
            self._idempotency_tokens.pop(token, None)
            return None
        return arn

    replace(ACM, "_get_arn_from_idempotency_token", token_arn)
