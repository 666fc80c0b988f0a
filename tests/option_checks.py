"""How a role's option check hands its options to its ``<role>_option_errors`` filter (roles/<role>/tasks/validate.yml),
read back from the task, for the tests that compare it with what the rules read and what the argument spec documents."""

from __future__ import annotations

import re


def options_passed(task_vars: dict) -> set[str]:
    """The options a check passes: the names it reads with the vars lookup (``_<role>_option_names``) and the ones it
    adds in another form (``combine({'<option>': ...})``), or the keys of a literal dict."""
    options = next(value for key, value in task_vars.items() if key.endswith("_options"))
    if isinstance(options, dict):
        return set(options)
    names = next(value for key, value in task_vars.items() if key.endswith("_option_names"))
    return set(names) | set(re.findall(r"'([a-z0-9_]+)':", options))
