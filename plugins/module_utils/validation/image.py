# Copyright: Shipyard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The rules of the ``shipyard.fargate.image`` role's options (filter ``image_option_errors``).

What needs the disk (the build context is a directory, the Dockerfile exists, the source is a git checkout)
stays in the role: only the rules on the options themselves are here.
"""

import re

from ansible_collections.shipyard.fargate.plugins.module_utils.validation import (
    ENV_NAME,
    IMAGE_TAG,
    Problems,
    matches,
    names,
    text,
    to_bool,
)

PLATFORM = r"^[a-z0-9]+/[a-z0-9_]+(/[a-z0-9]+)?$"
# <registry host>[:port]/<repository>
REPOSITORY = r"^[A-Za-z0-9.-]+(:[0-9]+)?/[a-z0-9]+([._-][a-z0-9]+)*(/[a-z0-9]+([._-][a-z0-9]+)*)*$"


def context(source_dir):
    """The build context as the role uses it: no trailing '/'."""
    return re.sub(r"/+$", "", text(source_dir))


def image_errors(options):
    """The problems of the image role's options (a dict of image_* variables), one message each."""
    o = options
    p = Problems()
    repository = o.get("image_repository")
    push_uri = text(repository.get("push_uri", "")) if isinstance(repository, dict) else ""
    uri = text(repository.get("uri", "")) if isinstance(repository, dict) else ""
    p.check(
        isinstance(repository, dict) and matches(REPOSITORY, push_uri),
        "image_repository",
        f"image_repository.push_uri '{push_uri}' is not <registry host>/<repository>: pass the registry role's fact "
        '(image_repository: "{{ registry_repository }}") or a dict with uri and push_uri.',
    )
    p.check(
        matches(REPOSITORY, uri),
        "image_repository",
        f"image_repository.uri '{uri}' is not <registry host>/<repository> (the ECR repository URI the task "
        "definition references).",
    )
    build = to_bool(o.get("image_build", True))
    tag = text(o.get("image_tag"))
    p.check(
        context(o.get("image_source_dir")) or (not build and tag),
        "image_source_dir",
        "image_source_dir is required: it is the build context{}.".format(
            "" if build else ", and image_tag is empty, so the tag comes from its git commit"
        ),
    )
    dockerfile = text(o.get("image_dockerfile", "Dockerfile"))
    p.check(
        dockerfile and not dockerfile.startswith("/") and ".." not in dockerfile.split("/"),
        "image_dockerfile",
        f"image_dockerfile '{dockerfile}' must be a path relative to image_source_dir, inside it.",
    )
    p.check(
        not tag or matches(IMAGE_TAG, tag),
        "image_tag",
        f"image_tag '{tag}' is not a valid tag: up to 128 of letters, digits, '_', '.', '-', not starting with '.' or "
        "'-'.",
    )
    release = text(o.get("image_release_tag"))
    p.check(
        not release or matches(IMAGE_TAG, release),
        "image_release_tag",
        f"image_release_tag '{release}' is not a valid tag: up to 128 of letters, digits, '_', '.', '-', not starting "
        "with '.' or '-'.",
    )
    p.check(
        not release or release != tag,
        "image_release_tag",
        f"image_release_tag is the same as image_tag ({tag}): leave image_release_tag empty.",
    )
    platform = o.get("image_platform", "linux/amd64")
    p.check(
        matches(PLATFORM, platform),
        "image_platform",
        f"image_platform '{platform}' is not os/arch[/variant], for example linux/amd64.",
    )
    bad = [n for n in names(o.get("image_build_args")) if not matches(ENV_NAME, n)]
    p.check(
        not bad,
        "image_build_args",
        "image_build_args keys must be Dockerfile ARG names ([A-Za-z_][A-Za-z0-9_]*): " + ", ".join(bad),
    )
    version_arg = text(o.get("image_version_build_arg"))
    p.check(
        not version_arg or matches(ENV_NAME, version_arg),
        "image_version_build_arg",
        f"image_version_build_arg '{version_arg}' is not a Dockerfile ARG name.",
    )
    p.check(
        "" not in names(o.get("image_labels")),
        "image_labels",
        "image_labels has an empty label name.",
    )
    return p.messages()
