# Copyright: Shipyard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The AWS calls of one step of a waiter module (``ecs_rollout``, ``ecs_task_run``): made, counted, retried.

Those modules do one AWS step per run and their action plugins keep the loop: the loop decides how to back off when
AWS throttles an observation, so the observe step makes its calls without retries, the other steps (start, stop,
logs, rollback) with amazon.aws's jittered backoff.
"""

import threading

try:  # noqa: SIM105 - the modules' AnsibleAWSModule says botocore is missing
    import botocore.exceptions
except ImportError:
    pass

from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

# Making a client (its session, the endpoint data) is not thread-safe; using one is.
_CLIENTS_LOCK = threading.Lock()

# The error codes AWS answers a throttled call with (ECS, ELB, CloudWatch Logs).
THROTTLING = ("Throttling", "ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded")


def retry_attempts(response) -> int:
    """The attempts botocore made again for one call (its standard retries: throttling, 5xx, dropped connections),
    read from a response or an error's response (``ResponseMetadata.RetryAttempts``; 0 when absent)."""
    try:
        return int(((response or {}).get("ResponseMetadata") or {}).get("RetryAttempts") or 0)
    except (AttributeError, TypeError, ValueError):
        return 0


class StepCalls:
    """Makes and counts a step's AWS calls (the result's ``api_calls``): ``call("describe_services", ...)``.

    ``api`` picks the client (ecs, elbv2, logs). With ``retry``, calls retry with jittered backoff; without
    (the observe step), throttling reaches the waiter, which backs off itself (botocore's own retries still
    happen). ``retries`` counts the attempts made again (the result's ``api_retries``): botocore's (each answer's
    ``RetryAttempts``, a failed call's too) and the jittered backoff's.
    """

    def __init__(self, module, retry, clients=None):
        self.module = module
        self.retry = retry
        # ``clients``: shared by the StepCalls of one module run that look up several things at once, in threads
        # (service_deploy_info): one client per API for the run (botocore clients are thread-safe), made under a lock.
        self.clients = {} if clients is None else clients
        self.count = 0
        self.retries = 0

    def __call__(self, operation, api="ecs", probe=False, **kwargs):
        """``probe``: one attempt, no retry at all (not botocore's either): asking whether the endpoint has an
        operation, an error answer is the answer (``rollout.service_deployments.not_supported``)."""
        key = (api, probe)
        client = self.clients.get(key)
        if client is None:
            with _CLIENTS_LOCK:
                if key not in self.clients:
                    extra = {"config": {"retries": {"total_max_attempts": 1}}} if probe else {}
                    self.clients[key] = self.module.client(api, **extra)
                client = self.clients[key]
        method = getattr(client, operation)
        attempts = [0]

        def attempt(**arguments):
            attempts[0] += 1
            try:
                response = method(**arguments)
            except botocore.exceptions.ClientError as e:
                self.retries += retry_attempts(e.response)
                raise
            self.retries += retry_attempts(response)
            return response

        if self.retry and not probe:
            attempt = AWSRetry.jittered_backoff(catch_extra_error_codes=list(THROTTLING))(attempt)
        self.count += 1
        try:
            return attempt(**kwargs)
        finally:
            self.retries += max(0, attempts[0] - 1)  # the jittered backoff's own attempts again
