"""The Korean guide (docs/ko/) cannot drift silently from the code.

Every variable name it cites (``shipyard_*``, ``service_*``, ``load_balancer_*``, ... and ``SHIPYARD_*``), every
``playbooks/*.yml`` path, every ``shipyard.fargate.<plugin>``, every ``make`` target and every rollout reason code must
exist in the repository, and every relative link (with its ``#anchor``) must resolve. Pure file reads, no network.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from ansible_collections.shipyard.fargate.plugins.module_utils.rollout import model

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "ko"
PAGES = ("README.md", "architecture.md", "deploy.md", "ci-awx.md", "operations.md", "troubleshooting.md")

ROLE_PREFIXES = (
    "shipyard",
    "service",
    "load_balancer",
    "network",
    "cluster",
    "dns",
    "registry",
    "image",
    "secrets",
    "iam",
    "ci_access",
)
# A variable name: a role prefix (or shipyard) then `_...`, or an environment variable SHIPYARD_...; not part of a path
# (`group_vars/...`, `.../shipyard_local/...`) or of a longer word.
VARIABLE = re.compile(
    r"(?<![\w/.-])((?:" + "|".join(ROLE_PREFIXES) + r")_[a-z0-9_]*[a-z0-9]|SHIPYARD_[A-Z0-9_]*[A-Z0-9])(?![\w/-])"
)
PLAYBOOK = re.compile(r"(?<![\w/.-])(playbooks/[\w/.-]+?\.yml)\b")
PLUGIN = re.compile(r"\bshipyard\.fargate\.([a-z_][a-z0-9_]*)\b")
MAKE = re.compile(r"`make ([a-z][a-z-]*)`|^make ([a-z][a-z-]*)\b", re.MULTILINE)
LINK = re.compile(r"\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)

# Where the names a user may set, pass or read live: option files, wiring, inventories, playbooks, the CI and AWX
# configuration, and the local stack (its SHIPYARD_* environment variables).
NAME_SOURCES = (
    "playbooks/**/*.yml",
    "inventories/**/*.yml",
    "inventories/**/*.example",
    "roles/*/defaults/main.yml",
    "roles/*/meta/argument_specs.yml",
    "awx/*.yml",
    ".github/workflows/*.yml",
    "ci/github/*",
    "examples/nestjs-api/.github/workflows/*.yml",
    "examples/nestjs-api/deploy/**/*.yml",
    "local/shipyard_local/**/*.py",
)


def _pages() -> dict[str, str]:
    return {path.name: path.read_text(encoding="utf-8") for path in sorted(DOCS.glob("*.md"))}


def _known_names() -> set[str]:
    names: set[str] = set()
    for spec_file in ROOT.glob("roles/*/meta/argument_specs.yml"):
        for entry_point in (yaml.safe_load(spec_file.read_text()) or {})["argument_specs"].values():
            names.update((entry_point or {}).get("options") or {})
    token = re.compile(r"\b[A-Za-z_][A-Za-z0-9_]*\b")
    for pattern in NAME_SOURCES:
        for path in ROOT.glob(pattern):
            if path.is_file():
                names.update(token.findall(path.read_text(encoding="utf-8", errors="replace")))
    return names


def unknown_variables(text: str, known: set[str]) -> list[str]:
    """The variable names cited in ``text`` that the repository does not have."""
    return sorted({name for name in VARIABLE.findall(text) if name not in known})


def missing_playbooks(text: str) -> list[str]:
    return sorted({path for path in PLAYBOOK.findall(text) if not (ROOT / path).is_file()})


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, code marks and punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _anchors(text: str) -> set[str]:
    return {_slug(h) for h in HEADING.findall(FENCE.sub("", text))}


def broken_links(page: Path, text: str) -> list[str]:
    """The relative links of ``page`` whose file (or heading anchor) does not exist."""
    broken = []
    for target in LINK.findall(FENCE.sub("", text)):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
            continue
        path_part, _, anchor = target.partition("#")
        resolved = (page.parent / path_part).resolve() if path_part else page
        if not resolved.exists():
            broken.append(target)
            continue
        if anchor and resolved.suffix == ".md" and anchor not in _anchors(resolved.read_text(encoding="utf-8")):
            broken.append(target)
    return broken


@pytest.fixture(scope="module")
def known() -> set[str]:
    # Reason codes (`service_missing`, ...) look like variables: they are checked against model.REASON_CODES below.
    return _known_names() | set(model.REASON_CODES)


@pytest.fixture(scope="module")
def pages() -> dict[str, str]:
    return _pages()


def test_the_guide_has_its_pages_linked_from_the_index(pages):
    assert set(PAGES) <= set(pages), f"missing pages in docs/ko/: {sorted(set(PAGES) - set(pages))}"
    index_links = {link.partition("#")[0] for link in LINK.findall(pages["README.md"])}
    assert set(PAGES) - {"README.md"} <= index_links


def test_every_cited_variable_exists_in_the_repository(pages, known):
    cited = {name for text in pages.values() for name in VARIABLE.findall(text)}
    # The guide does cite the variables the team sets (the check below is not vacuous).
    assert {"service_release_command", "service_rollout_stable_for", "shipyard_notify_webhook_url"} <= cited
    unknown = {name: unknown_variables(text, known) for name, text in pages.items()}
    assert not {name: names for name, names in unknown.items() if names}


def test_an_unknown_variable_is_caught(known):
    text = "`service_release_command`, `service_no_such_option`, `SHIPYARD_NO_SUCH_PORT`, `group_vars/all`"
    assert unknown_variables(text, known) == ["SHIPYARD_NO_SUCH_PORT", "service_no_such_option"]


def test_every_cited_playbook_exists(pages):
    cited = {path for text in pages.values() for path in PLAYBOOK.findall(text)}
    assert {"playbooks/deploy.yml", "playbooks/rollback.yml", "playbooks/cost.yml"} <= cited
    assert missing_playbooks("ansible-playbook playbooks/no_such_play.yml") == ["playbooks/no_such_play.yml"]
    missing = {name: missing_playbooks(text) for name, text in pages.items()}
    assert not {name: paths for name, paths in missing.items() if paths}


def test_every_cited_plugin_exists(pages):
    plugins = {p.stem for p in ROOT.glob("plugins/*/*.py")}
    playbooks = {p.stem for p in ROOT.glob("playbooks/*.yml")}
    roles = {p.name for p in ROOT.glob("roles/*") if p.is_dir()}
    cited = {name for text in pages.values() for name in PLUGIN.findall(text)}
    assert {"ecs_rollout", "ecs_task_run", "url_check"} <= cited
    assert not sorted(cited - plugins - playbooks - roles)


def test_every_cited_make_target_exists(pages):
    targets = set(re.findall(r"^([a-z][a-z-]*):", (ROOT / "Makefile").read_text(), re.MULTILINE))
    cited = {a or b for text in pages.values() for a, b in MAKE.findall(text)}
    assert {"demo", "test", "down"} <= cited
    assert not sorted(cited - targets)


def test_every_relative_link_resolves(pages):
    assert broken_links(DOCS / "README.md", "[x](no-such-page.md) [y](deploy.md#no-such-heading)") == [
        "no-such-page.md",
        "deploy.md#no-such-heading",
    ]
    broken = {name: broken_links(DOCS / name, text) for name, text in pages.items()}
    assert not {name: links for name, links in broken.items() if links}


def test_every_rollout_reason_code_is_explained_and_none_is_invented(pages):
    section = pages["deploy.md"].partition("\n## 판정과 실패 사유 읽는 법\n")[2].partition("\n## ")[0]
    table = [line for line in section.splitlines() if re.match(r"^\| `[a-z_]+` \|", line)]
    documented = {re.match(r"^\| `([a-z_]+)` \|", line).group(1) for line in table}
    assert documented == set(model.REASON_CODES)


def test_every_page_is_written_in_korean(pages):
    # Outside code blocks and `code`, most letters are Hangul: the guide is not the English README copied over.
    for name, text in pages.items():
        prose = re.sub(r"`[^`]*`", "", FENCE.sub("", text))
        hangul = len(re.findall(r"[\uac00-\ud7a3]", prose))
        latin = len(re.findall(r"[A-Za-z]", prose))
        assert hangul > 2 * latin / 3, f"{name}: {hangul} Hangul and {latin} Latin letters in its prose"
