#!/usr/bin/python

# Copyright: Shipyard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: url_check
short_description: Check a service the way its users reach it, N consecutive good answers from its public URL
version_added: 0.1.0
description:
  - Sends C(GET <url><path>) until O(consecutive) answers in a row have status O(expect_status) and, when
    O(expect_version) is set, a JSON body whose C(version) equals it; one answer that does not pass starts the count
    again. Fails after O(timeout) seconds with what the URL answered (the last answers, with status, version seen,
    a short body excerpt, a redirect's target, or the connection error).
  - Meant for the end of a deploy, after the rollout, through the load balancer with the service's host name
    (HTTPS on AWS; on the local stack C(http://127.0.0.1:29080) with O(host) set), so it sees what users see,
    listener rules and certificates included.
  - A redirect (for example HTTP to HTTPS) is an answer, not followed, unless O(follow_redirects=true). Only a
    short excerpt of a body ever appears in a message; the body is not returned.
  - Sends nothing in check mode.
  - Runs where the task runs (the controller for the collection's playbooks); it needs no AWS access.
options:
  url:
    description:
      - The service's base URL, C(http://) or C(https://), without query (for example C(https://web.example.com)
        or C(http://127.0.0.1:29080)). O(path) is appended.
    type: str
    required: true
  path:
    description: The path asked, appended to O(url); starts with C(/) and may carry a query.
    type: str
    default: /health
  host:
    description:
      - The C(Host) header to send, for a load balancer that routes by host name and is reached by its address
        (C(web.shipyard.test) on the local stack). Over HTTPS it is also the name sent (SNI) and checked in the
        certificate. Unset means the host of O(url).
    type: str
  expect_status:
    description: The HTTP status an answer must have.
    type: int
    default: 200
  expect_version:
    description:
      - When set, an answer passes only when its body is a JSON object whose C(version) equals this string (the
        image tag or commit just deployed).
    type: str
  consecutive:
    description: How many passing answers in a row the check wants (at least 1).
    type: int
    default: 3
  interval:
    description: Seconds between answers (greater than 0).
    type: float
    default: 1
  timeout:
    description: Seconds the whole check may take (at least O(interval)); then it fails with what the URL answered.
    type: float
    default: 60
  request_timeout:
    description: Seconds one request may take; a request that takes longer is an answer that fails (timed out).
    type: float
    default: 5
  follow_redirects:
    description: Follow redirects (GET only) and judge the final answer. By default a redirect is the answer.
    type: bool
    default: false
  validate_certs:
    description: Verify the TLS certificate (of O(host) when it is set, else of the URL's host).
    type: bool
    default: true
  ca_path:
    description: A PEM file of CA certificates to verify the TLS certificate with, instead of the system's.
    type: path
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: Sends nothing; the task is reported skipped.
  diff_mode:
    description: Returns details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
seealso:
  - module: shipyard.fargate.ecs_rollout
  - module: ansible.builtin.uri
author:
  - Shipyard maintainers (@shipyard)
"""

EXAMPLES = r"""
- name: Three consecutive 200s from the public URL reporting the version just deployed
  shipyard.fargate.url_check:
    url: https://web.example.com
    expect_version: "{{ image_resolved_tag }}"

- name: Through the local stack's load balancer, which routes by host name
  shipyard.fargate.url_check:
    url: http://127.0.0.1:29080
    host: web.shipyard.test
    path: /health
    expect_version: 4f1c2e9
    consecutive: 5
    interval: 0.5
    timeout: 30

- name: The HTTP listener redirects to HTTPS (the redirect is the answer, not followed)
  shipyard.fargate.url_check:
    url: http://web.example.com
    path: /
    expect_status: 301
    consecutive: 1
"""

RETURN = r"""
passed:
  description: Passing answers in a row at the end (O(consecutive) on success).
  returned: always
  type: int
  sample: 3
answers:
  description: The last answers (at most 20), oldest first.
  returned: always
  type: list
  elements: dict
  contains:
    status:
      description: The HTTP status; null when no HTTP answer came.
      type: int
    version:
      description: The C(version) of the JSON body; null when there was none.
      type: str
    error:
      description: Why no HTTP answer came (for example C(connection refused (ConnectionRefusedError))).
      type: str
    location:
      description: A redirect's C(Location); null otherwise.
      type: str
    passed:
      description: Whether this answer passed.
      type: bool
    elapsed:
      description: Seconds since the check began, when the answer came.
      type: float
  sample:
    - {"status": 200, "version": "4f1c2e9", "error": null, "location": null, "passed": true, "elapsed": 0.01}
attempts:
  description: How many requests were sent.
  returned: always
  type: int
  sample: 3
url:
  description: The URL asked (O(url) with O(path)).
  returned: always
  type: str
  sample: http://127.0.0.1:29080/health
host:
  description: The Host header sent; null when none was set.
  returned: always
  type: str
elapsed:
  description: Seconds the check took.
  returned: always
  type: float
msg:
  description: The outcome in words; on failure, what the URL answered.
  returned: always
  type: str
  sample: >-
    https://web.example.com/health did not answer 3 consecutive 200s reporting version abc123 within 60 s;
    last answers: 200 version 4f1c2e9 (expected abc123) x5
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.shipyard.fargate.plugins.module_utils.url_check import (
    RETURNED_ANSWERS,
    Settings,
    answer_dict,
    check,
    failure_message,
    goal,
    http_get,
    settings_errors,
    success_message,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            url=dict(type="str", required=True),
            path=dict(type="str", default="/health"),
            host=dict(type="str"),
            expect_status=dict(type="int", default=200),
            expect_version=dict(type="str"),
            consecutive=dict(type="int", default=3),
            interval=dict(type="float", default=1),
            timeout=dict(type="float", default=60),
            request_timeout=dict(type="float", default=5),
            follow_redirects=dict(type="bool", default=False),
            validate_certs=dict(type="bool", default=True),
            ca_path=dict(type="path"),
        ),
        supports_check_mode=True,
    )
    params = module.params
    settings = Settings(
        url=params["url"],
        path=params["path"],
        host=params["host"],
        expect_status=params["expect_status"],
        expect_version=params["expect_version"],
        consecutive=params["consecutive"],
        interval=params["interval"],
        timeout=params["timeout"],
    )
    errors = settings_errors(settings)
    if params["request_timeout"] <= 0:
        errors.append(f"request_timeout must be greater than 0, got {params['request_timeout']}.")
    if errors:
        module.fail_json(msg=" ".join(errors))

    base = dict(changed=False, url=settings.target, host=settings.host)
    if module.check_mode:
        module.exit_json(
            skipped=True,
            passed=0,
            attempts=0,
            answers=[],
            elapsed=0.0,
            msg=f"Check mode: would check {settings.label} for {goal(settings)} (nothing sent).",
            **base,
        )

    fetch = http_get(
        settings,
        params["request_timeout"],
        validate_certs=params["validate_certs"],
        ca_path=params["ca_path"],
        follow_redirects=params["follow_redirects"],
    )
    outcome = check(fetch, settings)
    result = dict(
        passed=outcome.streak,
        attempts=len(outcome.answers),
        answers=[answer_dict(answer, settings) for answer in outcome.answers[-RETURNED_ANSWERS:]],
        elapsed=round(outcome.elapsed, 1),
        **base,
    )
    if not outcome.passed:
        module.fail_json(msg=failure_message(outcome, settings), **result)
    module.exit_json(msg=success_message(outcome, settings), **result)


if __name__ == "__main__":
    main()
