# Copyright: Shipyard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The decisions of ``url_check``: does a service answer through its public URL as its users would see it.

An answer (``Answer``) is what one GET returned: status, the ``version`` of a JSON body, a short excerpt of the
body, the ``Location`` of a redirect, or the connection error. ``judge`` says whether one answer passes;
``check`` is the thin loop (clock, sleep and the request passed in) that wants ``consecutive`` passing answers in a
row before its deadline; ``failure_message`` says what the URL answered when it did not. ``http_get`` is the one
function that talks to the network (Ansible's ``Request``, built on urllib; redirects are answers unless asked to
follow them). Plain functions that raise ``ValueError`` on bad input; only the module calls ``fail_json``.
"""

from __future__ import annotations

import json
import socket
import ssl
import time
from dataclasses import dataclass, field, replace
from urllib.error import HTTPError, URLError
from urllib.parse import urlsplit

from ansible.module_utils.urls import Request
from ansible_collections.shipyard.fargate.plugins.module_utils.registry_v2 import LOOPBACK_HOSTS

EXCERPT_CHARS = 120  # of a body, in a message: enough to see an error page's gist, never a whole page
MAX_BODY_BYTES = 65536  # read at most this much of a body (a health answer is small)
LAST_ANSWERS = 10  # answers a failure message describes (grouped: "... x5")
RETURNED_ANSWERS = 20  # answers the module returns (the last ones)


@dataclass(frozen=True)
class Settings:
    """What a check wants (the module's options, checked by ``settings_errors``)."""

    url: str
    path: str = "/health"
    host: str | None = None
    expect_status: int = 200
    expect_version: str | None = None
    consecutive: int = 3
    interval: float = 1.0
    timeout: float = 60.0

    @property
    def target(self) -> str:
        """The URL asked: ``url`` with ``path`` appended."""
        return self.url.rstrip("/") + self.path if self.path else self.url

    @property
    def label(self) -> str:
        """The URL asked, with the Host header when one is set (how messages name it)."""
        return f"{self.target} (Host: {self.host})" if self.host else self.target


@dataclass(frozen=True)
class Answer:
    """One request's outcome. ``status`` is None when no HTTP answer came (``error`` says why)."""

    status: int | None = None
    version: str | None = None
    error: str | None = None
    excerpt: str = ""
    location: str | None = None
    elapsed: float = 0.0  # seconds since the check began, when the answer came


@dataclass
class Outcome:
    """What ``check`` returns: whether it passed, the answers (oldest first), the passing streak at the end."""

    passed: bool
    answers: list = field(default_factory=list)
    streak: int = 0
    elapsed: float = 0.0


def settings_errors(settings: Settings) -> list[str]:
    """Every problem with the options, each naming its option; empty when they are fine."""
    errors = []
    parts = urlsplit(settings.url or "")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        errors.append(f"url must be an http:// or https:// URL with a host name, got '{settings.url}'.")
    elif parts.query or parts.fragment:
        errors.append("url must not carry a query or fragment: put the query in path.")
    if settings.path and not settings.path.startswith("/"):
        errors.append(f"path must start with '/', got '{settings.path}'.")
    if settings.host is not None and (not settings.host.strip() or any(c in settings.host for c in " /\t\r\n")):
        errors.append(f"host must be a host name (optionally with :port), got '{settings.host}'.")
    if not 100 <= settings.expect_status <= 599:
        errors.append(f"expect_status must be an HTTP status (100 to 599), got {settings.expect_status}.")
    if settings.consecutive < 1:
        errors.append(f"consecutive must be at least 1, got {settings.consecutive}.")
    if settings.interval <= 0:
        errors.append(f"interval must be greater than 0, got {settings.interval}.")
    if settings.timeout < settings.interval:
        errors.append(f"timeout ({settings.timeout}) must be at least interval ({settings.interval}).")
    return errors


def version_of(body: bytes) -> str | None:
    """The ``version`` of a JSON object body, as a string; None when the body is not one or has none."""
    try:
        document = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(document, dict) or document.get("version") is None:
        return None
    return str(document["version"])


def excerpt(body: bytes, limit: int = EXCERPT_CHARS) -> str:
    """The start of a body on one line, at most ``limit`` characters (an ellipsis says there was more)."""
    text = " ".join(body.decode("utf-8", errors="replace").split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def judge(answer: Answer, settings: Settings) -> bool:
    """Whether one answer passes: the expected status, and the expected version when one is asked for."""
    if answer.status != settings.expect_status:
        return False
    return settings.expect_version is None or answer.version == settings.expect_version


def describe(answer: Answer, settings: Settings) -> str:
    """One answer in words: ``200 version 4f1c2e9 (expected abc123)``, ``301 -> https://...``, ``connection refused``,
    ``503 version abc123, body: {"status":"error",...}``."""
    if answer.status is None:
        return answer.error or "no answer"
    if answer.location:
        return f"{answer.status} -> {answer.location}"
    words = str(answer.status)
    if answer.version is not None:
        words += f" version {answer.version}"
        if settings.expect_version is not None and answer.version != settings.expect_version:
            words += f" (expected {settings.expect_version})"
    elif settings.expect_version is not None:
        words += " without a version"
    wrong_body = settings.expect_version is not None and answer.version is None
    if answer.excerpt and (answer.status != settings.expect_status or wrong_body):
        words += f", body: {answer.excerpt}"
    return words


def summarize(answers, settings: Settings, last: int = LAST_ANSWERS) -> str:
    """The last ``last`` answers in words, oldest first, runs of the same words grouped (``... x5``)."""
    groups: list[list] = []
    for answer in answers[-last:]:
        words = describe(answer, settings)
        if groups and groups[-1][0] == words:
            groups[-1][1] += 1
        else:
            groups.append([words, 1])
    text = "; ".join(words if count == 1 else f"{words} x{count}" for words, count in groups)
    earlier = len(answers) - min(len(answers), last)
    return f"({earlier} earlier) {text}" if earlier else text


def goal(settings: Settings) -> str:
    """What the check wants, in words: ``3 consecutive 200s reporting version abc123``."""
    words = f"{settings.consecutive} consecutive {settings.expect_status}s"
    if settings.consecutive == 1:
        words = f"a {settings.expect_status}"
    return words + (f" reporting version {settings.expect_version}" if settings.expect_version is not None else "")


def success_message(outcome: Outcome, settings: Settings) -> str:
    return f"{settings.label} answered {goal(settings)} ({len(outcome.answers)} answers in {outcome.elapsed:.1f} s)."


def failure_message(outcome: Outcome, settings: Settings) -> str:
    """Says what the URL answered: ``... did not answer 3 consecutive 200s ... within 60 s; last answers: ...``."""
    seen = summarize(outcome.answers, settings) if outcome.answers else "none"
    return f"{settings.label} did not answer {goal(settings)} within {settings.timeout:g} s; last answers: {seen}"


def answer_dict(answer: Answer, settings: Settings) -> dict:
    """An answer as the module returns it."""
    return {
        "status": answer.status,
        "version": answer.version,
        "error": answer.error,
        "location": answer.location,
        "passed": judge(answer, settings),
        "elapsed": round(answer.elapsed, 2),
    }


def check(fetch, settings: Settings, *, clock=time.monotonic, sleep=time.sleep) -> Outcome:
    """Ask until ``consecutive`` answers in a row pass, or the deadline (``timeout`` seconds) passes.

    ``fetch(request_timeout_cap)`` makes one request and returns an ``Answer`` (its ``elapsed`` is set here);
    the cap is the time left before the deadline, so no request runs past it.
    """
    start = clock()
    deadline = start + settings.timeout
    outcome = Outcome(passed=False)
    while True:
        answer = fetch(max(deadline - clock(), 0.001))
        now = clock()
        answer = replace(answer, elapsed=now - start)
        outcome.answers.append(answer)
        outcome.streak = outcome.streak + 1 if judge(answer, settings) else 0
        outcome.elapsed = now - start
        if outcome.streak >= settings.consecutive:
            outcome.passed = True
            return outcome
        if now + settings.interval >= deadline:  # the next answer could not come in time
            return outcome
        sleep(settings.interval)


def error_words(exc: BaseException) -> str:
    """A connection error in a few words and its class, with no URL in it: ``connection refused
    (ConnectionRefusedError)``. ``URLError`` is unwrapped to its reason."""
    reason = exc.reason if isinstance(exc, URLError) and isinstance(exc.reason, BaseException) else exc
    kinds = (
        (ConnectionRefusedError, "connection refused"),
        (ConnectionResetError, "connection reset"),
        (socket.timeout, "timed out"),  # TimeoutError since Python 3.10
        (socket.gaierror, "host name not resolved"),
        (ssl.SSLCertVerificationError, "TLS certificate not trusted"),
        (ssl.SSLError, "TLS error"),
    )
    for kind, words in kinds:
        if isinstance(reason, kind):
            return f"{words} ({type(reason).__name__})"
    return f"connection failed ({type(reason).__name__})"


class _ServerNameContext(ssl.SSLContext):
    """A client TLS context that sends (and verifies) ``server_name`` whatever host the URL names: a check through
    a load balancer's address with the service's Host header presents and checks the service's name."""

    server_name = None

    def wrap_socket(self, sock, *args, **kwargs):
        kwargs["server_hostname"] = self.server_name or kwargs.get("server_hostname")
        return super().wrap_socket(sock, *args, **kwargs)


def _context_for(server_name, validate_certs, ca_path):
    context = _ServerNameContext(ssl.PROTOCOL_TLS_CLIENT)
    context.server_name = urlsplit(f"//{server_name}").hostname
    if validate_certs:
        if ca_path:
            context.load_verify_locations(cafile=ca_path)
        else:
            context.load_default_certs()
    else:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def http_get(settings: Settings, request_timeout, validate_certs=True, ca_path=None, follow_redirects=False):
    """``fetch`` for ``check``: one GET of ``settings.target`` -> ``Answer``. Never raises for what the server
    answered or for a connection error; both are answers."""
    hostname = urlsplit(settings.url).hostname or ""
    headers = {"Accept": "application/json, */*;q=0.5", "Cache-Control": "no-cache"}
    context = None
    if settings.host:
        headers["Host"] = settings.host
        if settings.url.startswith("https://"):
            context = _context_for(settings.host, validate_certs, ca_path)
    request = Request(
        headers=headers,
        validate_certs=validate_certs,
        ca_path=ca_path,
        follow_redirects="safe" if follow_redirects else "none",
        use_proxy=hostname not in LOOPBACK_HOSTS,
        use_netrc=False,
        http_agent="shipyard.fargate.url_check",
        context=context,
    )

    def fetch(cap):
        try:
            response = request.open("GET", settings.target, timeout=max(min(request_timeout, cap), 0.001))
        except HTTPError as e:  # 4xx/5xx, and 3xx when redirects are not followed
            body = _read(e)
            return Answer(
                status=e.code,
                version=version_of(body),
                excerpt=excerpt(body),
                location=e.headers.get("Location") if e.headers is not None and 300 <= e.code < 400 else None,
            )
        except (URLError, OSError) as e:  # refused, reset, timed out, TLS, name resolution
            return Answer(error=error_words(e))
        try:
            body = _read(response)
        except OSError as e:  # the body stopped half-way (timeout, reset)
            return Answer(error=error_words(e))
        return Answer(status=response.status, version=version_of(body), excerpt=excerpt(body))

    return fetch


def _read(response) -> bytes:
    try:
        return response.read(MAX_BODY_BYTES) or b""
    except AttributeError:  # an HTTPError without a body
        return b""
    finally:
        close = getattr(response, "close", None)
        if close:
            close()
