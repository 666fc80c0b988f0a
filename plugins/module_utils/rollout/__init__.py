# Copyright: Shipyard maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The decisions of ``ecs_rollout``: is an ECS service deployment done, still going, or failed, and why.

Everything here is a pure function of what the AWS APIs returned (DescribeServices, DescribeTasks,
DescribeTargetHealth, DescribeServiceDeployments, DescribeTaskDefinition, GetLogEvents), as boto3 returns them, plus
the waiter's own state. No boto3 or Ansible import: the action plugin on the controller and the module both import
it. By concern:

- ``model``: verdicts, reason codes, options and the records passed around (observation, state, summary, facts);
- ``payloads``: reading AWS answers (deployments, tasks, targets, service events, log streams);
- ``service_deployments``: reading ECS's deployment API (ListServiceDeployments, DescribeServiceDeployments);
- ``facts``: one poll's facts, derived once (our deployment, its tasks, the failed ones, targets, the window);
- ``progress``: the summary, progress lines, the timeline and the module's result;
- ``polling``: which detail calls a poll needs, when the next poll comes, the pace of calls;
- ``verdict``: the verdict on one observation (the rules, in order, are in its docstring);
- ``loop``: the start state, one poll, the state after it, the loop and its replay on recorded answers;
- ``wire``: the state and a poll's answers across the module boundary.
"""
