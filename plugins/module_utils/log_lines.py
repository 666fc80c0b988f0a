# Copyright: Shipyard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A service's container log lines from CloudWatch Logs: pure parsing, merging and formatting.

Streams of the ``awslogs`` driver are named ``<prefix>/<container>/<task-id>``; ``stream_parts`` reads the
container and the task back. ``since_ms`` turns ``10m`` / ``2h`` / ``1d`` / ``30s`` or an ISO 8601 time into
epoch milliseconds; ``merge`` interleaves events from several reads by timestamp (ties in ingestion order),
each event once, keeping the newest N; ``format_line`` is what the play prints.
No AWS calls here (``shipyard.fargate.ecs_logs`` makes them).
"""

from __future__ import annotations

import datetime
import re

# datetime.UTC is Python 3.11+; module_utils also import on the older Pythons of managed hosts.
_UTC = datetime.timezone.utc  # noqa: UP017

_RELATIVE = re.compile(r"^(\d+)\s*([smhdw])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def since_ms(text, now):
    """``text`` (``10m``, ``2h``, ``45s``, ``1d``, ``1w``, or an ISO 8601 time; without a zone: UTC) -> epoch ms.
    ``now``: epoch seconds. Raises ValueError naming the value when it is neither."""
    value = str(text).strip()
    match = _RELATIVE.match(value)
    if match:
        return int((now - int(match.group(1)) * _UNIT_SECONDS[match.group(2)]) * 1000)
    try:
        moment = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"since {value!r} is neither a duration (10m, 2h, 45s, 1d) nor an ISO 8601 time (2026-12-06T09:00:00Z)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_UTC)
    return int(moment.timestamp() * 1000)


def stream_parts(stream_name):
    """``web/app/0123abcd`` -> (container ``app``, task id ``0123abcd``); a name of another shape -> (None, name)."""
    parts = (stream_name or "").split("/")
    if len(parts) >= 3:
        return parts[-2], parts[-1]
    return None, stream_name


def _key(event):
    return (event.get("logStreamName"), event.get("timestamp", 0), event.get("ingestionTime", 0), event.get("message"))


def merge(*batches, limit=None):
    """Events from several reads (GetLogEvents / FilterLogEvents shapes; a follow poll re-reads the last
    millisecond) -> one list by (timestamp, ingestionTime), oldest first, with ``limit`` the newest ``limit`` only.

    An event seen in several batches counts once: the two APIs do not share event IDs, so events are matched on
    (stream, timestamp, ingestion time, message), and a line written twice in the same millisecond stays twice
    (each such event counts as many times as the batch holding it most often).
    """
    kept, counts = {}, {}
    for batch in batches:
        here = {}
        for event in batch or []:
            key = _key(event)
            here[key] = here.get(key, 0) + 1
            if here[key] > counts.get(key, 0):
                counts[key] = here[key]
                kept.setdefault(key, []).append(event)
    ordered = sorted(
        (event for events in kept.values() for event in events),
        key=lambda e: (e.get("timestamp", 0), e.get("ingestionTime", 0)),
    )
    if limit is not None:
        ordered = ordered[-limit:] if limit > 0 else []
    return ordered


def record(event):
    """One event -> the structured line the module returns."""
    container, task = stream_parts(event.get("logStreamName"))
    stamp = datetime.datetime.fromtimestamp(event.get("timestamp", 0) / 1000, tz=_UTC)
    return {
        "timestamp": stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "task_id": task,
        "container": container,
        "message": (event.get("message") or "").rstrip("\n"),
        "event_id": event.get("eventId"),
    }


def format_line(line):
    """A record -> ``2026-12-06T09:00:00.000Z 0123abcd app | the message``."""
    who = line["task_id"] + (f" {line['container']}" if line.get("container") else "")
    return f"{line['timestamp']} {who} | {line['message']}"


def stream_prefix(prefix, container=None, task=None):
    """The ``logStreamNamePrefix`` narrowing FilterLogEvents to a container (and one task) when asked; None when no
    narrowing is possible (without the prefix and the container, streams are filtered after reading)."""
    if not (container and prefix):
        return None
    return f"{prefix}/{container}/" + (task or "")
