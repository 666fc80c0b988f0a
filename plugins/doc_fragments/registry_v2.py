# Copyright: Shipyard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)


class ModuleDocFragment:
    # The options of plugins.module_utils.registry_v2.registry_argument_spec(), shared by the registry modules.
    DOCUMENTATION = r"""
options:
  repository:
    description:
      - The repository with its registry host, C(<host>[:<port>]/<path>), for example
        C(123456789012.dkr.ecr.us-east-1.amazonaws.com/shop/web) or C(127.0.0.1:29050/shop/web).
    type: str
    required: true
  username:
    description: User name for HTTP Basic authentication (C(AWS) for ECR). Unset means anonymous.
    type: str
  password:
    description: Password for HTTP Basic authentication (for ECR, the decoded C(GetAuthorizationToken) password).
    type: str
  scheme:
    description:
      - V(http) or V(https). Unset means V(http) for a registry on C(127.0.0.1), C(localhost) or C(::1), V(https)
        for every other host.
    type: str
    choices: [http, https]
  validate_certs:
    description: Verify the registry's TLS certificate.
    type: bool
    default: true
  timeout:
    description: Seconds to wait for the registry to answer.
    type: int
    default: 30
notes:
  - Only HTTP Basic authentication; registries that require a bearer-token exchange (Docker Hub) are not supported.
  - O(username) and O(password) go together.
"""
