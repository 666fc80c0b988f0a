"""The execution environment (execution-environment.yml) for the integration tests: built, and run like a job.

``build_execution_environment(env, tag)`` builds the EE the way its header says, on the local stack's engine
(``env["DOCKER_HOST"]``) and from images made of Debian packages (no image hub is reachable here):

1. ``scripts/base-image python``: Debian's python3 and its venv module, and a build variant that trusts this
   machine's CA (for PyPI through the TLS-inspecting proxy);
2. the EE's base, ``EE_BASE_IMAGE``: that python image with /opt/shipyard/venv holding pip, ansible-core,
   ansible-runner, bindep, PyYAML and packaging at requirements.txt's versions, installed in a stage of the build
   variant and copied onto the plain image (no CA in it). ansible-builder's base stage then finds them installed and
   downloads nothing: every stage starts from the base stage, so a CA added there would end up in the EE;
3. ``ansible-builder create`` on a copy of the definition and the files it names, the collection artifact
   (``ansible-galaxy collection build``) beside it, into a context directory;
4. ``docker build --network host`` of that context with ``EE_BASE_IMAGE`` set to the base of step 2.

``ee_command(env, inventory, workdir, *playbook_args)`` is the ``docker run`` argv of ``ansible-playbook`` inside
the EE against the local stack: host network, the AWS_* and SHIPYARD_* variables of ``env`` passed by name (run the
argv with that ``env``), the inventory and ``workdir`` mounted read-only at their own paths, ``workdir`` the working
directory. Playbooks come from the collection inside the EE (``shipyard.fargate.deploy``); the repository is not
mounted. Like an AWX job, no Docker engine is there unless ``engine=True`` mounts the stack's socket (a "remote" build
host through DOCKER_HOST; ``workdir`` must then not hold the socket's folder, whose mode would hide it from uid 1000).
"""

from __future__ import annotations

import contextlib
import fcntl
import gzip
import hashlib
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DEFINITION = REPO / "execution-environment.yml"
PYTHON_IMAGE = "shipyard/python-debian:bookworm"
EE_BASE_IMAGE = "shipyard/ee-base:bookworm"
EE_IMAGE = "shipyard/ee:test"
VENV = "/opt/shipyard/venv"
# The EE base (step 2): the packages ansible-builder's base and builder stages install first, at the lock's versions.
EE_BASE_DOCKERFILE = f"""\
FROM {PYTHON_IMAGE}-build AS build
COPY requirements.txt /tmp/constraints.txt
RUN python3 -m venv {VENV} \\
    && {VENV}/bin/pip install --no-cache-dir --quiet --constraint /tmp/constraints.txt \\
        ansible-core ansible-runner bindep PyYAML packaging

FROM {PYTHON_IMAGE}
COPY --from=build {VENV} {VENV}
ENV PATH={VENV}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
"""


@contextlib.contextmanager
def _lock(env: dict):
    """One EE build per engine at a time: parallel test files that need the EE wait, then reuse the build cache."""
    engine = hashlib.sha256(env.get("DOCKER_HOST", "").encode()).hexdigest()[:12]
    with open(Path(tempfile.gettempdir()) / f"shipyard-ee-{engine}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _run(argv: list[str], env: dict, log: list[str], cwd: Path | None = None) -> bool:
    done = subprocess.run(
        argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False
    )
    log.append(f"$ {' '.join(argv)}\n{done.stdout}")
    if done.returncode != 0:
        log.append(f"(exit {done.returncode})\n")
    return done.returncode == 0


def _definition_copy(folder: Path) -> Path:
    """The definition and every repository file it names (relative paths), in ``folder``: what ansible-builder reads.

    The collection artifact (a relative ``additional_build_files`` source that does not exist in the repository until
    ``make build``) is built into ``folder`` instead, from the working tree."""
    definition = yaml.safe_load(DEFINITION.read_text())
    shutil.copy2(DEFINITION, folder / DEFINITION.name)
    for entry in definition.get("additional_build_files", []):
        source = Path(entry["src"])
        if source.is_absolute():
            continue  # a file of the build host (its CA bundle): read where it is
        for match in REPO.glob(str(source)):
            target = folder / match.relative_to(REPO)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(match, target)
    return folder / DEFINITION.name


def _reproducible(folder: Path) -> None:
    """Rewrite the artifact in ``folder`` with fixed times (its MANIFEST.json and FILES.json carry the build's, and
    gzip its own): an unchanged collection is then the same file, and a second EE build takes the engine's cache."""
    (artifact,) = folder.glob("*.tar.gz")
    with tarfile.open(artifact) as source:
        members = [(member, source.extractfile(member)) for member in source.getmembers()]
        payload = io.BytesIO()
        with tarfile.open(fileobj=payload, mode="w", format=tarfile.GNU_FORMAT) as target:
            for member, content in members:
                member.mtime = 0
                target.addfile(member, content)
    with artifact.open("wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as packed:
        packed.write(payload.getvalue())


def build_execution_environment(env: dict, tag: str = EE_IMAGE) -> str:
    """Build the EE as ``tag`` on ``env["DOCKER_HOST"]``: "" when it built, else the log of the step that failed."""
    log: list[str] = []
    with _lock(env), tempfile.TemporaryDirectory(prefix="shipyard-ee-") as scratch:
        work = Path(scratch)
        for folder in ("base", "definition"):
            (work / folder).mkdir()
        shutil.copy2(REPO / "requirements.txt", work / "base" / "requirements.txt")
        (work / "base" / "Dockerfile").write_text(EE_BASE_DOCKERFILE)
        definition = _definition_copy(work / "definition")
        steps = [
            ([str(REPO / "scripts" / "base-image"), "python"], None),
            (["docker", "build", "--quiet", "--network", "host", "-t", EE_BASE_IMAGE, str(work / "base")], None),
            ([str(BIN / "ansible-galaxy"), "collection", "build", "--force", "--output-path", str(definition.parent),
              str(REPO)],
             None),
            ([str(BIN / "ansible-builder"), "create", "--file", str(definition), "--context", str(work / "context"),
              "--output-filename", "Dockerfile"], definition.parent),
            (["docker", "build", "--network", "host", "--build-arg", f"EE_BASE_IMAGE={EE_BASE_IMAGE}", "-t", tag,
              str(work / "context")], None),
        ]  # fmt: skip
        for argv, cwd in steps:
            if not _run(argv, env, log, cwd):
                return "".join(log)[-8000:]
            if argv[1:3] == ["collection", "build"]:
                _reproducible(definition.parent)
    return ""


def ee_command(
    env: dict, inventory: str, workdir: str, *playbook_args: str, image: str = EE_IMAGE, engine: bool = False
) -> list[str]:
    """``docker run ... ansible-playbook -i inventory *playbook_args`` in the EE; run it with ``env``."""
    argv = ["docker", "run", "--rm", "--network", "host", "-w", workdir]
    for path in dict.fromkeys([inventory, workdir]):
        argv += ["-v", f"{path}:{path}:ro"]
    # A checkout owned by another user than the EE's (uid 1000): git reads its commit all the same (no file written).
    argv += ["-e", "GIT_CONFIG_COUNT=1", "-e", "GIT_CONFIG_KEY_0=safe.directory", "-e", "GIT_CONFIG_VALUE_0=*"]
    # AWS_CA_BUNDLE names a file of this machine: the EE has its own CA bundle.
    names = sorted(k for k in env if k.startswith(("AWS_", "SHIPYARD_")) and k != "AWS_CA_BUNDLE")
    if engine:
        socket = env["DOCKER_HOST"].removeprefix("unix://")
        argv += ["-v", f"{socket}:{socket}", "--group-add", str(os.stat(socket).st_gid)]
        names.append("DOCKER_HOST")
    for name in names:
        argv += ["-e", name]
    return [*argv, image, "ansible-playbook", "-i", inventory, *playbook_args]
