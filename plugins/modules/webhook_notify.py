#!/usr/bin/python

# Copyright: Shipyard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: webhook_notify
short_description: Post a deploy's or a rollback's outcome to a Slack-compatible webhook, never failing the run
version_added: 0.1.0
description:
  - Posts one JSON message to an incoming webhook (Slack, or a Slack-compatible receiver such as Mattermost,
    Rocket.Chat or Discord's C(/slack) endpoint) saying what happened to a service; one message per deploy and per
    rollback.
  - 'The message: C(text), one line that is also the notification''s preview and fallback (for example
    C(Deploy of web 4f1c2e9 to production failed, rolled back to web:6 (2m 05s): 2 new tasks stopped ...)), and one
    legacy attachment with a colour per outcome, a title (linked to O(service_url)), the O(reason) on failure and
    short fields (service, environment, version, verdict, duration, rolled back to, and O(fields)). Attachments
    rather than Block Kit C(blocks) because the Slack-compatible receivers render attachments and most ignore
    blocks.'
  - 'Colours: green (C(#2eb886)) a deploy that succeeded; amber (C(#daa038)) a deploy that failed and was rolled
    back (the previous version still serves), and a rollback that succeeded; red (C(#a30200)) a deploy that failed
    with no rollback or whose rollback failed too, and a rollback that failed; grey (C(#9e9e9e)) C(SKIPPED).'
  - A notification that cannot be delivered does B(not) fail the task. After the retries, the task is ok with a
    warning that says why (the HTTP status, or the class of the connection error) and RV(delivered=false).
  - The webhook URL is a secret (Slack's carries its token in the path). It is never printed, not in messages or
    errors either; they say "the webhook".
  - The message holds only what the options give. O(reason) is meant to be the rollout's own message
    (M(shipyard.fargate.ecs_rollout)'s RV(shipyard.fargate.ecs_rollout#module:message)), which names tasks, exit
    codes, target health and log lines, never secret values; C(&), C(<) and C(>) are escaped so a log line stays
    text.
  - Reports C(changed=false) even when it posts (it changes nothing this collection manages, so a re-deploy that
    changes nothing stays C(changed=0)); RV(delivered) says whether the message went out. Sends nothing in check
    mode.
options:
  url:
    description: The incoming webhook's URL (a secret; never printed).
    type: str
    required: true
  event:
    description: What the message is about, a V(deploy) or a V(rollback) (the rollback playbook).
    type: str
    choices: [deploy, rollback]
    default: deploy
  service:
    description: The service's name.
    type: str
    required: true
  environment:
    description: The environment (for example the inventory's name, C(production)).
    type: str
  version:
    description: The version deployed or rolled back to (image tag or commit).
    type: str
  verdict:
    description:
      - The verdict, in the words of M(shipyard.fargate.ecs_rollout) (its
        RV(shipyard.fargate.ecs_rollout#module:verdict)), V(SUCCEEDED), V(FAILED), or V(SKIPPED) (check mode, or not
        waited for); or V(ROLLED_BACK), a deploy that failed and was rolled back (the same as V(FAILED) with
        O(rolled_back_to)).
      - A deploy stopped before its rollout (a failed migration) is V(FAILED) with its O(reason).
      - For O(event=rollback), V(SUCCEEDED) (or V(ROLLED_BACK)) means the rollback worked, V(FAILED) that it did not.
    type: str
    choices: [SUCCEEDED, FAILED, ROLLED_BACK, SKIPPED]
    required: true
  duration:
    description: Seconds the deploy or rollback took (the rollout's RV(shipyard.fargate.ecs_rollout#module:elapsed)).
    type: float
  reason:
    description:
      - Why it failed; shown only when O(verdict) is V(FAILED) or V(ROLLED_BACK) (the first line in the text, up to
        2000 characters in the attachment). Pass the rollout's message; never a value that holds secrets.
    type: str
  rolled_back_to:
    description:
      - What a failed deploy was rolled back to (for example the rollout's
        RV(shipyard.fargate.ecs_rollout#module:rollback) C(task_definition_arn), or C(web:6)); for
        O(event=rollback), what the service was rolled back to.
    type: str
  rollback_verdict:
    description:
      - The verdict of a failed deploy's automatic rollback (the rollout's C(rollback.verdict)); V(FAILED) turns the
        message red ("failed, and the rollback failed too").
    type: str
    choices: [SUCCEEDED, FAILED]
  service_url:
    description: A link for the message's title (the service's public URL, or the job's page).
    type: str
    aliases: [url_of_service]
  fields:
    description:
      - 'Extra short fields, name to value (for example C({"Commit": "4f1c2e9", "Started by": "ci"})).'
      - Values are shown as text; C(&), C(<) and C(>) are escaped.
    type: dict
  timeout:
    description: Seconds one attempt may take.
    type: float
    default: 5
  retries:
    description:
      - Retries after a first attempt answered with HTTP 429 or 5xx, or that could not connect (0 to 5), each after
        a random wait of up to 0.5, 1, 2, 4, 4 seconds (full jitter; a 429's C(Retry-After) is honoured up to 4).
    type: int
    default: 3
  validate_certs:
    description: Verify the webhook's TLS certificate.
    type: bool
    default: true
  ca_path:
    description: A PEM file of CA certificates to verify the webhook's certificate with, instead of the system's.
    type: path
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: Builds the message and returns it as RV(payload); sends nothing.
  diff_mode:
    description: Returns details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
seealso:
  - module: shipyard.fargate.ecs_rollout
author:
  - Shipyard maintainers (@shipyard)
"""

EXAMPLES = r"""
- name: Roll out, then say what happened (in always, so a failed rollout is announced too)
  block:
    - name: Roll out
      shipyard.fargate.ecs_rollout:
        cluster: shop
        service: web
        task_definition: "{{ web_task_definition.arn }}"
        rollback: true
      register: web_rollout
  always:
    - name: Say what happened
      shipyard.fargate.webhook_notify:
        url: "{{ vault_deploy_webhook_url }}"
        service: web
        environment: production
        version: "{{ image_resolved_tag }}"
        verdict: "{{ 'FAILED' if web_rollout.failed | default(false) else web_rollout.verdict }}"
        duration: "{{ web_rollout.elapsed | default(omit) }}"
        reason: "{{ web_rollout.message | default(omit) }}"
        rolled_back_to: "{{ web_rollout.rollback.task_definition_arn | default(omit) }}"
        rollback_verdict: "{{ web_rollout.rollback.verdict | default(omit) }}"
        service_url: https://web.example.com
        fields:
          Started by: "{{ tower_user_name | default('ci') }}"

- name: A manual rollback
  shipyard.fargate.webhook_notify:
    url: "{{ vault_deploy_webhook_url }}"
    event: rollback
    service: web
    environment: production
    verdict: SUCCEEDED
    rolled_back_to: web:6
"""

RETURN = r"""
delivered:
  description: Whether the webhook accepted the message (a 2xx answer).
  returned: always
  type: bool
  sample: true
status:
  description: The webhook's last HTTP status; null when none came (check mode, connection error).
  returned: always
  type: int
  sample: 200
attempts:
  description: Requests sent (retries included); 0 in check mode.
  returned: always
  type: int
  sample: 1
payload:
  description: The JSON message (posted, or that would be posted in check mode).
  returned: always
  type: dict
  sample:
    text: "Deploy of web 4f1c2e9 to production succeeded (1m 12s)"
    attachments:
      - color: "#2eb886"
        fallback: "Deploy of web 4f1c2e9 to production succeeded (1m 12s)"
        title: "Deploy of web 4f1c2e9 to production succeeded"
        title_link: https://web.example.com
        text: ""
        fields:
          - {"title": "Service", "value": "web", "short": true}
          - {"title": "Verdict", "value": "SUCCEEDED", "short": true}
        footer: shipyard.fargate
        ts: 1796544000
msg:
  description: The outcome in words (never the webhook's URL).
  returned: always
  type: str
  sample: "The notification was not delivered: the webhook answered HTTP 404 (Not Found)."
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.shipyard.fargate.plugins.module_utils.notification import (
    EVENTS,
    VERDICTS,
    build_message,
    deliver,
    option_errors,
    poster,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            url=dict(type="str", required=True, no_log=True),
            event=dict(type="str", choices=list(EVENTS), default="deploy"),
            service=dict(type="str", required=True),
            environment=dict(type="str"),
            version=dict(type="str"),
            verdict=dict(type="str", choices=list(VERDICTS), required=True),
            duration=dict(type="float"),
            reason=dict(type="str"),
            rolled_back_to=dict(type="str"),
            rollback_verdict=dict(type="str", choices=["SUCCEEDED", "FAILED"]),
            service_url=dict(type="str", aliases=["url_of_service"]),
            fields=dict(type="dict"),
            timeout=dict(type="float", default=5),
            retries=dict(type="int", default=3),
            validate_certs=dict(type="bool", default=True),
            ca_path=dict(type="path"),
        ),
        supports_check_mode=True,
    )
    params = module.params
    errors = option_errors(params)
    if errors:
        module.fail_json(msg=" ".join(errors))

    payload = build_message(
        event=params["event"],
        service=params["service"],
        verdict=params["verdict"],
        environment=params["environment"],
        version=params["version"],
        duration=params["duration"],
        reason=params["reason"],
        rolled_back_to=params["rolled_back_to"],
        rollback_verdict=params["rollback_verdict"],
        service_url=params["service_url"],
        fields=params["fields"],
    )
    if module.check_mode:
        module.exit_json(
            changed=False,
            delivered=False,
            status=None,
            attempts=0,
            payload=payload,
            msg="Check mode: would post the message to the webhook (nothing sent).",
        )

    send = poster(params["url"], payload, params["timeout"], params["validate_certs"], params["ca_path"])
    delivery = deliver(send, params["retries"])
    if delivery.delivered:
        msg = f"The webhook accepted the message (HTTP {delivery.status})."
    else:
        msg = f"The notification was not delivered: {delivery.problem}."
        module.warn(msg)
    module.exit_json(
        changed=False,
        delivered=delivery.delivered,
        status=delivery.status,
        attempts=delivery.attempts,
        payload=payload,
        msg=msg,
    )


if __name__ == "__main__":
    main()
