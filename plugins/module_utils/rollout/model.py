# Copyright: Shipyard maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rollout's vocabulary: the verdicts and reason codes, the options, and the records the waiter passes around.

Pure data (frozen dataclasses, replaced and never mutated); no boto3 or Ansible import.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

WAITING = "WAITING"
SUCCEEDED = "SUCCEEDED"
FAILED = "FAILED"

REASON_CODES = (
    "service_missing",
    "service_inactive",
    "deployment_not_found",
    "circuit_breaker_rollback",
    "superseded",
    "deployment_failed",
    "tasks_stopped",
    "targets_unhealthy",
    "trouble_event",
    "timeout",
)

# ECS service events (DescribeServices events[].message) that mean the deployment is in trouble.

# The module's default stability window (seconds; see its stable_for option for why this value).
DEFAULT_STABLE_FOR = 10

# Success: once the deployment completed (old tasks gone), or at cutover (every new target healthy, the old
# targets draining: no new requests reach them).
SUCCESS_AT = ("completed", "cutover")

# Where a deployment's own state was read: ECS's deployment API (DescribeServiceDeployments) or, where the endpoint
# has none, DescribeServices' rolloutState and the service events.
SOURCE_DEPLOYMENT_API = "deployment_api"
SOURCE_EVENTS = "service_events"


@dataclass(frozen=True)
class Options:
    """How to judge and how to poll (the module's options, in seconds)."""

    timeout: float = 600.0
    # New tasks of the deployment that may stop with a failure before the rollout fails.
    tolerated_stopped_tasks: int = 0
    # How long a target of a running new task may stay `unhealthy` before the rollout fails (at least
    # the service's healthCheckGracePeriodSeconds, when that is longer).
    unhealthy_grace: float = 60.0
    # Polls are fast_delay apart during the first fast_period seconds and for fast_period seconds after any
    # change, then grow by `growth` per quiet poll up to max_delay: 4 s keeps a task that stops during a quiet
    # stretch reported within 5 s, at about 15 DescribeServices a minute.
    fast_delay: float = 2.0
    fast_period: float = 10.0
    max_delay: float = 4.0
    growth: float = 1.5
    throttle_cap: float = 30.0
    # A target health reading at most this old in which every new target was healthy still counts for the
    # success verdict once DescribeServices says the deployment completed; older, it is read again.
    targets_max_age: float = 5.0
    # The pace: the next poll waits until the calls made so far, plus `calls_per_poll` for it and less a burst
    # of `call_burst` (the start, the first details), fit in `calls_per_minute` of the time since the rollout
    # began (0 turns the pace off). 6 + 54/min keeps any rollout of a minute or more within 60 calls a minute.
    calls_per_minute: float = 54.0
    call_burst: int = 6
    calls_per_poll: int = 1
    # The stability window: success only once every running new task has been RUNNING (and each of its targets
    # healthy) this long. 0 judges each poll alone (success as soon as everything is up); the module's default
    # is DEFAULT_STABLE_FOR.
    stable_for: float = 0.0
    # "completed" (the default) or "cutover" (see SUCCESS_AT).
    success_at: str = "completed"


ROLLOUT_FAST_DELAY = 1.0
ROLLOUT_MAX_DELAY = 2.0
ROLLOUT_CALL_BURST = 15
ROLLOUT_CALLS_PER_MINUTE = 45.0


def options_from(params: dict) -> Options:
    """The Options of the module's parameters (a task's arguments: what is unset takes the module's default)."""

    def given(name, default):
        value = params.get(name)
        return default if value is None else value

    return Options(
        # A module run polls on through quiet polls and its start-up overlaps the delay: polls 1 s apart while things
        # move, at most 2 s in a quiet stretch, so a verdict comes within about a second of what decides it. The pace
        # lets the start's burst be bigger (15: UpdateService, the deployment API, the first details) and holds the
        # rest to 45 a minute: any wait of a minute or more stays within 15 + 45 = 60 calls a minute.
        fast_delay=ROLLOUT_FAST_DELAY,
        max_delay=ROLLOUT_MAX_DELAY,
        call_burst=ROLLOUT_CALL_BURST,
        calls_per_minute=ROLLOUT_CALLS_PER_MINUTE,
        timeout=float(given("timeout", 600)),
        tolerated_stopped_tasks=int(given("tolerated_stopped_tasks", 0)),
        unhealthy_grace=float(given("unhealthy_grace", 60)),
        stable_for=float(given("stable_for", DEFAULT_STABLE_FOR)),
        success_at=str(given("success_at", "completed")),
    )


@dataclass(frozen=True)
class Observation:
    """One poll: what the AWS APIs said, and when (seconds since the wait began).

    ``service`` is ``services[0]`` of DescribeServices (None when absent, ``failures`` then says why);
    ``tasks`` the DescribeTasks tasks of the deployment (None: not fetched on this poll);
    ``target_health`` maps each target group ARN to its ``TargetHealthDescriptions`` (None: not fetched);
    ``throttled``: the poll was throttled and returned nothing; ``at``: the wall clock (aware datetime) when it
    was made, None when unknown (what task timestamps are compared with); ``service_deployment``: our deployment
    from ECS's deployment API (DescribeServiceDeployments), None when not read; ``deployment_api``: whether the
    endpoint has that API (None: not known yet).
    """

    service: dict | None = None
    failures: tuple = ()
    tasks: tuple | None = None
    target_health: dict | None = None
    elapsed: float = 0.0
    throttled: bool = False
    api_calls: int = 0
    # Attempts made again within those calls (botocore's retries after throttling, a 5xx, a dropped connection).
    api_retries: int = 0
    at: datetime | None = None
    # ECS's deployment API: our deployment as DescribeServiceDeployments describes it (None: not read on this poll),
    # and whether the endpoint has the API (None: not asked yet; False: it answered that it has none).
    service_deployment: dict | None = None
    deployment_api: bool | None = None
    # Polls made just before this one, in the same module run, that changed nothing (``loop.watch``): counted, not
    # returned.
    quiet_polls: int = 0
    quiet_calls: int = 0
    quiet_retries: int = 0


@dataclass(frozen=True)
class StoppedTask:
    """A new task that stopped with a failure, reduced to what a message needs."""

    task_arn: str
    stopped_reason: str
    stop_code: str | None
    elb: bool
    containers: tuple = ()  # (name, exit code or None, reason or None)
    stopped_at: datetime | None = None

    @property
    def task_id(self) -> str:
        return (self.task_arn or "").rsplit("/", 1)[-1]


@dataclass(frozen=True)
class Summary:
    """Where a rollout stands; two equal summaries mean nothing moved."""

    service_name: str
    service_status: str | None = None
    deployment_id: str | None = None
    deployment_status: str | None = None
    rollout_state: str | None = None
    desired: int = 0
    running: int = 0
    pending: int = 0
    deployment_failed_tasks: int = 0
    failed: int = 0
    targets_healthy: int = 0
    targets_total: int | None = None  # None: no load balancer
    latest_event_id: str | None = None
    # The newest service event since the deployment began that names a task not known to be another
    # deployment's ("has started 1 tasks: (task ...)"): a task of ours may have come or gone.
    task_event_id: str | None = None
    # Running new tasks the last DescribeTasks detail knows; fewer than ``running``: the detail is stale.
    tasks_known: int = field(default=0, compare=False)
    # The stability window: seconds every running new task (and its targets) has been up, None while not all
    # are; and the window asked for (0: none). Time alone moves them: not a change.
    stable_for: float | None = field(default=None, compare=False)
    stable_window: float = field(default=0.0, compare=False)
    # Success at cutover: whether every old target of the attached target groups is draining or gone (None: not
    # asked for, or no load balancer). A change: it ends the wait.
    old_draining: bool | None = None

    def task_level(self) -> tuple:
        """The part of DescribeServices that says our tasks moved (what decides whether to describe them again).

        Not the rollout state, the deployment status or events about other deployments' tasks: those need no
        task detail (a COMPLETED rollout needs a fresh look at the targets only).
        """
        return (
            self.service_status,
            self.deployment_id,
            self.desired,
            self.running,
            self.pending,
            self.deployment_failed_tasks,
            self.task_event_id,
        )

    def looks_done(self) -> bool:
        """Everything DescribeServices tells says success: only the targets' health can still hold it back."""
        return (
            self.deployment_status == "PRIMARY"
            and self.rollout_state in (None, "COMPLETED")
            and self.running == self.desired
            and self.pending == 0
        )

    def as_dict(self) -> dict:
        return {
            "service_name": self.service_name,
            "service_status": self.service_status,
            "deployment_id": self.deployment_id,
            "deployment_status": self.deployment_status,
            "rollout_state": self.rollout_state,
            "desired_count": self.desired,
            "running_count": self.running,
            "pending_count": self.pending,
            "failed_tasks": self.failed,
            "targets_healthy": self.targets_healthy,
            "targets_total": self.targets_total,
            "stable_for": None if self.stable_for is None else round(self.stable_for, 1),
            "stable_window": self.stable_window,
            "old_targets_draining": self.old_draining,
        }


@dataclass(frozen=True)
class Verdict:
    """The decision on one observation. ``log_task_arn``/``log_container``: whose log explains a failure."""

    kind: str
    reason_code: str | None = None
    message: str = ""
    deployment_id: str | None = None
    task_ids: tuple = ()
    log_task_arn: str | None = None
    log_container: str | None = None
    rollback_deployment_id: str | None = None
    # Where the deployment's own state was read (SOURCE_DEPLOYMENT_API or SOURCE_EVENTS).
    source: str = SOURCE_EVENTS

    @property
    def done(self) -> bool:
        return self.kind != WAITING


@dataclass(frozen=True)
class DetailCalls:
    """Which detail calls a poll needs.

    ``tasks``: ListTasks (desiredStatus RUNNING) and DescribeTasks of what it lists; ``stopped``: also ListTasks
    (desiredStatus STOPPED), its tasks described in the same DescribeTasks (implies ``tasks``); ``targets``:
    DescribeTargetHealth, one call per target group; ``deployment``: our deployment from ECS's deployment API
    (ListServiceDeployments once to find it, then DescribeServiceDeployments).
    """

    tasks: bool = False
    stopped: bool = False
    targets: bool = False
    deployment: bool = False

    def __bool__(self) -> bool:
        return self.tasks or self.stopped or self.targets or self.deployment

    def names(self) -> list:
        """The calls as the observe step's ``_detail`` option lists them."""
        wanted = (
            ("tasks", self.tasks or self.stopped),
            ("stopped", self.stopped),
            ("targets", self.targets),
            ("deployment", self.deployment),
        )
        return [name for name, ask in wanted if ask]

    @classmethod
    def from_names(cls, names) -> DetailCalls:
        names = set(names or ())
        return cls(
            tasks="tasks" in names or "stopped" in names,
            stopped="stopped" in names,
            targets="targets" in names,
            deployment="deployment" in names,
        )

    def __or__(self, other: DetailCalls) -> DetailCalls:
        return DetailCalls(
            tasks=self.tasks or other.tasks,
            stopped=self.stopped or other.stopped,
            targets=self.targets or other.targets,
            deployment=self.deployment or other.deployment,
        )


@dataclass(frozen=True)
class WaitState:
    """What the waiter remembers between polls (replaced, never mutated)."""

    service_name: str
    deployment_id: str | None = None
    task_definition_arn: str | None = None
    since: datetime | None = None  # our deployment's createdAt: older service events are not ours
    previous_deployment_ids: tuple = ()
    previous_task_definition_arn: str | None = None
    elapsed: float = 0.0
    polls: int = 0
    api_calls: int = 0
    api_retries: int = 0  # attempts made again within api_calls (AWS throttled or failed them; retried)
    delay: float = 0.0
    throttles: int = 0  # consecutive throttled polls
    summary: Summary | None = None
    tasks: tuple | None = None  # last DescribeTasks detail (reused while nothing changes)
    target_health: dict | None = None  # last DescribeTargetHealth detail
    targets_read_at: float | None = None  # elapsed when target_health was last read
    stopped: tuple = ()  # StoppedTask, each failed new task once
    unhealthy_since: dict = field(default_factory=dict)  # (tg, id, port) -> elapsed first seen unhealthy
    # The stability window's marks, on this wait's clock (negative: before the wait began): since when each
    # running new task has been RUNNING (task ARN ->) and each of its targets healthy ((tg, id, port) ->).
    running_since: dict = field(default_factory=dict)
    healthy_since: dict = field(default_factory=dict)
    target_reasons: dict = field(default_factory=dict)  # task id -> (tg arn, Reason, Description)
    seen_event_ids: frozenset = frozenset()
    last_change: float = 0.0
    timeline: tuple = ()
    # What came before this wait and counts for the pace (the start step's calls, a failed rollout's wait before
    # its rollback): calls made and seconds spent.
    calls_before: int = 0
    seconds_before: float = 0.0
    # ECS's deployment API: whether the endpoint has it (None: not asked yet), our deployment's ARN there once found,
    # and its last description.
    deployment_api: bool | None = None
    service_deployment_arn: str | None = None
    service_deployment: dict | None = None


@dataclass(frozen=True)
class Outcome:
    """What ``wait_for`` returns: the final verdict, the last state (where it stuck) and the elapsed time."""

    verdict: Verdict
    state: WaitState
    elapsed: float


@dataclass(frozen=True)
class Facts:
    """What one observation says about our deployment, derived once per poll (``facts.derive``) and shared by the
    summary, the verdict and the state's advance.

    ``ours``: our deployment in DescribeServices (None: not there); ``since``: since when service events are ours
    (the waiter's mark first); ``verdict_since``: the same, our deployment's createdAt first (what the verdict reads
    events from); ``tasks``/``target_health``: the detail in effect (this poll's, else the last one read); ``mine``:
    our deployment's tasks, ``running`` those running, ``rows`` their targets (task, tg arn, key, TargetHealth);
    ``stopped``: every failed new task seen so far; ``others``: ids of listed tasks that are not ours;
    ``running_since``/``healthy_since``/``stable_since``: the stability window (empty/None without one);
    ``old_targets``: the other targets of the attached target groups (tg arn, id, port, TargetHealth).
    """

    service: dict | None
    ours: dict | None
    deployment_id: str | None
    task_definition_arn: str | None
    since: datetime | None
    verdict_since: datetime | None
    tasks: tuple | None
    target_health: dict | None
    mine: tuple = ()
    running: tuple = ()
    rows: tuple = ()
    stopped: tuple = ()
    others: frozenset = frozenset()
    running_since: dict = field(default_factory=dict)
    healthy_since: dict = field(default_factory=dict)
    stable_since: float | None = None
    old_targets: tuple = ()
    service_deployment: dict | None = None
