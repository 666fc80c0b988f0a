"""Unit tests import the collection's plugins as ``ansible_collections.shipyard.fargate.*``.

``collections/ansible_collections/shipyard/fargate`` is a symlink to the repository root; with
``collections/`` on sys.path that name resolves to this working tree (beside the collections of
the ``ansible`` package, which share the ``ansible_collections`` namespace).
"""

from __future__ import annotations

import sys
from pathlib import Path

COLLECTIONS = Path(__file__).resolve().parents[2] / "collections"
if str(COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS))
