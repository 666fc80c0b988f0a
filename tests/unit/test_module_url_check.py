"""url_check: the pure decisions (which answer passes, what a failure says, the consecutive loop on a fake clock),
then the module against a real HTTP server on 127.0.0.1 in a thread (passes, version mismatch, redirects, host
routing, connection refused, timeouts, check mode, bad input)."""

from __future__ import annotations

import datetime
import http.server
import json
import ssl
import threading
import time
from typing import ClassVar

import pytest
from ansible.module_utils.testing import patch_module_args
from ansible_collections.shipyard.fargate.plugins.module_utils import url_check as uc
from ansible_collections.shipyard.fargate.plugins.modules import url_check
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

# ---------------------------------------------------------------------------------------------------------------
# Pure decisions

S = uc.Settings(url="https://web.example.com", expect_version="abc123")


def test_the_target_joins_url_and_path_and_the_label_names_the_host_header():
    settings = uc.Settings(url="http://127.0.0.1:29080/", path="/health", host="web.shipyard.test")
    assert settings.target == "http://127.0.0.1:29080/health"
    assert settings.label == "http://127.0.0.1:29080/health (Host: web.shipyard.test)"
    assert uc.Settings(url="https://x.example.com/api", path="/health?deep=1").target == (
        "https://x.example.com/api/health?deep=1"
    )


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"url": "ftp://web.example.com"}, "url must be an http:// or https:// URL"),
        ({"url": "web.example.com"}, "url must be an http:// or https:// URL"),
        ({"url": "https://web.example.com?x=1"}, "url must not carry a query"),
        ({"path": "health"}, "path must start with '/'"),
        ({"host": "web shop"}, "host must be a host name"),
        ({"expect_status": 42}, "expect_status must be an HTTP status"),
        ({"consecutive": 0}, "consecutive must be at least 1, got 0."),
        ({"interval": 0}, "interval must be greater than 0, got 0."),
        ({"interval": 5, "timeout": 2}, "timeout (2) must be at least interval (5)."),
    ],
)
def test_bad_settings_are_refused_naming_the_option(changes, expected):
    settings = uc.Settings(**{"url": "https://web.example.com", **changes})
    errors = uc.settings_errors(settings)
    assert len(errors) == 1
    assert expected in errors[0]


def test_good_settings_pass():
    assert uc.settings_errors(uc.Settings(url="http://127.0.0.1:29080", host="web.shipyard.test:80")) == []


@pytest.mark.parametrize(
    ("body", "version"),
    [
        (b'{"status": "ok", "version": "abc123"}', "abc123"),
        (b'{"version": 7}', "7"),
        (b'{"status": "ok"}', None),
        (b'["version"]', None),
        (b"<html>ok</html>", None),
        (b"\xff\xfe", None),
        (b"", None),
    ],
)
def test_version_of_reads_a_json_objects_version(body, version):
    assert uc.version_of(body) == version


def test_an_excerpt_is_one_short_line():
    assert uc.excerpt(b"<html>\n  <body>Bad   gateway</body>\n</html>") == "<html> <body>Bad gateway</body> </html>"
    long = uc.excerpt(b"x" * 1000)
    assert len(long) == uc.EXCERPT_CHARS
    assert long.endswith("...")


@pytest.mark.parametrize(
    ("answer", "passes"),
    [
        (uc.Answer(status=200, version="abc123"), True),
        (uc.Answer(status=200, version="4f1c2e9"), False),
        (uc.Answer(status=200), False),
        (uc.Answer(status=503, version="abc123"), False),
        (uc.Answer(status=301, location="https://web.example.com/health"), False),
        (uc.Answer(error="connection refused (ConnectionRefusedError)"), False),
    ],
)
def test_judge_wants_the_status_and_the_version(answer, passes):
    assert uc.judge(answer, S) is passes


def test_without_an_expected_version_any_body_passes():
    assert uc.judge(uc.Answer(status=200), uc.Settings(url="http://127.0.0.1:1"))


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        (uc.Answer(status=200, version="4f1c2e9", excerpt='{"v":1}'), "200 version 4f1c2e9 (expected abc123)"),
        (uc.Answer(status=200, version="abc123"), "200 version abc123"),
        (uc.Answer(status=200, excerpt="<html>hi</html>"), "200 without a version, body: <html>hi</html>"),
        (
            uc.Answer(status=503, version="abc123", excerpt='{"database":"unreachable"}'),
            '503 version abc123, body: {"database":"unreachable"}',
        ),
        (uc.Answer(status=301, location="https://web.example.com/health", excerpt="moved"), "301 -> https://web.example.com/health"),
        (uc.Answer(error="connection refused (ConnectionRefusedError)"), "connection refused (ConnectionRefusedError)"),
    ],
)  # fmt: skip
def test_describe_says_what_the_url_answered(answer, words):
    assert uc.describe(answer, S) == words


def test_the_failure_message_groups_repeated_answers():
    outcome = uc.Outcome(passed=False, answers=[uc.Answer(status=200, version="4f1c2e9")] * 5)
    assert uc.failure_message(outcome, S) == (
        "https://web.example.com/health did not answer 3 consecutive 200s reporting version abc123 within 60 s; "
        "last answers: 200 version 4f1c2e9 (expected abc123) x5"
    )


def test_the_failure_message_keeps_the_order_and_counts_what_it_leaves_out():
    answers = [uc.Answer(error="connection refused (ConnectionRefusedError)")] * 12 + [
        uc.Answer(status=503, version="abc123"),
        uc.Answer(status=200, version="abc123"),
    ]
    text = uc.summarize(answers, S)
    assert text == (
        "(4 earlier) connection refused (ConnectionRefusedError) x8; 503 version abc123; 200 version abc123"
    )
    one = uc.Settings(url="http://127.0.0.1:1", consecutive=1, expect_status=301)
    assert uc.goal(one) == "a 301"


def _scripted(clock, answers, took=0.01):
    queue = list(answers)
    caps = []

    def fetch(cap):
        caps.append(cap)
        clock.now += took
        return queue.pop(0) if queue else answers[-1]

    return fetch, caps


def test_check_wants_consecutive_passes_and_a_failure_starts_the_count_again(clock):
    good, bad = uc.Answer(status=200, version="abc123"), uc.Answer(status=502)
    fetch, _ = _scripted(clock, [good, good, bad, good, good, good])
    outcome = uc.check(fetch, S, clock=clock, sleep=clock.sleep)
    assert outcome.passed
    assert [uc.judge(a, S) for a in outcome.answers] == [True, True, False, True, True, True]
    assert outcome.streak == 3
    assert clock.sleeps == [1.0] * 5  # no sleep after the last answer
    assert outcome.answers[-1].elapsed == pytest.approx(5 * 1.0 + 6 * 0.01)


def test_check_stops_at_its_deadline_and_never_asks_past_it(clock):
    settings = uc.Settings(url="http://127.0.0.1:1", interval=2, timeout=5)
    fetch, caps = _scripted(clock, [uc.Answer(status=503)], took=0.5)
    outcome = uc.check(fetch, settings, clock=clock, sleep=clock.sleep)
    assert not outcome.passed
    assert len(outcome.answers) == 2  # at 0 s and 2.5 s; a third would start at 5 s, past the deadline
    assert caps == [5.0, 2.5]  # each request is capped at the time left
    assert clock.now <= 5.0


# ---------------------------------------------------------------------------------------------------------------
# The module against a real HTTP server on 127.0.0.1


class _Service(http.server.BaseHTTPRequestHandler):
    """``/health``: ``script`` answers in order (then the last one again); a Host other than ``web.shipyard.test``
    gets 404 when ``by_host`` is on; ``/slow`` answers after 0.5 s; ``/moved`` redirects to ``/health``; any other
    path answers 200 version v1."""

    script: ClassVar[list] = []
    by_host: ClassVar[bool] = False
    requests: ClassVar[list] = []

    def log_message(self, *args):
        pass

    def _send(self, status, body=b"", headers=None):
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self.requests.append((self.path, self.headers.get("Host")))
        if self.by_host and self.headers.get("Host") != "web.shipyard.test":
            return self._send(404, b"no rule for this host name")
        if self.path == "/slow":
            time.sleep(0.5)
            return self._send(200, b'{"version": "v1"}')
        if self.path == "/moved":
            return self._send(301, b"moved", {"Location": "/health"})
        if self.path != "/health":
            return self._send(*ok("v1"))
        status, body, headers = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        return self._send(status, body, headers)


def ok(version):
    return (200, json.dumps({"status": "ok", "version": version}).encode(), {"Content-Type": "application/json"})


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a client that timed out closed the connection before /slow answered: expected here


@pytest.fixture
def service():
    server = _Server(("127.0.0.1", 0), _Service)
    _Service.script, _Service.by_host, _Service.requests = [ok("v1")], False, []
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def run(capsys, **args) -> dict:
    """Run the module in-process; its result (what it would print). A check meant to fail gets a timeout of 1.5 s:
    enough for a local request on a loaded machine (0.1 s was not: the request itself was cut at the deadline)."""
    with patch_module_args({"interval": 0.02, **args}), pytest.raises(SystemExit):
        url_check.main()
    return json.loads(capsys.readouterr().out)


def test_passes_on_consecutive_good_answers_after_a_bad_one(service, capsys):
    _Service.script = [ok("v1"), (503, b'{"status":"error"}', {}), ok("v1")]
    result = run(capsys, url=service, expect_version="v1", consecutive=3, timeout=10)
    assert result.get("failed") is not True, result["msg"]
    assert [a["passed"] for a in result["answers"]] == [True, False, True, True, True]
    assert result["passed"] == 3
    assert result["attempts"] == 5
    assert result["url"] == f"{service}/health"
    assert result["msg"].startswith(f"{service}/health answered 3 consecutive 200s reporting version v1")


def test_a_version_mismatch_fails_saying_which_version_answered(service, capsys):
    _Service.script = [ok("v1")]
    result = run(capsys, url=service, expect_version="v2", timeout=1.5, interval=0.5)
    assert result["failed"] is True
    assert result["passed"] == 0
    assert result["msg"].startswith(f"{service}/health did not answer 3 consecutive 200s reporting version v2 within")
    assert "last answers: 200 version v1 (expected v2) x" in result["msg"]
    assert {a["version"] for a in result["answers"]} == {"v1"}


def test_a_redirect_is_an_answer_not_followed(service, capsys):
    # Where it points answers 200 (on this server, so a redirect followed by mistake passes and stays local).
    _Service.script = [(301, b"", {"Location": f"{service}/https-landing"})]
    result = run(capsys, url=service, timeout=1.5, interval=0.5)
    assert result["failed"] is True
    assert f"last answers: 301 -> {service}/https-landing" in result["msg"]
    assert result["answers"][0]["status"] == 301
    assert result["answers"][0]["location"] == f"{service}/https-landing"
    assert {path for path, _ in _Service.requests} == {"/health"}  # nothing else was asked

    expected = run(capsys, url=service, expect_status=301, consecutive=1)
    assert expected.get("failed") is not True, expected["msg"]


def test_follow_redirects_judges_the_final_answer(service, capsys):
    result = run(capsys, url=service, path="/moved", follow_redirects=True, consecutive=1, expect_version="v1")
    assert result.get("failed") is not True, result["msg"]
    assert [path for path, _ in _Service.requests] == ["/moved", "/health"]


def test_the_host_header_reaches_a_load_balancer_that_routes_by_name(service, capsys):
    _Service.by_host = True
    result = run(capsys, url=service, host="web.shipyard.test", consecutive=2, expect_version="v1")
    assert result.get("failed") is not True, result["msg"]
    assert result["host"] == "web.shipyard.test"
    assert {host for _, host in _Service.requests} == {"web.shipyard.test"}

    without = run(capsys, url=service, timeout=1.5, interval=0.5)
    assert without["failed"] is True
    assert "404, body: no rule for this host name" in without["msg"]


def test_connection_refused_is_said(capsys, free_port):
    url = f"http://127.0.0.1:{free_port()}"
    result = run(capsys, url=url, timeout=0.2, interval=0.05)
    assert result["failed"] is True
    assert result["msg"].startswith(f"{url}/health did not answer 3 consecutive 200s within 0.2 s")
    assert "last answers: connection refused (ConnectionRefusedError) x" in result["msg"]
    assert result["answers"][0]["status"] is None
    assert result["answers"][0]["error"] == "connection refused (ConnectionRefusedError)"


def test_a_slow_answer_times_out_and_the_check_stops_at_its_timeout(service, capsys):
    result = run(capsys, url=service, path="/slow", request_timeout=0.1, timeout=0.3, interval=0.1)
    assert result["failed"] is True
    assert "last answers: timed out (TimeoutError)" in result["msg"]
    assert all(a["error"] == "timed out (TimeoutError)" for a in result["answers"])


def test_check_mode_sends_nothing(service, capsys):
    result = run(capsys, url=service, host="web.shipyard.test", expect_version="v1", _ansible_check_mode=True)
    assert result["skipped"] is True
    assert result["msg"].startswith(
        f"Check mode: would check {service}/health (Host: web.shipyard.test) "
        "for 3 consecutive 200s reporting version v1"
    )
    assert _Service.requests == []


def test_bad_input_is_refused_before_any_request(service, capsys):
    result = run(capsys, url=service, consecutive=0, interval=0.5, timeout=0.1, request_timeout=0)
    assert result["failed"] is True
    for words in ("consecutive must be at least 1", "timeout (0.1) must be at least interval (0.5)", "request_timeout"):
        assert words in result["msg"]
    assert _Service.requests == []


# ---------------------------------------------------------------------------------------------------------------
# HTTPS: the Host header is also the name sent (SNI) and checked in the certificate


def _self_signed(directory, name):
    """A self-signed certificate for ``name`` (and its key), as PEM files: (cert_path, key_path)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


@pytest.fixture
def tls_service(tmp_path):
    cert_path, key_path = _self_signed(tmp_path, "web.shipyard.test")
    server = _Server(("127.0.0.1", 0), _Service)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    _Service.script, _Service.by_host, _Service.requests = [ok("v1")], True, []
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{server.server_address[1]}", str(cert_path)
    server.shutdown()
    server.server_close()


def test_https_through_an_address_checks_the_certificate_of_the_host_name(tls_service, capsys):
    url, ca_path = tls_service
    result = run(capsys, url=url, host="web.shipyard.test", ca_path=ca_path, consecutive=1, expect_version="v1")
    assert result.get("failed") is not True, result["msg"]

    mismatch = run(capsys, url=url, ca_path=ca_path, timeout=1.5, interval=0.5)  # the certificate is not 127.0.0.1's
    assert mismatch["failed"] is True
    assert "TLS certificate not trusted (SSLCertVerificationError)" in mismatch["msg"]

    untrusted = run(capsys, url=url, host="web.shipyard.test", timeout=1.5, interval=0.5)  # no ca_path
    assert "TLS certificate not trusted (SSLCertVerificationError)" in untrusted["msg"]

    unchecked = run(capsys, url=url, host="web.shipyard.test", validate_certs=False, consecutive=1)
    assert unchecked.get("failed") is not True, unchecked["msg"]
