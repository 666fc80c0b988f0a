"""Every role's Molecule scenarios (converge, idempotence, verify, destroy) against the local stack.

The scenarios inherit .config/molecule/config.yml; this test gives them the stack pytest brought up.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent  # the virtualenv running pytest

SCENARIOS = sorted(REPO.glob("roles/*/molecule/*/molecule.yml"))

pytestmark = pytest.mark.stack


@pytest.mark.parametrize(
    "scenario", SCENARIOS, ids=[f"{path.parents[2].name}-{path.parent.name}" for path in SCENARIOS]
)
def test_molecule_scenario(scenario, stack_env):
    role_dir = scenario.parents[2]
    result = subprocess.run(
        [str(BIN / "molecule"), "test", "--scenario-name", scenario.parent.name],
        cwd=role_dir,
        env={**stack_env, "PY_COLORS": "0", "MOLECULE_NO_LOG": "false"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-6000:]
