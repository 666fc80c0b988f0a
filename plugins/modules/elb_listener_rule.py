#!/usr/bin/python

# Copyright: Shipyard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: elb_listener_rule
short_description: One listener rule of an Application Load Balancer that forwards to one target group
version_added: 0.1.0
description:
  - Ensures the single rule that routes a service's requests (by host header and/or path pattern) to its target
    group, on a listener that several services share. The rule is found by the target group it forwards to, so
    each service manages exactly its own rule with C(CreateRule), C(ModifyRule), C(SetRulePriorities) or
    C(DeleteRule), and never rewrites the other services' rules.
  - Exists because M(amazon.aws.elb_application_lb) manages a listener's rules as a whole (read, then write
    every rule back), so two services changing their rules at the same time can undo each other.
  - A priority already held by a rule that forwards elsewhere is refused, naming O(priority).
options:
  listener_arn:
    description: ARN of the listener (for example the HTTPS listener of the stack's load balancer).
    required: true
    type: str
  target_group_arn:
    description: ARN of the target group the rule forwards to; it identifies the rule.
    required: true
    type: str
  priority:
    description: Priority of the rule on the listener, 1 to 50000, unique per listener. Required with O(state=present).
    type: int
  host_headers:
    description:
      - Host names the rule matches (host-header condition).
      - Each is up to 128 of letters, digits, C(-), C(.), C(*) and C(?).
    type: list
    elements: str
    default: []
  path_patterns:
    description:
      - Path patterns the rule matches (path-pattern condition).
      - Each starts with C(/), up to 128 characters, no spaces.
    type: list
    elements: str
    default: []
  state:
    description: V(present) creates or updates the rule, V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
  diff_mode:
    description: Returns details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
author:
  - Shipyard maintainers (@shipyard)
"""

EXAMPLES = r"""
- name: Route web.example.com to the web service
  shipyard.fargate.elb_listener_rule:
    listener_arn: "{{ load_balancer_https_listener_arn }}"
    target_group_arn: "{{ load_balancer_target_group_arn }}"
    priority: 10
    host_headers: [web.example.com]

- name: Remove it
  shipyard.fargate.elb_listener_rule:
    listener_arn: "{{ load_balancer_https_listener_arn }}"
    target_group_arn: "{{ load_balancer_target_group_arn }}"
    state: absent
"""

RETURN = r"""
rule:
  description: The rule as DescribeRules returns it, in snake_case; empty when there is none (or in check mode
    before it is created).
  returned: always
  type: dict
  contains:
    rule_arn:
      description: ARN of the rule.
      type: str
      returned: when the rule exists
    priority:
      description: Priority of the rule, as a string.
      type: str
      returned: when the rule exists
      sample: "10"
    conditions:
      description: Conditions of the rule.
      type: list
      elements: dict
      returned: when the rule exists
    actions:
      description: Actions of the rule.
      type: list
      elements: dict
      returned: when the rule exists
"""

try:
    import botocore
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.shipyard.fargate.plugins.module_utils.validation.load_balancer import (
    host_header_problem,
    path_pattern_problem,
    priority_problem,
)

# --- pure functions --------------------------------------------------------------------------------------------


def _conditions(host_headers, path_patterns):
    """The conditions for CreateRule/ModifyRule, in a stable order."""
    conditions = []
    if host_headers:
        conditions.append({"Field": "host-header", "HostHeaderConfig": {"Values": sorted(host_headers)}})
    if path_patterns:
        conditions.append({"Field": "path-pattern", "PathPatternConfig": {"Values": sorted(path_patterns)}})
    return conditions


def _condition_view(conditions):
    """{field: sorted values} of a rule's conditions, whichever of the two shapes AWS used."""
    view = {}
    for condition in conditions or []:
        field = condition.get("Field")
        config = condition.get("HostHeaderConfig") or condition.get("PathPatternConfig") or {}
        values = config.get("Values") or condition.get("Values") or []
        view[field] = sorted(values)
    return view


def _forwards_to(rule):
    """Target group ARNs a rule forwards to (plain forward or weighted forward config)."""
    arns = set()
    for action in rule.get("Actions") or []:
        if action.get("Type") != "forward":
            continue
        if action.get("TargetGroupArn"):
            arns.add(action["TargetGroupArn"])
        for group in (action.get("ForwardConfig") or {}).get("TargetGroups") or []:
            arns.add(group.get("TargetGroupArn"))
    return arns


def _view(rule):
    if not rule:
        return {}
    return {
        "priority": rule.get("Priority"),
        "conditions": _condition_view(rule.get("Conditions")),
        "forwards_to": sorted(_forwards_to(rule)),
    }


def _plan(rules, params):
    """(own rule or None, list of actions, error or None) for the desired state: a pure decision."""
    target = params["target_group_arn"]
    own = [r for r in rules if not r.get("IsDefault") and target in _forwards_to(r)]
    current = own[0] if own else None
    if params["state"] == "absent":
        return current, (["delete"] if current else []), None

    wanted_priority = str(params["priority"])
    holder = [r for r in rules if r.get("Priority") == wanted_priority and r is not current]
    if holder:
        others = ", ".join(sorted(_forwards_to(holder[0]))) or "a non-forward action"
        return (
            current,
            [],
            f"priority {wanted_priority} is already taken on the listener by a rule that forwards to {others}",
        )
    if current is None:
        return None, ["create"], None
    actions = []
    if _condition_view(current.get("Conditions")) != _condition_view(
        _conditions(params["host_headers"], params["path_patterns"])
    ) or _forwards_to(current) != {target}:
        actions.append("modify")
    if current.get("Priority") != wanted_priority:
        actions.append("priority")
    return current, actions, None


def _desired_view(params):
    if params["state"] == "absent":
        return {}
    return {
        "priority": str(params["priority"]),
        "conditions": _condition_view(_conditions(params["host_headers"], params["path_patterns"])),
        "forwards_to": [params["target_group_arn"]],
    }


# --- AWS calls -------------------------------------------------------------------------------------------------


def _describe_rules(module, client, listener_arn):
    try:
        paginator = client.get_paginator("describe_rules")
        return paginator.paginate(ListenerArn=listener_arn).build_full_result()["Rules"]
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        module.fail_json_aws(e, msg=f"Failed to describe the rules of listener {listener_arn}")


def _forward(params):
    return [{"Type": "forward", "TargetGroupArn": params["target_group_arn"]}]


def _apply(module, client, current, actions, params):
    conditions = _conditions(params["host_headers"], params["path_patterns"])
    try:
        if "create" in actions:
            client.create_rule(
                aws_retry=True,
                ListenerArn=params["listener_arn"],
                Priority=params["priority"],
                Conditions=conditions,
                Actions=_forward(params),
            )
        if "modify" in actions:
            client.modify_rule(
                aws_retry=True, RuleArn=current["RuleArn"], Conditions=conditions, Actions=_forward(params)
            )
        if "priority" in actions:
            client.set_rule_priorities(
                aws_retry=True, RulePriorities=[{"RuleArn": current["RuleArn"], "Priority": params["priority"]}]
            )
        if "delete" in actions:
            client.delete_rule(aws_retry=True, RuleArn=current["RuleArn"])
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        module.fail_json_aws(e, msg=f"Failed to {', '.join(actions)} the listener rule")


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            listener_arn=dict(type="str", required=True),
            target_group_arn=dict(type="str", required=True),
            priority=dict(type="int"),
            host_headers=dict(type="list", elements="str", default=[]),
            path_patterns=dict(type="list", elements="str", default=[]),
            state=dict(type="str", choices=["present", "absent"], default="present"),
        ),
        required_if=[("state", "present", ["priority"])],
        supports_check_mode=True,
    )
    params = module.params
    if params["state"] == "present":
        # The same rules as the load balancer role's (module_utils/validation/load_balancer.py).
        errors = [
            problem
            for problem in (
                priority_problem(params["priority"], option="priority"),
                host_header_problem(params["host_headers"], option="host_headers"),
                path_pattern_problem(params["path_patterns"], option="path_patterns"),
            )
            if problem
        ]
        if not (params["host_headers"] or params["path_patterns"]):
            errors.append("give host_headers or path_patterns: a rule needs at least one condition")
        if errors:
            module.fail_json(msg="; ".join(errors))

    client = module.client("elbv2", retry_decorator=AWSRetry.jittered_backoff())
    rules = _describe_rules(module, client, params["listener_arn"])
    current, actions, error = _plan(rules, params)
    if error:
        module.fail_json(msg=error)
    diff = {"before": _view(current), "after": _desired_view(params)}
    if not actions:
        module.exit_json(changed=False, rule=camel_dict_to_snake_dict(current or {}))
    if module.check_mode:
        module.exit_json(changed=True, rule=camel_dict_to_snake_dict(current or {}), diff=diff)
    _apply(module, client, current, actions, params)
    after = None
    if params["state"] == "present":
        after = next(
            (
                r
                for r in _describe_rules(module, client, params["listener_arn"])
                if params["target_group_arn"] in _forwards_to(r)
            ),
            None,
        )
    module.exit_json(changed=True, rule=camel_dict_to_snake_dict(after or {}), diff=diff)


if __name__ == "__main__":
    main()
