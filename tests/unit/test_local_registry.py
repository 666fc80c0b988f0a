"""The local registry's files (local/shipyard_local/registry.py): the htpasswd it checks every request against."""

from __future__ import annotations

import json

import bcrypt

from shipyard_local import registry
from shipyard_local.config import StackConfig


def test_the_htpasswd_holds_the_token_at_bcrypts_lowest_cost(tmp_path):
    # The registry verifies the bcrypt on every authenticated request: at the default cost (12) each costs ~0.25 s of
    # CPU, paid per manifest look-up and per blob of every push and pull.
    config = StackConfig.from_env({"SHIPYARD_STATE_DIR": str(tmp_path)})
    registry.write_files(config, "AWS", "the-token")
    user, _, hashed = (config.registry_dir / "htpasswd").read_text().strip().partition(":")
    assert user == "AWS"
    assert hashed.startswith("$2b$04$"), hashed
    assert bcrypt.checkpw(b"the-token", hashed.encode())
    assert not bcrypt.checkpw(b"another-token", hashed.encode())
    settings = json.loads((config.registry_dir / "config.yml").read_text())
    assert settings["auth"]["htpasswd"]["path"] == str(config.registry_dir / "htpasswd")
