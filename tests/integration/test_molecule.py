"""Every role's Molecule scenario against the local stack: one `molecule test` per role.

The scenarios live in extensions/molecule/<role>/ and inherit extensions/molecule/config.yml (the sequence:
converge, side_effect, verify, destroy; scenarios add `prepare` for their prerequisites, which makes them once,
`check` and `idempotence` where their side effect does not prove those); this test gives them the stack pytest
brought up, and each run an ephemeral directory of its own (Molecule's state, inventory and what `prepare`
wrote): Molecule's default one is shared by every run of the scenario from a checkout of the same name, so a
parallel run, or a killed one whose state still says "prepared", would otherwise skip `prepare` or read another
stack's ids.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent  # the virtualenv running pytest

SCENARIOS = sorted(REPO.glob("extensions/molecule/*/molecule.yml"))

pytestmark = pytest.mark.stack


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[path.parent.name for path in SCENARIOS])
def test_molecule_scenario(scenario, stack_env, tmp_path):
    result = subprocess.run(
        [str(BIN / "molecule"), "test", "--scenario-name", scenario.parent.name],
        cwd=REPO,
        env={**stack_env, "PY_COLORS": "0", "MOLECULE_NO_LOG": "false", "MOLECULE_EPHEMERAL_DIRECTORY": str(tmp_path)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-6000:]
