"""Unit tests import the collection's plugins as ``ansible_collections.shipyard.fargate.*``.

``collections/ansible_collections/shipyard/fargate`` is a symlink to the repository root; with
``collections/`` on sys.path that name resolves to this working tree (beside the collections of
the ``ansible`` package, which share the ``ansible_collections`` namespace).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

COLLECTIONS = Path(__file__).resolve().parents[2] / "collections"
if str(COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS))


class FakeClock:
    """A clock that only moves when slept on: ``clock()`` reads it, ``clock.sleep(s)`` moves it and records ``s``."""

    def __init__(self, now: float = 0.0):
        self.now = now
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    """A :class:`FakeClock` at 0 s, for waits and pollers that take their clock and sleep as arguments."""
    return FakeClock()


@pytest.fixture(autouse=True, scope="session")
def _no_caller_aws_or_stack_environment():
    """Unit tests do not see the caller's AWS_* and SHIPYARD_* variables: a shell with a local stack's `.shipyard/env`
    sourced has AWS_ENDPOINT_URL, which would send in-process moto's clients to that stack's emulator instead.
    Session-wide, so that module-scoped fixtures (moto's clients) are made without them too."""
    with pytest.MonkeyPatch.context() as patch:
        for name in [n for n in os.environ if n.startswith(("AWS_", "SHIPYARD_"))]:
            patch.delenv(name)
        yield
