"""The local cloud's clock and ``SHIPYARD_TIME_SCALE``: what a scale speeds up, and how a bad value is refused."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from shipyard_local.cloud import clock as clock_module
from shipyard_local.cloud.clock import RealClock, VirtualClock, parse_scale
from shipyard_local.cloud.runners import base, docker
from shipyard_local.cloud.runners.simulated import SimulatedRunner
from shipyard_local.config import ConfigError, StackConfig


class FakeTime:
    """Stands in for the ``time`` module the clock reads: real seconds move only when a test says so."""

    def __init__(self) -> None:
        self.mono, self.wall, self.slept = 1000.0, 1_800_000_000.0, []

    def monotonic(self) -> float:
        return self.mono

    def time(self) -> float:
        return self.wall

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)


@pytest.fixture
def fake_time(monkeypatch) -> FakeTime:
    fake = FakeTime()
    monkeypatch.setattr(clock_module, "time", fake)
    return fake


def test_a_real_clock_runs_the_simulated_world_scale_times_faster(fake_time):
    clock = RealClock(10)
    start = clock.now()
    fake_time.mono += 0.5  # half a real second
    assert clock.now() - start == pytest.approx(5.0)  # a 5 s health-check interval has passed
    clock.sleep(30)
    assert fake_time.slept == [pytest.approx(3.0)]
    assert clock.real(300) == pytest.approx(30.0)  # a 300 s deregistration delay takes 30 real seconds


def test_a_real_clock_shows_the_real_time_of_day_whatever_the_scale(fake_time):
    clock = RealClock(10)
    assert clock.epoch() == fake_time.wall
    fake_time.wall += 2
    fake_time.mono += 2
    assert clock.epoch() == fake_time.wall  # timestamps are not scaled: clients compare them with their own clock
    assert clock.wall() == datetime.fromtimestamp(fake_time.wall, UTC).replace(tzinfo=None)  # naive UTC, as moto


def test_a_real_clock_waits_on_events_in_scaled_time():
    clock = RealClock(1000)
    event = threading.Event()
    assert clock.wait(event, 0.001) is False  # 1 ms simulated: 1 us real
    event.set()
    assert clock.wait(event, None) is True


def test_real_time_is_scale_1():
    assert RealClock().scale == 1.0
    with pytest.raises(ValueError, match="scale must be a number >= 1"):
        RealClock(0.5)


def test_a_virtual_clock_moves_only_when_told():
    clock = VirtualClock()
    assert clock.now() == 0.0
    before = clock.wall()
    clock.advance(90)
    assert clock.now() == 90.0
    assert (clock.wall() - before).total_seconds() == 90.0
    clock.sleep(10)  # sleeping on a virtual clock advances it, at once
    assert clock.now() == 100.0
    assert clock.wait(threading.Event(), 30) is False
    assert clock.now() == 100.0
    with pytest.raises(ValueError, match="does not go back"):
        clock.advance(-1)


def test_simulated_tasks_follow_the_clock_they_are_given():
    clock = VirtualClock()
    runner = SimulatedRunner(clock=clock.now)
    spec = base.TaskSpec(
        task_arn="arn:task/1", task_id="1", cluster="c", family="web", revision=1, group="service:web", host_port=1,
        containers=(base.ContainerSpec(name="app", image="web:1", environment={"SHIPYARD_SIMULATE": "start=2"}),),
    )  # fmt: skip
    run = runner.start(spec)
    assert run.poll().phase != "RUNNING"
    clock.advance(2)
    assert run.poll().phase == "RUNNING"


@pytest.mark.parametrize(
    ("raw", "expected"), [(None, 1.0), ("", 1.0), ("1", 1.0), ("10", 10.0), (" 2.5 ", 2.5), ("1e2", 100.0)]
)
def test_time_scale_values(raw, expected):
    assert parse_scale(raw) == expected


@pytest.mark.parametrize("raw", ["0", "0.5", "-3", "fast", "nan", "inf", "10x"])
def test_a_bad_time_scale_is_refused_naming_the_variable(raw):
    with pytest.raises(ConfigError, match=r"SHIPYARD_TIME_SCALE must be a number >= 1 \(1 = real time\), got"):
        StackConfig.from_env({"SHIPYARD_TIME_SCALE": raw})


def test_the_stack_config_carries_the_time_scale():
    assert StackConfig.from_env({}).time_scale == 1.0
    assert StackConfig.from_env({"SHIPYARD_TIME_SCALE": "20"}).time_scale == 20.0


def test_docker_health_check_timings_are_scaled():
    check = {"command": ["CMD-SHELL", "true"], "interval": 30, "timeout": 5, "retries": 3, "startPeriod": 10}
    args = docker.health_check_args(check, scale=10)
    assert args[args.index("--health-interval") + 1] == "3000ms"
    assert args[args.index("--health-timeout") + 1] == "500ms"
    assert args[args.index("--health-start-period") + 1] == "1000ms"
    assert args[args.index("--health-retries") + 1] == "3"  # a count, not a duration
    assert docker.health_check_args(check)[3] == "30s"  # real time: as the task definition says
