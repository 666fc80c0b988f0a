# Copyright: Shipyard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The type and the choices of each option a service sets, checked before the roles' argument specs do it: one short
line per wrong option (the host, the option, what is allowed), instead of Ansible's dump of the whole argument spec.

Pure: the lookup ``shipyard.fargate.option_type_errors`` reads the roles' ``meta/argument_specs.yml`` and the host's
values and hands them in. Values are never shown (a secret may be among them): only the type that was given.
"""

from collections.abc import Mapping

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator


def _kind(value):
    """The YAML kind of a value (Ansible's tagged str/int/... count as their plain type)."""
    for kind, types in (("bool", bool), ("int", int), ("float", float), ("str", str), ("dict", Mapping)):
        if isinstance(value, types):
            return kind
    return "list" if isinstance(value, (list, tuple)) else type(value).__name__


def _article(kind):
    return ("an " if kind[0] in "aeiou" else "a ") + kind


def _allowed(spec):
    kind = spec.get("type", "str")
    if kind == "list" and spec.get("elements"):
        kind = f"list of {spec['elements']}"
    if spec.get("choices"):
        return f"{_article(kind)}, one of: {', '.join(str(choice) for choice in spec['choices'])}"
    return _article(kind)


def option_type_errors(host, specs, values):
    """One message per option in ``values`` whose type or choice does not fit its spec in ``specs``.

    ``specs``: option name -> its argument spec (``type``, ``elements``, ``choices``; the rest is ignored).
    ``values``: option name -> the value the host has. None (an option left unset) is not checked here.
    """
    problems = []
    for name in sorted(values):
        value = values[name]
        if name not in specs or value is None:
            continue
        spec = {key: specs[name][key] for key in ("type", "elements", "choices") if key in specs[name]}
        result = ArgumentSpecValidator({name: spec}).validate({name: value})
        if result.error_messages:
            problems.append(f"{host}: {name} must be {_allowed(spec)} (got {_article(_kind(value))}).")
    return problems
