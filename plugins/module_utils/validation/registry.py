# Copyright: Shipyard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The rules of the ``shipyard.fargate.registry`` role's options (filter ``registry_option_errors``)."""

from ansible_collections.shipyard.fargate.plugins.module_utils.validation import Problems, matches, text, to_int

# An ECR repository name: lowercase path components of letters and digits joined by '.', '_', '-', split by '/'.
NAME = r"^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$"
NAME_MAX = 256


def registry_errors(options):
    """The problems of the registry role's options (a dict of registry_* variables), one message each."""
    o = options
    p = Problems()
    name = o.get("registry_name")
    p.check(
        matches(NAME, name) and len(text(name)) <= NAME_MAX,
        "registry_name",
        f"registry_name '{name}' is not a valid ECR repository name: lowercase letters, digits and '.', '_', '-' "
        "inside path components separated by '/', 2 to 256 characters.",
    )
    encryption = o.get("registry_encryption_type", "AES256")
    key = o.get("registry_kms_key")
    p.check(
        encryption != "KMS" or bool(text(key)),
        "registry_kms_key",
        "registry_kms_key is required when registry_encryption_type is KMS.",
    )
    p.check(
        encryption != "AES256" or not key,
        "registry_kms_key",
        "registry_kms_key is set, but registry_encryption_type is AES256: set registry_encryption_type to KMS.",
    )
    p.check(
        to_int(o.get("registry_lifecycle_untagged_expire_days", 0)) >= 0,
        "registry_lifecycle_untagged_expire_days",
        "registry_lifecycle_untagged_expire_days must be 0 (no rule) or a number of days.",
    )
    p.check(
        to_int(o.get("registry_lifecycle_keep_tagged_count", 0)) >= 0,
        "registry_lifecycle_keep_tagged_count",
        "registry_lifecycle_keep_tagged_count must be 0 (no rule) or a number of images.",
    )
    p.check(
        not (o.get("registry_repository_policy") and o.get("registry_purge_repository_policy")),
        "registry_repository_policy",
        "registry_repository_policy and registry_purge_repository_policy are mutually exclusive.",
    )
    return p.messages()
