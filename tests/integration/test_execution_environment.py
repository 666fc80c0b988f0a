"""The execution environment (execution-environment.yml): its pins, the collection's dependencies where ansible-builder
reads them, and the EE built from a Debian-made base (tests/integration/ee.py) and looked into: ansible-core,
ansible-runner, the collection and what it needs at the pinned versions, and no layer holding the build host's CA.

A deploy run inside the EE against the local stack (``ee.ee_command``) is a stage of test_stack_flow.py.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from ansible_builder._target_scripts import introspect
from ee import EE_IMAGE, build_execution_environment
from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PEM = re.compile(r"-----BEGIN CERTIFICATE-----\n(.*?)-----END CERTIFICATE-----", re.S)


def _pins(path: Path) -> dict[str, str]:
    """``name -> version`` of a requirements file whose every line is ``name==version``."""
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            requirement = Requirement(line)
            (spec,) = requirement.specifier
            pins[requirement.name.lower()] = spec.version
    return pins


def _lines(path: Path) -> list[str]:
    return [line.split("#", 1)[0].strip() for line in path.read_text().splitlines() if line.split("#", 1)[0].strip()]


# --- the definition (no engine needed) ---------------------------------------------------------------------------


def test_the_definition_pins_what_the_lock_and_galaxy_yml_pin():
    definition = yaml.safe_load((REPO / "execution-environment.yml").read_text())
    lock = _pins(REPO / "requirements.txt")
    version = yaml.safe_load((REPO / "galaxy.yml").read_text())["version"]
    dependencies = definition["dependencies"]

    assert definition["version"] == 3
    assert dependencies["ansible_core"]["package_pip"] == f"ansible-core=={lock['ansible-core']}"
    assert dependencies["ansible_runner"]["package_pip"] == f"ansible-runner=={lock['ansible-runner']}"
    python = {Requirement(line).name: line for line in dependencies["python"]}
    assert python["ansible"] == f"ansible=={lock['ansible']}"
    assert python["dumb-init"] == definition["options"]["container_init"]["package_pip"]
    # The collection from its artifact, the one `make build` writes: galaxy.yml's version, installed without Galaxy.
    assert dependencies["galaxy"] == {
        "collections": [{"name": f"collections/shipyard-fargate-{version}.tar.gz", "type": "file"}]
    }
    assert {"src": f"shipyard-fargate-{version}.tar.gz", "dest": "collections"} in definition["additional_build_files"]
    assert "--offline" in definition["build_arg_defaults"]["ANSIBLE_GALAXY_CLI_COLLECTION_OPTS"]


def test_ansible_builder_finds_the_collections_dependencies_in_its_installed_artifact(tmp_path):
    """ansible-builder's own introspection (what its builder stage runs) on the artifact installed the way the EE's
    galaxy stage installs it: the run-time Python packages and the system packages are found, nothing else."""
    galaxy = str(BIN / "ansible-galaxy")
    build = [galaxy, "collection", "build", "--output-path", str(tmp_path), str(REPO)]
    done = subprocess.run(build, capture_output=True)
    assert done.returncode == 0, done
    (artifact,) = tmp_path.glob("shipyard-fargate-*.tar.gz")
    # --force: the repository's ansible.cfg already finds the collection (its working tree, through collections/)
    install = [galaxy, "collection", "install", "--offline", "--no-deps", "--force", "-p", str(tmp_path / "c")]
    done = subprocess.run([*install, str(artifact)], capture_output=True)
    assert done.returncode == 0, done

    found = introspect.process(data_dir=str(tmp_path / "c"))

    assert found["python"] == {"shipyard.fargate": _lines(REPO / "meta" / "ee-requirements.txt")}
    assert found["system"] == {"shipyard.fargate": _lines(REPO / "bindep.txt")}
    assert {"boto3", "botocore", "requests"} <= {Requirement(line).name for line in found["python"]["shipyard.fargate"]}
    assert "git [platform:dpkg]" in found["system"]["shipyard.fargate"]


# --- the EE, built on the local stack's engine ---------------------------------------------------------------------

INSPECT = """
import json, subprocess
from importlib.metadata import version
def out(*argv):
    return subprocess.run(argv, capture_output=True, text=True, check=True).stdout
print(json.dumps({
    "collections": json.loads(out("ansible-galaxy", "collection", "list", "--format", "json")),
    "core": out("ansible-playbook", "--version").splitlines()[0],
    "runner": out("ansible-runner", "--version").strip(),
    "packages": {name: version(name) for name in ("ansible", "boto3", "botocore", "requests", "dumb-init")},
    "git": out("git", "--version").strip(),
    "uid": out("id", "-u").strip(),
    # every module, role and plugin the deploy playbook (and provision.yml, which it imports) names resolves
    "syntax": out("ansible-playbook", "--syntax-check", "shipyard.fargate.deploy").strip(),
}))
"""


@pytest.fixture(scope="module")
def built_ee(stack_env):
    built = build_execution_environment(stack_env, EE_IMAGE)
    assert built == "", built
    return EE_IMAGE


def _in_ee(stack_env, *argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["docker", "run", "--rm", "--network", "host", EE_IMAGE, *argv],
        env=stack_env,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.stack
def test_the_ee_holds_ansible_runner_the_collection_and_everything_it_needs(built_ee, stack_env):
    done = _in_ee(stack_env, "python3", "-c", INSPECT)
    assert done.returncode == 0, done.stdout + done.stderr
    seen = json.loads(done.stdout.splitlines()[-1])
    lock = _pins(REPO / "requirements.txt")
    version = yaml.safe_load((REPO / "galaxy.yml").read_text())["version"]

    assert seen["core"] == f"ansible-playbook [core {lock['ansible-core']}]"
    assert seen["runner"] == lock["ansible-runner"]
    installed = {name: info["version"] for path in seen["collections"].values() for name, info in path.items()}
    assert installed["shipyard.fargate"] == version  # from the artifact, under /usr/share/ansible/collections
    assert "shipyard.fargate" in seen["collections"]["/usr/share/ansible/collections/ansible_collections"]
    # What galaxy.yml depends on, from the ansible package at the versions the README states.
    assert {name: installed[name] for name in ("amazon.aws", "community.aws", "community.docker")} == {
        "amazon.aws": "10.1.2",
        "community.aws": "10.0.0",
        "community.docker": "4.8.5",
    }
    # boto3, botocore, requests and git are named only by the collection (meta/execution-environment.yml).
    for name in ("ansible", "boto3", "botocore", "requests"):
        assert seen["packages"][name] == lock[name], name
    assert seen["git"].startswith("git version ")
    assert seen["uid"] == "1000"  # not root
    assert seen["syntax"] == (
        "playbook: /usr/share/ansible/collections/ansible_collections/shipyard/fargate/playbooks/deploy.yml"
    )


@pytest.mark.stack
def test_the_build_hosts_ca_is_in_no_layer_of_the_ee(built_ee, stack_env, tmp_path):
    """The builder stage trusted the build host's CA bundle (a TLS-inspecting proxy's CA, on this machine): every
    certificate the host trusts and the EE does not ship itself (its CA store, certifi's bundles) is absent from every
    layer of the image, not only from its file system."""
    done = _in_ee(stack_env, "sh", "-c", "cat /etc/ssl/certs/ca-certificates.crt $(find / -xdev -name cacert.pem)")
    assert done.returncode == 0, done.stderr
    own = set(PEM.findall(done.stdout))
    bundle = Path("/etc/ssl/certs/ca-certificates.crt")  # the one execution-environment.yml adds on Debian hosts
    if not bundle.exists():
        pytest.skip(f"{bundle} does not exist on this build host: nothing was added to the builder stage")
    host = set(PEM.findall(bundle.read_text()))
    only_host = sorted(host - own)
    if not only_host:
        pytest.skip("the build host trusts no certificate the EE does not ship: nothing could leak")
    patterns = tmp_path / "patterns"
    patterns.write_text("".join(body.splitlines()[2] + "\n" for body in only_host))  # a 64-character line of each
    save = subprocess.Popen(["docker", "save", EE_IMAGE], env=stack_env, stdout=subprocess.PIPE)
    grep = subprocess.run(["grep", "-a", "-c", "-F", "-f", str(patterns)], stdin=save.stdout, capture_output=True)
    save.stdout.close()
    assert save.wait() == 0
    assert grep.stdout.strip() == b"0", f"{grep.stdout!r} lines of the EE's layers hold a certificate of the build host"
