"""bench/rollout.py's pure helpers and its counting proxy (the local stack's fault proxy, no faults planned, against a
stand-in upstream on 127.0.0.1)."""

from __future__ import annotations

import importlib.util
import json
import sys
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "rollout.py"
AUTH = (
    "AWS4-HMAC-SHA256 Credential=testing/20250101/us-east-1/{service}/aws4_request, "
    "SignedHeaders=host;x-amz-date, Signature=abc"
)


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_rollout", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_rollout"] = module
    spec.loader.exec_module(module)
    return module


def test_per_minute_and_the_table(bench):
    assert bench.per_minute(30, 15.0) == 120.0
    assert bench.per_minute(3, 0) is None
    rows = [
        {"story": "healthy", "tool": "ours", "verdict": "exit 0: succeeded", "right": "yes", "to_verdict": 1.94,
         "to_exit": 3.1, "ran": 16.0, "calls": 24, "per_minute": 108.2},
        {"story": "crash_loop", "tool": "aws-cli", "verdict": "no verdict | within 120 s", "right": "none",
         "to_verdict": None,
         "to_exit": None, "ran": 120.0, "calls": 9, "per_minute": 4.5},
    ]  # fmt: skip
    lines = bench.table(rows).splitlines()
    assert lines[0].startswith("| story | tool | verdict |")
    assert lines[2] == (
        "| healthy | shipyard.fargate.ecs_rollout | exit 0: succeeded | yes | 1.9 | 3.1 | 16.0 | 24 | 108 | — |"
    )
    assert lines[3] == (
        "| crash_loop | aws ecs wait services-stable | no verdict \\| within 120 s | none | — | — | 120.0 | 9 | 4 | — |"
    )


def test_the_busiest_minute_counts_calls_within_any_60_s(bench):
    assert bench.busiest_minute([]) == 0
    assert bench.busiest_minute([0.0, 1.0, 2.0]) == 3  # a 2 s run: all its calls
    assert bench.busiest_minute([0.0, 30.0, 59.9, 60.0, 61.0]) == 4  # 0..59.9 or 30..61 hold 3 and 4
    assert bench.busiest_minute([5.0 * n for n in range(40)]) == 12  # one call every 5 s: 12 in any minute


def test_targets_check_says_met_or_missed(bench):
    rows = [
        {"story": "crash_loop", "tool": "ours", "success": False, "to_verdict": 1.7, "busiest_minute": 40},
        {"story": "healthy", "tool": "ours-0", "success": True, "to_verdict": 1.2, "busiest_minute": 61},
        {"story": "healthy", "tool": "ecs-deploy", "success": True, "to_verdict": 0.1, "busiest_minute": 100},
        {
            "story": "healthy",
            "tool": "ours",
            "success": True,
            "to_verdict": 9.7,
            "stable_for": 10,
            "busiest_minute": 20,
        },
        {"story": "healthy", "tool": "ours-cutover", "success": True, "to_verdict": 1.4, "busiest_minute": 20},
    ]
    rows.append({"story": "image_pull", "tool": "ours", "success": False, "right": "no", "verdict": "exit 0: x"})
    wrong = {"success": False, "right": "no", "verdict": "exit 0: succeeded"}
    rows.append(dict(wrong, story="exits_after_completed", tool="ours-0", stable_for=0))  # window off: expected
    rows.append(dict(wrong, story="exits_after_completed", tool="ours", stable_for=10))  # with the window: a miss
    lines = bench.targets_check(rows)
    assert len(lines) == 7  # ours in each of its settings, not the others
    assert "1.7 s after the event (MISSED: within 1.5 s of the first stopped task)" in lines[0]
    assert "40 calls in its busiest minute (met: at most 60)" in lines[0]
    assert "1.2 s after the event (met: within 1.5 s of completion)" in lines[1]
    assert "61 calls in its busiest minute (MISSED" in lines[1]
    assert "(met: within 1.5 s of completion plus the 10 s stability window)" in lines[2]
    assert lines[3].startswith("healthy (ecs_rollout, stable_for: 0, success_at: cutover): verdict 1.4 s after")
    assert "(met: within 1.5 s of the cutover)" in lines[3]
    assert "MISSED: the verdict was not right (exit 0: x)" in lines[4]
    assert lines[5] == (
        "exits_after_completed (ecs_rollout, stable_for: 0): not right (exit 0: succeeded), as expected: ECS reports"
        " this deployment COMPLETED, and stable_for: 0 turns off the stability window, the one check that tells it"
        " failed"
    )
    assert lines[6].startswith("exits_after_completed (shipyard.fargate.ecs_rollout): MISSED: the verdict was not")


def test_first_verdict_line_is_the_rollout_verdict_not_the_rollback_one(bench):
    lines = [
        (1.0, "TASK [Roll the service out] ****"),
        (2.0, "web: 0/2 new tasks running, 1 failed, targets 0/2 healthy (4s)"),
        (3.0, "web: failed: 1 new task stopped"),
        (9.0, "web: succeeded: rolled back"),
    ]
    assert bench.first_verdict_line(lines) == (3.0, "web: failed: 1 new task stopped")
    assert bench.first_verdict_line(lines[:2]) is None


class _Upstream(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *_args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        data = json.dumps({"host": self.headers["Host"], "echo": body.decode()}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def test_the_proxy_forwards_unchanged_and_counts_each_operation(bench):
    upstream = ThreadingHTTPServer(("127.0.0.1", 0), _Upstream)
    threading.Thread(target=upstream.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        with bench.CountingProxy(f"http://127.0.0.1:{upstream.server_address[1]}") as proxy:
            for op in ("DescribeServices", "DescribeServices", "ListTasks"):
                request = urllib.request.Request(  # noqa: S310 - http to 127.0.0.1
                    proxy.url + "/",
                    data=b'{"cluster": "c"}',
                    headers={
                        "X-Amz-Target": f"AmazonEC2ContainerServiceV20141113.{op}",
                        "Authorization": AUTH.format(service="ecs"),
                        "Host": "emulator.example:4566",
                    },
                )
                with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - http to 127.0.0.1
                    answer = json.loads(response.read())
                assert answer == {"host": "emulator.example:4566", "echo": '{"cluster": "c"}'}
            # A query-protocol call (ELBv2): its Action, the service from the credential scope.
            request = urllib.request.Request(  # noqa: S310 - http to 127.0.0.1
                proxy.url + "/",
                data=b"Action=DescribeTargetHealth&Version=2015-12-01&TargetGroupArn=arn%3Ax",
                headers={
                    "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
                    "Authorization": AUTH.format(service="elasticloadbalancing"),
                },
            )
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - http to 127.0.0.1
                assert json.loads(response.read())["echo"].startswith("Action=DescribeTargetHealth")
            assert [op for _, op in proxy.requests] == [
                "ecs:DescribeServices",
                "ecs:DescribeServices",
                "ecs:ListTasks",
                "elasticloadbalancing:DescribeTargetHealth",
            ]
            times = [at for at, _ in proxy.requests]
            assert times == sorted(times)
    finally:
        upstream.shutdown()
        upstream.server_close()


def test_the_rollout_section_is_replaced_and_the_deploy_section_kept(bench):
    deploy = (
        "<!-- bench/deploy.py: begin (generated; bench/rollout.py keeps it) -->\n## Deploy\n\nmeasured\n"
        "<!-- bench/deploy.py: end -->\n"
    )
    # A document that has no rollout section yet: ours goes first, the rest follows untouched.
    once = bench.update_document("notes by hand\n\n" + deploy, "# Benchmarks: waiting for a rollout\n\nfirst run")
    assert once.startswith(bench.BEGIN + "\n# Benchmarks: waiting for a rollout")
    assert once.count(bench.BEGIN) == once.count(bench.END) == 1
    assert once.endswith("notes by hand\n\n" + deploy)
    twice = bench.update_document(once, "# Benchmarks: waiting for a rollout\n\nsecond run")
    assert "first run" not in twice
    assert "second run" in twice
    assert twice.endswith("notes by hand\n\n" + deploy)
    assert bench.update_document("", "x") == f"{bench.BEGIN}\nx\n{bench.END}\n"


def test_the_section_helper_is_shared_and_appends_without_markers(bench):
    import docsections  # bench/ is on sys.path once bench/rollout.py is loaded

    assert bench.replace_section is docsections.replace_section
    assert bench.BEGIN.startswith("<!-- bench/rollout.py: begin")
    appended = docsections.replace_section("# Doc\n", "## Part", "<!-- a -->", "<!-- /a -->")
    assert appended == "# Doc\n\n<!-- a -->\n## Part\n<!-- /a -->\n"
