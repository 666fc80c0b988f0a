"""A real registry (Debian's docker-registry, distribution 2.8) that accepts exactly the emulator's ECR token.

The ECR login flow is the real one: GetAuthorizationToken on the emulator gives a base64
``user:password``; the registry's htpasswd holds that user with the bcrypt of that password, so
``docker login`` with the token succeeds and any other password gets 401.
"""

from __future__ import annotations

import base64
import json
import shutil
import urllib.error
import urllib.request

from .config import StackConfig

HTPASSWD_BCRYPT_COST = 4  # bcrypt's lowest; see write_files


def ecr_credentials(config: StackConfig) -> tuple[str, str]:
    """(user, password) from the emulator's ECR GetAuthorizationToken."""
    import boto3

    client = boto3.client(
        "ecr",
        endpoint_url=config.emulator_url,
        region_name=config.region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 - the emulator's dummy credentials
    )
    token = client.get_authorization_token()["authorizationData"][0]["authorizationToken"]
    user, _, password = base64.b64decode(token).decode().partition(":")
    return user, password


def write_files(config: StackConfig, user: str, password: str) -> None:
    """The registry's config and htpasswd, under the state directory."""
    import bcrypt

    config.registry_dir.mkdir(parents=True, exist_ok=True)
    htpasswd = config.registry_dir / "htpasswd"
    # The registry checks the bcrypt on every authenticated request (each manifest HEAD, each blob of a push or a
    # task's pull): at bcrypt's default cost (12) that is ~0.25 s of CPU per request, measured here; the lowest cost
    # (4) takes ~1 ms. The password is the emulator's local-only ECR token, on 127.0.0.1: nothing to slow down.
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=HTPASSWD_BCRYPT_COST)).decode()
    htpasswd.write_text(f"{user}:{hashed}\n")
    htpasswd.chmod(0o600)
    # JSON is valid YAML: no YAML writer needed for distribution's config.
    settings = {
        "version": 0.1,
        "log": {"level": "info", "formatter": "text", "fields": {"service": "shipyard-local-registry"}},
        "storage": {
            "filesystem": {"rootdirectory": str(config.registry_dir / "data")},
            "delete": {"enabled": True},
            "cache": {"blobdescriptor": "inmemory"},
        },
        "http": {"addr": config.registry_address, "headers": {"X-Content-Type-Options": ["nosniff"]}},
        "auth": {"htpasswd": {"realm": "shipyard-local-ecr", "path": str(htpasswd)}},
    }
    (config.registry_dir / "config.yml").write_text(json.dumps(settings, indent=2) + "\n")


def argv(config: StackConfig) -> list[str]:
    binary = shutil.which("docker-registry", path="/usr/bin:/usr/local/bin") or "docker-registry"
    return [binary, "serve", str(config.registry_dir / "config.yml")]


def accepts(config: StackConfig, user: str, password: str, timeout: float = 3.0) -> bool:
    """True when ``GET /v2/`` with these credentials answers 200."""
    request = urllib.request.Request(f"http://{config.registry_address}/v2/")
    basic = base64.b64encode(f"{user}:{password}".encode()).decode()
    request.add_header("Authorization", f"Basic {basic}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False
