"""Install the Debian packages the stack needs, where the machine allows it (root + apt)."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path


class MissingPackages(RuntimeError):
    """Programs are missing and cannot be installed here; the message says what to install."""


def missing(commands: Mapping[str, str]) -> dict[str, str]:
    """The subset of ``{command: debian_package}`` whose command is not on PATH (nor in /usr/sbin)."""
    return {
        cmd: pkg
        for cmd, pkg in commands.items()
        if shutil.which(cmd) is None and shutil.which(cmd, path="/usr/sbin:/sbin") is None
    }


@contextlib.contextmanager
def _settings_during_install(files: Mapping[Path, str]) -> Iterator[None]:
    """Write ``files`` (those that do not exist yet) for the time of an install, then remove what was written here:
    settings a package's maintainer scripts read, which the machine does not keep afterwards."""
    written: list[Path] = []
    made: list[Path] = []
    try:
        for path, text in files.items():
            if path.exists():
                continue  # the machine's own file: left as it is
            for parent in reversed(path.parents):
                if not parent.exists():
                    parent.mkdir()
                    made.append(parent)
            path.write_text(text)
            written.append(path)
        yield
    finally:
        for path in written:
            path.unlink(missing_ok=True)
        for parent in reversed(made):
            with contextlib.suppress(OSError):  # not empty: the install put files there
                parent.rmdir()


def ensure(commands: Mapping[str, str], why: str, *, install_settings: Mapping[Path, str] | None = None) -> None:
    """Make sure each command exists, installing its Debian package with apt-get when running as root.

    A command is a name looked up on PATH (and /usr/sbin) or an absolute path. ``install_settings``: files that
    exist only while apt-get runs (see ``_settings_during_install``).
    """
    absent = missing(commands)
    if not absent:
        return
    packages = sorted(set(absent.values()))
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise MissingPackages(
            f"{why} needs {', '.join(sorted(absent))}. Install the Debian package(s) "
            f"{' '.join(packages)} (e.g. `sudo apt-get install {' '.join(packages)}`) and run again."
        )
    print(f"installing Debian package(s) {' '.join(packages)} for {why} ...", flush=True)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", *packages]
    with _settings_during_install(install_settings or {}):
        if subprocess.run(install, env=env, capture_output=True, check=False).returncode != 0:  # noqa: S603
            # A fresh machine has no package lists yet.
            subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True, check=False)  # noqa: S607
            result = subprocess.run(install, env=env, capture_output=True, text=True, check=False)  # noqa: S603
            if result.returncode != 0:
                raise MissingPackages(
                    f"apt-get could not install {' '.join(packages)}:\n{result.stdout[-2000:]}{result.stderr[-2000:]}"
                )
    still = missing(absent)
    if still:
        raise MissingPackages(f"after installing {' '.join(packages)}, still missing: {', '.join(sorted(still))}")
