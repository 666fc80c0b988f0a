"""bench/deploy.py's pure helpers: profile_tasks parsing, the time split, and its own section of the document."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
import yaml

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "deploy.py"

PROFILE_OUTPUT = """\
PLAY RECAP *********************************************************************
web                        : ok=151  changed=5    unreachable=0    failed=0    skipped=71   rescued=0    ignored=0

TASKS RECAP ********************************************************************
Thursday 26 November 2026  13:04:00 +0000 (0:00:00.100)       0:01:30.000 *****
===============================================================================
shipyard.fargate.registry : Ensure the ECR repository ------------------- 0.61s
shipyard.fargate.image : Build the image from the Dockerfile ----------- 20.50s
shipyard.fargate.image : Push the image and read its digest from the registry - 9.80s
shipyard.fargate.service : Roll the service out to the task definition - 31.00s
Summary ----------------------------------------------------------------- 0.05s
"""


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_deploy", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_deploy"] = module
    spec.loader.exec_module(module)
    return module


def test_profile_tasks_summary_is_read_in_run_order(bench):
    run = bench.Run(["ansible-playbook"], 90.0, 0, PROFILE_OUTPUT)
    tasks = run.tasks()
    assert tasks[0] == ("shipyard.fargate.registry : Ensure the ECR repository", 0.61)
    assert tasks[2] == ("shipyard.fargate.image : Push the image and read its digest from the registry", 9.80)
    assert len(tasks) == 5
    assert run.recap()["web"] == {"ok": 151, "changed": 5, "failed": 0, "skipped": 71}


def test_split_time_takes_build_push_and_wait_out_of_the_wall_time(bench):
    split = bench.split_time(bench.Run(["ansible-playbook"], 90.0, 0, PROFILE_OUTPUT))
    assert split["build"] == pytest.approx(20.5)
    assert split["push"] == pytest.approx(9.8)
    assert split["wait"] == pytest.approx(31.0)
    assert split["overhead"] == pytest.approx(90.0 - 20.5 - 9.8 - 31.0)
    assert split["tasks"] == 5


def test_the_deploy_section_is_appended_then_replaced_leaving_the_rest_alone(bench):
    theirs = "# Benchmarks\n\n| a | b |\n"
    once = bench.replace_section(theirs, "## Deploy\n\nfirst")
    assert once.startswith(theirs)
    assert once.count(bench.BEGIN) == 1
    twice = bench.replace_section(once + "\nafter\n", "## Deploy\n\nsecond")
    assert "first" not in twice
    assert "second" in twice
    assert twice.startswith(theirs)
    assert twice.endswith("after\n")


def test_the_five_service_inventory_names_each_service_once(bench, tmp_path):
    (tmp_path / "host_vars").mkdir()
    (tmp_path / "host_vars" / "web.yml").write_text("x: 1\n")
    bench.five_services_inventory(tmp_path, ["svc1", "svc2"])
    hosts = yaml.safe_load((tmp_path / "hosts.yml").read_text())["all"]["children"]["services"]["hosts"]
    assert list(hosts) == ["svc1", "svc2"]
    assert sorted(p.name for p in (tmp_path / "host_vars").iterdir()) == ["svc1.yml", "svc2.yml"]
    svc2 = yaml.safe_load((tmp_path / "host_vars" / "svc2.yml").read_text())
    assert svc2["load_balancer_service_priority"] == 20
    assert svc2["service_environment"] == {"SHIPYARD_SIMULATE": "start=1"}
    assert svc2["shipyard_url_check"] is False  # simulated tasks serve no HTTP


def test_the_release_and_the_url_check_are_work_not_overhead(bench):
    output = PROFILE_OUTPUT.replace(
        "Summary ---",
        "shipyard.fargate.service : Run the release command as a one-off task - 12.00s\n"
        "shipyard.fargate.service : Check http://127.0.0.1:29080/health -------- 4.00s\nSummary ---",
    )
    split = bench.split_time(bench.Run(["ansible-playbook"], 90.0, 0, output))
    assert split["release"] == pytest.approx(12.0)
    assert split["url_check"] == pytest.approx(4.0)
    assert split["overhead"] == pytest.approx(90.0 - 20.5 - 9.8 - 31.0 - 12.0 - 4.0)


def _results(unchanged_walls, new_wall, scale_walls):
    timings = [["shipyard.fargate.image : Build the image from the Dockerfile", 10.0]]
    return {
        "unchanged": [{"wall": w, "tasks": 100} for w in unchanged_walls],
        "new_tag": {"wall": new_wall, "timings": timings},
        "scale": {str(n): {key: {"wall": wall} for key, wall in walls.items()} for n, walls in scale_walls.items()},
    }


def test_before_and_after_are_computed_the_same_way_from_each_run(bench):
    before = _results([25.0, 26.0, 24.0], 40.0, {1: {"new_version": 30.0, "unchanged": 20.0},
                                                 5: {"new_version": 60.0, "unchanged": 60.0}})  # fmt: skip
    after = _results([5.0, 6.0, 4.0], 20.0, {1: {"new_version": 20.0, "unchanged": 5.0},
                                              5: {"new_version": 25.0, "unchanged": 7.0}})  # fmt: skip
    rows = {label: (old, new) for label, old, new in bench.before_after(before, after)}
    assert rows["unchanged commit, 1 service: wall (s, median)"] == (25.0, 5.0)
    assert rows["new tag: overhead beyond build, push, release, rollout, URL check (s)"] == (30.0, 10.0)
    assert rows["5 services / 1, new version (x)"] == (2.0, 1.25)
    assert rows["5 services / 1, unchanged re-deploy (x)"] == (3.0, 1.4)


def test_the_new_tag_reported_is_the_run_with_the_median_overhead(bench):
    runs = [{"wall": 50.0, "overhead": 7.5}, {"wall": 45.0, "overhead": 5.5}, {"wall": 48.0, "overhead": 6.0}]
    median = bench.median_run(runs)
    assert (median["wall"], median["overhead"]) == (48.0, 6.0)
    assert median["overheads"] == [7.5, 5.5, 6.0]  # every run's, in run order
    assert bench.median_run(runs[:2])["overhead"] == 5.5  # an even count: the lower middle run


def test_the_scale_runs_reported_are_the_median_walls(bench):
    runs = [{"wall": 7.0, "overhead": 7.0}, {"wall": 6.2, "overhead": 6.2}, {"wall": 6.6, "overhead": 6.6}]
    median = bench.median_run(runs, by="wall")
    assert median["wall"] == 6.6
    assert median["walls"] == [7.0, 6.2, 6.6]
    assert bench._walls(median) == "7.0, 6.2, 6.6"
    assert bench._runs(median) == 3
    assert bench._runs({"wall": 4.0}) == 1  # an earlier run's JSON, one run per count
