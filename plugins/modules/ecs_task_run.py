#!/usr/bin/python

# Copyright: Shipyard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: ecs_task_run
short_description: Run a one-off ECS task (a migration, a release command), wait for it, succeed only on exit code 0
version_added: 0.2.0
description:
  - Runs one standalone task (C(RunTask)) from a task definition, with a command override in one container, in the
    network configuration you give (the service's subnets and security groups), waits until it stopped and judges
    the container's exit code. B(Success) is exit code C(0) and nothing else.
  - B(Failure) says why in its message - the exit code, the task's C(stopCode) and C(stoppedReason), each
    container's exit code and reason, and the container's last log lines from CloudWatch Logs (found through the
    task definition's C(awslogs) options). A task that never started (C(CannotPullContainerError),
    C(ResourceInitializationError) for secrets, ...) fails with that reason. When O(timeout) passes, the task is
    stopped (C(StopTask)) and the failure says so.
  - While waiting, the play's output shows one progress line per change of the task's C(lastStatus), with the
    task, its task definition, the container and the seconds waited. It is printed by the action plugin on the
    controller, line by line, so AWX and CI logs show it as it happens.
  - Polls C(DescribeTasks) every 2 s for the first 10 s and after each change, then up to every 4 s, with
    jittered exponential backoff when AWS throttles (the polling policy of M(shipyard.fargate.ecs_rollout)).
  - Check mode describes the task definition (so a wrong O(container) fails there too), runs nothing and reports
    C(changed=true) with what would run.
  - Runs as an action plugin on the controller that calls this module once per AWS step, so credentials,
    regions, endpoints and C(module_defaults) (group C(shipyard.fargate.aws)) work as for any AWS module.
options:
  cluster:
    description: Name or ARN of the ECS cluster to run the task in.
    type: str
    required: true
  task_definition:
    description:
      - The task definition to run, as an ARN or C(family:revision) (a bare family means its latest ACTIVE
        revision). For a release, the B(new) revision, before the service runs it.
    type: str
    required: true
  container:
    description:
      - The container that runs O(command) and whose exit code decides. Default - the task definition's only
        essential container; with several essential containers, set it.
    type: str
  command:
    description:
      - The command to run instead of the container's own (C(containerOverrides[].command)), as a list, for
        example C(["npm", "run", "migrate"]). Unset runs the container's own command.
    type: list
    elements: str
  environment:
    description:
      - Variables added to (or replacing) the container's environment for this task only. Values are plain text
        in the task; keep secrets in the task definition's C(secrets). Values are never printed by this module.
    type: dict
  subnets:
    description:
      - Subnet IDs of the task's network interface (C(awsvpc) task definitions need at least one, as Fargate
        does). Use the service's.
    type: list
    elements: str
  security_groups:
    description: Security group IDs of the task's network interface. Use the service's.
    type: list
    elements: str
  assign_public_ip:
    description: Give the task's network interface a public IP (needed in a public subnet without a NAT gateway).
    type: bool
    default: false
  launch_type:
    description: The launch type. Exclusive with O(capacity_provider_strategy); with neither, C(FARGATE).
    type: str
    choices: [FARGATE]
  capacity_provider_strategy:
    description: Run through capacity providers (C(FARGATE), C(FARGATE_SPOT)) instead of O(launch_type).
    type: list
    elements: dict
    suboptions:
      capacity_provider:
        description: C(FARGATE) or C(FARGATE_SPOT).
        type: str
        required: true
        choices: [FARGATE, FARGATE_SPOT]
      weight:
        description: Relative share of tasks.
        type: int
        default: 1
      base:
        description: Tasks placed on this provider first.
        type: int
        default: 0
  platform_version:
    description: The Fargate platform version (default C(LATEST), as ECS chooses).
    type: str
  started_by:
    description:
      - C(startedBy) of the task (up to 128 letters, digits, hyphens, slashes and underscores); find the task
        with C(ListTasks startedBy=...).
    type: str
    default: shipyard
  wait:
    description: Wait for the task to stop and judge its exit code. V(false) only starts it (RV(task_arn)).
    type: bool
    default: true
  timeout:
    description: Seconds to wait for the task to stop; then it is stopped (C(StopTask)) and the task fails.
    type: int
    default: 600
  log_lines:
    description: How many of the container's last log lines to return and to put in a failure message (V(0) reads none).
    type: int
    default: 20
  _step:
    description: Internal - the action plugin's step. A task that sets an option starting with C(_) is refused.
    type: str
    choices: [start, observe, stop, logs]
    default: start
  _task_arn:
    description: Internal - the task of the V(observe) and V(stop) steps.
    type: str
  _reason:
    description: Internal - the V(stop) step's reason.
    type: str
  _log_group:
    description: Internal - the V(logs) step's log group.
    type: str
  _log_stream:
    description: Internal - the V(logs) step's log stream.
    type: str
attributes:
  action:
    description: Runs as an action plugin on the controller, which calls the module for each AWS step.
    support: full
  async:
    description: The wait is driven by the action plugin; async is not supported.
    support: none
  check_mode:
    description: Describes the task definition and reports what would run; runs nothing.
    support: full
  diff_mode:
    description: Nothing to compare - a one-off task is not a resource with a state.
    support: none
  platform:
    description: Talks to the AWS APIs from where the task runs.
    support: full
    platforms: all
notes:
  - The AWS calls it makes, all counted in RV(api_calls) - DescribeTaskDefinition and RunTask to start;
    DescribeTasks each poll; StopTask on timeout; GetLogEvents once for the log lines.
  - A task that runs always reports C(changed=true), success or failure.
seealso:
  - module: shipyard.fargate.ecs_rollout
  - module: shipyard.fargate.ecs_task_definition
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
author:
  - Shipyard maintainers (@shipyard)
"""

EXAMPLES = r"""
- name: Migrate the database with the new revision before the service runs it
  shipyard.fargate.ecs_task_run:
    cluster: shop
    task_definition: "{{ task_definition.arn }}"
    command: ["npm", "run", "migrate"]
    subnets: "{{ service_subnets }}"
    security_groups: "{{ service_security_groups }}"
    timeout: 300
  register: migration

- name: Show what the migration printed
  ansible.builtin.debug:
    msg: "{{ migration.log_lines }}"

- name: Run a one-off script in the worker container of a two-container task, through Fargate Spot
  shipyard.fargate.ecs_task_run:
    cluster: shop
    task_definition: shop-web:12
    container: worker
    command: ["node", "scripts/reindex.js"]
    environment:
      REINDEX_BATCH: "500"
    subnets: [subnet-0abc]
    capacity_provider_strategy:
      - capacity_provider: FARGATE_SPOT
"""

RETURN = r"""
task_arn:
  description: The task that ran (null in check mode).
  returned: always
  type: str
  sample: arn:aws:ecs:us-east-1:123456789012:task/shop/0f4c1a2b3c4d5e6f7a8b9c0d1e2f3a4b
task_definition_arn:
  description: The task definition the task ran.
  returned: always
  type: str
container:
  description: The container that ran the command and whose exit code decides.
  returned: always
  type: str
  sample: app
exit_code:
  description: The container's exit code (null when it never ran, or when not waited for).
  returned: always
  type: int
  sample: 0
stop_code:
  description: The task's C(stopCode) (C(EssentialContainerExited), C(TaskFailedToStart), C(UserInitiated), ...).
  returned: always
  type: str
  sample: EssentialContainerExited
stopped_reason:
  description: The task's C(stoppedReason).
  returned: always
  type: str
  sample: Essential container in task exited
last_status:
  description: The task's last status seen (C(STOPPED) once waited for).
  returned: always
  type: str
duration:
  description:
    - Seconds the module took, from describing the task definition and RunTask until the task was seen stopped (or
      stopped after the timeout) and its log lines were read.
  returned: always
  type: float
log_lines:
  description: The container's last O(log_lines) log lines from CloudWatch Logs, oldest first.
  returned: always
  type: list
  elements: str
  sample: ["> migrate", "Batch 3 run: 1 migrations"]
log_group:
  description: The container's CloudWatch Logs group (null when it does not log with C(awslogs) and a stream prefix).
  returned: always
  type: str
log_stream:
  description: The container's log stream (C(<prefix>/<container>/<task id>)).
  returned: always
  type: str
timed_out:
  description: Whether the timeout passed and the task was stopped.
  returned: always
  type: bool
api_calls:
  description: AWS API calls made.
  returned: always
  type: int
api_retries:
  description:
    - Attempts made again within RV(api_calls) - AWS throttled a call, failed it (HTTP 5xx) or did not answer, and
      it was retried with backoff (botocore's retries and the collection's own).
  returned: always
  type: int
  sample: 0
msg:
  description: The verdict in words; on failure the exit code, the stopped reason and the last log lines.
  returned: always
  type: str
"""

import re

try:
    import botocore
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.shipyard.fargate.plugins.module_utils.rollout.payloads import log_target, task_definition_label
from ansible_collections.shipyard.fargate.plugins.module_utils.step_calls import THROTTLING, StepCalls

STEPS = ("start", "observe", "stop", "logs")
_STARTED_BY = re.compile(r"^[A-Za-z0-9_/-]{1,128}$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def validate(params):
    """Bad input, before any AWS call; each message names its option. Pure."""
    errors = []
    for name in ("cluster", "task_definition"):
        if not (params.get(name) or "").strip():
            errors.append(f"{name} must not be empty")
    if params.get("container") is not None and not params["container"].strip():
        errors.append("container must not be empty (leave it unset for the only essential container)")
    command = params.get("command")
    if command is not None and (not command or any(not isinstance(arg, str) for arg in command)):
        errors.append("command must be a non-empty list of strings, such as ['npm', 'run', 'migrate']")
    for key in params.get("environment") or {}:
        if not _ENV_NAME.match(str(key)):
            errors.append(
                f"environment: {key!r} is not a variable name (letters, digits, _; not starting with a digit)"
            )
    for key, value in (params.get("environment") or {}).items():
        if isinstance(value, (dict, list)):
            errors.append(f"environment: the value of {key} must be a string, number or boolean")
    if params.get("launch_type") and params.get("capacity_provider_strategy"):
        errors.append("launch_type and capacity_provider_strategy are exclusive: give one")
    if not _STARTED_BY.match(params.get("started_by") or ""):
        errors.append(
            "started_by must be 1 to 128 letters, digits, hyphens, slashes or underscores, "
            f"got {params.get('started_by')!r}"
        )
    for name in ("timeout", "log_lines"):
        if params.get(name) is not None and params[name] < 0:
            errors.append(f"{name} must be 0 or more, got {params[name]}")
    if params.get("timeout") == 0 and params.get("wait", True):
        errors.append("timeout must be above 0 when wait is true")
    for name in ("subnets", "security_groups"):
        if any(not (item or "").strip() for item in params.get(name) or ()):
            errors.append(f"{name} must not hold an empty ID")
    return errors


def choose_container(definition, wanted):
    """``(name, None)`` or ``(None, error naming the option)``: O(container), or the only essential one. Pure."""
    definition = definition.get("taskDefinition", definition)
    label = task_definition_label(definition.get("taskDefinitionArn"))
    containers = definition.get("containerDefinitions") or []
    names = [c.get("name") for c in containers]
    if wanted:
        if wanted in names:
            return wanted, None
        return None, f"container {wanted!r} is not in task definition {label} (its containers: {', '.join(names)})"
    essential = [c.get("name") for c in containers if c.get("essential", True)]
    if len(essential) == 1:
        return essential[0], None
    return None, (
        f"container: task definition {label} has {len(essential)} essential containers ({', '.join(essential)}); "
        "set container to the one that runs the command"
    )


def run_task_request(params, definition, container):
    """RunTask's arguments (boto3 names). Pure. Environment values become strings (booleans as true/false)."""
    override = {"name": container}
    if params.get("command"):
        override["command"] = list(params["command"])
    if params.get("environment"):
        override["environment"] = [
            {"name": str(key), "value": _env_value(value)} for key, value in sorted(params["environment"].items())
        ]
    request = {
        "cluster": params["cluster"],
        "taskDefinition": definition["taskDefinitionArn"],
        "startedBy": params.get("started_by") or "shipyard",
        "overrides": {"containerOverrides": [override]},
        "count": 1,
    }
    if params.get("capacity_provider_strategy"):
        request["capacityProviderStrategy"] = [
            {
                "capacityProvider": item["capacity_provider"],
                "weight": item.get("weight", 1),
                "base": item.get("base", 0),
            }
            for item in params["capacity_provider_strategy"]
        ]
    else:
        request["launchType"] = params.get("launch_type") or "FARGATE"
    if params.get("platform_version"):
        request["platformVersion"] = params["platform_version"]
    if params.get("subnets"):
        vpc = {
            "subnets": list(params["subnets"]),
            "assignPublicIp": "ENABLED" if params.get("assign_public_ip") else "DISABLED",
        }
        if params.get("security_groups"):
            vpc["securityGroups"] = list(params["security_groups"])
        request["networkConfiguration"] = {"awsvpcConfiguration": vpc}
    return request


def _env_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def describe_command(params, definition, container):
    """``npm run migrate in container app of web:7 on cluster shop`` (no environment values). Pure."""
    what = " ".join(params["command"]) if params.get("command") else "its own command"
    text = f"{what} in container {container} of {task_definition_label(definition['taskDefinitionArn'])}"
    text += f" on cluster {params['cluster']}"
    if params.get("environment"):
        text += f" (environment: {', '.join(sorted(str(k) for k in params['environment']))})"
    return text


def step_start(module, call):
    params = module.params
    try:
        definition = call("describe_task_definition", taskDefinition=params["task_definition"])["taskDefinition"]
    except is_boto3_error_code("ClientException"):
        module.fail_json(
            msg=f"task_definition {params['task_definition']!r} does not exist (DescribeTaskDefinition)",
            api_calls=call.count,
            api_retries=call.retries,
        )
    container, error = choose_container(definition, params["container"])
    if error:
        module.fail_json(msg=error, api_calls=call.count, api_retries=call.retries)
    if definition.get("networkMode") == "awsvpc" and not params["subnets"]:
        module.fail_json(
            msg=f"subnets: task definition {task_definition_label(definition['taskDefinitionArn'])} uses awsvpc "
            "networking; give the subnets (and security_groups) the task runs in, the service's",
            api_calls=call.count,
            api_retries=call.retries,
        )
    where = log_target(definition, container, "")
    base = {
        "task_definition_arn": definition["taskDefinitionArn"],
        "container": container,
        "log_group": where[0] if where else None,
        "log_prefix": where[1].rsplit("/", 1)[0] if where else None,
        "description": describe_command(params, definition, container),
    }
    if module.check_mode:
        module.exit_json(changed=True, task=None, api_calls=call.count, api_retries=call.retries, **base)
    request = run_task_request(params, definition, container)
    try:
        response = call("run_task", **request)
    except is_boto3_error_code(["ClientException", "InvalidParameterException", "ClusterNotFoundException"]) as e:
        detail = e.response.get("Error", {}).get("Message", "")
        module.fail_json(
            msg=f"RunTask refused {base['description']}: {detail}",
            api_calls=call.count,
            api_retries=call.retries,
        )
    tasks = response.get("tasks") or []
    if not tasks:
        failures = "; ".join(
            f"{f.get('reason')}{': ' + f['detail'] if f.get('detail') else ''}" for f in response.get("failures") or []
        )
        module.fail_json(
            msg=f"RunTask started no task: {failures or 'no reason given'}",
            api_calls=call.count,
            api_retries=call.retries,
        )
    module.exit_json(changed=True, task=tasks[0], api_calls=call.count, api_retries=call.retries, **base)


def step_observe(module, call):
    """One poll: DescribeTasks of the task (``throttled`` when AWS throttled it; the plugin backs off)."""
    params = module.params
    try:
        response = call("describe_tasks", cluster=params["cluster"], tasks=[params["_task_arn"]])
    except is_boto3_error_code(THROTTLING):
        module.exit_json(
            changed=False,
            task=None,
            failures=[],
            throttled=True,
            api_calls=call.count,
            api_retries=call.retries,
        )
    module.exit_json(
        changed=False,
        task=(response.get("tasks") or [None])[0],
        failures=response.get("failures") or [],
        throttled=False,
        api_calls=call.count,
        api_retries=call.retries,
    )


def step_stop(module, call):
    params = module.params
    try:
        task = call("stop_task", cluster=params["cluster"], task=params["_task_arn"], reason=params["_reason"])["task"]
    except is_boto3_error_code(["InvalidParameterException", "ClientException"]) as e:
        detail = e.response.get("Error", {}).get("Message", "")
        module.exit_json(
            changed=False,
            task=None,
            note=f"StopTask: {detail}",
            api_calls=call.count,
            api_retries=call.retries,
        )
    module.exit_json(changed=True, task=task, api_calls=call.count, api_retries=call.retries)


def step_logs(module, call):
    params = module.params
    group, stream = params["_log_group"], params["_log_stream"]
    if not group or not stream or params["log_lines"] == 0:
        module.exit_json(changed=False, events=[], api_calls=0)
    try:
        response = call(
            "get_log_events", api="logs", logGroupName=group, logStreamName=stream, limit=params["log_lines"],
            startFromHead=False,
        )  # fmt: skip
        events, note = response.get("events") or [], None
    except is_boto3_error_code("ResourceNotFoundException"):
        events, note = [], f"log stream {group}/{stream} does not exist (the container may not have started)"
    module.exit_json(
        changed=False,
        events=events,
        note=note,
        api_calls=call.count,
        api_retries=call.retries,
    )


HANDLERS = {"start": step_start, "observe": step_observe, "stop": step_stop, "logs": step_logs}


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            cluster=dict(type="str", required=True),
            task_definition=dict(type="str", required=True),
            container=dict(type="str"),
            command=dict(type="list", elements="str"),
            environment=dict(type="dict"),
            subnets=dict(type="list", elements="str"),
            security_groups=dict(type="list", elements="str"),
            assign_public_ip=dict(type="bool", default=False),
            launch_type=dict(type="str", choices=["FARGATE"]),
            capacity_provider_strategy=dict(
                type="list",
                elements="dict",
                options=dict(
                    capacity_provider=dict(type="str", required=True, choices=["FARGATE", "FARGATE_SPOT"]),
                    weight=dict(type="int", default=1),
                    base=dict(type="int", default=0),
                ),
            ),
            platform_version=dict(type="str"),
            started_by=dict(type="str", default="shipyard"),
            wait=dict(type="bool", default=True),
            timeout=dict(type="int", default=600),
            log_lines=dict(type="int", default=20),
            # The action plugin's private protocol (not options: the plugin refuses them in a task).
            _step=dict(type="str", choices=list(STEPS), default="start"),
            _task_arn=dict(type="str"),
            _reason=dict(type="str"),
            _log_group=dict(type="str"),
            _log_stream=dict(type="str"),
        ),
        mutually_exclusive=[("launch_type", "capacity_provider_strategy")],
        supports_check_mode=True,
    )
    errors = validate(module.params)
    if errors:
        module.fail_json(msg="; ".join(errors))
    step = module.params["_step"]
    if step != "start" and not module.params["_task_arn"] and step != "logs":
        module.fail_json(msg=f"ecs_task_run step {step} needs the task's ARN")
    call = StepCalls(module, retry=step != "observe")
    try:
        HANDLERS[step](module, call)
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        module.fail_json_aws(
            e,
            msg=f"ecs_task_run step {step} on cluster {module.params['cluster']!r}",
            api_calls=call.count,
            api_retries=call.retries,
        )


if __name__ == "__main__":
    main()
