"""AWS faults on demand: a small proxy in front of the emulator that throttles, fails and stops answering.

The emulator starts it on its own port (``SHIPYARD_FAULTS_PORT``, ``StackConfig.faults_port``). Until a plan is set
it passes every request through; clients pointed at it (``shipyard_aws_endpoint_url`` of an inventory,
``AWS_ENDPOINT_URL``) then see AWS as a busy region shows it:

- ``throttle_percent`` of the calls get AWS's throttling answer, in the shape of the service's protocol: JSON
  services (ECS, ECR, Secrets Manager, CloudWatch Logs, ACM) ``400`` with ``__type`` / ``x-amzn-ErrorType``
  ``ThrottlingException``; query services (ELBv2, IAM, STS) ``400 <ErrorResponse><Error><Code>Throttling``; EC2
  ``503 RequestLimitExceeded``; Route 53 (REST-XML) ``400 Throttling``. botocore's retry table (``_retry.json``)
  and amazon.aws's ``AWSRetry`` treat each of these codes as throttling.
- ``error_percent`` get ``500 InternalFailure`` (EC2: ``InternalError``): retried by botocore as a server error.
- one stretch without answers: from call number ``stall_after`` (counted from the plan's start) for
  ``stall_seconds``, every call is accepted and held, then the connection is closed without a response. A held
  call is never forwarded, so the emulator never acts on it (the client retries it: botocore's "connection closed").

Which call gets which fault is a pure function of the plan's ``seed`` and the call's number (:func:`decide`), so a
run is repeatable for a given order of calls. Every injected fault is counted per operation (``ecs.CreateService``).

Control (never faulted), on the proxy's port: ``GET /_shipyard/faults`` -> ``{"plan", "calls", "injected", ...}``;
``PUT /_shipyard/faults`` with a JSON plan (``{}``: no faults) sets the plan, re-seeds and resets the counts.
The emulator's own ``/moto-api/`` is never faulted either.
"""

from __future__ import annotations

import http.client
import json
import random
import re
import threading
import time
import urllib.parse
import uuid
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, fields
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CONTROL_PATH = "/_shipyard/faults"
UNFAULTED_PREFIXES = (CONTROL_PATH, "/moto-api")
PASS, THROTTLE, ERROR, STALL = "pass", "throttle", "error", "stall"
KINDS = (THROTTLE, ERROR, STALL)
# Hop-by-hop headers (RFC 9110 7.6.1) and the length, which the proxy sets itself.
_HOP = {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"}
_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/[^/]+/([^/]+)/aws4_request")
_REST_XML = {"route53", "s3", "cloudfront"}


class PlanError(ValueError):
    """A fault plan this proxy cannot follow; the message names the field."""


@dataclass(frozen=True)
class Plan:
    """What to inject. Percentages of the calls that are not in the stretch; the stretch starts at call number
    ``stall_after`` (1 = the first call after the plan was set) and lasts ``stall_seconds``."""

    seed: int = 0
    throttle_percent: float = 0.0
    error_percent: float = 0.0
    stall_after: int = 0  # 0: no stretch
    stall_seconds: float = 0.0

    @classmethod
    def from_dict(cls, raw: dict) -> Plan:
        if not isinstance(raw, dict):
            raise PlanError(f"the plan must be a JSON object, got {type(raw).__name__}")
        known = {f.name: f.type for f in fields(cls)}
        unknown = sorted(set(raw) - set(known))
        if unknown:
            raise PlanError(f"unknown plan field(s) {', '.join(unknown)}; known: {', '.join(known)}")
        values = {}
        for name, value in raw.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise PlanError(f"{name} must be a number, got {value!r}")
            values[name] = int(value) if name in ("seed", "stall_after") else float(value)
        plan = cls(**values)
        for name in ("throttle_percent", "error_percent"):
            if not 0 <= getattr(plan, name) <= 100:
                raise PlanError(f"{name} must be between 0 and 100, got {getattr(plan, name):g}")
        if plan.throttle_percent + plan.error_percent > 100:
            raise PlanError("throttle_percent + error_percent must not exceed 100")
        if plan.stall_after < 0 or plan.stall_seconds < 0:
            raise PlanError("stall_after and stall_seconds must not be negative")
        return plan


@dataclass(frozen=True)
class Decision:
    action: str  # pass | throttle | error | stall
    stall_ends: float | None  # monotonic time the stretch ends (None: no stretch running or planned)


def decide(plan: Plan, number: int, now: float, stall_ends: float | None) -> Decision:
    """The fault for call ``number`` (1, 2, ... since the plan was set) at monotonic time ``now``.

    ``stall_ends``: when a running stretch ends (None: none has started). Pure: the same plan, number and stretch
    give the same answer; the dice for a call are seeded by ``(seed, number)``.
    """
    if stall_ends is not None and now < stall_ends:
        return Decision(STALL, stall_ends)
    if stall_ends is None and plan.stall_seconds > 0 and 0 < plan.stall_after <= number:
        return Decision(STALL, now + plan.stall_seconds)
    roll = random.Random(f"{plan.seed}/{number}").uniform(0, 100)  # noqa: S311 - fault dice, not cryptography
    if roll < plan.throttle_percent:
        return Decision(THROTTLE, stall_ends)
    if roll < plan.throttle_percent + plan.error_percent:
        return Decision(ERROR, stall_ends)
    return Decision(PASS, stall_ends)


def operation(method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[str, str]:
    """``(service, action)`` of an AWS request: ``("ecs", "CreateService")``, ``("elasticloadbalancing",
    "CreateRule")``, ``("route53", "GET /2013-04-01/hostedzone")``. Headers are keyed in lower case."""
    scope = _SCOPE.search(headers.get("authorization", ""))
    service = scope.group(1) if scope else "unknown"
    target = headers.get("x-amz-target", "")
    if target:
        return service, target.rsplit(".", 1)[-1]
    split = urllib.parse.urlsplit(path)
    params = urllib.parse.parse_qs(split.query)
    if "form-urlencoded" in headers.get("content-type", "") and body:
        params = {**params, **urllib.parse.parse_qs(body.decode("utf-8", "replace"))}
    if params.get("Action"):
        return service, params["Action"][0]
    segments = [s for s in split.path.split("/") if s][:2]
    return service, f"{method} /{'/'.join(segments)}"


def protocol(service: str, headers: dict[str, str], body: bytes) -> str:
    """The error shape the service answers in: ``json``, ``query``, ``ec2`` or ``rest-xml``."""
    if headers.get("x-amz-target") or "amz-json" in headers.get("content-type", ""):
        return "json"
    if service == "ec2":
        return "ec2"
    if service in _REST_XML:
        return "rest-xml"
    if "form-urlencoded" in headers.get("content-type", "") and b"Action=" in body:
        return "query"
    return "json"  # REST-JSON services take the JSON shape too


def error_response(kind: str, shape: str, request_id: str) -> tuple[int, dict[str, str], bytes]:
    """``(status, headers, body)`` of AWS's answer for an injected ``throttle`` or ``error`` in ``shape``."""
    if shape == "json":
        code, status = ("ThrottlingException", 400) if kind == THROTTLE else ("InternalFailure", 500)
        message = "Rate exceeded" if kind == THROTTLE else "An internal error occurred (injected fault)"
        body = json.dumps({"__type": code, "message": message}).encode()
        headers = {"Content-Type": "application/x-amz-json-1.1", "x-amzn-ErrorType": code}
        return status, {**headers, "x-amzn-RequestId": request_id}, body
    if shape == "ec2":
        code, status = ("RequestLimitExceeded", 503) if kind == THROTTLE else ("InternalError", 500)
        message = "Request limit exceeded." if kind == THROTTLE else "An internal error has occurred (injected fault)"
        body = (
            f"<?xml version='1.0' encoding='UTF-8'?>\n<Response><Errors><Error><Code>{code}</Code>"
            f"<Message>{message}</Message></Error></Errors><RequestID>{request_id}</RequestID></Response>"
        ).encode()
        return status, {"Content-Type": "text/xml"}, body
    code, status, side = ("Throttling", 400, "Sender") if kind == THROTTLE else ("InternalFailure", 500, "Receiver")
    message = "Rate exceeded" if kind == THROTTLE else "An internal error occurred (injected fault)"
    body = (
        f"<ErrorResponse><Error><Type>{side}</Type><Code>{code}</Code><Message>{message}</Message></Error>"
        f"<RequestId>{request_id}</RequestId></ErrorResponse>"
    ).encode()
    return status, {"Content-Type": "text/xml", "x-amzn-RequestId": request_id}, body


class Faults:
    """The proxy's state: the plan, the call counter, the stretch and what was injected (thread-safe)."""

    def __init__(self, clock=time.monotonic) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self.set_plan(Plan())

    def set_plan(self, plan: Plan) -> None:
        with self._lock:
            self.plan = plan
            self.number = 0
            self.stall_ends: float | None = None
            self.calls: Counter = Counter()
            self.injected: dict[str, Counter] = defaultdict(Counter)

    def next(self, name: str) -> Decision:
        """The decision for the next call of operation ``name``, counted."""
        with self._lock:
            self.number += 1
            decision = decide(self.plan, self.number, self._clock(), self.stall_ends)
            self.stall_ends = decision.stall_ends
            self.calls[name] += 1
            if decision.action != PASS:
                self.injected[name][decision.action] += 1
            return decision

    def report(self) -> dict:
        with self._lock:
            totals = Counter()
            for counts in self.injected.values():
                totals.update(counts)
            return {
                "plan": asdict(self.plan),
                "calls": sum(self.calls.values()),
                "calls_by_operation": dict(sorted(self.calls.items())),
                "injected": {kind: totals.get(kind, 0) for kind in KINDS},
                "injected_by_operation": {name: dict(c) for name, c in sorted(self.injected.items())},
            }


def _handler(faults: Faults, upstream: tuple[str, int]):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as AWS endpoints answer

        def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _control(self, body: bytes) -> None:
            if self.command == "GET":
                return self._send(200, {"Content-Type": "application/json"}, json.dumps(faults.report()).encode())
            if self.command != "PUT":
                return self._send(405, {"Allow": "GET, PUT"}, b"")
            try:
                faults.set_plan(Plan.from_dict(json.loads(body or b"{}")))
            except (ValueError, PlanError) as error:
                return self._send(400, {"Content-Type": "text/plain"}, f"{error}\n".encode())
            return self._send(200, {"Content-Type": "application/json"}, json.dumps(faults.report()).encode())

        def _handle(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path.startswith(CONTROL_PATH):
                return self._control(body)
            headers = {key.lower(): value for key, value in self.headers.items()}
            if not self.path.startswith(UNFAULTED_PREFIXES):
                service, action = operation(self.command, self.path, headers, body)
                decision = faults.next(f"{service}.{action}")
                if decision.action == STALL:
                    time.sleep(max(0.0, decision.stall_ends - time.monotonic()))
                    self.close_connection = True  # accepted, held, closed: no answer at all
                    return None
                if decision.action != PASS:
                    shape = protocol(service, headers, body)
                    return self._send(*error_response(decision.action, shape, str(uuid.uuid4())))
            self._forward(body)
            return None

        def _forward(self, body: bytes) -> None:
            connection = http.client.HTTPConnection(*upstream, timeout=300)
            try:
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP | {"content-length"}}
                connection.request(self.command, self.path, body=body or None, headers=headers)
                answer = connection.getresponse()
                data = answer.read()
                kept = {k: v for k, v in answer.getheaders() if k.lower() not in _HOP | {"content-length"}}
            finally:
                connection.close()
            self.send_response(answer.status, answer.reason)
            for key, value in kept.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = do_PATCH = _handle

        def log_message(self, *args) -> None:  # the emulator's log has the requests already
            pass

    return Handler


def build_server(host: str, port: int, upstream_port: int, faults: Faults | None = None) -> ThreadingHTTPServer:
    """The fault proxy on ``host:port``, forwarding to the emulator on ``host:upstream_port``."""
    server = ThreadingHTTPServer((host, port), _handler(faults or Faults(), (host, upstream_port)))
    server.daemon_threads = True
    return server
