# Copyright: Shipyard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The rules that say which options, or combinations of options, the roles and modules refuse.

Each rule lives once, here: one file per role (``cluster``, ``network``, ``service``...), each with a pure
function ``<role>_errors(options) -> list[str]`` that takes the role's options as a dict (the names the role's
users write) and returns one message per problem, each naming its option. The roles call them through the
``shipyard.fargate.<role>_option_errors`` filters (their ``validate`` entry points), before any AWS call; the
modules that check the same rule call the same function.

No AWS call, no template state. A message names options and shows option values, but never a secret value
nor an environment variable's value: for those, only names.

This file is the shared core: ``Problems`` collects the messages, and the checks several roles share (names by
pattern, ports, ARNs, identifiers) are small functions here.
"""

import re

# Names several roles share.
ECS_NAME = re.compile(r"^[A-Za-z0-9_-]{1,255}$")  # cluster, service, task definition family, container
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")  # environment variable, Dockerfile ARG
VPC_ID = re.compile(r"^vpc-[0-9a-f]+$")
SUBNET_ID = re.compile(r"^subnet-[0-9a-f]+$")
SECURITY_GROUP_ID = re.compile(r"^sg-[0-9a-f]+$")
# An image tag: up to 128 of letters, digits, '_', '.', '-', not starting with '.' or '-'.
IMAGE_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
# An image reference pinned by a tag, a digest or both: [host[:port]/]path[:tag][@sha256:digest], no spaces.
IMAGE_REFERENCE = re.compile(
    r"^(?:[^\s/@]+/)*[a-z0-9]+(?:[._-][a-z0-9]+)*"
    r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?@sha256:[a-f0-9]{64})$"
)
# ARNs, by service and resource type.
IAM_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/")
TARGET_GROUP_ARN = re.compile(r"^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:[0-9]{12}:targetgroup/")
CERTIFICATE_ARN = re.compile(
    r"^arn:aws[a-z-]*:(acm:[a-z0-9-]+:[0-9]{12}:certificate|iam::[0-9]{12}:server-certificate)/[^ ]+$"
)
# A secret's valueFrom: a Secrets Manager secret ARN (optionally :json-key:version-stage:version-id) or an SSM
# parameter ARN.
VALUE_FROM_ARN = re.compile(
    r"^arn:aws[a-z-]*:(secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:|ssm:[a-z0-9-]+:[0-9]{12}:parameter/)\S+$"
)

# Capacity providers a Fargate cluster or service can use.
FARGATE_CAPACITY_PROVIDERS = ("FARGATE", "FARGATE_SPOT")


class Problems:
    """The problems found in a set of options, in the order found: ``(option, message)``."""

    def __init__(self):
        self.items = []

    def add(self, option, message):
        self.items.append((option, message))

    def check(self, valid, option, message):
        """Record ``message`` for ``option`` unless ``valid``; returns ``valid``."""
        if not valid:
            self.add(option, message)
        return bool(valid)

    def messages(self):
        return [message for _option, message in self.items]

    def options(self):
        return [option for option, _message in self.items]


def text(value):
    """A value as the ``match`` test sees it: None and missing are ''."""
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def matches(pattern, value):
    """``value is match(pattern)``: anchored at the start (the patterns end with ``$``)."""
    return value is not None and re.match(pattern, text(value)) is not None


def to_int(value, default=0):
    """``value | int`` as Jinja has it: an int, a float cut down, a numeric string; else ``default``."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    try:
        return int(value)
    except (TypeError, ValueError):
        try:
            return int(float(value))
        except (TypeError, ValueError, OverflowError):
            return default


def to_float(value, default=0.0):
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def to_bool(value):
    """``value | bool`` as Ansible has it."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value.strip().lower() in ("yes", "on", "1", "true", "y", "t")
    return bool(value) if value is not None else False


def in_range(value, low, high):
    """Whether ``value | int`` lies in ``low..high`` (both included)."""
    return low <= to_int(value) <= high


def is_port(value):
    return in_range(value, 1, 65535)


def as_list(value):
    """A list option: None is empty, a single string is one entry."""
    if value is None:
        return []
    if isinstance(value, (str, bytes)):
        return [value]
    if isinstance(value, dict):
        return list(value)
    return list(value)


def names(value):
    """The names of a mapping option (or of a list of names); never the values."""
    if isinstance(value, dict):
        return [text(k) for k in value]
    return [text(v) for v in as_list(value)]


def not_matching(pattern, values):
    """The entries of ``values`` that do not match ``pattern``, as text."""
    return [text(v) for v in as_list(values) if not matches(pattern, v)]


def with_defaults(strategy):
    """A capacity provider strategy with the documented defaults (base 0, weight 1) filled in."""
    out = []
    for entry in as_list(strategy):
        item = {"base": 0, "weight": 1}
        if isinstance(entry, dict):
            item.update({k: v for k, v in entry.items() if v is not None})
        out.append(item)
    return out
