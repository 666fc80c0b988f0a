# Copyright: Shipyard maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``shipyard.fargate.docker_build_error`` filter (documentation: docker_build_error.yml beside it).

A pure function: community.docker.docker_image's build failure message
(``Error building NAME - code: N, message: M, logs: ['line', ...]``) turned into what a user reads: the failing
step's message, then the build output as lines, without terminal colour codes.
"""

from __future__ import annotations

import ast
import re

from ansible.errors import AnsibleFilterError

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_FAILURE = re.compile(
    r"^Error building (?P<name>\S+) - (?:code: (?P<code>[^,]*), )?"
    r"message: (?P<message>.*?), logs: (?P<logs>\[.*\])\s*$",
    re.S,
)


def _clean(text: str) -> str:
    return _ANSI.sub("", text).rstrip()


def docker_build_error(message, tail: int = 40) -> str:
    """A docker_image build failure as ``<message>`` + the last ``tail`` lines of the build output."""
    if not isinstance(message, str):
        raise AnsibleFilterError(f"docker_build_error: expected the module's msg string, got {type(message).__name__}")
    match = _FAILURE.match(message)
    if not match:
        return _clean(message)  # some other failure (daemon unreachable, bad option): show it as it is
    try:
        logs = ast.literal_eval(match["logs"])
    except (ValueError, SyntaxError):
        logs = [match["logs"]]
    lines = [_clean(str(line)) for line in logs if isinstance(line, str)]
    lines = [line for line in lines if line.strip()]
    if tail and len(lines) > tail:
        lines = [f"... ({len(lines) - tail} earlier lines)", *lines[-tail:]]
    code = f" (exit code {match['code']})" if match["code"] else ""
    summary = f"{_clean(match['message'])}{code}"
    return "\n".join([summary, "Build output:", *(f"  {line}" for line in lines)])


class FilterModule:
    """Shipyard's Docker filters."""

    def filters(self):
        return {"docker_build_error": docker_build_error}
