"""webhook_notify: the message (words, colour, fields, escaping), the retry policy on scripted answers, then the
module against a real receiver on 127.0.0.1 in a thread (payload shape, 500 then 200, 404 as a warning, check mode)
and one ansible-playbook -vvv run proving the webhook URL's token appears nowhere in the output."""

from __future__ import annotations

import http.server
import json
import os
import random
import subprocess
import sys
import threading
from pathlib import Path
from typing import ClassVar
from urllib.error import HTTPError, URLError

import pytest
from ansible.module_utils import _internal as ansible_internal
from ansible.module_utils.common import warnings as ansible_warnings
from ansible.module_utils.testing import patch_module_args
from ansible_collections.shipyard.fargate.plugins.module_utils import notification as n
from ansible_collections.shipyard.fargate.plugins.modules import webhook_notify

REPO = Path(__file__).resolve().parents[2]
TOKEN = "T0SHIPYARD/B0HOOK/xoxsecretTOKEN42"  # the secret part of a Slack webhook URL
NOW = 1796544000
ARN = "arn:aws:ecs:us-east-1:123456789012:task-definition/shop-web:6"

# ---------------------------------------------------------------------------------------------------------------
# The message


@pytest.mark.parametrize(
    ("event", "verdict", "rolled_back_to", "rollback_verdict", "words", "colour"),
    [
        ("deploy", "SUCCEEDED", None, None, "succeeded", n.GREEN),
        ("deploy", "FAILED", None, None, "failed", n.RED),
        ("deploy", "FAILED", "web:6", None, "failed, rolled back to web:6", n.AMBER),
        ("deploy", "ROLLED_BACK", None, None, "failed, rolled back", n.AMBER),
        ("deploy", "ROLLED_BACK", "web:6", "SUCCEEDED", "failed, rolled back to web:6", n.AMBER),
        ("deploy", "FAILED", "web:6", "FAILED", "failed, and the rollback to web:6 failed too", n.RED),
        ("deploy", "SKIPPED", None, None, "was not waited for (skipped)", n.GREY),
        ("rollback", "SUCCEEDED", "web:6", None, "rolled back to web:6", n.AMBER),
        ("rollback", "ROLLED_BACK", None, None, "rolled back", n.AMBER),
        ("rollback", "FAILED", "web:6", None, "rollback to web:6 failed", n.RED),
    ],
)
def test_outcome_words_and_colour(event, verdict, rolled_back_to, rollback_verdict, words, colour):
    assert n.outcome(event, verdict, rolled_back_to, rollback_verdict) == (words, colour)


@pytest.mark.parametrize(
    ("seconds", "words"), [(None, None), (0, "0s"), (44.6, "45s"), (125, "2m 05s"), (3720, "1h 02m")]
)
def test_duration_words(seconds, words):
    assert n.duration_words(seconds) == words


def test_slack_control_characters_are_escaped():
    assert n.escape("<!channel> a & b > c") == "&lt;!channel&gt; a &amp; b &gt; c"


def test_a_failed_and_rolled_back_deploy_message():
    reason = "web: 2 new tasks stopped (exit code 1)\nLast log lines of app:\nError: <boom> & more"
    message = n.build_message(
        event="deploy",
        service="web",
        verdict="FAILED",
        environment="production",
        version="4f1c2e9",
        duration=125.2,
        reason=reason,
        rolled_back_to=ARN,
        rollback_verdict="SUCCEEDED",
        service_url="https://web.example.com",
        fields={"Started by": "ci", "Commit": "4f1c2e9"},
        now=NOW,
    )
    text = (
        "Deploy of web 4f1c2e9 to production failed, rolled back to shop-web:6 (2m 05s): "
        "web: 2 new tasks stopped (exit code 1)"
    )
    assert message == {
        "text": text,
        "attachments": [
            {
                "color": n.AMBER,
                "fallback": text,
                "title": "Deploy of web 4f1c2e9 to production failed, rolled back to shop-web:6",
                "title_link": "https://web.example.com",
                "text": (
                    "web: 2 new tasks stopped (exit code 1)\nLast log lines of app:\nError: &lt;boom&gt; &amp; more"
                ),
                "fields": [
                    {"title": "Service", "value": "web", "short": True},
                    {"title": "Environment", "value": "production", "short": True},
                    {"title": "Version", "value": "4f1c2e9", "short": True},
                    {"title": "Verdict", "value": "FAILED", "short": True},
                    {"title": "Duration", "value": "2m 05s", "short": True},
                    {"title": "Rolled back to", "value": "shop-web:6", "short": True},
                    {"title": "Commit", "value": "4f1c2e9", "short": True},
                    {"title": "Started by", "value": "ci", "short": True},
                ],
                "footer": "shipyard.fargate",
                "ts": NOW,
            }
        ],
    }


def test_a_success_leaves_out_the_reason_and_unknown_fields():
    message = n.build_message(event="deploy", service="api", verdict="SUCCEEDED", reason="ignored", now=NOW)
    assert message["text"] == "Deploy of api succeeded"
    attachment = message["attachments"][0]
    assert attachment["text"] == ""
    assert "title_link" not in attachment
    assert [f["title"] for f in attachment["fields"]] == ["Service", "Verdict"]
    assert attachment["color"] == n.GREEN


def test_a_long_reason_is_trimmed():
    message = n.build_message(event="deploy", service="web", verdict="FAILED", reason="x" * 5000, now=NOW)
    assert len(message["attachments"][0]["text"]) == n.REASON_CHARS
    assert message["attachments"][0]["text"].endswith("... (trimmed)")
    assert len(message["text"]) < 300


# ---------------------------------------------------------------------------------------------------------------
# Retries


def test_backoff_is_jittered_capped_and_honours_retry_after():
    rng = random.Random(3)  # noqa: S311 - a seeded draw, not cryptography
    for retry in range(6):
        for _ in range(50):
            assert 0 <= n.backoff(retry, rng) <= min(n.BACKOFF_CAP, n.BACKOFF_BASE * 2**retry)
    assert len({n.backoff(0, rng) for _ in range(10)}) == 10  # jittered, not fixed
    assert n.backoff(0, rng, retry_after="2") == 2.0
    assert n.backoff(0, rng, retry_after="120") == n.BACKOFF_CAP
    assert 0 <= n.backoff(0, rng, retry_after="Wed, 21 Oct 2015 07:28:00 GMT") <= n.BACKOFF_BASE


def _http_error(code, reason, headers=None):
    return HTTPError("http://hidden", code, reason, headers or {}, None)


def _scripted(*answers):
    queue = list(answers)

    def send():
        answer = queue.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    return send


def test_deliver_retries_a_5xx_then_succeeds():
    send = _scripted(_http_error(500, "Internal Server Error"), 200)
    sleeps = []
    delivery = n.deliver(send, 3, sleep=sleeps.append, rng=random.Random(1))  # noqa: S311
    assert (delivery.delivered, delivery.status, delivery.attempts, delivery.problem) == (True, 200, 2, None)
    assert len(sleeps) == 1
    assert 0 <= sleeps[0] <= n.BACKOFF_BASE


def test_deliver_does_not_retry_a_404():
    send = _scripted(_http_error(404, "Not Found"))
    sleeps = []
    delivery = n.deliver(send, 3, sleep=sleeps.append)
    assert (delivery.delivered, delivery.status, delivery.attempts) == (False, 404, 1)
    assert delivery.problem == "the webhook answered HTTP 404 (Not Found)"
    assert sleeps == []


def test_deliver_gives_up_after_its_retries_and_says_why():
    refused = URLError(ConnectionRefusedError(111, "Connection refused"))
    send = _scripted(_http_error(429, "Too Many Requests", {"Retry-After": "1"}), refused, refused)
    sleeps = []
    delivery = n.deliver(send, 2, sleep=sleeps.append)
    assert (delivery.delivered, delivery.status, delivery.attempts) == (False, None, 3)
    assert delivery.problem == (
        "the webhook could not be reached: connection refused (ConnectionRefusedError) after 3 attempts"
    )
    assert sleeps[0] == 1.0  # the 429's Retry-After
    assert len(sleeps) == 2


def test_option_errors_never_echo_the_url():
    params = {"url": f"hooks.example.com/{TOKEN}", "retries": 9, "timeout": 0, "event": "deploy"}
    errors = " ".join(n.option_errors(params))
    assert "url must be the webhook's http:// or https:// URL" in errors
    assert "retries must be 0 to 5, got 9." in errors
    assert "timeout must be greater than 0" in errors
    assert "xoxsecret" not in errors


# ---------------------------------------------------------------------------------------------------------------
# The module against a real receiver on 127.0.0.1


class _Receiver(http.server.BaseHTTPRequestHandler):
    """Records every POST; answers ``statuses`` in order (then the last one again); a path with ``/gone/`` gets 404."""

    statuses: ClassVar[list] = []
    received: ClassVar[list] = []

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append({"path": self.path, "content_type": self.headers["Content-Type"], "body": body})
        status = (
            404 if "/gone/" in self.path else (self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0])
        )
        answer = b"ok" if status == 200 else b"no_service"
        self.send_response(status)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)


@pytest.fixture
def receiver():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    server.daemon_threads = True
    _Receiver.statuses, _Receiver.received = [200], []
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def _fresh_warnings(monkeypatch):
    """AnsibleModule collects warnings in a process-wide registry: start each in-process run with none. And run as a
    module does: once a test of this process imported a controller-side plugin, ansible's module_utils believe they
    run on the controller and hand warnings to the display instead of the result."""
    monkeypatch.setattr(ansible_warnings, "_global_warnings", {})
    monkeypatch.setattr(ansible_internal, "is_controller", False)


def run(capsys, **args) -> tuple[dict, str]:
    """Run the module in-process: (its result, the JSON it printed)."""
    defaults = {"service": "web", "environment": "local", "version": "v1", "verdict": "SUCCEEDED"}
    with patch_module_args({**defaults, **args}), pytest.raises(SystemExit):
        webhook_notify.main()
    out = capsys.readouterr().out
    return json.loads(out), out


def warnings(result) -> list[str]:
    """The result's warnings as text (ansible-core 2.19 returns each as a WarningSummary with its event's msg)."""
    return [w["event"]["msg"] if isinstance(w, dict) else w for w in result.get("warnings", [])]


def test_the_message_is_posted_as_slack_json(receiver, capsys):
    result, out = run(capsys, url=f"{receiver}/services/{TOKEN}", duration=72, service_url="http://127.0.0.1:29080")
    assert result.get("failed") is not True, result
    assert (result["delivered"], result["status"], result["attempts"], result["changed"]) == (True, 200, 1, False)
    assert result["msg"] == "The webhook accepted the message (HTTP 200)."
    [request] = _Receiver.received
    assert request["path"] == f"/services/{TOKEN}"
    assert request["content_type"] == "application/json"
    posted = json.loads(request["body"])
    assert posted == result["payload"]
    assert posted["text"] == "Deploy of web v1 to local succeeded (1m 12s)"
    [attachment] = posted["attachments"]
    assert attachment["color"] == n.GREEN
    assert attachment["title_link"] == "http://127.0.0.1:29080"
    assert {"title": "Verdict", "value": "SUCCEEDED", "short": True} in attachment["fields"]
    assert "xoxsecret" not in out


def test_a_500_is_retried_then_delivered(receiver, capsys):
    _Receiver.statuses = [500, 200]
    result, out = run(capsys, url=f"{receiver}/services/{TOKEN}", verdict="FAILED", reason="web: task stopped")
    assert (result["delivered"], result["status"], result["attempts"]) == (True, 200, 2)
    assert [r["body"] for r in _Receiver.received] == [_Receiver.received[0]["body"]] * 2  # the same message twice
    assert "xoxsecret" not in out


def test_a_404_is_a_warning_not_a_failure(receiver, capsys):
    result, out = run(capsys, url=f"{receiver}/gone/{TOKEN}", retries=2)
    assert result.get("failed") is not True
    assert (result["delivered"], result["status"], result["attempts"]) == (False, 404, 1)
    assert warnings(result) == ["The notification was not delivered: the webhook answered HTTP 404 (Not Found)."]
    assert "xoxsecret" not in out


def test_an_unreachable_webhook_is_a_warning_without_its_url(capsys, free_port):
    result, out = run(capsys, url=f"http://127.0.0.1:{free_port()}/services/{TOKEN}", retries=0)
    assert result.get("failed") is not True
    assert result["delivered"] is False
    assert result["status"] is None
    assert warnings(result) == [
        "The notification was not delivered: the webhook could not be reached: connection refused "
        "(ConnectionRefusedError)."
    ]
    assert "xoxsecret" not in out
    assert "127.0.0.1" not in out  # not even the host


def test_check_mode_sends_nothing(receiver, capsys):
    result, _ = run(capsys, url=f"{receiver}/services/{TOKEN}", _ansible_check_mode=True)
    assert result["delivered"] is False
    assert result["attempts"] == 0
    assert result["payload"]["text"] == "Deploy of web v1 to local succeeded"
    assert result["msg"] == "Check mode: would post the message to the webhook (nothing sent)."
    assert _Receiver.received == []


def test_bad_options_are_refused_before_anything_is_sent(receiver, capsys):
    result, out = run(capsys, url=f"{receiver}/services/{TOKEN}", retries=9, service_url="web.example.com")
    assert result["failed"] is True
    assert "retries must be 0 to 5, got 9." in result["msg"]
    assert "service_url must be an http:// or https:// URL" in result["msg"]
    assert _Receiver.received == []
    assert "xoxsecret" not in out


def test_the_token_is_in_no_output_of_a_verbose_playbook_run(receiver, tmp_path):
    """What a user (or a CI log) sees with -vvv: module arguments, results, warnings."""
    playbook = tmp_path / "notify.yml"
    playbook.write_text(
        f"""
- name: Notify
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Delivered
      shipyard.fargate.webhook_notify:
        url: {receiver}/services/{TOKEN}
        service: web
        verdict: FAILED
        reason: "web: 1 new task stopped"
    - name: Not delivered (404)
      shipyard.fargate.webhook_notify:
        url: {receiver}/gone/{TOKEN}
        service: web
        verdict: SUCCEEDED
"""
    )
    env = {**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1"}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    run = subprocess.run(
        [
            str(Path(sys.executable).parent / "ansible-playbook"),
            "-i",
            "localhost,",
            "-c",
            "local",
            str(playbook),
            "-vvv",
            "-e",
            f"ansible_python_interpreter={sys.executable}",
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stdout
    assert len(_Receiver.received) == 2  # both were sent (the URL reached the module)
    assert "delivered: true" in run.stdout
    assert "The notification was not delivered: the webhook answered HTTP 404 (Not Found)." in run.stdout
    assert "xoxsecret" not in run.stdout
    assert TOKEN.split("/")[0] not in run.stdout
