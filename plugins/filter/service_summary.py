# Copyright: Shipyard maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``shipyard.fargate.service_summary``, ``service_outcome`` and ``service_in_place_rollout`` filters
(documentation: service_summary.yml, service_outcome.yml and service_in_place_rollout.yml beside this file).

Pure functions on the controller, what a provision, deploy or rollback says of one service: the summary's lines
(``playbooks/tasks/summary.yml``; deploy.yml's report of the services in place) and the outcome record published
with set_stats and sent to the chat (``playbooks/tasks/outcome.yml``), and the rollout record of a service found in
place (the service role's deploy_in_place.yml; deploy.yml's report). One place for each, whichever task reports.
"""

from __future__ import annotations

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError
from ansible.module_utils.parsing.convert_bool import boolean


def _flag(value) -> bool:
    return boolean(value, strict=False) if value is not None else False


def _mapping(value) -> Mapping:
    return value if isinstance(value, Mapping) else {}


def _rollout_line(rollout: Mapping, awaiting_image: bool, host: str) -> str:
    if awaiting_image:
        return (
            "  no rollout: created at 0 tasks, its image is not in the registry yet; deploy it with"
            f" ansible-playbook playbooks/deploy.yml --limit {host}"
        )
    if not rollout:
        return "  rollout not waited for"
    if _flag(rollout.get("in_place")):
        return f"  no rollout needed: {rollout.get('message')} ({rollout.get('api_calls')} AWS calls to check)"
    updated = " (service updated)" if _flag(rollout.get("changed")) else " (no update needed)"
    retries = int(rollout.get("api_retries") or 0)
    retried = f" ({retries} retried)" if retries > 0 else ""
    return (
        f"  rollout {rollout.get('verdict')}{updated} in {rollout.get('elapsed')} s,"
        f" {rollout.get('api_calls')} AWS calls{retried}"
    )


def service_summary(report):
    """The summary's lines for one service: where it answers, the image, the task definition, the rollout and
    its timeline. ``report`` (a mapping): ``service``, ``cluster``, ``host`` (the inventory host, for the deploy
    hint), ``desired_count``, ``seconds`` (since the run started, or null), ``url``, ``load_balancer_dns_name`` and
    ``listener_priority`` (known when this run provisioned the load balancer), ``image`` (``reference``, ``tag``,
    ``built``; null when no image is known), ``repository_uri``, ``task_definition_arn``, ``awaiting_image`` and
    ``rollout`` (shipyard.fargate.ecs_rollout's result, or null when none was waited for)."""
    if not isinstance(report, Mapping):
        raise AnsibleFilterError(f"service_summary: expected a mapping, got {type(report).__name__}")
    try:
        rollout = _mapping(report.get("rollout"))
        seconds = report.get("seconds")
        lines = [
            f"service {report['service']} in cluster {report['cluster']}: {report.get('desired_count')} task(s)"
            + (f", {seconds} s in all" if seconds is not None else ""),
            (report.get("url") or "")
            + (
                f" -> {report['load_balancer_dns_name']} (listener rule priority {report.get('listener_priority')})"
                if report.get("load_balancer_dns_name")
                else ""
            ),
        ]
        image = report.get("image")
        if isinstance(image, Mapping):
            where = ", built" if _flag(image.get("built")) else ", already in the registry"
            lines.append(f"  image {image.get('reference')} (tag {image.get('tag')}{where})")
        else:
            lines.append(f"  image repository {report.get('repository_uri') or '-'}")
        lines.append(f"  task definition {report.get('task_definition_arn') or '-'}")
        lines.append(_rollout_line(rollout, _flag(report.get("awaiting_image")), report.get("host") or ""))
        rotation = _mapping(rollout.get("secret_rotation")).get("reason")
        if rotation:
            lines.append(f"  {rotation}")
        lines.extend(f"    {event.get('message')}" for event in rollout.get("timeline") or [] if event)
    except KeyError as e:
        raise AnsibleFilterError(f"service_summary: the report has no {e}") from None
    return lines


def service_outcome(
    rollout, service, cluster, image_tag=None, image_digest=None, task_definition_arn=None, release=None
):
    """What happened to one service, as set_stats publishes it (``shipyard_services.<service>``) and the chat
    message tells it: ``rollout`` is shipyard.fargate.ecs_rollout's result (succeeded or failed) or null when the
    run stopped before it; ``release`` the release step's result, if one ran. ``task_definition_arn`` is used when
    the rollout does not name one."""
    given = _mapping(rollout)
    release = _mapping(release)
    release_failed = _flag(release.get("failed"))
    failed = _flag(given.get("failed")) or release_failed
    reason = given.get("message", given.get("msg"))  # a failed rollout's; a failed release step's comes first
    if release_failed:
        reason = release.get("msg")
    rollback = given.get("rollback")
    return {
        "service": service,
        "cluster": cluster,
        "image_tag": image_tag,
        "image_digest": image_digest,
        "task_definition_arn": given.get("task_definition_arn", task_definition_arn),
        "previous_task_definition_arn": given.get("previous_task_definition_arn"),
        "verdict": "FAILED" if failed else (given.get("verdict") if given else None),
        "updated": _flag(given.get("changed")),
        "reason": reason if failed else None,
        "release_exit_code": release.get("exit_code"),
        "rolled_back_to": rollback.get("task_definition_arn") if isinstance(rollback, Mapping) else None,
        "elapsed": given.get("elapsed"),
    }


def service_in_place_rollout(info):
    """The rollout record of a service found in place, shaped as shipyard.fargate.ecs_rollout's result (verdict
    SUCCEEDED, nothing changed, no wait): ``info`` is shipyard.fargate.service_deploy_info's result for the service
    (its ``service``, the ``task_definition`` it runs, ``api_calls``, ``secret_rotation``)."""
    if not isinstance(info, Mapping):
        raise AnsibleFilterError(f"service_in_place_rollout: expected a mapping, got {type(info).__name__}")
    service = _mapping(info.get("service"))
    running = _mapping(info.get("task_definition"))
    if not service or not running:
        raise AnsibleFilterError(
            "service_in_place_rollout: the look-up names no service or no task definition; the service is not in place"
        )
    return {
        "changed": False,
        "failed": False,
        "in_place": True,
        "verdict": "SUCCEEDED",
        "reason_code": None,
        "message": (
            f"already running {running.get('family')}:{running.get('revision')}, steady:"
            f" {service.get('runningCount')} of {service.get('desiredCount')} task(s), one deployment, COMPLETED"
        ),
        "task_definition_arn": running.get("taskDefinitionArn"),
        "previous_task_definition_arn": None,
        "elapsed": 0,
        "api_calls": info.get("api_calls"),
        "timeline": [],
        "secret_rotation": info.get("secret_rotation"),
    }


class FilterModule:
    def filters(self):
        return {
            "service_summary": service_summary,
            "service_outcome": service_outcome,
            "service_in_place_rollout": service_in_place_rollout,
        }
