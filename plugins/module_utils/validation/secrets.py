# Copyright: Shipyard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The rules of the ``shipyard.fargate.secrets`` role's options (filter ``secrets_option_errors``).

Only key names and whether a value is set are looked at: no message can show a value. The role passes
``secrets_json`` as its key names and ``secrets_string`` as set or not, so that no value even reaches the filter.
"""

from ansible_collections.shipyard.fargate.plugins.module_utils.validation import (
    ENV_NAME,
    Problems,
    as_list,
    in_range,
    matches,
    names,
    to_bool,
    to_int,
)

NAME = r"^[A-Za-z0-9/_+=.@-]{1,512}$"


def key_name_errors(keys, option="secrets_json / secrets_keys"):
    """The keys (names only) that cannot be environment variable names, as one message; [] when all can."""
    bad = [key for key in names(keys) if not matches(ENV_NAME, key)]
    if not bad:
        return []
    return ["{} keys must be environment variable names ([A-Za-z_][A-Za-z0-9_]*): {}".format(option, ", ".join(bad))]


def secrets_errors(options):
    """The problems of the secrets role's options (a dict of secrets_* variables), one message each.

    ``secrets_json`` may be the dict or its key names; ``secrets_string`` only counts as set or None.
    """
    o = options
    p = Problems()
    without_value = to_bool(o.get("secrets_without_value"))
    json_value = o.get("secrets_json")
    sources = [n for n in ("secrets_json", "secrets_string") if o.get(n) is not None]
    name = o.get("secrets_name")
    p.check(
        matches(NAME, name),
        "secrets_name",
        f"secrets_name '{name}' is not a valid secret name: 1 to 512 of letters, digits and /_+=.@-",
    )
    p.check(
        o.get("secrets_state", "present") == "absent" or without_value or len(sources) == 1,
        "secrets_json",
        "With secrets_state present, set exactly one of secrets_json and secrets_string (got: {}), or "
        "secrets_without_value to fill the value out of band.".format(", ".join(sources) if sources else "none"),
    )
    p.check(
        not without_value or not sources,
        "secrets_without_value",
        "secrets_without_value creates the secret with no value: unset {}, or drop secrets_without_value.".format(
            " and ".join(sources)
        ),
    )
    keys = as_list(o.get("secrets_keys"))
    p.check(
        not keys or without_value,
        "secrets_keys",
        "secrets_keys names the keys of a secret without a value: set secrets_without_value, or use secrets_json.",
    )
    p.check(
        json_value is None or len(json_value) > 0,
        "secrets_json",
        "secrets_json is an empty dict: give at least one KEY.",
    )
    for message in key_name_errors(json_value if isinstance(json_value, (dict, list)) else keys):
        p.add("secrets_json", message)
    days = o.get("secrets_recovery_window_days", 30)
    p.check(
        to_int(days) == 0 or in_range(days, 7, 30),
        "secrets_recovery_window_days",
        "secrets_recovery_window_days must be 0 (delete at once) or 7 to 30 days.",
    )
    return p.messages()
