"""The AWS fault proxy (shipyard_local.faults): which call gets which fault, in which shape, and the proxy itself
(forwarding, control path, counts, the stretch without answers) in front of a stand-in upstream on 127.0.0.1."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import botocore.exceptions
import pytest
from botocore.config import Config

from shipyard_local import faults
from shipyard_local.config import DEFAULT_EMULATOR_PORT, ConfigError, StackConfig
from shipyard_local.faults import ERROR, PASS, STALL, THROTTLE, Decision, Plan, PlanError, decide

# --- the decision -------------------------------------------------------------------------------------------------


def test_no_plan_injects_nothing():
    assert {decide(Plan(), n, 0.0, None).action for n in range(1, 500)} == {PASS}


def test_the_shares_follow_the_plan_and_the_seed_repeats_them():
    plan = Plan(seed=7, throttle_percent=20, error_percent=5)
    actions = [decide(plan, n, 0.0, None).action for n in range(1, 4001)]
    counts = Counter(actions)
    assert 700 < counts[THROTTLE] < 900  # 20 % of 4000 = 800
    assert 140 < counts[ERROR] < 260  # 5 % = 200
    assert actions == [decide(plan, n, 0.0, None).action for n in range(1, 4001)]
    other = [decide(Plan(seed=8, throttle_percent=20, error_percent=5), n, 0.0, None).action for n in range(1, 4001)]
    assert other != actions  # a new seed, new dice


def test_the_stretch_starts_at_its_call_and_holds_every_call_until_it_ends():
    plan = Plan(stall_after=3, stall_seconds=4)
    assert decide(plan, 2, 10.0, None) == Decision(PASS, None)
    started = decide(plan, 3, 10.0, None)
    assert started == Decision(STALL, 14.0)
    assert decide(plan, 4, 13.9, started.stall_ends) == Decision(STALL, 14.0)
    # Over: never again, whatever the call number.
    assert decide(plan, 5, 14.0, started.stall_ends).action == PASS
    assert decide(plan, 50, 100.0, started.stall_ends).action == PASS


@pytest.mark.parametrize(
    ("raw", "named"),
    [
        ({"throttle_percent": 120}, "throttle_percent"),
        ({"error_percent": -1}, "error_percent"),
        ({"throttle_percent": 60, "error_percent": 50}, "must not exceed 100"),
        ({"throttle": 20}, "unknown plan field"),
        ({"seed": "x"}, "seed must be a number"),
        ({"stall_seconds": True}, "stall_seconds must be a number"),
        ({"stall_after": -2}, "must not be negative"),
        ([1], "JSON object"),
    ],
)
def test_a_bad_plan_is_refused_naming_the_field(raw, named):
    with pytest.raises(PlanError, match=named):
        Plan.from_dict(raw)


# --- what a request is, and how AWS answers it --------------------------------------------------------------------

AUTH = "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/{}/aws4_request, SignedHeaders=host, Signature=x"


@pytest.mark.parametrize(
    ("service", "headers", "body", "path", "expected", "shape"),
    [
        ("ecs", {"x-amz-target": "AmazonEC2ContainerServiceV20141113.CreateService",
                 "content-type": "application/x-amz-json-1.1"}, b"{}", "/", "CreateService", "json"),
        ("elasticloadbalancing", {"content-type": "application/x-www-form-urlencoded; charset=utf-8"},
         b"Action=CreateRule&Version=2015-12-01", "/", "CreateRule", "query"),
        ("iam", {"content-type": "application/x-www-form-urlencoded"}, b"Action=CreateRole", "/", "CreateRole",
         "query"),
        ("ec2", {"content-type": "application/x-www-form-urlencoded"}, b"Action=DescribeVpcs", "/", "DescribeVpcs",
         "ec2"),
        ("route53", {}, b"", "/2013-04-01/hostedzone/Z1/rrset", "GET /2013-04-01/hostedzone", "rest-xml"),
    ],
)  # fmt: skip
def test_operation_and_protocol_are_read_from_the_request(service, headers, body, path, expected, shape):
    headers = {**headers, "authorization": AUTH.format(service)}
    assert faults.operation("GET" if not body else "POST", path, headers, body) == (service, expected)
    assert faults.protocol(service, headers, body) == shape


def _client(service, url, retries=0):
    return boto3.client(
        service,
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"mode": "legacy", "max_attempts": retries}),  # legacy: retries after the first
    )


@pytest.mark.parametrize(
    ("service", "call", "throttle", "error"),
    [
        ("ecs", lambda c: c.list_clusters(), ("ThrottlingException", 400), ("InternalFailure", 500)),
        ("secretsmanager", lambda c: c.list_secrets(), ("ThrottlingException", 400), ("InternalFailure", 500)),
        ("elbv2", lambda c: c.describe_load_balancers(), ("Throttling", 400), ("InternalFailure", 500)),
        ("iam", lambda c: c.list_roles(), ("Throttling", 400), ("InternalFailure", 500)),
        ("ec2", lambda c: c.describe_vpcs(), ("RequestLimitExceeded", 503), ("InternalError", 500)),
        ("route53", lambda c: c.list_hosted_zones(), ("Throttling", 400), ("InternalFailure", 500)),
    ],
)
def test_botocore_parses_each_injected_answer_as_aws_sends_it(proxy, service, call, throttle, error):
    # No retry: botocore hands the parsed error back.
    proxy.plan(throttle_percent=100)
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        call(_client(service, proxy.url))
    assert (raised.value.response["Error"]["Code"], raised.value.response["ResponseMetadata"]["HTTPStatusCode"]) == (
        throttle
    )
    proxy.plan(error_percent=100)
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        call(_client(service, proxy.url))
    assert (raised.value.response["Error"]["Code"], raised.value.response["ResponseMetadata"]["HTTPStatusCode"]) == (
        error
    )
    assert proxy.upstream.requests == []  # a faulted call never reaches the emulator


# --- the proxy ----------------------------------------------------------------------------------------------------


class _Upstream:
    """A stand-in for the emulator: answers every ECS JSON call with an empty cluster list, keeps the requests."""

    def __init__(self):
        self.requests: list[tuple[str, str]] = []
        seen = self.requests

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self):
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                seen.append((self.command, self.path))
                body = json.dumps({"clusterArns": []}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-amz-json-1.1")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _answer

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()


class _Proxy:
    def __init__(self):
        self.upstream = _Upstream()
        self.server = faults.build_server("127.0.0.1", 0, self.upstream.server.server_port)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def control(self, method="GET", body=None):
        request = urllib.request.Request(f"{self.url}{faults.CONTROL_PATH}", data=body, method=method)  # noqa: S310
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - 127.0.0.1 only
            return json.load(response)

    def plan(self, **plan):
        return self.control("PUT", json.dumps(plan).encode())

    def close(self):
        for server in (self.server, self.upstream.server):
            server.shutdown()
            server.server_close()


@pytest.fixture
def proxy():
    running = _Proxy()
    yield running
    running.close()


def test_without_a_plan_the_proxy_forwards_and_counts_per_operation(proxy):
    assert _client("ecs", proxy.url).list_clusters()["clusterArns"] == []
    report = proxy.control()
    assert report["calls_by_operation"] == {"ecs.ListClusters": 1}
    assert report["injected"] == {"throttle": 0, "error": 0, "stall": 0}
    assert proxy.upstream.requests == [("POST", "/")]


def test_botocore_retries_what_the_proxy_injects_and_the_counts_say_what_was_injected(proxy):
    proxy.plan(seed=16, throttle_percent=30, error_percent=10)  # seed 16: one throttle, one 500 in 6 calls
    client = _client("ecs", proxy.url, retries=10)
    retried = sum(client.list_clusters()["ResponseMetadata"]["RetryAttempts"] for _ in range(6))
    report = proxy.control()
    injected = report["injected_by_operation"].get("ecs.ListClusters", {})
    assert injected == {"throttle": 1, "error": 1}
    assert retried == 2
    assert report["calls"] == 6 + retried
    assert len(proxy.upstream.requests) == 6  # only the answered calls reached the emulator


def test_the_stretch_holds_then_closes_the_connection_without_answer_and_never_forwards(proxy):
    proxy.plan(stall_after=1, stall_seconds=0.5)
    with pytest.raises(botocore.exceptions.ConnectionClosedError):
        _client("ecs", proxy.url).list_clusters()
    assert proxy.upstream.requests == []
    # The stretch is over: the next call (botocore's retry) is answered; the control path answered throughout.
    assert _client("ecs", proxy.url).list_clusters()["clusterArns"] == []
    assert proxy.control()["injected"] == {"throttle": 0, "error": 0, "stall": 1}


def test_the_control_path_is_never_faulted_and_a_new_plan_resets_the_counts(proxy):
    proxy.plan(throttle_percent=100)
    for _ in range(3):
        assert proxy.control()["plan"]["throttle_percent"] == 100  # control calls are not counted or faulted
    with pytest.raises(botocore.exceptions.ClientError):
        _client("ecs", proxy.url).list_clusters()
    assert proxy.control()["calls"] == 1
    assert proxy.plan()["calls"] == 0  # {}: no faults, counts from zero
    with pytest.raises(urllib.error.HTTPError) as refused:
        proxy.control("PUT", b'{"throttle_percent": 101}')
    assert refused.value.code == 400
    assert b"throttle_percent" in refused.value.read()


# --- the stack starts it ------------------------------------------------------------------------------------------


def test_the_stack_config_has_a_fault_port_of_its_own(tmp_path):
    config = StackConfig.from_env({"SHIPYARD_STATE_DIR": str(tmp_path), "SHIPYARD_FAULTS_PORT": "41020"})
    assert config.faults_url == "http://127.0.0.1:41020"
    assert config.stack_env()["SHIPYARD_FAULTS_PORT"] == "41020"
    # By default 10 above the emulator's: stacks on other ports (29410 -> 29420) do not share one.
    assert StackConfig.from_env({"SHIPYARD_STATE_DIR": str(tmp_path)}).faults_port == DEFAULT_EMULATOR_PORT + 10
    assert StackConfig.from_env({"SHIPYARD_EMULATOR_PORT": "29410"}).faults_port == 29420
    with pytest.raises(ConfigError, match="SHIPYARD_FAULTS_PORT"):
        StackConfig.from_env({"SHIPYARD_EMULATOR_PORT": "41000", "SHIPYARD_FAULTS_PORT": "41000"})
