# Copyright: Shipyard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The rules of the ``shipyard.fargate.cluster`` role's options (filter ``cluster_option_errors``).

``strategy_errors`` is also what the module ``shipyard.fargate.ecs_cluster`` checks its strategy with.
"""

from ansible_collections.shipyard.fargate.plugins.module_utils.validation import (
    ECS_NAME,
    Problems,
    as_list,
    matches,
    to_int,
    with_defaults,
)


def strategy_errors(
    strategy,
    capacity_providers,
    option="cluster_default_capacity_provider_strategy",
    providers_option="cluster_capacity_providers",
    allow_empty=False,
):
    """The problems of a default capacity provider strategy (base 0 and weight 1 filled in where missing).

    ``allow_empty``: an empty strategy is no problem (ECS accepts one; the role wants one, the module does not).
    """
    p = Problems()
    strategy = with_defaults(strategy)
    if allow_empty and not strategy:
        return []
    providers = [entry.get("capacity_provider") for entry in strategy]
    offered = as_list(capacity_providers)
    p.check(
        len(strategy) > 0,
        option,
        f"{option} is empty: give at least one capacity provider with a weight.",
    )
    p.check(len(set(providers)) == len(providers), option, f"{option} names a capacity provider more than once.")
    missing = [name for name in dict.fromkeys(providers) if name not in offered]
    p.check(
        not missing,
        option,
        "{} uses {}, which is not in {}.".format(option, ", ".join(str(m) for m in missing), providers_option),
    )
    bases = [to_int(entry.get("base")) for entry in strategy]
    weights = [to_int(entry.get("weight")) for entry in strategy]
    p.check(all(0 <= b <= 100000 for b in bases), option, f"{option}: base must be 0 to 100000.")
    p.check(all(0 <= w <= 1000 for w in weights), option, f"{option}: weight must be 0 to 1000.")
    p.check(
        len([b for b in bases if b > 0]) <= 1,
        option,
        f"{option}: only one capacity provider can have a base above 0.",
    )
    p.check(
        any(w > 0 for w in weights),
        option,
        f"{option}: at least one capacity provider needs a weight above 0.",
    )
    return p.messages()


def cluster_errors(options):
    """The problems of the cluster role's options (a dict of cluster_* variables), one message each."""
    o = options
    p = Problems()
    name = o.get("cluster_name")
    p.check(
        matches(ECS_NAME, name),
        "cluster_name",
        f"cluster_name '{name}' is not a valid ECS cluster name: 1 to 255 letters, digits, '-' and '_'.",
    )
    providers = as_list(o.get("cluster_capacity_providers"))
    p.check(
        len(providers) > 0,
        "cluster_capacity_providers",
        "cluster_capacity_providers is empty: list FARGATE, FARGATE_SPOT or both.",
    )
    p.check(
        len(set(providers)) == len(providers),
        "cluster_capacity_providers",
        "cluster_capacity_providers lists a capacity provider more than once.",
    )
    for message in strategy_errors(o.get("cluster_default_capacity_provider_strategy"), providers):
        p.add("cluster_default_capacity_provider_strategy", message)
    p.check(
        o.get("cluster_execute_command_logging") != "override" or bool(o.get("cluster_execute_command_log_group_name")),
        "cluster_execute_command_log_group_name",
        "cluster_execute_command_log_group_name is required with cluster_execute_command_logging override.",
    )
    return p.messages()
