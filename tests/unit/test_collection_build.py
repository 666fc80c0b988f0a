"""`ansible-galaxy collection build` makes a clean artifact: the collection, none of the local state."""

from __future__ import annotations

import subprocess
import sys
import tarfile
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
FORBIDDEN_TOP = {
    ".venv", ".shipyard", "examples", "bench", ".git", ".ci", "collections", "local", "scripts", ".pytest_cache",
    "ci", ".github", "Dockerfile", ".dockerignore", "execution-environment.yml", "execution-environment", "context",
}  # fmt: skip


def test_build_ships_the_collection_and_nothing_local(tmp_path):
    galaxy = yaml.safe_load((REPO / "galaxy.yml").read_text())
    result = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-galaxy"), "collection", "build", "--output-path", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    artifact = tmp_path / f"{galaxy['namespace']}-{galaxy['name']}-{galaxy['version']}.tar.gz"
    with tarfile.open(artifact) as tar:
        names = tar.getnames()
    top = {name.split("/")[0] for name in names}

    assert {"MANIFEST.json", "FILES.json", "meta", "playbooks", "inventories", "README.md"} <= top
    assert "meta/runtime.yml" in names
    assert "playbooks/smoke.yml" in names
    assert not top & FORBIDDEN_TOP, sorted(top & FORBIDDEN_TOP)
    assert [n for n in names if n.startswith("tests/") and not n.startswith("tests/sanity")] == []
    assert not [n for n in names if "__pycache__" in n]
    assert not [n for n in names if n.endswith((".pyc", ".tar.gz"))]
