# Copyright: Shipyard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""ECS task definitions as ECS describes them and as a playbook asks for them: normalization, comparison, diff.

Pure functions, no AWS calls (and no boto3): the module ``shipyard.fargate.ecs_task_definition`` describes,
these functions decide, the module acts. Everything is in AWS's camelCase (RegisterTaskDefinition's shape).

``normalize()`` turns a definition (a RegisterTaskDefinition request or a DescribeTaskDefinition answer) into a
canonical form in which two definitions ECS treats the same compare equal:

- what ECS adds on register is dropped: ``taskDefinitionArn``, ``revision``, ``status``, ``requiresAttributes``,
  ``compatibilities``, ``registeredAt``/``registeredBy``, ``deregisteredAt`` (and ``tags``, compared separately);
- what ECS fills in is filled in on both sides: ``essential: true``, port mapping ``protocol: tcp`` and
  ``hostPort`` (= ``containerPort`` with awsvpc/host networking), container ``cpu: 0``, health check
  interval/timeout/retries, the runtime platform (LINUX, X86_64);
- what ECS reorders or stores as text is sorted and typed: environment, secrets, ulimits, mount points, port
  mappings and containers by name; task ``cpu``/``memory`` as a string of units (``512``, ``"512"`` and
  ``"0.5 vCPU"`` are the same); integers given as strings are integers;
- empty lists and maps are the same as missing ones (``mountPoints: []``, ``volumesFrom: []``...), and so are
  boolean flags that default to false (``readonlyRootFilesystem: false``...).

``compare()`` then also ignores a log option ECS fills in by itself (``mode``) when the desired definition does
not set it.
"""

from ansible.module_utils.parsing.convert_bool import BOOLEANS_FALSE, BOOLEANS_TRUE

# RegisterTaskDefinition parameters (the ones a definition is compared on).
TASK_KEYS = (
    "family",
    "taskRoleArn",
    "executionRoleArn",
    "networkMode",
    "containerDefinitions",
    "volumes",
    "placementConstraints",
    "requiresCompatibilities",
    "cpu",
    "memory",
    "pidMode",
    "ipcMode",
    "proxyConfiguration",
    "inferenceAccelerators",
    "ephemeralStorage",
    "runtimePlatform",
    "enableFaultInjection",
)

# What DescribeTaskDefinition adds to what was registered; never part of a comparison.
READ_ONLY_KEYS = (
    "taskDefinitionArn",
    "revision",
    "status",
    "requiresAttributes",
    "compatibilities",
    "registeredAt",
    "registeredBy",
    "deregisteredAt",
    "deleteRequestedAt",
    "tags",
)

# Keys, at any depth of a container definition or volume, whose value is an integer.
_INT_KEYS = frozenset(
    (
        "containerPort",
        "hostPort",
        "cpu",
        "memory",
        "memoryReservation",
        "softLimit",
        "hardLimit",
        "interval",
        "timeout",
        "retries",
        "startPeriod",
        "startTimeout",
        "stopTimeout",
        "sizeInGiB",
        "sharedMemorySize",
        "maxSwap",
        "swappiness",
        "restartAttemptPeriod",
        "transitEncryptionPort",
    )
)

# Keys whose value is a boolean.
_BOOL_KEYS = frozenset(
    (
        "essential",
        "readonlyRootFilesystem",
        "privileged",
        "disableNetworking",
        "interactive",
        "pseudoTerminal",
        "readOnly",
        "initProcessEnabled",
        "enabled",
        "autoprovision",
        "enableFaultInjection",
    )
)

# Container flags ECS treats as false when they are missing.
_FALSE_BY_DEFAULT = ("readonlyRootFilesystem", "privileged", "disableNetworking", "interactive", "pseudoTerminal")

# Health check settings ECS fills in when they are missing.
HEALTH_CHECK_DEFAULTS = {"interval": 30, "timeout": 5, "retries": 3}

# The runtime platform ECS assumes when a definition names none.
RUNTIME_PLATFORM_DEFAULTS = {"cpuArchitecture": "X86_64", "operatingSystemFamily": "LINUX"}

# Log driver options ECS may fill in on its own (account setting defaultLogDriverMode); compared only when the
# desired definition sets them.
FILLED_LOG_OPTIONS = ("mode",)

# Fargate task sizes: CPU units -> the memory sizes (MiB) Fargate offers with them. The only copy: the service
# role's rule (module_utils/validation/service.py, filter service_option_errors) reads this table too.
FARGATE_MEMORY = {
    "256": (512, 1024, 2048),
    "512": tuple(range(1024, 4096 + 1, 1024)),
    "1024": tuple(range(2048, 8192 + 1, 1024)),
    "2048": tuple(range(4096, 16384 + 1, 1024)),
    "4096": tuple(range(8192, 30720 + 1, 1024)),
    "8192": tuple(range(16384, 61440 + 1, 4096)),
    "16384": tuple(range(32768, 122880 + 1, 8192)),
}


class TaskDefinitionError(ValueError):
    """A value that cannot be part of a task definition (the message names it)."""


# --- types: what a playbook may give as text, as ECS takes it ------------------------------------------------


def _to_int(key, value):
    if isinstance(value, bool):
        raise TaskDefinitionError(f"{key} must be an integer, got {value!r}")
    if isinstance(value, int):
        return value
    try:
        return int(str(value).strip())
    except ValueError:
        raise TaskDefinitionError(f"{key} must be an integer, got {value!r}") from None


def _to_bool(key, value):
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in BOOLEANS_TRUE:
        return True
    if text in BOOLEANS_FALSE:
        return False
    raise TaskDefinitionError(f"{key} must be a boolean, got {value!r}")


def _to_text(value):
    """An environment value, docker label or log option as ECS stores it (a string; booleans lowercase)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    return str(value)


def _typed(value, key=None):
    """``value`` with integers and booleans given as text turned into int and bool (recursively)."""
    if isinstance(value, dict):
        typed = {}
        for k, v in value.items():
            if v is None:
                continue
            if k in ("environment",) and isinstance(v, list):
                typed[k] = [{**item, "value": _to_text(item.get("value"))} for item in v]
            elif k in ("dockerLabels", "options") and isinstance(v, dict):
                typed[k] = {name: _to_text(text) for name, text in v.items()}
            else:
                typed[k] = _typed(v, k)
        return typed
    if isinstance(value, list):
        return [_typed(item, key) for item in value]
    if key in _INT_KEYS and value is not None:
        return _to_int(key, value)
    if key in _BOOL_KEYS and value is not None:
        return _to_bool(key, value)
    return value


def units(value, kind):
    """Task ``cpu`` (``kind="cpu"``) or ``memory`` as the string of units ECS stores, or None.

    ``512``, ``"512"``, ``"0.5 vCPU"`` are CPU ``"512"``; ``2048``, ``"2048"``, ``"2 GB"`` are memory ``"2048"``.
    """
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise TaskDefinitionError(f"{kind} must be a number of units, got {value!r}")
    text = str(value).strip()
    suffix = "vcpu" if kind == "cpu" else "gb"
    factor = 1024
    lowered = text.lower()
    if lowered.endswith(suffix):
        number = lowered[: -len(suffix)].strip()
        try:
            amount = float(number) * factor
        except ValueError:
            raise TaskDefinitionError(f"{kind} {value!r} is not a number of units") from None
        if amount != int(amount):
            raise TaskDefinitionError(f"{kind} {value!r} is not a whole number of units")
        return str(int(amount))
    try:
        return str(int(text))
    except ValueError:
        raise TaskDefinitionError(f"{kind} {value!r} is not a number of units (e.g. 512, '512', '0.5 vCPU')") from None


# --- normalization -------------------------------------------------------------------------------------------


def _prune(value):
    """``value`` without None, empty lists and empty maps (at any depth): ECS treats missing and empty alike."""
    if isinstance(value, dict):
        pruned = {}
        for k, v in value.items():
            v = _prune(v)
            if v is None or v == [] or v == {}:
                continue
            pruned[k] = v
        return pruned
    if isinstance(value, list):
        return [_prune(item) for item in value]
    return value


def _by(*keys):
    def key(item):
        return tuple(str(item.get(k, "")) for k in keys)

    return key


def _port_mapping(mapping, network_mode):
    mapping = dict(mapping)
    mapping["protocol"] = str(mapping.get("protocol") or "tcp").lower()
    if "containerPort" in mapping and "hostPort" not in mapping:
        mapping["hostPort"] = mapping["containerPort"] if network_mode in ("awsvpc", "host") else 0
    return mapping


def _container(container, network_mode):
    c = dict(container)
    c["essential"] = c.get("essential", True)
    if c.get("cpu") == 0:
        del c["cpu"]
    for flag in _FALSE_BY_DEFAULT:
        if c.get(flag) is False:
            del c[flag]
    if c.get("versionConsistency") == "enabled":
        del c["versionConsistency"]
    if c.get("portMappings"):
        c["portMappings"] = sorted(
            (_port_mapping(m, network_mode) for m in c["portMappings"]),
            key=_by("containerPort", "protocol", "containerPortRange", "name"),
        )
    for key in ("environment", "secrets", "ulimits", "systemControls"):
        if c.get(key):
            c[key] = sorted(c[key], key=_by("name", "namespace"))
    if c.get("mountPoints"):
        c["mountPoints"] = sorted(
            ({k: v for k, v in m.items() if not (k == "readOnly" and v is False)} for m in c["mountPoints"]),
            key=_by("sourceVolume", "containerPath"),
        )
    if c.get("volumesFrom"):
        c["volumesFrom"] = sorted(
            ({k: v for k, v in m.items() if not (k == "readOnly" and v is False)} for m in c["volumesFrom"]),
            key=_by("sourceContainer"),
        )
    if c.get("dependsOn"):
        c["dependsOn"] = sorted(c["dependsOn"], key=_by("containerName"))
    if c.get("healthCheck"):
        c["healthCheck"] = {**HEALTH_CHECK_DEFAULTS, **c["healthCheck"]}
        if c["healthCheck"].get("startPeriod") == 0:
            del c["healthCheck"]["startPeriod"]
    if c.get("logConfiguration") and c["logConfiguration"].get("secretOptions"):
        c["logConfiguration"] = dict(c["logConfiguration"])
        c["logConfiguration"]["secretOptions"] = sorted(c["logConfiguration"]["secretOptions"], key=_by("name"))
    return c


def normalize(definition):
    """The canonical form of a task definition (request or description): equal when ECS treats them the same."""
    if not definition:
        return {}
    size = {key: units(definition.get(key), key) for key in ("cpu", "memory")}
    d = _typed({k: v for k, v in definition.items() if k in TASK_KEYS and k not in size})
    d.update(size)
    network_mode = d.get("networkMode") or "bridge"
    for key in ("taskRoleArn", "executionRoleArn", "pidMode", "ipcMode"):
        if d.get(key) == "":
            del d[key]
    if d.get("requiresCompatibilities"):
        d["requiresCompatibilities"] = sorted(set(d["requiresCompatibilities"]))
    d["runtimePlatform"] = {**RUNTIME_PLATFORM_DEFAULTS, **_prune(d.get("runtimePlatform") or {})}
    if d.get("volumes"):
        d["volumes"] = sorted(d["volumes"], key=_by("name"))
    if d.get("placementConstraints"):
        d["placementConstraints"] = sorted(d["placementConstraints"], key=_by("type", "expression"))
    d["containerDefinitions"] = sorted(
        (_container(c, network_mode) for c in d.get("containerDefinitions") or []), key=_by("name")
    )
    return _prune(d)


def _drop_filled_log_options(current, desired):
    """``current`` without the log options ECS filled in on its own, for each container ``desired`` has."""
    wanted = {c.get("name"): c for c in desired.get("containerDefinitions") or []}
    containers = []
    for container in current.get("containerDefinitions") or []:
        options = (container.get("logConfiguration") or {}).get("options") or {}
        want_options = ((wanted.get(container.get("name")) or {}).get("logConfiguration") or {}).get("options") or {}
        dropped = [k for k in FILLED_LOG_OPTIONS if k in options and k not in want_options]
        if dropped:
            container = dict(container)
            log = dict(container["logConfiguration"])
            log["options"] = {k: v for k, v in options.items() if k not in dropped}
            container["logConfiguration"] = log
        containers.append(container)
    return _prune({**current, "containerDefinitions": containers})


def compare(current, desired):
    """``(before, after)``: the normalized ``current`` description and ``desired`` request, ready to compare.

    ``before == after`` means no new revision is needed.
    """
    after = normalize(desired)
    before = normalize(current)
    if before:
        before = _drop_filled_log_options(before, after)
    return before, after


def _changed_fields(before, after):
    keys = [k for k in list(before) + [k for k in after if k not in before] if before.get(k) != after.get(k)]
    return {k: before[k] for k in keys if k in before}, {k: after[k] for k in keys if k in after}


def differences(before, after):
    """``{"before": ..., "after": ...}`` restricted to what differs, for ``--diff``.

    Containers are keyed by name, each with only its changed fields (a whole container when it is added or
    removed), so a changed image reads as ``containerDefinitions: {web: {image: ...}}`` on both sides.
    """
    old, new = _changed_fields(
        {k: v for k, v in before.items() if k != "containerDefinitions"},
        {k: v for k, v in after.items() if k != "containerDefinitions"},
    )
    old_containers = {c.get("name"): c for c in before.get("containerDefinitions") or []}
    new_containers = {c.get("name"): c for c in after.get("containerDefinitions") or []}
    old_changed, new_changed = {}, {}
    for name in list(old_containers) + [n for n in new_containers if n not in old_containers]:
        if old_containers.get(name) == new_containers.get(name):
            continue
        if name in old_containers and name in new_containers:
            old_changed[name], new_changed[name] = _changed_fields(old_containers[name], new_containers[name])
        elif name in old_containers:
            old_changed[name] = old_containers[name]
        else:
            new_changed[name] = new_containers[name]
    if old_changed:
        old["containerDefinitions"] = old_changed
    if new_changed:
        new["containerDefinitions"] = new_changed
    return {"before": old, "after": new}


# --- the request ---------------------------------------------------------------------------------------------


def build_request(params):
    """RegisterTaskDefinition keyword arguments (camelCase, typed) for the module's options; no tags."""
    request = {
        "family": params["family"],
        "networkMode": params["network_mode"],
        "requiresCompatibilities": list(params["requires_compatibilities"] or []),
        "containerDefinitions": _typed(list(params["containers"] or [])),
    }
    optional = {
        "taskRoleArn": params.get("task_role_arn") or None,
        "executionRoleArn": params.get("execution_role_arn") or None,
        "cpu": units(params.get("cpu"), "cpu"),
        "memory": units(params.get("memory"), "memory"),
        "pidMode": params.get("pid_mode"),
        "ipcMode": params.get("ipc_mode"),
        "volumes": _typed(params.get("volumes")) or None,
        "placementConstraints": _prune(params.get("placement_constraints") or []) or None,
        "runtimePlatform": _prune(params.get("runtime_platform") or {}) or None,
        "ephemeralStorage": (
            {"sizeInGiB": params["ephemeral_storage"]} if params.get("ephemeral_storage") is not None else None
        ),
    }
    request.update({k: v for k, v in optional.items() if v is not None})
    return request


# The ecs_task_definition options build_request reads, with the module's defaults.
OPTION_DEFAULTS = {
    "network_mode": "awsvpc",
    "requires_compatibilities": ["FARGATE"],
    "containers": [],
}


def changes(current, options):
    """What differs between ``current`` (as DescribeTaskDefinition returns it, or None) and the definition
    ``shipyard.fargate.ecs_task_definition`` would register for ``options`` (its options, its defaults
    filled in): ``{}`` when nothing does, else ``differences()``. Raises ValueError on options it cannot build."""
    if not isinstance(options, dict) or not options.get("family"):
        raise ValueError("options must be a dict of ecs_task_definition options")
    before, after = compare(current or None, build_request({**OPTION_DEFAULTS, **options}))
    if current and before == after:
        return {}
    return differences(before, after)


# --- validation ----------------------------------------------------------------------------------------------


def fargate_size_error(cpu, memory):
    """Why ``cpu``/``memory`` (any form ``units`` takes) is not a Fargate task size, or None when it is one."""
    if cpu is None or memory is None:
        return "cpu and memory are required for Fargate (a task size Fargate offers, e.g. cpu 512 and memory 1024)"
    cpu_units, memory_units = units(cpu, "cpu"), int(units(memory, "memory"))
    if cpu_units not in FARGATE_MEMORY:
        return f"cpu {cpu} is not a Fargate task size: cpu must be one of {', '.join(FARGATE_MEMORY)}"
    if memory_units not in FARGATE_MEMORY[cpu_units]:
        allowed = ", ".join(str(m) for m in FARGATE_MEMORY[cpu_units])
        return (
            f"cpu {cpu} with memory {memory} is not a Fargate task size: "
            f"with cpu {cpu}, memory must be one of {allowed}"
        )
    return None


def _container_errors(index, container, network_mode, container_keys):
    if not isinstance(container, dict):
        return [f"containers[{index}] must be a dict (a container definition in camelCase)"]
    label = f"containers[{index}] ({container['name']})" if container.get("name") else f"containers[{index}]"
    errors = []
    for key in ("name", "image"):
        if not container.get(key):
            errors.append(f"{label} needs {key}")
    if container_keys is not None:
        unknown = sorted(set(container) - set(container_keys))
        if unknown:
            errors.append(
                f"{label} has unknown keys {', '.join(unknown)}: container definitions use RegisterTaskDefinition's "
                "camelCase keys (portMappings, logConfiguration, ...)"
            )
    for item in container.get("environment") or []:
        if not isinstance(item, dict) or not item.get("name"):
            errors.append(f"{label} environment entries need a name (and a value)")
            break
    for item in container.get("secrets") or []:
        if not isinstance(item, dict) or not item.get("name") or not item.get("valueFrom"):
            errors.append(
                f"{label} secrets entries need name and valueFrom (a Secrets Manager or SSM parameter ARN), "
                "never the secret's value"
            )
            break
        if "value" in item:
            errors.append(f"{label} secrets take valueFrom (an ARN), never a value: remove 'value'")
            break
    if network_mode == "awsvpc":
        for mapping in container.get("portMappings") or []:
            host, port = mapping.get("hostPort"), mapping.get("containerPort")
            if host is not None and port is not None and str(host) != str(port):
                errors.append(f"{label} portMappings: with network_mode awsvpc, hostPort must equal containerPort")
                break
    return errors


def validate(params, container_keys=None):
    """Errors in the module's options, each naming the option; empty when all is well.

    ``container_keys``: the keys a container definition may have (from the ECS API model), or None to skip that
    check.
    """
    errors = []
    if params.get("keep_revisions") is not None and params["keep_revisions"] < 1:
        errors.append("keep_revisions must be 1 or more (the newest revision is always kept)")
    if params["state"] != "present":
        return errors
    containers = params.get("containers") or []
    if not containers:
        errors.append("containers must list at least one container definition with state present")
    names = [c.get("name") for c in containers if isinstance(c, dict) and c.get("name")]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        errors.append(f"containers: each name once; repeated: {', '.join(duplicates)}")
    for index, container in enumerate(containers):
        errors.extend(_container_errors(index, container, params["network_mode"], container_keys))
    try:
        for key in ("cpu", "memory"):
            units(params.get(key), key)
        if "FARGATE" in (params.get("requires_compatibilities") or []):
            if params["network_mode"] != "awsvpc":
                errors.append("network_mode must be awsvpc when requires_compatibilities includes FARGATE")
            size_error = fargate_size_error(params.get("cpu"), params.get("memory"))
            if size_error:
                errors.append(size_error)
    except TaskDefinitionError as e:
        errors.append(str(e))
    storage = params.get("ephemeral_storage")
    if storage is not None and not 21 <= storage <= 200:
        errors.append(f"ephemeral_storage must be 21 to 200 GiB, got {storage}")
    if not errors:
        try:
            _typed(containers)
            _typed(params.get("volumes"))
        except TaskDefinitionError as e:
            errors.append(f"containers: {e}")
    return errors


# --- revisions -----------------------------------------------------------------------------------------------


def revision_of(arn):
    """``(family, revision)`` of a task definition ARN (...:task-definition/family:revision)."""
    family, revision = arn.rsplit("/", 1)[-1].rsplit(":", 1)
    return family, int(revision)


def family_arns(arns, family):
    """The ARNs of ``family`` among ``arns`` (ListTaskDefinitions' familyPrefix may match more), newest first."""
    own = [arn for arn in arns if revision_of(arn)[0] == family]
    return sorted(own, key=lambda arn: revision_of(arn)[1], reverse=True)


def beyond_keep(arns, keep, pending_new=False):
    """The ACTIVE revisions to deregister so that only the newest ``keep`` stay, ``pending_new`` counting as one.

    ``arns`` are the family's ACTIVE revisions (any order). The newest existing revision is never returned unless
    a new one is about to be registered.
    """
    if keep is None:
        return []
    newest_first = sorted(arns, key=lambda arn: revision_of(arn)[1], reverse=True)
    kept = max(keep - (1 if pending_new else 0), 0)
    return newest_first[kept:]
