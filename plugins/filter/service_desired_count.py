# Copyright: Shipyard maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``shipyard.fargate.service_desired_count`` filter (documentation: service_desired_count.yml beside it).

A pure function: the desired count the service role gives an ECS service, from the service as it is (or None),
the options, whether its image tag is in the registry and which entry point runs (provision or deploy).
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError


def service_desired_count(
    existing,
    desired_count,
    deploying=False,
    image_exists=None,
    image_pulled=True,
    autoscaling=False,
    min_capacity=0,
    max_capacity=0,
):
    """``{"desired_count", "awaiting_image", "reason"}``.

    - auto scaling owns the count of an existing service: kept within min..max (a service at 0 that a deploy rolls
      its first image out to gets at least min_capacity);
    - provision (``deploying`` false) never starts tasks whose image the registry does not hold
      (``image_exists`` False; None means unknown: trusted) unless the tasks pull no image (``image_pulled``
      False): the service is created, or kept, at 0 until its first deploy;
    - a deploy gives a service at 0 tasks ``desired_count``: its first image goes out, never a rollout of nothing.
    """
    try:
        desired = int(desired_count)
        low, high = int(min_capacity), int(max_capacity)
    except (TypeError, ValueError):
        raise AnsibleFilterError(f"service_desired_count: expected whole numbers, got {desired_count!r}") from None
    if desired < 0:
        raise AnsibleFilterError(f"service_desired_count: the desired count must be 0 or more, got {desired}")
    current = None if existing is None else int((existing or {}).get("desiredCount") or 0)
    awaiting = (not deploying) and image_exists is False and bool(image_pulled)
    if awaiting and (current is None or current == 0):
        what = "created" if current is None else "kept"
        return {
            "desired_count": 0,
            "awaiting_image": True,
            "reason": f"{what} at 0 tasks: its image is not in the registry",
        }
    if current is not None and deploying and current == 0:
        count = min(max(desired, low), high) if autoscaling else desired
        return {"desired_count": count, "awaiting_image": False, "reason": "first deploy of a service at 0 tasks"}
    if current is not None and deploying:
        return {"desired_count": current, "awaiting_image": False, "reason": "a deploy keeps the desired count"}
    if current is not None and autoscaling:
        return {
            "desired_count": min(max(current, low), high),
            "awaiting_image": False,
            "reason": "auto scaling owns it",
        }
    return {"desired_count": desired, "awaiting_image": False, "reason": "service_desired_count"}


class FilterModule:
    """Shipyard's ECS service filters."""

    def filters(self):
        return {"service_desired_count": service_desired_count}
