# Copyright: Shipyard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ECR registry logins: GetAuthorizationToken's answer decoded into the username and password a registry accepts.

Pure functions, shared by the modules that log in to ECR (ecr_authorization_token, service_deploy_info,
registry_image_push); each makes the AWS call with its own client.
"""

from __future__ import annotations

import base64
import binascii
import re

# <account>.dkr.ecr.<region>.amazonaws.com[.cn], optionally with a port, then the repository's path.
_ECR_HOST = re.compile(r"^(?P<account>[0-9]{12})\.dkr\.ecr(?:-fips)?\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?(?::\d+)?/")


def decode_authorization(authorization_data):
    """One GetAuthorizationToken ``authorizationData`` entry -> ``{registry, proxy_endpoint, username, password,
    expires_at}``; ValueError (never showing the token) when it is not base64 ``user:password``."""
    try:
        decoded = base64.b64decode(authorization_data["authorizationToken"], validate=True).decode("utf-8")
    except (KeyError, TypeError, binascii.Error, UnicodeDecodeError) as e:
        raise ValueError("ECR returned an authorization token that is not base64 'user:password'") from e
    username, sep, password = decoded.partition(":")
    if not sep or not username or not password:
        raise ValueError("ECR returned an authorization token that is not base64 'user:password'")
    endpoint = authorization_data.get("proxyEndpoint") or ""
    expires = authorization_data.get("expiresAt")
    return {
        "registry": endpoint.split("://", 1)[-1].rstrip("/"),
        "proxy_endpoint": endpoint,
        "username": username,
        "password": password,
        "expires_at": expires.isoformat() if hasattr(expires, "isoformat") else expires,
    }


def registry_id_of(repository):
    """The ECR registry (AWS account ID) of ``<account>.dkr.ecr.<region>.amazonaws.com/<path>``; None for any other
    registry host (the caller's default registry is then the one to log in to)."""
    found = _ECR_HOST.match(repository or "")
    return found.group("account") if found else None
