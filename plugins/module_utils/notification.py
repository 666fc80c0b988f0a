# Copyright: Shipyard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The message ``webhook_notify`` posts for a deploy or a rollback, and how it posts it.

The message is Slack-compatible JSON: a ``text`` (the notification's one line, and the fallback) plus one legacy
``attachment`` with a colour per outcome, a title, the reason and short fields. Attachments rather than Block Kit
``blocks``: Slack renders both, but the receivers that take "Slack-compatible" webhooks (Mattermost, Rocket.Chat,
Discord's ``/slack`` endpoint, Microsoft Teams connectors' Slack mode) render attachments with colours and fields,
and most ignore ``blocks``.

Only what the caller passes goes into the message (the reason is the rollout's own message, which names tasks,
exit codes and log lines, never secret values); the webhook URL is never part of any text here: errors name the
HTTP status or the error's class only. Plain functions; only the module calls ``fail_json`` / ``warn``.
"""

from __future__ import annotations

import json
import random
import time
from urllib.error import HTTPError, URLError
from urllib.parse import urlsplit

from ansible.module_utils.urls import Request
from ansible_collections.shipyard.fargate.plugins.module_utils.registry_v2 import LOOPBACK_HOSTS
from ansible_collections.shipyard.fargate.plugins.module_utils.rollout.payloads import task_definition_label
from ansible_collections.shipyard.fargate.plugins.module_utils.url_check import error_words

# ecs_rollout's verdict words (its RETURN verdict), and ROLLED_BACK: a deploy that failed and was rolled back.
VERDICTS = ("SUCCEEDED", "FAILED", "ROLLED_BACK", "SKIPPED")
EVENTS = ("deploy", "rollback")
# Colours (Slack's own "good", "warning" and "danger" hues, as hex so every receiver reads them).
GREEN, AMBER, RED, GREY = "#2eb886", "#daa038", "#a30200", "#9e9e9e"
REASON_CHARS = 2000  # of the reason in the attachment: the verdict and the last log lines, not a whole log
TEXT_REASON_CHARS = 200  # of the reason's first line in the one-line text
RETRY_STATUSES = (429, 500, 502, 503, 504)
MAX_RETRIES = 5
BACKOFF_BASE = 0.5  # seconds: the n-th retry waits a random time in [0, min(BACKOFF_CAP, BACKOFF_BASE * 2**n)]
BACKOFF_CAP = 4.0


def option_errors(params) -> list[str]:
    """Problems with the options, each naming its option (never echoing the webhook URL)."""
    errors = []
    if urlsplit(params["url"] or "").scheme not in ("http", "https") or not urlsplit(params["url"] or "").hostname:
        errors.append("url must be the webhook's http:// or https:// URL (the value is not shown: it is a secret).")
    service_url = params.get("service_url")
    if service_url and urlsplit(service_url).scheme not in ("http", "https"):
        errors.append(f"service_url must be an http:// or https:// URL, got '{service_url}'.")
    if params.get("duration") is not None and params["duration"] < 0:
        errors.append(f"duration must be 0 or more seconds, got {params['duration']}.")
    if not 0 <= params["retries"] <= MAX_RETRIES:
        errors.append(f"retries must be 0 to {MAX_RETRIES}, got {params['retries']}.")
    if params["timeout"] <= 0:
        errors.append(f"timeout must be greater than 0, got {params['timeout']}.")
    return errors


def outcome(event, verdict, rolled_back_to=None, rollback_verdict=None) -> tuple[str, str]:
    """``(words, colour)``: what happened, e.g. ``("failed, rolled back to web:6", AMBER)``.

    A deploy: SUCCEEDED green; ROLLED_BACK (or FAILED with ``rolled_back_to``) amber, the service still serves the
    previous version; FAILED with no rollback, or a rollback that failed too (``rollback_verdict`` FAILED), red;
    SKIPPED (check mode, or not waited for) grey. A rollback (the rollback playbook): SUCCEEDED or ROLLED_BACK amber
    (the service runs an older version now), FAILED red.
    """
    back_to = f" to {rolled_back_to}" if rolled_back_to else ""
    if verdict == "SKIPPED":
        return "was not waited for (skipped)", GREY
    if event == "rollback":
        return (f"rollback{back_to} failed", RED) if verdict == "FAILED" else (f"rolled back{back_to}", AMBER)
    if verdict == "SUCCEEDED":
        return "succeeded", GREEN
    rolled_back = verdict == "ROLLED_BACK" or bool(rolled_back_to)
    if rolled_back and rollback_verdict == "FAILED":
        return f"failed, and the rollback{back_to} failed too", RED
    if rolled_back:
        return f"failed, rolled back{back_to}", AMBER
    return "failed", RED


def duration_words(seconds) -> str | None:
    """``45s``, ``2m 05s``, ``1h 02m``; None when unknown."""
    if seconds is None:
        return None
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m {seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def escape(text) -> str:
    """Slack's three control characters escaped (``&``, ``<``, ``>``): a log line stays text, never a link or a
    mention."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _trim(text: str, limit: int) -> str:
    suffix = " ... (trimmed)"
    return text if len(text) <= limit else text[: limit - len(suffix)] + suffix


def build_message(
    *,
    event,
    service,
    verdict,
    environment=None,
    version=None,
    duration=None,
    reason=None,
    rolled_back_to=None,
    rollback_verdict=None,
    service_url=None,
    fields=None,
    now=None,
) -> dict:
    """The JSON body posted: ``{"text": ..., "attachments": [{"color", "fallback", "title", "title_link", "text",
    "fields", "footer", "ts"}]}``. The reason appears only when the outcome is not a success."""
    rolled_back_to = task_definition_label(rolled_back_to) if rolled_back_to else None
    words, colour = outcome(event, verdict, rolled_back_to, rollback_verdict)
    what = "Rollback" if event == "rollback" else "Deploy"
    subject = (
        f"{what} of {service}" + (f" {version}" if version else "") + (f" to {environment}" if environment else "")
    )
    took = duration_words(duration)
    text = f"{subject} {words}" + (f" ({took})" if took else "")
    ok = verdict in ("SUCCEEDED", "SKIPPED") or (event == "rollback" and verdict == "ROLLED_BACK")
    reason = (reason or "").strip() if not ok else ""
    if reason:
        text += ": " + _trim(reason.splitlines()[0], TEXT_REASON_CHARS)
    short = [
        ("Service", service),
        ("Environment", environment),
        ("Version", version),
        ("Verdict", verdict),
        ("Duration", took),
        ("Rolled back to", rolled_back_to),
    ]
    short += [(str(name), value) for name, value in sorted((fields or {}).items())]
    attachment = {
        "color": colour,
        "fallback": escape(text),
        "title": escape(f"{subject} {words}"),
        "text": escape(_trim(reason, REASON_CHARS)) if reason else "",
        "fields": [
            {"title": escape(name), "value": escape(value), "short": True}
            for name, value in short
            if value is not None and str(value) != ""
        ],
        "footer": "shipyard.fargate",
        "ts": int(now if now is not None else time.time()),
    }
    if service_url:
        attachment["title_link"] = service_url
    return {"text": escape(text), "attachments": [attachment]}


def backoff(retry: int, rng: random.Random, retry_after=None) -> float:
    """Seconds before retry number ``retry`` (0 = the first retry): full jitter, capped; a 429's ``Retry-After``
    (seconds) is honoured up to the cap."""
    delay = rng.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2**retry))
    try:
        wanted = float(retry_after) if retry_after is not None else 0.0
    except ValueError:  # an HTTP date: not worth parsing for a notification
        wanted = 0.0
    return min(max(delay, wanted), BACKOFF_CAP)


class Delivery:
    """What posting came to: ``delivered``, the last HTTP ``status`` (None when none came), ``attempts``, and
    ``problem`` in words (no URL in it) when not delivered."""

    def __init__(self, delivered, status=None, attempts=0, problem=None):
        self.delivered = delivered
        self.status = status
        self.attempts = attempts
        self.problem = problem


def deliver(send, retries, *, sleep=time.sleep, rng=None) -> Delivery:
    """Post with ``send()`` -> ``(status, retry_after)`` or raises ``HTTPError`` / ``URLError`` / ``OSError``;
    retry on 429, 5xx and connection errors, ``retries`` times at most, with jittered backoff. Never raises for
    the webhook's answer."""
    rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
    attempts = 0
    while True:
        attempts += 1
        retry_after = None
        try:
            status = send()
        except HTTPError as e:
            status = e.code
            retry_after = e.headers.get("Retry-After") if e.headers is not None else None
            problem = f"the webhook answered HTTP {e.code}" + (f" ({e.reason})" if e.reason else "")
            retryable = e.code in RETRY_STATUSES
        except (URLError, OSError) as e:
            status = None
            problem = f"the webhook could not be reached: {error_words(e)}"
            retryable = True
        else:
            if 200 <= status < 300:
                return Delivery(True, status, attempts)
            problem = f"the webhook answered HTTP {status}"
            retryable = status in RETRY_STATUSES
        if not retryable or attempts > retries:
            tries = f" after {attempts} attempts" if attempts > 1 else ""
            return Delivery(False, status, attempts, problem + tries)
        sleep(backoff(attempts - 1, rng, retry_after))


def poster(url, payload, timeout, validate_certs=True, ca_path=None):
    """``send`` for ``deliver``: one POST of the JSON payload; returns the HTTP status (redirects not followed: a
    webhook that moved says so as a 3xx)."""
    request = Request(
        headers={"Content-Type": "application/json"},
        timeout=timeout,
        validate_certs=validate_certs,
        ca_path=ca_path,
        follow_redirects="none",
        use_proxy=urlsplit(url).hostname not in LOOPBACK_HOSTS,
        use_netrc=False,
        http_agent="shipyard.fargate.webhook_notify",
    )
    body = json.dumps(payload).encode("utf-8")

    def send():
        response = request.open("POST", url, data=body)
        try:
            response.read()
        finally:
            response.close()
        return response.status

    return send
