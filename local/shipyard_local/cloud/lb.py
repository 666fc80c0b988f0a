"""The local load balancer: the emulator's ALB listeners, served for real on one port of 127.0.0.1.

One threaded HTTP/1.1 reverse proxy on ``127.0.0.1:config.lb_port`` (``SHIPYARD_LB_PORT``). For each
request it reads the emulator's ELBv2 state in-process (what the ``load_balancer`` role and the
``service`` role created), so a new rule, target or deployment is seen by the very next request:

* **Listener.** The HTTP listeners on port 80 of every load balancer (``SHIPYARD_LB_LISTENER_PORT``
  picks another listener port); when no listener has that port, every HTTP listener. Rules of all of
  them are evaluated together, lowest priority number first, then the first listener's default action.
* **Rules.** ``host-header`` (``*`` and ``?`` wildcards, case-insensitive, port ignored) and
  ``path-pattern`` (case-sensitive wildcards on the path without the query), plus ``http-request-method``,
  ``http-header`` and ``query-string``; all conditions of a rule must match, any value of a condition.
* **Actions.** ``forward`` (one target group, or ``ForwardConfig`` with weights), ``redirect`` (with the
  ``#{protocol}``/``#{host}``/``#{port}``/``#{path}``/``#{query}`` placeholders; an HTTPS redirect is
  honoured even though nothing serves HTTPS locally) and ``fixed-response``.
* **Targets.** Round robin over the registered targets for which ``engine.is_routable`` is true (healthy
  and not draining), each reached at ``engine.resolve_target`` (the task's 127.0.0.1 port). A draining
  target gets no new request; requests already proxied to it finish. No routable target: 503; a target
  that fails: 502; one that does not answer in time: 504, as an ALB says.

Requests get ``X-Forwarded-For``/``-Proto``/``-Port`` and ``X-Amzn-Trace-Id`` like an ALB; bodies stream both
ways (``Content-Length`` or chunked).
"""

from __future__ import annotations

import http.client
import itertools
import logging
import os
import random
import re
import secrets
import socket
import threading
import time
import urllib.parse
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

from .clock import Clock, RealClock

log = logging.getLogger("shipyard_local.cloud")
DEFAULT_ACCOUNT = "123456789012"
DEFAULT_LISTENER_PORT = 80
UPSTREAM_TIMEOUT = 60.0  # the ALB's default idle timeout
# serve_forever() looks for a shutdown request this often (real seconds): stop() returns within it. The standard
# library's 0.5 s cost every test that starts and stops a balancer half a second per server.
POLL_SECONDS = 0.05
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "trailers",
    "transfer-encoding",
    "upgrade",
}
CHUNK = 64 * 1024


class Engine(Protocol):
    def resolve_target(self, target_group_arn: str, target_id: str, port: int) -> tuple[str, int] | None: ...

    def is_routable(self, target_group_arn: str, target_id: str, port: int) -> bool: ...

    def target_health(self, target_group_arn: str, target_id: str, port: int) -> Any: ...


# --- rule matching (pure) ------------------------------------------------------------------------------------------


def wildcard_match(pattern: str, value: str, *, case_sensitive: bool) -> bool:
    """ELB wildcards: ``*`` any run of characters (also none), ``?`` exactly one; nothing else is special."""
    regex = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
    return re.fullmatch(regex, value, 0 if case_sensitive else re.IGNORECASE | re.DOTALL) is not None


def _values(condition: dict[str, Any], config_key: str) -> list[str]:
    """A condition's values: from ``<X>Config.Values`` or from the legacy ``Values``."""
    config = condition.get(config_key) or {}
    return list(config.get("Values") or condition.get("Values") or [])


def _strip_port(host: str) -> str:
    return re.sub(r":\d+$", "", host or "")


@dataclass(frozen=True)
class Request:
    method: str
    host: str  # the Host header, port included as sent
    path: str  # without the query string
    query: str  # raw, without "?"
    headers: dict[str, str]  # lower-case names


def condition_matches(condition: dict[str, Any], request: Request) -> bool:
    field = condition.get("Field")
    if field == "host-header":
        host = _strip_port(request.host)
        return any(wildcard_match(p, host, case_sensitive=False) for p in _values(condition, "HostHeaderConfig"))
    if field == "path-pattern":
        return any(
            wildcard_match(p, request.path, case_sensitive=True) for p in _values(condition, "PathPatternConfig")
        )
    if field == "http-request-method":
        methods = (condition.get("HttpRequestMethodConfig") or {}).get("Values") or []
        return request.method in methods
    if field == "http-header":
        config = condition.get("HttpHeaderConfig") or {}
        value = request.headers.get(str(config.get("HttpHeaderName", "")).lower())
        return value is not None and any(
            wildcard_match(p, value, case_sensitive=False) for p in config.get("Values") or []
        )
    if field == "query-string":
        pairs = urllib.parse.parse_qsl(request.query, keep_blank_values=True)
        wanted = (condition.get("QueryStringConfig") or {}).get("Values") or []
        return any(
            any(
                (w.get("Key") is None or wildcard_match(w["Key"], k, case_sensitive=False))
                and wildcard_match(w.get("Value", "*"), v, case_sensitive=False)
                for k, v in pairs
            )
            for w in wanted
        )
    return False  # source-ip and anything unknown: a local client never matches


def rule_matches(conditions: list[dict[str, Any]], request: Request) -> bool:
    return all(condition_matches(c, request) for c in conditions)


def _priority(rule: Any) -> float:
    try:
        return int(rule.priority)
    except (TypeError, ValueError):
        return float("inf")  # "default"


def choose_actions(listeners: list[Any], request: Request) -> list[dict[str, Any]] | None:
    """The actions of the first matching rule (by priority) over ``listeners``, else the first default's."""
    rules = [rule for listener in listeners for rule in list(listener.rules.values()) if not rule.is_default]
    for rule in sorted(rules, key=_priority):
        if rule_matches(rule.conditions or [], request):
            return [a.data for a in rule.actions]
    for listener in listeners:
        return [a.data for a in listener.default_actions]
    return None


def terminal_action(actions: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The action that answers: authenticate-* are skipped locally, the rest by ``Order``."""
    ordered = sorted(enumerate(actions), key=lambda pair: (int(pair[1].get("Order") or 0), pair[0]))
    return next((a for _, a in ordered if a.get("Type") in ("forward", "redirect", "fixed-response")), None)


def weighted_target_groups(action: dict[str, Any]) -> list[tuple[str, int]]:
    """[(target group ARN, weight)] of a forward action (``TargetGroupArn`` or ``ForwardConfig``)."""
    groups = (action.get("ForwardConfig") or {}).get("TargetGroups") or []
    if groups:
        return [(g["TargetGroupArn"], int(g.get("Weight", 1))) for g in groups]
    return [(action["TargetGroupArn"], 1)] if action.get("TargetGroupArn") else []


def redirect_location(config: dict[str, Any], request: Request, listener_protocol: str, listener_port: int) -> str:
    """The ``Location`` of a redirect action, placeholders filled as the ALB fills them."""
    host = _strip_port(request.host)
    values = {
        "#{protocol}": listener_protocol.upper(),
        "#{host}": host,
        "#{port}": str(listener_port),
        "#{path}": request.path.lstrip("/"),
        "#{query}": request.query,
    }

    def fill(template: str) -> str:
        for key, value in values.items():
            template = template.replace(key, value)
        return template

    protocol = fill(config.get("Protocol") or "#{protocol}").lower()
    port = fill(config.get("Port") or "#{port}")
    new_host = fill(config.get("Host") or "#{host}")
    path = fill(config.get("Path") or "/#{path}")
    query = fill(config.get("Query") if config.get("Query") is not None else "#{query}")
    default_port = {"http": "80", "https": "443"}.get(protocol)
    netloc = new_host if port == default_port else f"{new_host}:{port}"
    return f"{protocol}://{netloc}{path}" + (f"?{query}" if query else "")


# --- the proxy -----------------------------------------------------------------------------------------------------


def _html(code: int, reason: str) -> bytes:
    return (
        f"<html>\r\n<head><title>{code} {reason}</title></head>\r\n<body>\r\n<center><h1>{code} {reason}</h1>"
        "</center>\r\n</body>\r\n</html>\r\n"
    ).encode()


class LoadBalancer:
    """The running proxy: ``address``, ``stop()``."""

    def __init__(
        self,
        host: str,
        port: int,
        engine: Engine,
        account_id: str,
        region: str,
        listener_port: int,
        clock: Clock | None = None,
    ):
        self.engine = engine
        self.clock: Clock = clock or getattr(engine, "clock", None) or RealClock()
        self.account_id = account_id
        self.region = region
        self.listener_port = listener_port
        self._counters: dict[str, itertools.count] = {}
        self._counters_lock = threading.Lock()
        handler = type("Handler", (_Handler,), {"balancer": self})
        self.server = ThreadingHTTPServer((host, port), handler)
        self.server.daemon_threads = True
        self.address = f"{host}:{self.server.server_address[1]}"
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": POLL_SECONDS}, name="local-lb", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)

    # --- what the emulator holds --------------------------------------------------------------------------
    def _backend(self):
        from moto.elbv2.models import elbv2_backends

        return elbv2_backends[self.account_id][self.region]

    def listeners(self, request_host: str = "") -> list[Any]:
        """The listeners this proxy serves; those of the load balancer whose DNS name is the Host first."""
        for _ in range(5):  # moto's dicts may change under us: read again
            try:
                balancers = list(self._backend().load_balancers.values())
                host = _strip_port(request_host).lower()
                balancers.sort(key=lambda lb: str(getattr(lb, "dns_name", "")).lower() != host)
                found = [li for lb in balancers for li in list(lb.listeners.values()) if li.protocol == "HTTP"]
                chosen = [li for li in found if int(li.port) == self.listener_port]
                return chosen or found
            except RuntimeError:
                time.sleep(0.001)  # a race with moto's writers, not simulated time: real
        return []

    def targets(self, target_group_arn: str) -> list[tuple[str, int]]:
        """(id, port) of every registered target of a group, in registration order."""
        group = self._backend().target_groups.get(target_group_arn)
        if group is None:
            return []
        for _ in range(5):
            try:
                return [(t["Id"], int(t.get("Port") or group.port)) for t in list(group.targets.values())]
            except RuntimeError:
                time.sleep(0.001)  # a race with moto's writers, not simulated time: real
        return []

    def log_no_target(self, target_group_arn: str | None) -> None:
        """Log why a request found no routable target: each registered target with its health (the emulator's log)."""
        found = []
        for target_id, port in self.targets(target_group_arn) if target_group_arn else []:
            health = self.engine.target_health(target_group_arn, target_id, port)
            found.append(f"{target_id}:{port} {health.state if health else 'unknown to ECS'}")
        log.info("load balancer: 503, no routable target in %s: %s", target_group_arn, ", ".join(found) or "none")

    def pick(self, target_group_arn: str) -> tuple[str, int] | None:
        """The next routable target of a group (round robin), as its local (host, port)."""
        routable = [t for t in self.targets(target_group_arn) if self.engine.is_routable(target_group_arn, *t)]
        if not routable:
            return None
        with self._counters_lock:
            counter = self._counters.setdefault(target_group_arn, itertools.count())
            start = next(counter)
        for offset in range(len(routable)):
            target_id, port = routable[(start + offset) % len(routable)]
            address = self.engine.resolve_target(target_group_arn, target_id, port)
            if address is not None:
                return address
        return None


def choose_weighted(groups: list[tuple[str, int]], rng: random.Random | None = None) -> str | None:
    """A target group drawn by weight (weight 0 never), as an ALB's weighted forward does."""
    live = [(arn, weight) for arn, weight in groups if weight > 0]
    if not live:
        return None
    if len(live) == 1:
        return live[0][0]
    draw = (rng or random).uniform(0, sum(w for _, w in live))
    for arn, weight in live:
        draw -= weight
        if draw <= 0:
            return arn
    return live[-1][0]


class _Handler(BaseHTTPRequestHandler):
    balancer: LoadBalancer
    protocol_version = "HTTP/1.1"
    server_version = "awselb/2.0"
    sys_version = ""

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes: without this, Nagle + delayed ACK add ~40 ms per response.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # the base class names it `format`
        pass  # no access log on stderr: the emulator's log stays readable

    def do_request(self) -> None:
        balancer = self.balancer
        split = urllib.parse.urlsplit(self.path)
        request = Request(
            method=self.command,
            host=self.headers.get("Host", ""),
            path=split.path or "/",
            query=split.query,
            headers={k.lower(): v for k, v in self.headers.items()},
        )
        listeners = balancer.listeners(request.host)
        actions = choose_actions(listeners, request) if listeners else None
        action = terminal_action(actions or [])
        if action is None:
            self._discard_body()
            return self._simple(503, "Service Temporarily Unavailable", b"no load balancer listener\n")
        kind = action["Type"]
        if kind == "fixed-response":
            self._discard_body()
            config = action.get("FixedResponseConfig") or {}
            body = str(config.get("MessageBody") or "").encode()
            return self._send(int(config.get("StatusCode", 200)), config.get("ContentType") or "text/plain", body)
        if kind == "redirect":
            self._discard_body()
            config = action.get("RedirectConfig") or {}
            listener = listeners[0]
            location = redirect_location(config, request, listener.protocol, int(listener.port))
            code = 302 if config.get("StatusCode") == "HTTP_302" else 301
            return self._send(code, "text/html", _html(code, "Moved Permanently" if code == 301 else "Found"),
                              extra={"Location": location})  # fmt: skip
        group = choose_weighted(weighted_target_groups(action))
        target = balancer.pick(group) if group else None
        if target is None:
            self._discard_body()
            balancer.log_no_target(group)
            return self._simple(503, "Service Temporarily Unavailable", b"no healthy targets\n")
        self._proxy(target)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_request

    # --- responses -----------------------------------------------------------------------------------------
    def _send(self, code: int, content_type: str, body: bytes, extra: dict[str, str] | None = None) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _simple(self, code: int, reason: str, detail: bytes) -> None:
        self._send(code, "text/html", _html(code, reason), extra={"X-Shipyard-Local-Reason": detail.decode().strip()})

    # --- request bodies --------------------------------------------------------------------------------------
    def _body_chunks(self):
        """The client's request body, as it arrives (Content-Length or chunked)."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return
                yield self.rfile.read(size)
                self.rfile.readline()
        remaining = int(self.headers.get("Content-Length") or 0)
        while remaining > 0:
            data = self.rfile.read(min(CHUNK, remaining))
            if not data:
                return
            remaining -= len(data)
            yield data

    def _discard_body(self) -> None:
        for _ in self._body_chunks():
            pass

    # --- forwarding ----------------------------------------------------------------------------------------
    def _proxy(self, target: tuple[str, int]) -> None:
        client_ip = self.client_address[0]
        headers = [(k, v) for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP | {"content-length"}]
        previous = self.headers.get("X-Forwarded-For")
        headers = [(k, v) for k, v in headers if not k.lower().startswith("x-forwarded-")]
        headers += [
            ("X-Forwarded-For", f"{previous}, {client_ip}" if previous else client_ip),
            ("X-Forwarded-Proto", "http"),
            ("X-Forwarded-Port", str(self.balancer.listener_port)),
        ]
        if not self.headers.get("X-Amzn-Trace-Id"):
            stamp = int(self.balancer.clock.epoch())
            headers.append(("X-Amzn-Trace-Id", f"Root=1-{stamp:08x}-{secrets.token_hex(12)}"))
        chunked = "chunked" in self.headers.get("Transfer-Encoding", "").lower()
        length = self.headers.get("Content-Length")
        upstream = http.client.HTTPConnection(*target, timeout=UPSTREAM_TIMEOUT)
        try:
            try:
                upstream.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
                for key, value in headers:
                    upstream.putheader(key, value)
                if chunked:
                    upstream.putheader("Transfer-Encoding", "chunked")
                elif length is not None:
                    upstream.putheader("Content-Length", length)
                upstream.putheader("Connection", "close")
                upstream.endheaders()
                for data in self._body_chunks():
                    upstream.send(b"%x\r\n%b\r\n" % (len(data), data) if chunked else data)
                if chunked:
                    upstream.send(b"0\r\n\r\n")
                response = upstream.getresponse()
            except TimeoutError:
                self.close_connection = True
                return self._simple(504, "Gateway Time-out", b"the target did not answer in time")
            except (OSError, http.client.HTTPException):
                self.close_connection = True
                return self._simple(502, "Bad Gateway", b"the target failed")
            self._relay(response)
        finally:
            upstream.close()

    def _relay(self, response: http.client.HTTPResponse) -> None:
        self.send_response(response.status, response.reason)
        length = response.getheader("Content-Length")
        no_body = self.command == "HEAD" or response.status in (204, 304) or 100 <= response.status < 200
        for key, value in response.getheaders():
            if key.lower() not in HOP_BY_HOP:
                self.send_header(key, value)
        chunked = not no_body and length is None
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        if no_body:
            return
        try:
            while True:
                data = response.read1(CHUNK) if hasattr(response, "read1") else response.read(CHUNK)
                if not data:
                    break
                self.wfile.write(b"%x\r\n%b\r\n" % (len(data), data) if chunked else data)
            if chunked:
                self.wfile.write(b"0\r\n\r\n")
        except (OSError, http.client.HTTPException):
            self.close_connection = True  # the target broke off mid-body: the client sees a cut response


def start(
    config,
    engine: Engine,
    *,
    account_id: str = DEFAULT_ACCOUNT,
    listener_port: int | None = None,
    clock: Clock | None = None,
):
    """Serve the emulator's ALB listeners on ``127.0.0.1:config.lb_port``; returns the running LoadBalancer.

    ``clock``: the local cloud's clock (default: the engine's); it stamps ``X-Amzn-Trace-Id``. Target health
    and draining are the engine's: the balancer asks ``engine.is_routable`` per request.
    """
    if listener_port is None:
        listener_port = int(os.environ.get("SHIPYARD_LB_LISTENER_PORT") or DEFAULT_LISTENER_PORT)
    return LoadBalancer(config.host, config.lb_port, engine, account_id, config.region, listener_port, clock)
