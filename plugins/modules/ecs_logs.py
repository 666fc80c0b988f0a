#!/usr/bin/python

# Copyright: Shipyard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: ecs_logs
short_description: The last lines (or the lines since a time) of an ECS service's containers from CloudWatch Logs
version_added: 0.3.0
description:
  - Reads the log group the service's containers write to with the C(awslogs) driver (streams named
    C(<prefix>/<container>/<task-id>)) and returns their lines interleaved by timestamp, each with its task id and
    container, oldest first.
  - Without O(since), the last O(lines) lines - the newest O(lines) events of each of the O(max_streams) streams
    written to most recently (C(DescribeLogStreams) + C(GetLogEvents)), merged, the newest O(lines) kept. With
    O(since), every line since that time (C(FilterLogEvents) over the group or the O(container) / O(task)
    streams), the newest O(lines) kept.
  - With O(follow), keeps polling C(FilterLogEvents) every 2 seconds for that many seconds and adds the new lines
    (returned when the time is up, as a module cannot print while it runs).
  - Read-only; check mode reads the same. Throttled calls are retried with jittered backoff.
options:
  log_group:
    description: The CloudWatch Logs group (C(service_log_group_name), for example C(/ecs/shipyard-local/web)).
    type: str
    required: true
  stream_prefix:
    description: The C(awslogs-stream-prefix) of the streams (C(service_log_stream_prefix)). Needed with
      O(container) or O(task) to narrow the streams read.
    type: str
  container:
    description: Only this container's lines.
    type: str
  task:
    description: Only this task's lines (task ID or ARN).
    type: str
  lines:
    description: How many lines at most (the newest ones). 1-10000.
    type: int
    default: 50
  since:
    description: Lines since this time - a duration back from now (C(45s), C(10m), C(2h), C(1d), C(1w)) or an
      ISO 8601 time (C(2026-12-06T09:00:00Z); without a zone, UTC).
    type: str
  follow:
    description: Keep reading new lines for this many seconds (0 - do not follow; at most 3600).
    type: int
    default: 0
  max_streams:
    description: Without O(since), how many of the most recently written streams (tasks) to read.
    type: int
    default: 20
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
author:
  - Shipyard maintainers (@shipyard)
"""

EXAMPLES = r"""
- name: The last 50 lines of web
  shipyard.fargate.ecs_logs:
    log_group: /ecs/shipyard-local/web
  register: web_logs

- name: The app container's lines of the last 10 minutes, then 30 s more
  shipyard.fargate.ecs_logs:
    log_group: /ecs/shipyard-local/web
    stream_prefix: app
    container: app
    since: 10m
    follow: 30
"""

RETURN = r"""
lines:
  description: The lines, oldest first, each C(<timestamp> <task id> <container> | <message>).
  returned: always
  type: list
  elements: str
  sample: ["2026-12-06T09:00:00.123Z 0123abcd app | listening on 8080"]
events:
  description: The same lines as data - timestamp, task_id, container, message, event_id.
  returned: always
  type: list
  elements: dict
log_group:
  description: The group read.
  returned: always
  type: str
"""

import time

try:
    from botocore.exceptions import BotoCoreError, ClientError

    AWS_ERRORS = (BotoCoreError, ClientError)
except ImportError:
    AWS_ERRORS = ()  # AnsibleAWSModule reports the missing botocore

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.shipyard.fargate.plugins.module_utils import log_lines as ll

POLL = 2.0


def validate(params, now):
    """Refuse bad input before any AWS call: the error message naming the option, or None."""
    if not (params.get("log_group") or "").strip():
        return "log_group must not be empty"
    if not 1 <= params["lines"] <= 10000:
        return f"lines must be between 1 and 10000, got {params['lines']}"
    if not 0 <= params["follow"] <= 3600:
        return f"follow must be between 0 and 3600 seconds, got {params['follow']}"
    if not 1 <= params["max_streams"] <= 100:
        return f"max_streams must be between 1 and 100, got {params['max_streams']}"
    if params.get("since"):
        try:
            ll.since_ms(params["since"], now)
        except ValueError as e:
            return str(e)
    return None


def _wanted(params, stream_name):
    container, task = ll.stream_parts(stream_name)
    if params.get("container") and container != params["container"]:
        return False
    return not params.get("task") or task == params["task"].rsplit("/", 1)[-1]


def newest(client, params):
    """The newest ``lines`` events of the most recently written streams."""
    streams, request = [], {"logGroupName": params["log_group"], "orderBy": "LastEventTime", "descending": True}
    while len(streams) < params["max_streams"]:
        answer = client.describe_log_streams(aws_retry=True, **request)
        streams += [s["logStreamName"] for s in answer.get("logStreams", []) if _wanted(params, s["logStreamName"])]
        token = answer.get("nextToken")
        if not token or token == request.get("nextToken"):
            break
        request["nextToken"] = token
    streams = streams[: params["max_streams"]]
    batches = []
    for name in streams:
        answer = client.get_log_events(
            aws_retry=True, logGroupName=params["log_group"], logStreamName=name, startFromHead=False,
            limit=params["lines"],
        )  # fmt: skip
        batches.append([dict(event, logStreamName=name) for event in answer.get("events", [])])
    return ll.merge(*batches, limit=params["lines"])


def since(client, params, start_ms):
    """Every event since ``start_ms`` (FilterLogEvents, all pages)."""
    request = {"logGroupName": params["log_group"], "startTime": start_ms}
    prefix = ll.stream_prefix(params.get("stream_prefix"), params.get("container"), _task_id(params))
    if prefix:
        request["logStreamNamePrefix"] = prefix
    events = []
    while True:
        answer = client.filter_log_events(aws_retry=True, **request)
        events += [e for e in answer.get("events", []) if _wanted(params, e.get("logStreamName"))]
        token = answer.get("nextToken")
        if not token or token == request.get("nextToken"):
            return events
        request["nextToken"] = token


def _task_id(params):
    return params["task"].rsplit("/", 1)[-1] if params.get("task") else None


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            log_group=dict(type="str", required=True),
            stream_prefix=dict(type="str"),
            container=dict(type="str"),
            task=dict(type="str"),
            lines=dict(type="int", default=50),
            since=dict(type="str"),
            follow=dict(type="int", default=0),
            max_streams=dict(type="int", default=20),
        ),
        supports_check_mode=True,
    )
    params = module.params
    now = time.time()
    error = validate(params, now)
    if error:
        module.fail_json(msg=error)
    client = module.client("logs", retry_decorator=AWSRetry.jittered_backoff())
    try:
        if params["since"]:
            events = ll.merge(since(client, params, ll.since_ms(params["since"], now)), limit=params["lines"])
        else:
            events = newest(client, params)
        deadline = time.monotonic() + params["follow"]
        while time.monotonic() < deadline:
            time.sleep(min(POLL, max(deadline - time.monotonic(), 0)))
            start = events[-1]["timestamp"] if events else int(now * 1000)
            events = ll.merge(events, since(client, params, start))
    except is_boto3_error_code("ResourceNotFoundException"):
        module.fail_json(msg=f"log group {params['log_group']} does not exist (has the service been provisioned?)")
    except AWS_ERRORS as e:  # pylint: disable=duplicate-except
        module.fail_json_aws(e, msg=f"Could not read log group {params['log_group']}")
    records = [ll.record(event) for event in events]
    module.exit_json(
        changed=False, log_group=params["log_group"], events=records, lines=[ll.format_line(r) for r in records]
    )


if __name__ == "__main__":
    main()
