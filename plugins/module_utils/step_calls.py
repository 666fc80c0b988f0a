# Copyright: Shipyard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The AWS calls of one step of a waiter module (``ecs_rollout``, ``ecs_task_run``): made, counted, retried.

Those modules do one AWS step per run and their action plugins keep the loop: the loop decides how to back off when
AWS throttles an observation, so the observe step makes its calls without retries, the other steps (start, stop,
logs, rollback) with amazon.aws's jittered backoff.
"""

from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

# The error codes AWS answers a throttled call with (ECS, ELB, CloudWatch Logs).
THROTTLING = ("Throttling", "ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded")


class StepCalls:
    """Makes and counts a step's AWS calls (the result's ``api_calls``): ``call("describe_services", ...)``.

    ``api`` picks the client (ecs, elbv2, logs). With ``retry``, calls retry with jittered backoff; without
    (the observe step), throttling reaches the waiter, which backs off itself.
    """

    def __init__(self, module, retry):
        self.module = module
        self.retry = retry
        self.clients = {}
        self.count = 0

    def __call__(self, operation, api="ecs", probe=False, **kwargs):
        """``probe``: one attempt, no retry at all (not botocore's either): asking whether the endpoint has an
        operation, an error answer is the answer (``rollout.service_deployments.not_supported``)."""
        key = (api, probe)
        if key not in self.clients:
            decorator = AWSRetry.jittered_backoff() if self.retry and not probe else None
            extra = {"config": {"retries": {"total_max_attempts": 1}}} if probe else {}
            self.clients[key] = self.module.client(api, retry_decorator=decorator, **extra)
        if self.retry and not probe:
            kwargs["aws_retry"] = True
        self.count += 1
        return getattr(self.clients[key], operation)(**kwargs)
