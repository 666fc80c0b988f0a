"""Offline stand-in for the get-pip.py bootstrap script that ansible-test downloads.

ansible-test bootstraps pip into each virtual environment it creates (one per
sanity test) by running a get-pip.py fetched from a host that this project's
machines cannot reach. scripts/sanity copies this file into ansible-test's
cache, where ansible-test looks before downloading, and ansible-test runs it
with the venv's interpreter and get-pip's arguments, for example
``--disable-pip-version-check pip==24.2 --no-setuptools --no-wheel``.

It installs the pip bundled with the interpreter (ensurepip, no network), then
lets that pip install the requested packages from the configured index.
"""

from __future__ import annotations

import subprocess
import sys

# get-pip.py options that plain `pip install` does not know.
GET_PIP_ONLY = ("--no-setuptools", "--no-wheel")


def main() -> None:
    """Bootstrap pip into the running interpreter's environment."""
    args = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY]
    subprocess.run([sys.executable, "-m", "ensurepip", "--upgrade"], check=True, stdout=subprocess.DEVNULL)
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", *args], check=True)

    if "--no-setuptools" in sys.argv:
        # ensurepip of Python < 3.12 also installs setuptools, which get-pip.py would not have.
        subprocess.run([sys.executable, "-m", "pip", "uninstall", "--yes", "--quiet", "setuptools"], check=False)


if __name__ == "__main__":
    main()
