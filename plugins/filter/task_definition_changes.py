# Copyright: Shipyard maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``shipyard.fargate.task_definition_changes`` filter (documentation: task_definition_changes.yml beside it).

A pure function on the controller: what differs between a task definition ECS describes and the one
``shipyard.fargate.ecs_task_definition`` would register for the given options, compared exactly as that module
compares them (``module_utils/task_definition.py``: ``build_request``, ``compare``, ``differences``). Empty: the
same definition, no new revision needed.
"""

from __future__ import annotations

from importlib import import_module

from ansible.errors import AnsibleFilterError


def task_definition_changes(current, options):
    """``{"before": ..., "after": ...}`` restricted to what differs; ``{}`` when ``current`` is what ``options``
    (ecs_task_definition's options: family, containers, cpu, memory, roles, runtime_platform...) describe.
    ``current`` None (no task definition): everything differs."""
    # Imported here, not with the file: ansible-core loads every filter file of the collection to find any one of its
    # filters, in each task's process; few of them compare task definitions.
    td = import_module("ansible_collections.shipyard.fargate.plugins.module_utils.task_definition")
    try:
        return td.changes(current, options)
    except (td.TaskDefinitionError, ValueError, TypeError) as e:
        raise AnsibleFilterError(f"task_definition_changes: {e}") from None


class FilterModule:
    """Shipyard's task definition filters."""

    def filters(self):
        return {"task_definition_changes": task_definition_changes}
