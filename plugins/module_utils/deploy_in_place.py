# Copyright: Shipyard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Whether a service already runs what a deploy would roll out: ``shipyard.fargate.service_deploy_info``'s
``in_place``, the decision that lets ``playbooks/deploy.yml`` leave an unchanged service after its look-up.

Pure functions, no AWS calls. ``wanted`` is what the service role's pre-flight settled from the options
(``roles/service/tasks/validate.yml``): the task definition as ``shipyard.fargate.ecs_task_definition`` options,
the parts that only the look-up knows left null; ``found`` is one service's look-up (``service_deploy_info``'s
fields). The parts are filled in the way the roles publish them for the service role:

- the container image: the repository's URI and the digest the registry holds for the tag
  (the image role's ``image_reference``);
- ``execution_role_arn`` and ``task_role_arn``: the ARNs of the roles named ``execution_role`` and ``task_role``
  (the iam role's ``iam_ecs_roles``);
- each secret's ``valueFrom``: ``<secret ARN>:<name>::`` (the secrets role's ``secrets_value_from``);
- the ``awslogs-region`` left null: the region of the log group's ARN (the service role's ``_service_log_region``).

Then the comparison is ``task_definition.changes``, the one the service role's own decision makes.
"""

import copy

from ansible_collections.shipyard.fargate.plugins.module_utils import task_definition


def _container_filled(container, image, secret_arn, log_region):
    container = copy.deepcopy(container)
    container["image"] = image
    for secret in container.get("secrets") or []:
        if secret.get("valueFrom") is None:
            secret["valueFrom"] = f"{secret_arn}:{secret['name']}::"
    options = (container.get("logConfiguration") or {}).get("options")
    if options is not None and options.get("awslogs-region") is None:
        options["awslogs-region"] = log_region
    return container


def filled(wanted, found):
    """``wanted["task_definition"]`` with what the look-up knows filled in (see the module's docstring)."""
    roles = found.get("roles") or {}
    digest = (found.get("image") or {}).get("digest")
    image = f"{found['repository']['repositoryUri']}@{digest}"
    secret_arn = (found.get("secret") or {}).get("arn")
    log_arn = (found.get("log_group") or {}).get("arn") or ""
    log_region = log_arn.split(":")[3] if log_arn.count(":") >= 3 else None
    options = dict(wanted["task_definition"])
    options["execution_role_arn"] = (roles.get(wanted["execution_role"]) or {}).get("arn")
    options["task_role_arn"] = (roles.get(wanted["task_role"]) or {}).get("arn")
    options["containers"] = [
        _container_filled(c, image, secret_arn, log_region) for c in options.get("containers") or []
    ]
    return options


def _missing(wanted, found):
    """What the service's deploy needs that the look-up did not find (the first, as a reason), or None."""
    repository = found.get("repository") or {}
    image = found.get("image") or {}
    if not repository.get("exists"):
        return "its repository does not exist"
    if not image.get("exists"):
        return f"the image tag {image.get('tag')} is not in the registry"
    for name in (wanted["execution_role"], wanted["task_role"]):
        if not (found.get("roles") or {}).get(name, {}).get("exists"):
            return f"the IAM role {name} does not exist"
    if "secret" in found and not found["secret"].get("exists"):
        return "its secret does not exist"
    log_group = found.get("log_group") or {}
    if not log_group.get("exists"):
        return "its log group does not exist"
    if log_group.get("retention_in_days") != wanted.get("log_retention_days"):
        return "its log group's retention differs"
    return None


def decide(wanted, found):
    """``{"in_place": bool, "reason": str}``: whether ``found`` runs what ``wanted`` describes, steady, at the count
    it keeps, no secret changed since its tasks started, nothing to tag - so a deploy has nothing to do.
    ``reason`` says why not (or, in place, what runs); in place, ``image`` is the image reference it runs."""

    def no(reason):
        return {"in_place": False, "reason": reason}

    service = found.get("service")
    if not service:
        return no("no service")
    if wanted.get("release_tag"):
        return no(f"the release tag {wanted['release_tag']} is to be given")
    missing = _missing(wanted, found)
    if missing:
        return no(missing)
    if not found.get("steady"):
        return no(f"not steady: {found.get('steady_reason')}")
    if (found.get("secret_rotation") or {}).get("roll"):
        return no("a secret changed since its tasks started")
    if not service.get("desiredCount") and wanted.get("first_desired_count"):
        return no("at 0 tasks: its first deploy")
    try:
        options = filled(wanted, found)
        differs = task_definition.changes(found.get("task_definition"), options)
    except (ValueError, TypeError) as e:
        return no(f"the task definition cannot be compared: {e}")
    if differs:
        fields = sorted(set(differs.get("after") or {}) | set(differs.get("before") or {}))
        return no(f"its task definition differs ({', '.join(fields)})")
    image = options["containers"][0]["image"] if options.get("containers") else None
    return {"in_place": True, "reason": f"runs {service.get('taskDefinition')}, steady", "image": image}
