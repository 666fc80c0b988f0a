"""The docker runner's pure parts: image names, log streams, matchers, the app container, ALB health checks."""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from shipyard_local.cloud.runners import docker
from shipyard_local.cloud.runners.base import ContainerSpec, TaskSpec

REGISTRY = "127.0.0.1:29050"


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ("123456789012.dkr.ecr.us-east-1.amazonaws.com/web:abc123", (f"{REGISTRY}/web:abc123", True)),
        ("123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/api:1", (f"{REGISTRY}/team/api:1", True)),
        (
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/web@sha256:" + "a" * 64,
            (f"{REGISTRY}/web@sha256:" + "a" * 64, True),
        ),
        ("123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com/web:1", (f"{REGISTRY}/web:1", True)),
        ("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/web:1", (f"{REGISTRY}/web:1", True)),
        (f"{REGISTRY}/web:2", (f"{REGISTRY}/web:2", True)),
        ("busybox:latest", ("busybox:latest", False)),  # never pulled: must exist in the engine
        ("public.ecr.aws/nginx/nginx:1", ("public.ecr.aws/nginx/nginx:1", False)),
        ("evil.example/123456789012.dkr.ecr.us-east-1.amazonaws.com/x:1", None),
    ],
)
def test_map_image(image, expected):
    mapped = docker.map_image(image, REGISTRY)
    if expected is None:
        assert not mapped[1]
        assert mapped[0] == image
    else:
        assert mapped == expected


def test_log_stream_name_is_the_fargate_one():
    assert docker.log_stream_name("web", "app", "0f1e2d3c") == "web/app/0f1e2d3c"
    assert docker.log_stream_name(None, "app", "0f1e2d3c") == "app/0f1e2d3c"


@pytest.mark.parametrize(
    ("matcher", "ok", "not_ok"),
    [
        ("200", [200], [201, 302, 500]),
        ("200-399", [200, 302, 399], [199, 400, 500]),
        ("200,302", [200, 302], [301, 500]),
        ("200-299, 302", [204, 302], [301]),
    ],
)
def test_parse_matcher(matcher, ok, not_ok):
    accepts = docker.parse_matcher(matcher)
    assert all(accepts(code) for code in ok)
    assert not any(accepts(code) for code in not_ok)


@pytest.mark.parametrize("matcher", ["abc", "200-", ",", "2xx"])
def test_parse_matcher_refuses_nonsense(matcher):
    with pytest.raises(ValueError, match="matcher"):
        docker.parse_matcher(matcher)


def test_container_name_is_valid_for_docker():
    assert docker.container_name("abc123", "my app/1") == "shipyard-abc123-my-app-1"


def _spec(*containers):
    return TaskSpec(
        task_arn="arn:aws:ecs:us-east-1:123456789012:task/c/abc",
        task_id="abc",
        cluster="c",
        family="web",
        revision=1,
        group="service:web",
        host_port=40000,
        containers=containers,
    )


def test_port_goes_to_the_essential_container_with_a_port():
    sidecar = ContainerSpec(name="sidecar", image="x", essential=True)
    app = ContainerSpec(name="app", image="x", container_port=8080)
    helper = ContainerSpec(name="helper", image="x", essential=False, container_port=9000)
    assert docker.app_container(_spec(sidecar, helper, app)).name == "app"
    assert docker.app_container(_spec(sidecar, helper)).name == "sidecar"


def test_parse_docker_timestamp():
    assert docker.parse_docker_timestamp("2025-01-02T03:04:05.123456789Z") == 1735787045123
    assert docker.parse_docker_timestamp("2025-01-02T03:04:05Z") == 1735787045000


def test_log_event_keeps_the_message_as_written():
    event = docker._log_event(b"2025-01-02T03:04:05.5Z  two spaces kept\r")
    assert event == {"timestamp": 1735787045500, "message": " two spaces kept"}


def test_a_log_batch_is_in_timestamp_order_as_put_log_events_requires():
    """stdout and stderr are stamped apart: ``docker logs`` can print a stderr line before an earlier stdout one."""
    lines = (
        b"2025-01-02T03:04:05.300Z fatal: cannot start\n"
        b"2025-01-02T03:04:05.100Z starting\n"
        b"\n"
        b"2025-01-02T03:04:05.300Z same stamp, kept after the first\n"
        b"2025-01-02T03:04:05.200Z next"
    )
    assert [event["message"] for event in docker.log_batch(lines)] == [
        "starting",
        "next",
        "fatal: cannot start",
        "same stamp, kept after the first",
    ]


def test_health_check_args():
    args = docker.health_check_args(
        {"command": ["CMD-SHELL", "wget -q -O- localhost:$PORT/health"], "interval": 10, "retries": 2}
    )
    assert args[:2] == ["--health-cmd", "wget -q -O- localhost:$PORT/health"]
    assert "--health-interval" in args
    assert args[args.index("--health-interval") + 1] == "10s"
    assert docker.health_check_args({"command": ["CMD", "/bin/check", "a b"]})[1] == "/bin/check 'a b'"
    assert docker.health_check_args(None) == []


# --- ALB health checks over real sockets ---------------------------------------------------------------------------


class _Health(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        code = {"/ok": 200, "/redirect": 302, "/broken": 500}.get(self.path, 404)
        self.server.seen.append((self.path, self.headers.get("User-Agent")))
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture
def health_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    server.seen = []
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()  # quick shutdown
    yield server
    server.shutdown()
    server.server_close()


def test_health_check_codes(health_server):
    port = health_server.server_address[1]
    assert docker.http_health_check("127.0.0.1", port, "/ok", "200", 5).ok
    assert health_server.seen[-1] == ("/ok", "ELB-HealthChecker/2.0")
    assert docker.http_health_check("127.0.0.1", port, "/redirect", "200-399", 5).ok
    mismatch = docker.http_health_check("127.0.0.1", port, "/broken", "200", 5)
    assert (mismatch.ok, mismatch.reason, mismatch.description) == (
        False,
        "Target.ResponseCodeMismatch",
        "Health checks failed with these codes: [500]",
    )


def test_health_check_connection_refused(free_port):
    result = docker.http_health_check("127.0.0.1", free_port(), "/", "200", 5)
    assert (result.ok, result.reason, result.description) == (
        False,
        "Target.FailedHealthChecks",
        "Health checks failed",
    )


def test_health_check_timeout():
    with socket.socket() as listener:  # accepts the connection, never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        result = docker.http_health_check("127.0.0.1", listener.getsockname()[1], "/", "200", 0.3)
    assert (result.ok, result.reason, result.description) == (False, "Target.Timeout", "Request timed out")
