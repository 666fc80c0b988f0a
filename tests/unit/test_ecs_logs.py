"""log_lines: a service's CloudWatch Logs lines - since parsing, stream names, merging by time, formatting (what
shipyard.fargate.ecs_logs returns), and the module's input checks."""

from __future__ import annotations

import json

import pytest
from ansible.module_utils.testing import patch_module_args
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.shipyard.fargate.plugins.module_utils import log_lines as ll
from ansible_collections.shipyard.fargate.plugins.modules import ecs_logs

NOW = 1_796_547_600.0  # 2026-12-06T09:00:00Z


def test_since_takes_durations_and_iso_times():
    assert ll.since_ms("10m", NOW) == (NOW - 600) * 1000
    assert ll.since_ms("2h", NOW) == (NOW - 7200) * 1000
    assert ll.since_ms("45s", NOW) == (NOW - 45) * 1000
    assert ll.since_ms("1d", NOW) == (NOW - 86400) * 1000
    assert ll.since_ms("2026-12-06T08:00:00Z", NOW) == (NOW - 3600) * 1000
    assert ll.since_ms("2026-12-06T08:00:00", NOW) == (NOW - 3600) * 1000  # no zone: UTC
    assert ll.since_ms("2026-12-06T10:00:00+02:00", NOW) == (NOW - 3600) * 1000
    with pytest.raises(ValueError, match="since 'yesterday' is neither a duration"):
        ll.since_ms("yesterday", NOW)


def test_stream_names_give_the_container_and_the_task():
    assert ll.stream_parts("app/app/0123abcd") == ("app", "0123abcd")
    assert ll.stream_parts("web/sidecar/ffff") == ("sidecar", "ffff")
    assert ll.stream_parts("odd-stream") == (None, "odd-stream")
    assert ll.stream_prefix("app", "app", "0123") == "app/app/0123"
    assert ll.stream_prefix("app", "app") == "app/app/"
    assert ll.stream_prefix(None, "app") is None
    assert ll.stream_prefix("app", None) is None


def _event(stream, ts, message, ingested=0, event_id=None):
    return {"logStreamName": stream, "timestamp": ts, "message": message, "ingestionTime": ingested,
            "eventId": event_id or f"{stream}-{ts}-{message}"}  # fmt: skip


def test_merge_interleaves_by_time_without_duplicates_and_keeps_the_newest():
    a = [_event("app/app/aaaa", 1000, "a1"), _event("app/app/aaaa", 3000, "a2")]
    b = [_event("app/app/bbbb", 2000, "b1"), _event("app/app/bbbb", 3000, "b2", ingested=5)]
    again = [{k: v for k, v in e.items() if k != "eventId"} for e in a[1:]]  # GetLogEvents has no event IDs
    merged = ll.merge(a, b, again)  # a follow poll reads the last millisecond again: each event once
    assert [e["message"] for e in merged] == ["a1", "b1", "a2", "b2"]
    twice = [_event("app/app/aaaa", 1000, "ready", event_id="1"), _event("app/app/aaaa", 1000, "ready", event_id="2")]
    assert [e["eventId"] for e in ll.merge(twice, twice[:1])] == ["1", "2"]  # written twice in 1 ms: kept twice
    assert [e["message"] for e in ll.merge(a, b, limit=2)] == ["a2", "b2"]
    assert ll.merge(a, limit=0) == []


def test_a_record_and_its_line_carry_the_task_id_and_the_container():
    record = ll.record(_event("app/app/0123abcd", int(NOW * 1000) + 123, "listening on 8080\n", event_id="e1"))
    assert record == {
        "timestamp": "2026-12-06T09:00:00.123Z",
        "task_id": "0123abcd",
        "container": "app",
        "message": "listening on 8080",
        "event_id": "e1",
    }
    assert ll.format_line(record) == "2026-12-06T09:00:00.123Z 0123abcd app | listening on 8080"


def test_bad_input_is_refused_naming_the_option():
    ok = {"log_group": "/ecs/x/web", "lines": 50, "follow": 0, "max_streams": 20, "since": None, "task": None}
    assert ecs_logs.validate(ok, NOW) is None
    assert ecs_logs.validate({**ok, "lines": 0}, NOW) == "lines must be between 1 and 10000, got 0"
    assert ecs_logs.validate({**ok, "follow": 4000}, NOW) == "follow must be between 0 and 3600 seconds, got 4000"
    assert "since 'soon' is neither" in ecs_logs.validate({**ok, "since": "soon"}, NOW)
    assert ecs_logs.validate({**ok, "log_group": ""}, NOW) == "log_group must not be empty"
    assert ecs_logs._wanted({"container": "app", "task": "arn:aws:ecs:r:1:task/c/aaaa"}, "app/app/aaaa")
    assert not ecs_logs._wanted({"container": "app", "task": "bbbb"}, "app/app/aaaa")


def test_the_module_refuses_bad_input_before_any_aws_client(monkeypatch, capsys):
    def no_client(*_args, **_kwargs):
        raise AssertionError("an AWS client was made before the input was checked")

    monkeypatch.setattr(AnsibleAWSModule, "client", no_client)
    args = {"log_group": "/ecs/x/web", "since": "last tuesday", "region": "us-east-1"}
    with patch_module_args(args), pytest.raises(SystemExit):
        ecs_logs.main()
    result = json.loads(capsys.readouterr().out)
    assert result["failed"] is True
    assert result["msg"].startswith("since 'last tuesday' is neither a duration")
