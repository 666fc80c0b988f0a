"""The local load balancer: ELB rule matching (pure), and the proxy against moto in-process with fake targets."""

from __future__ import annotations

import http.client
import json
import random
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import boto3
import pytest
from moto import mock_aws

from shipyard_local.cloud import lb
from shipyard_local.config import StackConfig


def _request(host="web.example.com", path="/", method="GET", query="", headers=None):
    return lb.Request(method=method, host=host, path=path, query=query, headers=headers or {})


@pytest.mark.parametrize(
    ("pattern", "value", "case_sensitive", "expected"),
    [
        ("web.example.com", "WEB.example.com", False, True),
        ("*.example.com", "api.example.com", False, True),
        ("*.example.com", "example.com", False, False),
        ("w?b.example.com", "web.example.com", False, True),
        ("w?b.example.com", "weeb.example.com", False, False),
        ("/api/*", "/api/users", True, True),
        ("/api/*", "/API/users", True, False),
        ("/api*", "/api", True, True),
        ("/a.c", "/abc", True, False),  # "." is literal
        ("/[x]", "/x", True, False),  # no character classes in ELB patterns
    ],
)
def test_wildcards(pattern, value, case_sensitive, expected):
    assert lb.wildcard_match(pattern, value, case_sensitive=case_sensitive) is expected


def test_host_header_ignores_the_port_and_reads_both_condition_shapes():
    new_style = {"Field": "host-header", "HostHeaderConfig": {"Values": ["web.*"]}}
    legacy = {"Field": "host-header", "Values": ["web.example.com"]}
    assert lb.condition_matches(new_style, _request(host="web.example.com:29080"))
    assert lb.condition_matches(legacy, _request(host="web.example.com"))
    assert not lb.condition_matches(new_style, _request(host="api.example.com"))


def test_path_method_header_and_query_conditions():
    path = {"Field": "path-pattern", "PathPatternConfig": {"Values": ["/api/*", "/v2/*"]}}
    assert lb.condition_matches(path, _request(path="/v2/x"))
    assert not lb.condition_matches(path, _request(path="/web"))
    method = {"Field": "http-request-method", "HttpRequestMethodConfig": {"Values": ["POST"]}}
    assert lb.condition_matches(method, _request(method="POST"))
    assert not lb.condition_matches(method, _request(method="GET"))
    header = {"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": "X-Env", "Values": ["blue*"]}}
    assert lb.condition_matches(header, _request(headers={"x-env": "blue-2"}))
    assert not lb.condition_matches(header, _request(headers={}))
    query = {"Field": "query-string", "QueryStringConfig": {"Values": [{"Key": "v", "Value": "2"}]}}
    assert lb.condition_matches(query, _request(query="a=1&v=2"))
    assert not lb.condition_matches(query, _request(query="v=3"))


def _rule(priority, conditions, actions, default=False):
    return SimpleNamespace(
        priority=priority,
        conditions=conditions,
        actions=[SimpleNamespace(data=a) for a in actions],
        is_default=default,
    )


def _listener(rules, default_actions):
    entries = {str(i): r for i, r in enumerate(rules)}
    entries["default"] = _rule("default", [], default_actions, default=True)
    return SimpleNamespace(rules=entries, default_actions=[SimpleNamespace(data=a) for a in default_actions])


def test_rules_are_evaluated_by_priority_then_the_default_action():
    web = {"Type": "forward", "TargetGroupArn": "tg-web"}
    api = {"Type": "forward", "TargetGroupArn": "tg-api"}
    catch_all_web = {"Type": "forward", "TargetGroupArn": "tg-catch"}
    default = {"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404"}}
    listener = _listener(
        [
            _rule(50, [{"Field": "host-header", "Values": ["*.example.com"]}], [catch_all_web]),
            _rule(10, [{"Field": "host-header", "Values": ["web.example.com"]}], [web]),
            _rule(20, [{"Field": "path-pattern", "Values": ["/api/*"]}], [api]),
        ],
        [default],
    )
    assert lb.choose_actions([listener], _request(host="web.example.com", path="/api/x")) == [web]
    assert lb.choose_actions([listener], _request(host="other.org", path="/api/x")) == [api]
    assert lb.choose_actions([listener], _request(host="x.example.com")) == [catch_all_web]
    assert lb.choose_actions([listener], _request(host="other.org")) == [default]


def test_a_rule_needs_every_condition():
    conditions = [
        {"Field": "host-header", "Values": ["web.example.com"]},
        {"Field": "path-pattern", "Values": ["/admin/*"]},
    ]
    assert lb.rule_matches(conditions, _request(host="web.example.com", path="/admin/x"))
    assert not lb.rule_matches(conditions, _request(host="web.example.com", path="/x"))


def test_terminal_action_skips_authentication_and_follows_order():
    actions = [
        {"Type": "forward", "TargetGroupArn": "tg", "Order": 2},
        {"Type": "authenticate-oidc", "Order": 1},
    ]
    assert lb.terminal_action(actions) == actions[0]


def test_weighted_forward():
    action = {
        "Type": "forward",
        "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": "blue", "Weight": 0}, {"TargetGroupArn": "green"}]},
    }
    groups = lb.weighted_target_groups(action)
    assert groups == [("blue", 0), ("green", 1)]
    rng = random.Random(7)  # noqa: S311 - a seeded draw, not cryptography
    assert {lb.choose_weighted(groups, rng) for _ in range(50)} == {"green"}
    split = [lb.choose_weighted([("a", 3), ("b", 1)], rng) for _ in range(4000)]
    assert 0.7 < split.count("a") / len(split) < 0.8
    assert lb.weighted_target_groups({"Type": "forward", "TargetGroupArn": "one"}) == [("one", 1)]


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"}, "https://web.example.com/a/b?x=1"),
        ({"Protocol": "HTTPS", "Port": "8443", "StatusCode": "HTTP_301"}, "https://web.example.com:8443/a/b?x=1"),
        ({"Host": "new.example.com", "Path": "/moved/#{path}", "Query": ""}, "http://new.example.com/moved/a/b"),
    ],
)
def test_redirect_location(config, expected):
    request = _request(host="web.example.com:29080", path="/a/b", query="x=1")
    assert lb.redirect_location(config, request, "HTTP", 80) == expected


# --- the proxy, against moto in-process and fake targets -------------------------------------------------------------


class _App(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        name = self.server.name.encode()
        if self.path == "/hang":
            self.server.hung.set()
            self.server.release.wait()  # answers only when the test says so
        body = json.dumps({"name": self.server.name, "headers": dict(self.headers), "path": self.path}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-App", name.decode())
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        if "chunked" in self.headers.get("Transfer-Encoding", ""):
            data = b""
            while True:
                size = int(self.rfile.readline().strip(), 16)
                if not size:
                    self.rfile.readline()
                    break
                data += self.rfile.read(size)
                self.rfile.readline()
        else:
            data = self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(201)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data[::-1])


def _app(name):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _App)
    server.name = name
    server.release = threading.Event()
    server.hung = threading.Event()
    # A short poll: shutdown() returns within it (the default 0.5 s cost every teardown half a second per app).
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": lb.POLL_SECONDS}, daemon=True).start()
    return server


class FakeEngine:
    """Targets 10.0.x.y:8080 -> local apps; ``routable`` is what the engine would say."""

    def __init__(self):
        self.addresses: dict[tuple[str, str, int], tuple[str, int]] = {}
        self.routable: set[tuple[str, str, int]] = set()

    def resolve_target(self, tg, target_id, port):
        return self.addresses.get((tg, target_id, port))

    def is_routable(self, tg, target_id, port):
        return (tg, target_id, port) in self.routable

    def target_health(self, tg, target_id, port):
        return None  # the balancer's 503 log line: "unknown to ECS"


def _get(port, path="/", host="web.example.com", method="GET", body=None, headers=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Host": host, **(headers or {})}
    connection.request(method, path, body=body, headers=headers, encode_chunked="Transfer-Encoding" in headers)
    response = connection.getresponse()
    data = response.read()
    connection.close()
    return response, data


@pytest.fixture(scope="module")
def network():
    """moto in-process for the module, with one VPC and two subnets (each test makes and deletes its own ALB)."""
    with mock_aws():
        ec2 = boto3.client("ec2", region_name="us-east-1")
        elb = boto3.client("elbv2", region_name="us-east-1")
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        subnets = [
            ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"us-east-1{z}")["Subnet"][
                "SubnetId"
            ]
            for i, z in ((1, "a"), (2, "b"))
        ]
        yield SimpleNamespace(elb=elb, vpc=vpc, subnets=subnets)


@pytest.fixture
def alb(free_port, network):
    """An ALB in moto (in-process) with a web rule, an api rule and a 404 default, served by the local LB.

    The balancer serves every ALB of the region: the fixture deletes its own at the end, so a test sees only its own.
    """
    elb, vpc, subnets = network.elb, network.vpc, network.subnets
    arn = elb.create_load_balancer(Name="shared", Subnets=subnets)["LoadBalancers"][0]["LoadBalancerArn"]

    def group(name):
        return elb.create_target_group(Name=name, Protocol="HTTP", Port=8080, VpcId=vpc, TargetType="ip")[
            "TargetGroups"
        ][0]["TargetGroupArn"]

    web, api = group("web"), group("api")
    not_found = {"StatusCode": "404", "ContentType": "text/plain", "MessageBody": "no such service"}
    listener = elb.create_listener(
        LoadBalancerArn=arn,
        Protocol="HTTP",
        Port=80,
        DefaultActions=[{"Type": "fixed-response", "FixedResponseConfig": not_found}],
    )["Listeners"][0]["ListenerArn"]
    elb.create_rule(
        ListenerArn=listener,
        Priority=10,
        Conditions=[{"Field": "host-header", "HostHeaderConfig": {"Values": ["web.example.com"]}}],
        Actions=[{"Type": "forward", "TargetGroupArn": web}],
    )
    elb.create_rule(
        ListenerArn=listener,
        Priority=20,
        Conditions=[{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/api/*"]}}],
        Actions=[{"Type": "forward", "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": api, "Weight": 1}]}}],
    )
    elb.create_rule(
        ListenerArn=listener,
        Priority=30,
        Conditions=[{"Field": "host-header", "Values": ["old.example.com"]}],
        Actions=[
            {"Type": "redirect", "RedirectConfig": {"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"}}
        ],
    )
    engine = FakeEngine()
    config = StackConfig.from_env({"SHIPYARD_LB_PORT": str(free_port())})
    balancer = lb.start(config, engine, listener_port=80)
    apps = []

    def add_target(tg, ip, name, routable=True):
        app = _app(name)
        apps.append(app)
        elb.register_targets(TargetGroupArn=tg, Targets=[{"Id": ip, "Port": 8080}])
        engine.addresses[(tg, ip, 8080)] = ("127.0.0.1", app.server_address[1])
        if routable:
            engine.routable.add((tg, ip, 8080))
        return app

    try:
        yield SimpleNamespace(
            port=config.lb_port, web=web, api=api, engine=engine, add_target=add_target, elb=elb, listener=listener
        )
    finally:
        balancer.stop()
        for app in apps:
            app.release.set()
            app.shutdown()
        elb.delete_load_balancer(LoadBalancerArn=arn)
        for group_arn in (web, api):
            elb.delete_target_group(TargetGroupArn=group_arn)


def test_routes_by_host_header_round_robin_with_forwarded_headers(alb):
    alb.add_target(alb.web, "10.0.1.10", "web-1")
    alb.add_target(alb.web, "10.0.1.11", "web-2")
    names = []
    for _ in range(4):
        response, data = _get(alb.port, "/hello?x=1")
        assert response.status == 200
        seen = json.loads(data)
        names.append(seen["name"])
    assert sorted(names) == ["web-1", "web-1", "web-2", "web-2"]
    assert names[0] != names[1]
    assert seen["path"] == "/hello?x=1"
    assert seen["headers"]["Host"] == "web.example.com"
    assert seen["headers"]["X-Forwarded-For"] == "127.0.0.1"
    assert seen["headers"]["X-Forwarded-Proto"] == "http"
    assert seen["headers"]["X-Forwarded-Port"] == "80"
    assert seen["headers"]["X-Amzn-Trace-Id"].startswith("Root=1-")
    assert response.getheader("X-App") == "web-2" or response.getheader("X-App") == "web-1"


def test_path_rule_weighted_forward_and_bodies(alb):
    alb.add_target(alb.api, "10.0.2.10", "api-1")
    response, data = _get(alb.port, "/api/users", host="anything.org")
    assert response.status == 200
    assert json.loads(data)["name"] == "api-1"
    response, data = _get(alb.port, "/api/echo", host="x", method="POST", body=b"abcdef")
    assert (response.status, data) == (201, b"fedcba")
    response, data = _get(
        alb.port, "/api/echo", host="x", method="POST", body=iter([b"abc", b"def"]),
        headers={"Transfer-Encoding": "chunked"},
    )  # fmt: skip
    assert (response.status, data) == (201, b"fedcba")


def test_default_fixed_response_and_redirect(alb):
    response, data = _get(alb.port, "/", host="nobody.example.com")
    assert (response.status, data) == (404, b"no such service")
    response, _ = _get(alb.port, "/a?b=1", host="old.example.com:29080")
    assert response.status == 301
    assert response.getheader("Location") == "https://old.example.com/a?b=1"


def test_no_healthy_targets_is_503_and_a_dead_target_is_502(alb):
    alb.add_target(alb.web, "10.0.1.20", "unhealthy", routable=False)
    response, _ = _get(alb.port)
    assert response.status == 503
    assert response.getheader("X-Shipyard-Local-Reason") == "no healthy targets"
    app = alb.add_target(alb.web, "10.0.1.21", "gone")
    app.shutdown()
    app.server_close()
    response, _ = _get(alb.port)
    assert response.status == 502


def test_a_draining_target_gets_no_new_requests_but_finishes_in_flight_ones(alb):
    old = alb.add_target(alb.web, "10.0.1.30", "old")
    key = (alb.web, "10.0.1.30", 8080)
    results = {}
    in_flight = threading.Thread(target=lambda: results.setdefault("slow", _get(alb.port, "/hang")))
    in_flight.start()
    assert old.hung.wait(60), "the slow request never reached the old target"
    alb.add_target(alb.web, "10.0.1.31", "new", routable=False)
    # the engine starts draining "old" and "new" becomes healthy
    alb.engine.routable.discard(key)
    alb.engine.routable.add((alb.web, "10.0.1.31", 8080))
    for _ in range(3):
        response, data = _get(alb.port)
        assert json.loads(data)["name"] == "new"
    old.release.set()
    in_flight.join()
    response, data = results["slow"]
    assert response.status == 200
    assert json.loads(data)["name"] == "old"


def test_a_rule_added_later_is_seen_by_the_next_request(alb):
    response, _ = _get(alb.port, "/", host="late.example.com")
    assert response.status == 404
    alb.elb.create_rule(
        ListenerArn=alb.listener,
        Priority=5,
        Conditions=[{"Field": "host-header", "Values": ["late.example.com"]}],
        Actions=[{"Type": "forward", "TargetGroupArn": alb.web}],
    )
    alb.add_target(alb.web, "10.0.1.40", "late")
    response, data = _get(alb.port, "/", host="late.example.com")
    assert response.status == 200
    assert json.loads(data)["name"] == "late"
