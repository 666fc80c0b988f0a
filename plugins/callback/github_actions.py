# Copyright: Shipyard contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a deploy did, per service, for GitHub Actions: a step summary, step outputs, annotations, a JSON report."""

from __future__ import annotations

DOCUMENTATION = r"""
name: github_actions
type: notification
short_description: A deploy's result for GitHub Actions (step summary, outputs, annotations) and as JSON
description:
  - Collects, per host (one host is one service), what the roles publish (C(image_reference), C(image_digest),
    C(image_resolved_tag), C(image_built), C(service_task_definition_arn)), the result of
    M(shipyard.fargate.ecs_rollout) (verdict, reason, timeline, rollback) and the failure that stopped a host
    (the task and its message; for a rollout, the stopped tasks' exit codes and the container's last log lines).
  - A service for which no rollout ran - one that C(playbooks/deploy.yml) found in place, running what its options
    describe - is reported from the outcome the playbook published for it (set_stats C(shipyard_services)) - its
    verdict, image tag, digest and task definition.
  - At the end of the run it appends Markdown to the file in E(GITHUB_STEP_SUMMARY) (the job's summary page).
  - It appends step outputs to the file in E(GITHUB_OUTPUT) - C(verdict), C(services) (JSON), C(image_digest) and
    C(task_definition_arn) when the run deployed one service, C(report) (the JSON report's path).
  - It writes the whole report as JSON to E(SHIPYARD_REPORT_FILE).
  - When E(GITHUB_ACTIONS) is C(true), it prints one C(::error::) annotation per failed service.
  - Each of these happens only when its variable is set, so the callback is harmless outside GitHub.
  - Results of tasks with C(no_log) reach callbacks censored, so no secret value gets into any of these.
  - The deploy step of the GitHub workflow (C(ci/github/deploy) in the repository, C(/opt/shipyard/ci/github/deploy)
    in the runner image) enables it.
requirements:
  - enabled with C(callbacks_enabled) in ansible.cfg or E(ANSIBLE_CALLBACKS_ENABLED)
"""

import json
import os
import re
import time

from ansible.plugins.callback import CallbackBase

ROLLOUT_ACTIONS = frozenset({"shipyard.fargate.ecs_rollout", "ecs_rollout"})
# The facts the roles publish (their documented results) that the report shows.
PUBLISHED_FACTS = (
    "image_reference",
    "image_digest",
    "image_resolved_tag",
    "image_built",
    "service_task_definition_arn",
)
ROLLOUT_FIELDS = (
    "verdict",
    "reason_code",
    "message",
    "changed",
    "deployment_id",
    "task_definition_arn",
    "previous_task_definition_arn",
    "failed_task_ids",
    "elapsed",
    "api_calls",
    "api_retries",
    "timeline",
    "rollback",
)
SUCCEEDED = "SUCCEEDED"
FAILED = "FAILED"
SKIPPED = "SKIPPED"
ICONS = {SUCCEEDED: "✅", FAILED: "❌", SKIPPED: "⏭️"}


# --- the report: pure functions --------------------------------------------------------------------------------


def service_entry(host: str, seen: dict) -> dict:
    """One service's report from what the run saw of its host (facts, rollout, failure, seconds)."""
    facts = seen.get("facts") or {}
    rollout = seen.get("rollout") or None
    failure = seen.get("failure") or None
    # The outcome the playbook published (set_stats shipyard_services): all there is of a service deploy.yml found
    # in place, for which no role and no rollout ran.
    outcome = seen.get("outcome") or {}
    if failure:
        verdict = FAILED
    elif rollout and rollout.get("verdict"):
        verdict = rollout["verdict"]
    elif outcome.get("verdict"):
        verdict = outcome["verdict"]
    else:
        verdict = SKIPPED
    digest = facts.get("image_digest") or outcome.get("image_digest") or None
    reference = facts.get("image_reference") or None
    entry = {
        "service": host,
        "verdict": verdict,
        "updated": bool(rollout and rollout.get("changed")),
        "changed": bool(seen.get("changed")),
        "image_tag": facts.get("image_resolved_tag") or outcome.get("image_tag") or None,
        "image_built": bool(facts.get("image_built")),
        "image_digest": digest,
        "image_reference": reference,
        "task_definition_arn": (rollout or {}).get("task_definition_arn")
        or facts.get("service_task_definition_arn")
        or outcome.get("task_definition_arn"),
        "previous_task_definition_arn": (rollout or {}).get("previous_task_definition_arn"),
        "seconds": seen.get("seconds"),
        "rollout": rollout,
        "failure": failure,
    }
    if failure:
        reason = (rollout or {}).get("message") if rollout and rollout.get("verdict") == FAILED else None
        entry["reason"] = reason or failure.get("message") or f"task {failure.get('task')!r} failed"
    else:
        entry["reason"] = None
    return entry


def published_outcomes(result: dict) -> dict:
    """``{host: outcome}`` from a set_stats result publishing ``shipyard_services`` (playbooks/tasks/outcome.yml,
    deploy.yml's report of the services in place); ``{}`` for any other result."""
    data = (result.get("ansible_stats") or {}).get("data") or {}
    outcomes = data.get("shipyard_services") if isinstance(data, dict) else None
    if not isinstance(outcomes, dict):
        return {}
    return {host: outcome for host, outcome in outcomes.items() if isinstance(outcome, dict)}


def merge_rollout(earlier: dict | None, later: dict) -> dict:
    """The rollout a host reports when it ran more than one: a later rollout back to the task definition the earlier
    one replaced is that rollout's rollback (the service role rolls back after a failed public URL check), not the
    host's deploy: the earlier rollout stays, with the later one as its `rollback`. Any other later rollout wins."""
    previous = (earlier or {}).get("previous_task_definition_arn")
    if earlier and previous and later.get("task_definition_arn") == previous:
        rollback = {key: later.get(key) for key in ("task_definition_arn", "verdict", "message") if key in later}
        return {**earlier, "rollback": rollback}
    return later


def build_report(
    hosts: dict, playbook: str | None = None, seconds: float | None = None, source: dict | None = None
) -> dict:
    """The run's report: one entry per service (host, in order seen) and the overall verdict."""
    services = [service_entry(host, seen) for host, seen in hosts.items()]
    verdicts = {s["verdict"] for s in services}
    if FAILED in verdicts:
        verdict = FAILED
    elif SUCCEEDED in verdicts:
        verdict = SUCCEEDED
    else:
        verdict = SKIPPED
    return {
        "verdict": verdict,
        "playbook": playbook,
        "seconds": seconds,
        "source": source or {},
        "services": services,
        "failed": [s["service"] for s in services if s["verdict"] == FAILED],
    }


def label(task_definition_arn: str | None) -> str:
    """``family:revision`` of a task definition ARN ('-' when there is none)."""
    return task_definition_arn.rsplit("/", 1)[-1] if task_definition_arn else "-"


def change(service: dict) -> str:
    """What a successful rollout did: updated the service, started a new one, or found nothing to do."""
    if (service["rollout"] or {}).get("changed"):
        return "service updated"
    if service["changed"]:
        return "rolled out"  # a service created with its task definition, or other resources changed on the way
    return "no update needed"


def _cell(text) -> str:
    """Text for a Markdown table cell: one line, pipes escaped."""
    return " ".join(str(text).split()).replace("|", "\\|") if text not in (None, "") else "-"


def _fence(text: str) -> str:
    """A code fence longer than any run of backticks in ``text`` (so the text cannot close it)."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def _block(text: str) -> list[str]:
    fence = _fence(text)
    return [f"{fence}text", text.rstrip("\n"), fence]


def render_markdown(report: dict, title: str = "Shipyard deploy") -> str:
    """The step summary: a table of the services, then each one's rollout timeline and, on failure, the reason."""
    services = report["services"]
    verdict = report["verdict"]
    head = f"## {ICONS.get(verdict, '')} {title}: {verdict.lower()}"
    if report["failed"]:
        head += f" ({', '.join(report['failed'])} failed)"
    lines = [head, ""]
    source = report.get("source") or {}
    if source.get("sha"):
        lines += [f"Commit `{source['sha'][:12]}`" + (f" of `{source['ref']}`" if source.get("ref") else "") + ".", ""]
    if not services:
        lines += ["No service was reached: the run stopped before any host started (see the job's log).", ""]
        return "\n".join(lines)
    lines += [
        "| Service | Verdict | Version (image tag) | Digest | Task definition | Seconds |",
        "| --- | --- | --- | --- | --- | ---: |",
    ]
    for s in services:
        what = s["verdict"]
        if s["verdict"] == SUCCEEDED:
            what += f" ({change(s)})"
        tag = s["image_tag"]
        if tag:
            tag = f"`{tag}`" + (" (built)" if s["image_built"] else " (already in the registry)")
        digest = f"`{s['image_digest']}`" if s["image_digest"] else None
        seconds = f"{s['seconds']:.1f}" if isinstance(s["seconds"], (int, float)) else None
        lines.append(
            "| "
            + " | ".join(
                [
                    _cell(s["service"]),
                    _cell(f"{ICONS.get(s['verdict'], '')} {what}"),
                    _cell(tag),
                    _cell(digest),
                    _cell(label(s["task_definition_arn"])),
                    _cell(seconds),
                ]
            )
            + " |"
        )
    lines.append("")
    for s in services:
        if s["verdict"] == FAILED:
            failure = s["failure"] or {}
            lines += [f'### ❌ {s["service"]}: failed at task "{failure.get("task") or "?"}"', ""]
            lines += _block(s["reason"] or "")
            back = (s["rollout"] or {}).get("rollback")
            if back:
                lines += [
                    "",
                    f"Rolled back to `{label(back.get('task_definition_arn'))}`: {back.get('verdict')}"
                    + (f", {back.get('message')}" if back.get("message") else ""),
                ]
            elif s["previous_task_definition_arn"]:
                lines += ["", f"The service's previous task definition: `{label(s['previous_task_definition_arn'])}`."]
            lines.append("")
        timeline = (s["rollout"] or {}).get("timeline") or []
        if timeline:
            lines += [
                f"<details><summary>{s['service']}: rollout timeline ({len(timeline)} entries)</summary>",
                "",
                "| +s | Kind | What happened |",
                "| ---: | --- | --- |",
            ]
            lines += [
                f"| {e.get('elapsed', '')} | {_cell(e.get('kind'))} | {_cell(e.get('message'))} |" for e in timeline
            ]
            lines += ["", "</details>", ""]
    return "\n".join(lines)


def step_outputs(report: dict, report_file: str | None = None) -> dict:
    """The step outputs: the verdict, every service as JSON, and the digest and task definition of a single one."""
    services = report["services"]
    single = services[0] if len(services) == 1 else {}
    compact = {
        s["service"]: {
            "verdict": s["verdict"],
            "image_tag": s["image_tag"],
            "image_digest": s["image_digest"],
            "task_definition_arn": s["task_definition_arn"],
        }
        for s in services
    }
    return {
        "verdict": report["verdict"],
        "services": json.dumps(compact, sort_keys=True, separators=(",", ":")),
        "image_digest": single.get("image_digest") or "",
        "task_definition_arn": single.get("task_definition_arn") or "",
        "report": report_file or "",
    }


def output_lines(outputs: dict, delimiter: str) -> str:
    """``$GITHUB_OUTPUT`` text: ``name=value``, or the heredoc form for a value with a line break."""
    text = []
    for name, value in outputs.items():
        value = str(value)
        if "\n" in value or "\r" in value:
            if delimiter in value:
                raise ValueError(f"output {name} contains the delimiter")
            text.append(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")
        else:
            text.append(f"{name}={value}\n")
    return "".join(text)


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotations(report: dict, title: str = "Shipyard deploy") -> list[str]:
    """One ``::error::`` workflow command per failed service (the reason, line breaks escaped)."""
    lines = []
    for s in report["services"]:
        if s["verdict"] == FAILED:
            heading = _escape_property(f"{title}: {s['service']} failed")
            lines.append(f"::error title={heading}::{_escape_data(s['reason'] or '')}")
    return lines


# --- the callback: collects, then writes -------------------------------------------------------------------------


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "notification"
    CALLBACK_NAME = "shipyard.fargate.github_actions"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._hosts: dict = {}
        self._playbook = None
        self._started = time.monotonic()

    def _seen(self, result) -> dict:
        host = result._host.get_name()
        seen = self._hosts.setdefault(host, {"first": time.monotonic()})
        seen["seconds"] = round(time.monotonic() - seen["first"], 1)
        return seen

    @staticmethod
    def _rollout(result) -> dict | None:
        if result._task.action not in ROLLOUT_ACTIONS:
            return None
        data = result._result
        return {key: data.get(key) for key in ROLLOUT_FIELDS if key in data}

    def v2_playbook_on_start(self, playbook):
        self._playbook = os.path.basename(getattr(playbook, "_file_name", "") or "") or None
        self._started = time.monotonic()

    def v2_runner_on_ok(self, result):
        seen = self._seen(result)
        if result._result.get("changed"):
            seen["changed"] = True
        facts = result._result.get("ansible_facts") or {}
        published = {key: facts[key] for key in PUBLISHED_FACTS if key in facts}
        if published:
            seen.setdefault("facts", {}).update(published)
        rollout = self._rollout(result)
        if rollout:
            seen["rollout"] = merge_rollout(seen.get("rollout"), rollout)
        for host, outcome in published_outcomes(result._result).items():  # one set_stats may name several services
            self._hosts.setdefault(host, {"first": seen["first"]})["outcome"] = outcome

    def v2_runner_on_failed(self, result, ignore_errors=False):
        seen = self._seen(result)
        if ignore_errors:
            return
        rollout = self._rollout(result)
        if rollout:
            seen["rollout"] = merge_rollout(seen.get("rollout"), rollout)
        seen["failure"] = {
            "task": result._task.get_name(),
            "action": result._task.action,
            "message": str(result._result.get("msg") or "").strip(),
        }

    def v2_runner_on_unreachable(self, result):
        seen = self._seen(result)
        seen["failure"] = {"task": result._task.get_name(), "action": result._task.action,
                           "message": str(result._result.get("msg") or "unreachable")}  # fmt: skip

    def v2_playbook_on_stats(self, stats):
        # A failure that a rescue handled is not the host's end: only hosts the recap counts as failed keep theirs.
        for host, seen in self._hosts.items():
            if seen.get("failure") and not (stats.failures.get(host) or stats.dark.get(host)):
                seen.pop("failure")
        source = {"sha": os.environ.get("GITHUB_SHA"), "ref": os.environ.get("GITHUB_REF_NAME")}
        report = build_report(
            self._hosts, self._playbook, round(time.monotonic() - self._started, 1), source if source["sha"] else None
        )
        report_file = os.environ.get("SHIPYARD_REPORT_FILE")
        try:
            if report_file:
                with open(report_file, "w", encoding="utf-8") as handle:
                    json.dump(report, handle, indent=2, sort_keys=True)
            summary = os.environ.get("GITHUB_STEP_SUMMARY")
            if summary:
                with open(summary, "a", encoding="utf-8") as handle:
                    handle.write(render_markdown(report) + "\n")
            outputs = os.environ.get("GITHUB_OUTPUT")
            if outputs:
                with open(outputs, "a", encoding="utf-8") as handle:
                    handle.write(output_lines(step_outputs(report, report_file), f"shipyard_{os.urandom(8).hex()}"))
        except OSError as error:
            self._display.warning(f"shipyard.fargate.github_actions: could not write the report: {error}")
        if os.environ.get("GITHUB_ACTIONS") == "true":
            for line in annotations(report):
                self._display.display(line)
