#!/usr/bin/python

# Copyright: Shipyard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: ecs_rollout
short_description: Roll an ECS service out to a task definition and wait for the verdict, failing fast with the reason
version_added: 0.1.0
description:
  - Points an ECS service at a task definition (C(UpdateService)), or watches a deployment someone else started,
    and waits until the rollout succeeded or failed.
  - B(Success) means the new deployment is C(PRIMARY) and C(COMPLETED), its running count equals the desired
    count with nothing pending, and every target of the new tasks is C(healthy) in each target group the service
    uses. Old targets that drain do not hold success back. With a stability window (O(stable_for), on by default)
    success also waits until every new task has stayed C(RUNNING), and healthy in its target groups, that long.
  - B(Failure) is reported as soon as it shows, each with its own reason code and message. The deployment's
    C(rolloutState) is C(FAILED) (V(deployment_failed)); ECS's circuit breaker rolled back
    (V(circuit_breaker_rollback)); new tasks stopped (V(tasks_stopped), with each task's C(stoppedReason),
    C(stopCode) and every container's exit code and reason; O(tolerated_stopped_tasks) sets how many may stop);
    targets stayed unhealthy, with the load balancer's reason (V(targets_unhealthy)); a service event that means
    trouble, such as being unable to place a task or to pull the image or its secrets (V(trouble_event)); another
    deployment replaced ours (V(superseded)); the service was deleted (V(service_missing), V(service_inactive));
    the O(timeout) (V(timeout)).
  - A failure message carries the last lines of the failed container's log from CloudWatch Logs, found through
    the task definition's C(awslogs) options.
  - With O(rollback=true) (the default) a failed rollout points the service back at the task definition it ran
    before and waits for that too, or, when ECS's circuit breaker is already rolling back, waits for ECS's
    rollback. The task still fails (the rollout did not happen); the result reports both.
  - "While waiting, the play's output shows one progress line per change, such as
    C(web: 1/2 new tasks running, 0 failed, targets 1/2 healthy (34s)), and, once every new task is up, the
    stability window (C(web: 2/2 new tasks running, 0 failed, targets 2/2 healthy, stable for 4/10 s (40s))). It is
    printed by the action plugin on the controller, line by line, so AWX and CI logs show it as it happens."
  - Polling adapts - every 1 s during the first 10 s and for 10 s after each change, then slower (up to 2 s) while
    nothing moves, with jittered exponential backoff when AWS throttles, and never more calls than a burst of 15 plus
    45 a minute since the start (any wait of a minute or more stays within 60 calls a minute). The wait starts from
    the service as C(UpdateService) returned it. Tasks are described only when the deployment's own counts moved or a
    service event names a new task; stopped tasks are listed only when a count says one of ours stopped (or, during the
    stability window, a new task it counted is no longer listed as running); target health is read
    only while new targets come up or, when the last reading is older than 5 s, once everything else says success;
    logs are read only for a failure. Every call is counted in RV(api_calls).
  - The decisions are pure functions (C(plugins/module_utils/rollout/)) over the AWS responses.
  - ECS's deployment API (C(ListServiceDeployments), C(DescribeServiceDeployments)) is the authority on the
    deployment's fate where the endpoint has it - its own status (C(SUCCESSFUL), C(ROLLBACK_IN_PROGRESS),
    C(STOPPED), ...) decides, and the rollback is C(StopServiceDeployment) while the deployment is under way;
    where the endpoint answers that it has no such operation (or the policy does not allow it), the deployment's
    C(rolloutState) and the service events decide, and the rollback is C(UpdateService). RV(deployment_source) says
    which. The wait for a rollback reads C(rolloutState) and the events (in the deployment API a rollback is the
    failed deployment's own C(ROLLBACK_*) status, not a deployment of its own).
  - Check mode reports whether the service would be updated and never waits.
  - Runs as an action plugin on the controller that calls this module once per step (start, the wait, logs,
    rollback), so credentials, regions, endpoints and C(module_defaults) (group C(shipyard.fargate.aws)) work as for
    any AWS module. Where the module runs on the controller (connection C(local), as for the collection's AWS
    tasks), the whole wait is one module run, with no module start-up between two polls; its progress lines reach
    the play's output as they happen (through a file the action plugin reads while the module runs). Where it runs
    on another host, each poll is one module run - DescribeServices and, in the same run, the detail calls it
    needs; a run goes on polling while nothing moves and returns at the first poll that does (or decides), and the
    next run starts while the delay before its poll runs (Python's start-up overlaps it).
options:
  cluster:
    description: Name or ARN of the ECS cluster.
    type: str
    required: true
  service:
    description: Name or ARN of the ECS service.
    type: str
    required: true
  task_definition:
    description:
      - The task definition to roll out, as an ARN or C(family:revision) (a bare family means its latest ACTIVE
        revision).
      - When the service's primary deployment already runs it, nothing is updated (C(changed=false)) and the wait
        only confirms that deployment's state.
      - Unset, the module watches the service's current primary deployment (or O(deployment_id)) without
        updating anything.
    type: str
  deployment_id:
    description: Watch this deployment (C(ecs-svc/...)) instead of starting one. Exclusive with O(task_definition).
    type: str
  to_previous:
    description:
      - Roll back by hand - point the service at the newest C(ACTIVE) revision of its family older than the one its
        primary deployment runs, and wait for it like any rollout. Exclusive with O(task_definition) and
        O(deployment_id).
    type: bool
    default: false
  desired_count:
    description: Also set the service's desired count. Unset leaves it.
    type: int
  force_new_deployment:
    description: Start a new deployment even when the task definition is unchanged (new tasks pull the image again).
    type: bool
    default: false
  roll_on_secret_change:
    description:
      - Also start a new deployment (as O(force_new_deployment)) when a Secrets Manager secret the service's task
        definition reads (C(secrets[].valueFrom)) changed after its tasks started - its C(LastChangedDate) later than
        the C(startedAt) of the oldest RUNNING task of the PRIMARY deployment. ECS reads a secret only when a task
        starts, so without a new deployment a rotated value never reaches the running tasks.
      - Looked at only when no new task definition goes out anyway. The reads are DescribeTaskDefinition,
        ListTasks + DescribeTasks and one C(DescribeSecret) per secret; no value is ever read. The decision is
        C(module_utils/secret_rotation.py); RV(secret_rotation) says why, and the rollout is waited for like any
        other. Check mode reports it as a change without starting it.
    type: bool
    default: false
  wait:
    description: Wait for the verdict. V(false) only updates the service.
    type: bool
    default: true
  timeout:
    description: Seconds to wait for the rollout (and as much again for a rollback) before failing with V(timeout).
    type: int
    default: 600
  tolerated_stopped_tasks:
    description:
      - How many new tasks may stop with a failure before the rollout fails. V(0) fails on the first one, which is
        what catches a crash loop within seconds; ECS's own circuit breaker waits for 3 to 200 failures.
    type: int
    default: 0
  unhealthy_grace:
    description:
      - Seconds a target of a running new task may stay C(unhealthy) before the rollout fails (at least the
        service's C(healthCheckGracePeriodSeconds) when that is longer).
    type: int
    default: 60
  stable_for:
    description:
      - The stability window, in seconds. Success only once every new task has stayed C(RUNNING), and C(healthy) in
        each target group of the service (when it has any), this long, counted from the last new task that got
        there. A new task that stops inside the window fails the rollout like any stopped task (V(tasks_stopped),
        with its exit code, reason and log lines, then the rollback); a target that turns unhealthy starts its
        window again.
      - Why a window - ECS marks a deployment C(COMPLETED) once its tasks run (and pass the load balancer's health
        checks); a task that exits a second later is just replaced. A service without a load balancer whose tasks
        crash right after start gets a C(COMPLETED) deployment and restarts its tasks forever, and a wait that
        trusts C(COMPLETED) calls that a success. V(0) turns the window off and trusts it.
      - Why V(10) by default - it catches the crashes that come with start-up (configuration, a database that
        refuses the connection, a port already taken) within a few seconds of C(RUNNING), and costs a healthy
        deploy little. On AWS a service behind a load balancer pays nothing while the window is shorter than the
        target group's deregistration delay (300 s by default), because ECS completes the deployment only after
        the old tasks drained, which starts once the new targets are healthy; a service without one pays up to the
        whole window (its deployment completes as soon as the tasks run). On the local cloud (3-5 s deregistration
        delays) a deploy pays most of it (the benchmark's healthy story, C(bench/README.md), measured 5 s). Raise it
        for failures that show later (a connection timeout), up to the deregistration delay for free.
      - The window counts from the tasks' own C(startedAt) (DescribeTasks, compared with the controller's clock),
        so a wait that attaches to tasks already running for longer (a re-run, O(deployment_id)) does not wait
        again; a task that came up during the wait counts from its C(startedAt) too, but not from before the last
        poll that did not see it running (a controller clock ahead of AWS's shortens the window by one poll at
        most). Target health has no timestamp - a target counts from the reading that first showed it healthy.
      - Must be below O(timeout). It applies to the rollback's wait too.
    type: int
    default: 10
  rollback:
    description:
      - On failure, point the service back at the task definition it ran before (when ECS's circuit breaker is not
        already doing so) and wait for that rollback. The task still fails, and reports the rollback.
      - No rollback for V(superseded), V(service_missing) and V(service_inactive), nor when there is no previous
        task definition.
    type: bool
    default: true
  log_lines:
    description: How many of the failed container's last log lines a failure message carries (V(0) reads none).
    type: int
    default: 20
  success_at:
    description:
      - When the wait calls a healthy rollout a success.
      - V(completed) (the default) - once ECS completed the deployment, its old tasks gone (behind a load balancer,
        after their targets drained, which takes the target group's deregistration delay, 300 s by default on AWS).
      - V(cutover) - as soon as the new deployment serves alone - every new task running and each of its targets
        C(healthy) in each target group of the service, every old target C(draining) (no new request reaches it)
        or gone - reported as C(serving; old tasks draining). The old tasks still drain after the task ended. Without
        a load balancer there is no cutover to see - the same as V(completed).
      - The stability window (O(stable_for)) applies either way.
    type: str
    choices: [completed, cutover]
    default: completed
attributes:
  action:
    description: Runs as an action plugin on the controller, which calls the module for each AWS step.
    support: full
  async:
    description: The wait is driven by the action plugin; async is not supported.
    support: none
  check_mode:
    description: Reports whether the service would be updated; never waits.
    support: full
  diff_mode:
    description: Shows the task definition and desired count before and after.
    support: full
  platform:
    description: Talks to the AWS APIs from where the task runs.
    support: full
    platforms: all
notes:
  - The AWS calls it makes, all counted in RV(api_calls) - DescribeServices, DescribeTaskDefinition and
    UpdateService to start (the wait's first look is UpdateService's answer); DescribeServices each poll;
    ListTasks (running) and DescribeTasks when the deployment's counts moved or an event names a new task;
    ListTasks (stopped) only when a count says a task stopped; DescribeTargetHealth per target group while new
    targets come up, and once the deployment completed unless a reading of at most 5 s ago found them all healthy
    (detail calls reuse that poll's DescribeServices); ListServiceDeployments once and DescribeServiceDeployments
    when the deployment's status moves (where the endpoint has them);
    DescribeTaskDefinition and GetLogEvents for a failure's log lines.
  - Tasks started by a service carry the deployment id in C(startedBy); that is how new tasks are told from old.
  - During the stability window it polls as while waiting (DescribeServices every 1 to 2 s, target health when the
    last reading is older than 5 s, tasks when a count moves or a task event comes), within the same budget of at
    most 60 calls a minute, and a poll comes when the window ends, not up to 2 s later.
seealso:
  - module: shipyard.fargate.ecs_task_definition
  - module: community.aws.ecs_service
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
author:
  - Shipyard maintainers (@shipyard)
"""

EXAMPLES = r"""
- name: Roll web out to the task definition just registered; roll back and fail with the reason if it goes wrong
  shipyard.fargate.ecs_rollout:
    cluster: shop
    service: web
    task_definition: "{{ task_definition.arn }}"
  register: rollout

- name: Show the timeline
  ansible.builtin.debug:
    msg: "{{ rollout.timeline | map(attribute='message') }}"

- name: Roll back by hand to the revision before the current one, waited for like a deploy
  shipyard.fargate.ecs_rollout:
    cluster: shop
    service: web
    to_previous: true
    rollback: false

- name: Watch a deployment that CI started, tolerating one crashed task, for at most 15 minutes
  shipyard.fargate.ecs_rollout:
    cluster: shop
    service: web
    tolerated_stopped_tasks: 1
    timeout: 900
    rollback: false
"""

RETURN = r"""
verdict:
  description: C(SUCCEEDED), C(FAILED), or C(SKIPPED) (check mode, or O(wait=false)).
  returned: always
  type: str
  sample: SUCCEEDED
reason_code:
  description: Why the rollout failed (see the description); null on success.
  returned: always
  type: str
  sample: tasks_stopped
message:
  description: The verdict in words, with stopped tasks, exit codes, target health reasons and log lines.
  returned: always
  type: str
deployment_id:
  description: The deployment that was watched.
  returned: when known
  type: str
  sample: ecs-svc/1234567890123456789
task_definition_arn:
  description: The task definition rolled out.
  returned: always
  type: str
previous_task_definition_arn:
  description: What the service ran before (the rollback target).
  returned: when known
  type: str
failed_task_ids:
  description: Ids of the new tasks that stopped with a failure.
  returned: always
  type: list
  elements: str
summary:
  description:
    - The last observed state (desired, running, pending, failed tasks, healthy targets).
    - C(stable_for) is how long every new task had been up at the last poll, in seconds, up to the window
      (null when not every new task was up, or without a window); C(stable_window) is O(stable_for).
  returned: when waited
  type: dict
  sample: {"desired_count": 2, "running_count": 2, "failed_tasks": 0, "stable_for": 10.0, "stable_window": 10}
timeline:
  description: Timestamped transitions, progress lines and service events, oldest first.
  returned: when waited
  type: list
  elements: dict
  sample:
    - {"elapsed": 0.0, "at": null, "kind": "start", "message": "watching deployment ecs-svc/12 (task definition web:7)"}
elapsed:
  description: Seconds spent waiting (rollout and rollback).
  returned: always
  type: float
api_calls:
  description: AWS API calls made, rollback included.
  returned: always
  type: int
api_retries:
  description:
    - Attempts made again within RV(api_calls) - AWS throttled a call, failed it (HTTP 5xx) or did not answer, and
      it was retried with backoff (botocore's retries and the collection's own). A poll that saw some adds a
      C(retried) line to RV(timeline); when there are some, the rollout's last line names both counts,
      as C(N AWS calls (M retried)).
  returned: always
  type: int
  sample: 0
secret_rotation:
  description:
    - With O(roll_on_secret_change), whether a secret changed after the tasks started (C(roll)), which ones
      (C(secrets), by name), when the oldest task of the PRIMARY deployment started (C(tasks_started_at)) and the
      sentence saying why the service is rolled (C(reason), null when it is not).
  returned: with O(roll_on_secret_change), when no new task definition goes out
  type: dict
  sample: {"roll": true, "secrets": ["shop/web"], "tasks_started_at": "2026-12-06T09:00:00+00:00",
           "reason": "secret shop/web changed at 2026-12-06T09:30:00+00:00 after the tasks started at
                      2026-12-06T09:00:00+00:00: rolling the service so they read it"}
deployment_source:
  description:
    - Where the deployment's own state was read - C(deployment_api) (ECS's DescribeServiceDeployments) or
      C(service_events) (the endpoint has no deployment API - the deployment's rolloutState and the service events).
  returned: when waited
  type: str
  sample: deployment_api
service_deployment_arn:
  description: Our deployment in ECS's deployment API (null where the endpoint has none).
  returned: when waited
  type: str
rollback:
  description: The rollback after a failure (O(rollback=true) or ECS's circuit breaker), waited for like a rollout.
  returned: when a rollback happened
  type: dict
  contains:
    verdict:
      description: Whether the rollback succeeded.
      type: str
    task_definition_arn:
      description: The task definition rolled back to.
      type: str
    deployment_id:
      description: The rollback deployment.
      type: str
    message:
      description: The rollback's verdict in words.
      type: str
    elapsed:
      description: Seconds the rollback took.
      type: float
"""

import os
import random
import re
import time
from dataclasses import replace
from datetime import datetime, timezone

try:
    import botocore
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible.module_utils.basic import _load_params
from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.shipyard.fargate.plugins.module_utils import secret_rotation
from ansible_collections.shipyard.fargate.plugins.module_utils.rollout import loop, service_deployments, wire
from ansible_collections.shipyard.fargate.plugins.module_utils.rollout.model import (
    DEFAULT_STABLE_FOR,
    SUCCESS_AT,
    Observation,
    options_from,
)
from ansible_collections.shipyard.fargate.plugins.module_utils.rollout.payloads import (
    find_deployment,
    log_target,
    target_groups,
    task_definition_label,
)
from ansible_collections.shipyard.fargate.plugins.module_utils.step_calls import THROTTLING, StepCalls

MAX_DESCRIBE_TASKS = 100


def validate(params):
    """Bad input, before any AWS call; each message names its option."""
    errors = []
    if params["task_definition"] and params["deployment_id"]:
        errors.append("task_definition and deployment_id are exclusive: give the one to roll out or the one to watch")
    if params["to_previous"] and (params["task_definition"] or params["deployment_id"]):
        errors.append("to_previous is exclusive with task_definition and deployment_id")
    if params["deployment_id"] and not params["deployment_id"].startswith("ecs-svc/"):
        errors.append(f"deployment_id must look like ecs-svc/NNN, got {params['deployment_id']!r}")
    for name in ("timeout", "tolerated_stopped_tasks", "unhealthy_grace", "log_lines", "stable_for"):
        if params[name] is not None and params[name] < 0:
            errors.append(f"{name} must be 0 or more, got {params[name]}")
    if params["timeout"] == 0 and params["wait"]:
        errors.append("timeout must be above 0 when wait is true")
    if params["wait"] and params["timeout"] and params["stable_for"] and params["stable_for"] >= params["timeout"]:
        errors.append(
            f"stable_for must be below timeout ({params['timeout']} s), got {params['stable_for']}: "
            "the rollout could never stay up that long before the wait ends"
        )
    if params["desired_count"] is not None and params["desired_count"] < 0:
        errors.append(f"desired_count must be 0 or more, got {params['desired_count']}")
    return errors


def plan_update(service, target_arn, desired_count, force):
    """What UpdateService must change (``{}``: nothing). Pure: the service as DescribeServices returns it."""
    changes = {}
    primary = next((d for d in service.get("deployments") or [] if d.get("status") == "PRIMARY"), {})
    current = primary.get("taskDefinition") or service.get("taskDefinition")
    if target_arn and (current != target_arn or force):
        changes["taskDefinition"] = target_arn
    if force and target_arn:
        changes["forceNewDeployment"] = True
    if desired_count is not None and desired_count != service.get("desiredCount"):
        changes["desiredCount"] = desired_count
    return changes


def _describe_service(module, call, cluster, name):
    response = call("describe_services", cluster=cluster, services=[name])
    services = response.get("services") or []
    return (services[0] if services else None), response.get("failures") or []


_FULL_ARN = re.compile(r"^arn:aws[a-z-]*:ecs:[a-z0-9-]+:[0-9]{12}:task-definition/[A-Za-z0-9_-]+:[0-9]+$")


def _resolve_task_definition(module, call, task_definition):
    try:
        response = call("describe_task_definition", taskDefinition=task_definition)
    except is_boto3_error_code("ClientException"):
        module.fail_json(msg=f"task_definition {task_definition!r} does not exist (DescribeTaskDefinition)")
    return response["taskDefinition"]["taskDefinitionArn"]


def previous_revision(current_arn, active_arns):
    """The newest ACTIVE revision of the family older than ``current_arn`` (None: there is none). Pure."""
    family, revision = current_arn.rsplit("/", 1)[-1].rsplit(":", 1)
    older = []
    for arn in active_arns:
        other_family, other = arn.rsplit("/", 1)[-1].rsplit(":", 1)
        if other_family == family and int(other) < int(revision):
            older.append((int(other), arn))
    return max(older)[1] if older else None


def _previous_revision(module, call, current_arn):
    family = current_arn.rsplit("/", 1)[-1].rpartition(":")[0]
    arns, token = [], None
    while True:
        kwargs = {"familyPrefix": family, "status": "ACTIVE", "sort": "DESC"}
        if token:
            kwargs["nextToken"] = token
        page = call("list_task_definitions", **kwargs)
        arns.extend(page.get("taskDefinitionArns") or [])
        token = page.get("nextToken")
        if not token:
            break
    found = previous_revision(current_arn, arns)
    if found is None:
        label = task_definition_label(current_arn)
        module.fail_json(msg=f"to_previous: no ACTIVE revision of {family} older than {label} to roll back to")
    return found


def _secret_rotation(call, cluster, service):
    """roll_on_secret_change: read what the decision needs (never a secret's value) and decide."""
    primary = next((d for d in service.get("deployments") or [] if d.get("status") == "PRIMARY"), {})
    definition_arn = primary.get("taskDefinition") or service.get("taskDefinition")
    definition = call("describe_task_definition", taskDefinition=definition_arn)["taskDefinition"]
    return secret_rotation.observe(call, cluster, service, definition)


def step_start(module, call):
    params = module.params
    cluster, name = params["cluster"], params["service"]
    service, failures = _describe_service(module, call, cluster, name)
    if service is None or service.get("status") != "ACTIVE":
        status = service.get("status") if service else (failures[0].get("reason") if failures else "MISSING")
        msg = f"service {name!r} in cluster {cluster!r} is {status}: nothing to roll out"
        module.fail_json(msg=msg, api_calls=call.count, api_retries=call.retries)
    previous = service.get("taskDefinition")
    if params["to_previous"]:
        target = _previous_revision(module, call, previous)
    elif params["task_definition"] and _FULL_ARN.match(params["task_definition"]) and not module.check_mode:
        # A full ARN needs no DescribeTaskDefinition (one call less per rollout): UpdateService names one that
        # does not exist or is INACTIVE, and that is reported the same way below.
        target = params["task_definition"]
    else:
        target = params["task_definition"] and _resolve_task_definition(module, call, params["task_definition"])
    changes = plan_update(service, target, params["desired_count"], params["force_new_deployment"])
    rotation = None
    if params["roll_on_secret_change"] and not changes.get("taskDefinition") and not params["deployment_id"]:
        rotation = _secret_rotation(call, cluster, service)
        if rotation["roll"]:
            current = target or next(
                (d.get("taskDefinition") for d in service.get("deployments") or [] if d.get("status") == "PRIMARY"),
                previous,
            )
            changes = plan_update(service, current, params["desired_count"], True)
    diff = {
        "before": {"task_definition": task_definition_label(previous), "desired_count": service.get("desiredCount")},
        "after": {
            "task_definition": task_definition_label(changes.get("taskDefinition", previous)),
            "desired_count": changes.get("desiredCount", service.get("desiredCount")),
        },
    }
    if changes and not module.check_mode:
        try:
            service = call("update_service", cluster=cluster, service=name, **changes)["service"]
        except is_boto3_error_code(["ClientException", "InvalidParameterException"]) as e:
            detail = e.response.get("Error", {}).get("Message", "")
            module.fail_json(
                msg=f"UpdateService refused task_definition {target!r}: {detail}",
                api_calls=call.count,
                api_retries=call.retries,
            )
    previous_arn = previous if changes.get("taskDefinition") else None
    first = None
    if params.get("wait") and not module.check_mode:
        # The wait's first poll, in this run: UpdateService's answer (or DescribeServices') and the detail it needs.
        # The action plugin starts its state the same way (loop.start_state on the same answer).
        watched = loop.watched_task_definition(service, target or None, params["deployment_id"])
        state = loop.start_state(service, params["deployment_id"], watched, previous_arn)
        before, retried = call.count, call.retries
        observation = _observe(module, call, state, first=Observation(service=service))
        first = wire.observation_to_wire(
            replace(observation, api_calls=call.count - before, api_retries=call.retries - retried)
        )
    module.exit_json(
        changed=bool(changes),
        service=service,
        task_definition_arn=target or None,
        previous_task_definition_arn=previous_arn,
        diff=diff,
        api_calls=call.count,
        api_retries=call.retries,
        first_poll=first,
        **({"secret_rotation": rotation} if rotation is not None else {}),
    )


def _list_service_tasks(call, cluster, name, statuses):
    arns = []
    for desired in statuses:
        token = None
        while True:
            kwargs = {"cluster": cluster, "serviceName": name, "desiredStatus": desired}
            if token:
                kwargs["nextToken"] = token
            page = call("list_tasks", **kwargs)
            arns.extend(page.get("taskArns") or [])
            token = page.get("nextToken")
            if not token:
                break
    return arns


def _describe_tasks(call, cluster, name, calls):
    wanted = (("RUNNING", calls.tasks or calls.stopped), ("STOPPED", calls.stopped))
    arns = _list_service_tasks(call, cluster, name, [status for status, ask in wanted if ask])
    tasks = []
    for start in range(0, min(len(arns), MAX_DESCRIBE_TASKS * 3), MAX_DESCRIBE_TASKS):
        chunk = arns[start : start + MAX_DESCRIBE_TASKS]
        tasks.extend(call("describe_tasks", cluster=cluster, tasks=chunk).get("tasks") or [])
    return tuple(tasks)


def _service_deployment(call, cluster, name, observation, state):
    """``(our service deployment or None, whether the endpoint has the API)``: ListServiceDeployments to find it
    (once: its ARN stays in the state), DescribeServiceDeployments to read it."""
    arn = state.service_deployment_arn
    try:
        if not arn:
            ours = find_deployment(observation.service, state.deployment_id, state.task_definition_arn) or {}
            # Unknown yet whether the endpoint has the API: one attempt, an error answer is the answer.
            probe = state.deployment_api is None
            listed = call("list_service_deployments", probe=probe, cluster=cluster, service=name)
            briefs = listed.get("serviceDeployments")
            arn = (service_deployments.pick(briefs, ours.get("createdAt") or state.since) or {}).get(
                "serviceDeploymentArn"
            )
        if not arn:
            return None, True
        found = call("describe_service_deployments", serviceDeploymentArns=[arn]).get("serviceDeployments") or []
        return (found[0] if found else None), True
    except (botocore.exceptions.ConnectionError, botocore.exceptions.HTTPClientError):
        # A dropped connection or no answer (the probe makes one attempt): no answer about the API, ask again on
        # the next poll (the state's choice stays as it was).
        return None, state.deployment_api
    except botocore.exceptions.ClientError as e:
        error = e.response.get("Error", {})
        status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if error.get("Code") in THROTTLING:
            raise
        if service_deployments.server_failure(error.get("Code"), status):
            return None, state.deployment_api  # HTTP 5xx (InternalFailure, ServiceUnavailable): ask again later
        if not service_deployments.not_supported(error.get("Code"), status):
            raise
        return None, False


def _observe(module, call, state, elapsed=0.0, first=None):
    """One poll (``loop.observe``): DescribeServices (unless ``first``), then the detail calls it needs, now."""
    params = module.params
    cluster, name = params["cluster"], params["service"]

    def fetch_service():
        before, retried = call.count, call.retries
        try:
            service, failures = _describe_service(module, call, cluster, name)
        except is_boto3_error_code(THROTTLING):
            return Observation(throttled=True, api_calls=call.count - before, api_retries=call.retries - retried)
        return Observation(
            service=service,
            failures=tuple(failures),
            api_calls=call.count - before,
            api_retries=call.retries - retried,
        )

    def fetch_detail(observation, current, calls):
        before, retried = call.count, call.retries
        found = {}
        try:
            if calls.tasks or calls.stopped:
                found["tasks"] = _describe_tasks(call, cluster, name, calls)
            if calls.targets:
                health = {}
                for arn, _port in target_groups(observation.service or {}):
                    if arn not in health:
                        response = call("describe_target_health", api="elbv2", TargetGroupArn=arn)
                        health[arn] = response.get("TargetHealthDescriptions") or []
                found["target_health"] = health
            if calls.deployment and current.deployment_api is not False:
                record, known = _service_deployment(call, cluster, name, observation, current)
                found.update(service_deployment=record, deployment_api=known)
        except is_boto3_error_code(THROTTLING):
            found = {"throttled": True}
        return replace(
            observation,
            api_calls=observation.api_calls + call.count - before,
            api_retries=observation.api_retries + call.retries - retried,
            **found,
        )

    now = datetime.now(timezone.utc)  # noqa: UP017 - datetime.UTC is 3.11+
    try:
        return loop.observe(
            fetch_service, fetch_detail, state, options_from(params), elapsed=elapsed, at=now, first=first
        )
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:  # pylint: disable=duplicate-except
        module.fail_json_aws(e, msg=f"Describing service {name!r}", api_calls=call.count, api_retries=call.retries)


def step_observe(module, call):
    """The wait's next poll, and the quiet ones after it, in this run (``loop.watch``): DescribeServices and, in the
    same run, the detail calls each poll needs; it returns at the first poll that moves anything (or decides). The
    action plugin starts this run before the poll is due: it sleeps ``_delay`` first, so Python's start-up overlaps
    the delay instead of adding to it."""
    params = module.params
    began = time.monotonic()
    state = wire.state_from_wire(params["_state"] or {})
    options = options_from(params)
    first = {}

    def clock():  # the wait's clock: ``_elapsed`` at the first poll
        now = time.monotonic()
        first.setdefault("at", now)
        return float(params["_elapsed"] or 0.0) + (now - first["at"])

    observation = loop.watch(
        lambda current, elapsed: _observe(module, call, current, elapsed=elapsed),
        state,
        options,
        clock=clock,
        sleep=time.sleep,
        delay=max(0.0, float(params["_delay"] or 0.0)),
    )
    module.exit_json(
        changed=False,
        api_calls=call.count,
        api_retries=call.retries,
        observation=wire.observation_to_wire(observation),
        busy=round(time.monotonic() - began, 3),
    )


def controller_gone(progress_fd, controller_pid):
    """Why the wait step's reader is gone, or None: the action plugin removed the progress file (it stopped waiting:
    interrupted, or failed), or its process (``controller_pid``, on this machine) no longer exists (killed)."""
    if os.fstat(progress_fd).st_nlink == 0:
        return "the controller removed the progress file"
    if controller_pid:
        try:
            os.kill(controller_pid, 0)
        except ProcessLookupError:
            return f"the controller's process {controller_pid} is gone"
        except PermissionError:
            pass  # it exists (another user's: not ours, but not gone)
    return None


def step_wait(module, call):
    """The whole wait in this run (``loop.run``), where the module runs on the controller: no module start-up between
    two polls, so a poll is never late by one. Each progress line is appended to ``_progress_file`` as it happens (the
    action plugin shows it at once); the result is the outcome (``wire.outcome_to_wire``) and the last service seen
    (a rollback by ECS is waited for from there)."""
    params = module.params
    state = wire.state_from_wire(params["_state"] or {})
    options = options_from(params)
    first = wire.observation_from_wire(params["_first"]) if params["_first"] else None
    started = time.monotonic() - float(params["_elapsed"] or 0.0)
    seen = {}

    def poll(current, delay, _planned):
        time.sleep(delay)
        gone = controller_gone(progress.fileno(), params["_controller_pid"])
        if gone:  # nobody reads this run's result any more: stop polling AWS
            module.fail_json(msg=f"stopped waiting: {gone}", api_calls=call.count, api_retries=call.retries)
        observation = _observe(module, call, current, elapsed=time.monotonic() - started)
        if observation.service is not None:
            seen["service"] = observation.service
        return observation

    with open(params["_progress_file"], "a", encoding="utf-8") as progress:

        def report(line):
            progress.write(line + "\n")
            progress.flush()

        outcome = loop.run(
            poll,
            state,
            options,
            clock=lambda: time.monotonic() - started,
            rng=random.SystemRandom(),
            report=report,
            first=first,
        )
    module.exit_json(
        changed=False,
        api_calls=call.count,
        api_retries=call.retries,
        outcome=wire.outcome_to_wire(outcome),
        last_service=seen.get("service"),
    )


def step_logs(module, call):
    params = module.params
    task_arn, container = params["_log_task_arn"], params["_log_container"]
    if not task_arn or not container or params["log_lines"] == 0:
        module.exit_json(changed=False, events=[], api_calls=0)
    task_definition = params["_log_task_definition"]
    if not task_definition:
        tasks = call("describe_tasks", cluster=params["cluster"], tasks=[task_arn]).get("tasks") or []
        if not tasks:
            module.exit_json(
                changed=False,
                events=[],
                note=f"task {task_arn} is no longer known",
                api_calls=call.count,
                api_retries=call.retries,
            )
        task_definition = tasks[0]["taskDefinitionArn"]
    definition = call("describe_task_definition", taskDefinition=task_definition)
    where = log_target(definition, container, task_arn)
    if where is None:
        module.exit_json(
            changed=False,
            events=[],
            note=f"container {container} does not log to CloudWatch Logs with a stream prefix",
            api_calls=call.count,
            api_retries=call.retries,
        )
    group, stream = where
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
        log_group=group,
        log_stream=stream,
        note=note,
        api_calls=call.count,
        api_retries=call.retries,
    )


def step_rollback(module, call):
    """Point the service back: StopServiceDeployment (ROLLBACK) when the action plugin names our service deployment
    (ECS's deployment API, while it is under way), else, or when ECS refuses that, UpdateService to ``_rollback_to``."""
    params = module.params
    target = params["_rollback_to"]
    if not target and not params["_rollback_deployment"]:
        module.fail_json(msg="_rollback_to is required for the rollback step")
    if module.check_mode:
        module.exit_json(changed=True, service=None, api_calls=0)
    cluster, name = params["cluster"], params["service"]
    via = "UpdateService"
    if params["_rollback_deployment"]:
        try:
            call("stop_service_deployment", serviceDeploymentArn=params["_rollback_deployment"], stopType="ROLLBACK")
            via = "StopServiceDeployment"
        except botocore.exceptions.ClientError as e:
            if not target:
                raise
            module.warn(f"StopServiceDeployment refused ({e.response.get('Error', {}).get('Code')}): UpdateService")
    if via == "StopServiceDeployment":
        service, _failures = _describe_service(module, call, cluster, name)
    else:
        service = call("update_service", cluster=cluster, service=name, taskDefinition=target)["service"]
    module.exit_json(changed=True, service=service, rollback_via=via, api_calls=call.count, api_retries=call.retries)


STEPS = {
    "start": step_start,
    "observe": step_observe,
    "wait": step_wait,
    "logs": step_logs,
    "rollback": step_rollback,
}


# The steps after the start (each poll, the log lines, the rollback) take options only the action plugin sets: they
# are in the argument spec only when it names a step (``_step``), so a task's arguments - the documented options - are
# the whole public interface, and an internal option in a task is refused (the action plugin refuses it first).
INTERNAL_OPTIONS = dict(
    _step=dict(type="str", choices=list(STEPS), default="start"),
    _state=dict(type="dict"),
    _delay=dict(type="float", default=0.0),
    _elapsed=dict(type="float", default=0.0),
    _first=dict(type="dict"),
    _progress_file=dict(type="path"),
    _controller_pid=dict(type="int"),
    _log_task_arn=dict(type="str"),
    _log_container=dict(type="str"),
    _log_task_definition=dict(type="str"),
    _rollback_to=dict(type="str"),
    _rollback_deployment=dict(type="str"),
)


def argument_spec(raw=None):
    """The public options, and the internal ones when ``raw`` (the arguments as given) names a step."""
    spec = dict(
        cluster=dict(type="str", required=True),
        service=dict(type="str", required=True),
        task_definition=dict(type="str"),
        deployment_id=dict(type="str"),
        to_previous=dict(type="bool", default=False),
        desired_count=dict(type="int"),
        force_new_deployment=dict(type="bool", default=False),
        roll_on_secret_change=dict(type="bool", default=False),
        wait=dict(type="bool", default=True),
        timeout=dict(type="int", default=600),
        tolerated_stopped_tasks=dict(type="int", default=0),
        unhealthy_grace=dict(type="int", default=60),
        stable_for=dict(type="int", default=DEFAULT_STABLE_FOR),
        rollback=dict(type="bool", default=True),
        log_lines=dict(type="int", default=20),
        success_at=dict(type="str", choices=list(SUCCESS_AT), default="completed"),
    )
    if isinstance(raw, dict) and "_step" in raw:
        spec.update(INTERNAL_OPTIONS)
    return spec


def _raw_arguments():
    try:
        return _load_params()
    except Exception:  # pylint: disable=broad-exception-caught  # no arguments to read: the public options only
        return {}


def main():
    module = AnsibleAWSModule(argument_spec=argument_spec(_raw_arguments()), supports_check_mode=True)
    errors = validate(module.params)
    if errors:
        module.fail_json(msg="; ".join(errors))
    step = module.params.get("_step") or "start"
    # The polls see throttling themselves (the waiter backs off with jitter); the other calls retry. The start step
    # makes the wait's first poll too: its calls before that retry, the poll's do not (StepCalls.retry).
    call = StepCalls(module, retry=step not in ("observe", "wait"))
    try:
        STEPS[step](module, call)
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        module.fail_json_aws(
            e,
            msg=f"ecs_rollout step {step} on service {module.params['service']!r}",
            api_calls=call.count,
            api_retries=call.retries,
        )


if __name__ == "__main__":
    main()
