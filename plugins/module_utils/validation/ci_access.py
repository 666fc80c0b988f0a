# Copyright: Shipyard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The rules of the ``shipyard.fargate.ci_access`` role's options (filter ``ci_access_option_errors``), and of an
IAM OpenID Connect provider's settings (module ``iam_openid_connect_provider``).

The GitHub names follow GitHub's own rules: an owner (user or organization) is 1 to 39 letters, digits and single
hyphens, not at either end; a repository name is 1 to 100 letters, digits, ``.``, ``_`` and ``-``; a branch is a git
branch name (``git check-ref-format``), given without ``refs/heads/``. They end up in the trust policy's ``sub``
condition (``repo:OWNER/NAME:environment:ENV`` or ``repo:OWNER/NAME:ref:refs/heads/BRANCH``), compared with
StringEquals: none of them may hold a ``*`` or ``?`` (no wildcard), nor a ``:`` (which would shift the claim's fields).
"""

import re

from ansible_collections.shipyard.fargate.plugins.module_utils.validation import (
    ECS_NAME,
    Problems,
    as_list,
    matches,
    text,
    to_int,
)
from ansible_collections.shipyard.fargate.plugins.module_utils.validation.iam import LOG_GROUP_NAME, PATH, REGION
from ansible_collections.shipyard.fargate.plugins.module_utils.validation.registry import NAME as ECR_NAME
from ansible_collections.shipyard.fargate.plugins.module_utils.validation.secrets import NAME as SECRET_NAME

OWNER = r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$"
REPOSITORY_NAME = r"^[A-Za-z0-9._-]{1,100}$"
# An environment name as GitHub shows it: up to 255 characters; here no control character and none of : * ? , (the
# claim's separator, IAM's wildcards, and what GitHub refuses), and no blank at either end.
ENVIRONMENT = r"^(?! )[^\x00-\x1f\x7f:*?,\"\\]{1,255}(?<! )$"
BRANCH_MAX = 255
# shipyard_stack_name, as playbooks/tasks/check_stack.yml checks it: every CI role name starts with it.
STACK_NAME = r"^[a-z][a-z0-9-]{0,19}$"
ROLE_NAME = r"^[\w+=,.@-]{1,64}$"
POLICY_ARN = r"^arn:aws(?:-[a-z]+)*:iam::(?:\d{12}|aws):policy/[\w+=,.@/-]+$"
THUMBPRINT = r"^[0-9A-Fa-f]{40}$"
SESSION_MIN, SESSION_MAX = 3600, 43200
THUMBPRINTS_MAX = 5
CLIENT_IDS_MAX = 100
CLIENT_ID_MAX = 255
URL_MAX = 255
# https://host[/path]: no port, query, fragment or user (IAM takes none of them).
PROVIDER_URL = r"^https://[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?:/[A-Za-z0-9._~!$&'()+,;=:@%/-]*)?$"
SERVICE_KEYS = ("name", "repository", "log_group", "execution_role", "task_role", "secret", "role_path")


def repository_problem(option, value):
    """A message when ``value`` is not a GitHub ``owner/name``; None when it is."""
    value = text(value)
    owner, _slash, name = value.partition("/")
    good = (
        value.count("/") == 1
        and matches(OWNER, owner)
        and matches(REPOSITORY_NAME, name)
        and name not in (".", "..")
        and not name.lower().endswith(".git")
    )
    if good:
        return None
    return (
        f"{option} '{value}' is not a GitHub repository 'owner/name': the owner is 1 to 39 letters, digits and single "
        "hyphens (not first or last), the name 1 to 100 letters, digits, '.', '_' and '-' (not '.', '..' nor ending "
        "in .git); no wildcard."
    )


def branch_problem(option, value):
    """A message when ``value`` is not a git branch name (``git check-ref-format --branch``); None when it is."""
    value = text(value)
    if not value:
        return f"{option} is empty: give a branch name (for example main), or leave it unset (null)."
    if value.startswith("refs/"):
        return f"{option} '{value}': give the branch name alone (main), not the ref (refs/heads/main)."
    components = value.split("/")
    bad = (
        len(value) > BRANCH_MAX
        or re.search(r"[\x00-\x20\x7f~^:?*\[\\]", value) is not None
        or ".." in value
        or "@{" in value
        or value == "@"
        or value.endswith(".")
        or any(not c or c.startswith(".") or c.endswith(".lock") for c in components)
        or value.startswith("-")
    )
    if not bad:
        return None
    return (
        f"{option} '{value}' is not a git branch name: no spaces, control characters, ~ ^ : ? * [ \\, '..' or '@{{', "
        "no empty part between slashes, no part starting with '.' or ending in '.lock', not ending in '.', not "
        f"starting with '-', up to {BRANCH_MAX} characters."
    )


def environment_problem(option, value):
    """A message when ``value`` is not a GitHub environment name this role can put in a trust policy."""
    value = text(value)
    if not value:
        return f"{option} is empty: give the GitHub environment's name (for example production), or leave it unset."
    if matches(ENVIRONMENT, value):
        return None
    return (
        f"{option} '{value}' is not a GitHub environment name: 1 to 255 characters, no control characters, none of "
        ': * ? , " \\, and no blank at either end.'
    )


def provider_errors(url, client_ids, thumbprints, names=None):
    """The problems of an OpenID Connect provider's settings, each naming its option.

    ``names`` maps ``url``, ``client_ids`` and ``thumbprints`` to the option names the caller's users write (the
    module's own by default). ``thumbprints`` None means "not managed".
    """
    names = {"url": "url", "client_ids": "client_ids", "thumbprints": "thumbprints", **(names or {})}
    p = Problems()
    url = text(url)
    p.check(
        matches(PROVIDER_URL, url) and len(url) <= URL_MAX,
        names["url"],
        f"{names['url']} '{url}' is not an OpenID Connect issuer URL: https://HOST or https://HOST/PATH (no port, "
        f"query, fragment or credentials), up to {URL_MAX} characters, for example "
        "https://token.actions.githubusercontent.com.",
    )
    ids = [text(c) for c in as_list(client_ids)]
    p.check(bool(ids), names["client_ids"], f"{names['client_ids']} is empty: give at least one audience.")
    p.check(
        len(ids) <= CLIENT_IDS_MAX,
        names["client_ids"],
        f"{names['client_ids']} has {len(ids)} entries; IAM allows {CLIENT_IDS_MAX} per provider.",
    )
    bad_ids = [c for c in ids if not 1 <= len(c) <= CLIENT_ID_MAX]
    p.check(
        not bad_ids,
        names["client_ids"],
        f"{names['client_ids']}: each audience is 1 to {CLIENT_ID_MAX} characters.",
    )
    if thumbprints is not None:
        prints = [text(t) for t in as_list(thumbprints)]
        bad = [t for t in prints if not matches(THUMBPRINT, t)]
        p.check(
            not bad,
            names["thumbprints"],
            f"{names['thumbprints']} must hold SHA-1 certificate thumbprints of 40 hexadecimal digits: "
            + ", ".join(bad),
        )
        p.check(
            len(prints) <= THUMBPRINTS_MAX,
            names["thumbprints"],
            f"{names['thumbprints']} has {len(prints)} entries; IAM allows {THUMBPRINTS_MAX}.",
        )
    return p


def _service_problems(p, services):
    items = services if isinstance(services, list) else None
    if items is None:
        p.add("ci_access_services", "ci_access_services must be a list of services (dicts), one per ECS service.")
        return
    for index, service in enumerate(items):
        label = f"ci_access_services[{index}]"
        if not isinstance(service, dict):
            p.add("ci_access_services", f"{label} must be a dict with {', '.join(SERVICE_KEYS)}.")
            continue
        label = f"ci_access_services[{index}] ({text(service.get('name'))})"
        unknown = sorted(set(service) - set(SERVICE_KEYS))
        p.check(not unknown, "ci_access_services", f"{label}: unknown keys {', '.join(unknown)}.")
        checks = (
            ("name", ECS_NAME.pattern, True, "an ECS service name (1 to 255 letters, digits, '-' and '_')"),
            ("repository", ECR_NAME, True, "an ECR repository name (lowercase path components)"),
            ("log_group", LOG_GROUP_NAME, True, "a CloudWatch Logs group name (1 to 512 of letters, digits, _-/.#)"),
            ("execution_role", ROLE_NAME, True, "an IAM role name (1 to 64 letters, digits and +=,.@_-)"),
            ("task_role", ROLE_NAME, True, "an IAM role name (1 to 64 letters, digits and +=,.@_-)"),
            ("secret", SECRET_NAME, False, "a Secrets Manager secret name (letters, digits and /_+=.@-)"),
            ("role_path", PATH, False, "an IAM path ('/' or '/name/.../')"),
        )
        for key, pattern, required, what in checks:
            value = service.get(key)
            if value is None and not required:
                continue
            p.check(matches(pattern, value), "ci_access_services", f"{label}: {key} '{text(value)}' is not {what}.")
    names = [text(s.get("name")) for s in items if isinstance(s, dict)]
    twice = sorted({n for n in names if names.count(n) > 1})
    p.check(not twice, "ci_access_services", f"ci_access_services names a service twice: {', '.join(twice)}.")


def ci_access_errors(options):
    """The problems of the ci_access role's options (a dict of ci_access_* variables), one message each."""
    o = options
    p = Problems()
    present = o.get("ci_access_state", "present") != "absent"
    stack = o.get("ci_access_stack_name")
    p.check(
        matches(STACK_NAME, stack) and "--" not in text(stack),
        "ci_access_stack_name",
        f"ci_access_stack_name '{stack}' must be 1 to 20 lowercase letters, digits and single hyphens, starting with a "
        "letter (shipyard_stack_name: the CI roles are <stack>-github-deploy and <stack>-github-provision).",
    )
    path = o.get("ci_access_role_path", "/")
    p.check(
        matches(PATH, path),
        "ci_access_role_path",
        f"ci_access_role_path '{path}' is not an IAM path: '/' or '/name/.../' (printable ASCII, up to 512).",
    )
    boundary = o.get("ci_access_permissions_boundary")
    p.check(
        boundary in (None, "") or matches(POLICY_ARN, boundary),
        "ci_access_permissions_boundary",
        "ci_access_permissions_boundary must be the ARN of a managed policy (arn:aws:iam::ACCOUNT|aws:policy/NAME).",
    )
    provider = provider_errors(
        o.get("ci_access_oidc_provider_url"),
        [o.get("ci_access_oidc_audience")],
        o.get("ci_access_oidc_thumbprints") or None,
        {
            "url": "ci_access_oidc_provider_url",
            "client_ids": "ci_access_oidc_audience",
            "thumbprints": "ci_access_oidc_thumbprints",
        },
    )
    p.items.extend(provider.items)
    if not present:
        return p.messages()

    problem = repository_problem("ci_access_github_repository", o.get("ci_access_github_repository"))
    p.check(problem is None, "ci_access_github_repository", problem)
    environment = o.get("ci_access_github_environment")
    branch = o.get("ci_access_github_branch")
    p.check(
        environment is not None or branch is not None,
        "ci_access_github_environment",
        "ci_access_github_environment or ci_access_github_branch must be set: the deploy role admits the jobs of that "
        "GitHub environment or of that branch only, never the whole repository.",
    )
    if environment is not None:
        problem = environment_problem("ci_access_github_environment", environment)
        p.check(problem is None, "ci_access_github_environment", problem)
    if branch is not None:
        problem = branch_problem("ci_access_github_branch", branch)
        p.check(problem is None, "ci_access_github_branch", problem)

    region = o.get("ci_access_aws_region")
    p.check(
        matches(REGION, region),
        "ci_access_aws_region",
        f"ci_access_aws_region '{region}' is not an AWS region; the policies name the stack's resources in it (set "
        "it, or shipyard_aws_region).",
    )
    cluster = o.get("ci_access_cluster_name")
    p.check(
        matches(ECS_NAME.pattern, cluster),
        "ci_access_cluster_name",
        f"ci_access_cluster_name '{cluster}' is not an ECS cluster name (1 to 255 letters, digits, '-' and '_').",
    )
    services = o.get("ci_access_services")
    _service_problems(p, services)
    p.check(
        not isinstance(services, list) or len(services) > 0,
        "ci_access_services",
        "ci_access_services is empty: the deploy role would have no service to deploy.",
    )
    duration = o.get("ci_access_max_session_duration", SESSION_MIN)
    p.check(
        SESSION_MIN <= to_int(duration, -1) <= SESSION_MAX,
        "ci_access_max_session_duration",
        f"ci_access_max_session_duration must be {SESSION_MIN} to {SESSION_MAX} seconds, got {duration}.",
    )
    return p.messages()
