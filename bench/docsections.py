"""The sections of ``docs/benchmarks.md`` that each bench script owns, between its own HTML comment markers.

``bench/rollout.py`` writes the rollout section (at the top), ``bench/deploy.py`` the "Deploy" section (at the
end); a re-run of one replaces its own section and keeps everything else in the file as it is.
"""

from __future__ import annotations


def markers(owner: str, keeper: str) -> tuple[str, str]:
    """The begin and end markers of ``owner``'s section (``bench/rollout.py``), saying which script keeps it."""
    return f"<!-- {owner}: begin (generated; {keeper} keeps it) -->", f"<!-- {owner}: end -->"


def replace_section(document: str, section: str, begin: str, end: str, *, first: bool = False) -> str:
    """``document`` with the text between ``begin`` and ``end`` replaced by ``section``.

    Absent markers: the section is added at the end, or at the start with ``first``.
    """
    block = f"{begin}\n{section.strip()}\n{end}\n"
    if begin in document and end in document:
        head, rest = document.split(begin, 1)
        return head + block + rest.split(end, 1)[1].lstrip("\n")
    if first:
        return block + ("\n" + document.lstrip("\n") if document.strip() else "")
    return document.rstrip("\n") + ("\n\n" if document.strip() else "") + block
