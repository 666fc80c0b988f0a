"""The runner image (top-level Dockerfile) installs the collection's run-time packages at the lock's versions.

The image itself is built and used by tests/integration/test_stack_flow.py (the deploy step run inside it).
"""

from __future__ import annotations

from pathlib import Path

from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[2]


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            requirement = Requirement(line)
            (spec,) = requirement.specifier
            assert spec.operator == "==", f"{path.name}: {line} is not pinned with =="
            pins[requirement.name.lower()] = spec.version
    return pins


def test_the_collections_run_time_packages_are_pinned_to_the_locks_versions():
    runtime = _pins(REPO / "meta" / "ee-requirements.txt")
    lock = _pins(REPO / "requirements.txt")
    assert {"boto3", "botocore", "requests"} <= set(runtime)
    assert {name: lock.get(name) for name in runtime} == runtime
