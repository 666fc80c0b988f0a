# Copyright: Shipyard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Extra vars (``-e``) that would do nothing: a name with one of the collection's prefixes that nothing reads (a
typo), or, given to ``deploy.yml``, an option that only ``provision.yml`` applies to a service that exists.

Pure functions: the lookup ``shipyard.fargate.extra_var_problems`` reads the extra vars and the collection's files
and hands the names in; the decision is here, unit-tested in ``tests/unit/test_extra_vars.py``.
"""

import difflib
import re

# The prefixes of the collection's variables: one per role, and the playbooks' own shipyard_*.
PREFIXES = (
    "shipyard_",
    "service_",
    "network_",
    "cluster_",
    "load_balancer_",
    "dns_",
    "registry_",
    "image_",
    "secrets_",
    "iam_",
    "ci_access_",
)

# The service's own settings, which deploy.yml's short path leaves as the service runs them (the service role's
# `deploy` entry point: "desired count, network, load balancer, deployment configuration, auto scaling"); the main
# entry point (provision.yml) applies them. A name ending in "_" covers every option it begins.
SERVICE_LEVEL = (
    "service_desired_count",
    "service_autoscaling_",
    "service_deployment_",
    "service_health_check_grace_period_seconds",
    "service_platform_version",
    "service_enable_execute_command",
)


def service_level(name):
    """Whether an option is one of the service's own settings that only provision.yml applies (SERVICE_LEVEL)."""
    return any(name.startswith(entry) if entry.endswith("_") else name == entry for entry in SERVICE_LEVEL)


_NAME = re.compile(r"\b(?:" + "|".join(PREFIXES) + r")[a-z0-9_]*[a-z0-9]\b")


def names_in(text):
    """The prefixed variable names mentioned in a text (Jinja expressions, YAML keys)."""
    return set(_NAME.findall(text))


def strings_of(data, skip_keys=("name",)):
    """Every string in parsed YAML (keys and values, recursively), except the values of ``skip_keys`` (task titles).

    Comments are gone once parsed, so a name only mentioned in a comment does not count as read.
    """
    if isinstance(data, dict):
        for key, value in data.items():
            yield str(key)
            if key not in skip_keys:
                yield from strings_of(value, skip_keys)
    elif isinstance(data, (list, tuple)):
        for item in data:
            yield from strings_of(item, skip_keys)
    elif isinstance(data, str):
        yield data


def reached_names(files, start, variables):
    """The names a task file reads, following ``import_tasks``/``include_tasks`` and the role's vars.

    ``files``: task file name -> parsed YAML; ``start``: the entry point's file; ``variables``: the role's vars
    (name -> value), whose names the tasks read and which read names in turn. ``validate*.yml`` files are not
    followed: checking an option is not applying it.
    """
    seen_files, todo, text = set(), [start], []
    while todo:
        current = todo.pop()
        if current in seen_files or current not in files or current.startswith("validate"):
            continue
        seen_files.add(current)
        for string in strings_of(files[current]):
            text.append(string)
            todo.extend(re.findall(r"([A-Za-z0-9_]+\.ya?ml)", string))
    names = set()
    pending = set(re.findall(r"\b_?[a-z][a-z0-9_]*\b", " ".join(text)))
    while pending:
        name = pending.pop()
        if name in names:
            continue
        names.add(name)
        if name in variables:
            pending |= set(re.findall(r"\b_?[a-z][a-z0-9_]*\b", " ".join(strings_of(variables[name])))) - names
    return {name for name in names if name.startswith(PREFIXES)}


def extra_var_problems(given, known, deploy=False, deploy_applies=(), options=(), host="web"):
    """One message per extra var that would do nothing; empty when every one takes effect.

    ``given``: the extra vars' names. ``known``: every name a role or playbook reads (role options included).
    ``deploy``: the playbook is deploy.yml, whose short path (a service that exists) applies only
    ``deploy_applies`` of the roles' ``options``, and never the service's own settings (SERVICE_LEVEL); any other
    role option stops there with the command that applies it. Names without one of the collection's prefixes are
    not looked at (they may be the user's own).
    """
    problems = []
    known = set(known)
    for name in sorted(given):
        if not name.startswith(PREFIXES):
            continue
        if name not in known:
            close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.75)
            hint = f" Did you mean {close[0]}?" if close else ""
            problems.append(f"-e {name}: no role or playbook of shipyard.fargate reads this variable.{hint}")
        elif deploy and name in options and (name not in deploy_applies or service_level(name)):
            problems.append(
                f"-e {name}: deploy.yml does not apply it to a service that exists (it rolls out the image and the"
                f" task definition only). Apply it with: ansible-playbook playbooks/provision.yml --limit {host}"
                f" -e {name}=..."
            )
    return problems
