# Copyright: Shipyard maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""A small client for the Docker Registry HTTP API v2 (manifests only), as ECR and distribution speak it.

Plain functions and one class that raise ``RegistryError``; only modules call ``fail_json``.
Authentication is HTTP Basic (ECR accepts ``AWS:<GetAuthorizationToken password>``; distribution with htpasswd
accepts its users). No password ever reaches a message: errors name the URL, the status and the registry's own
error codes.
"""

from __future__ import annotations

import hashlib
import json
import re
from urllib.error import HTTPError, URLError

from ansible.module_utils.urls import Request

# Everything an image reference can resolve to: single-platform manifests and multi-platform indexes.
MANIFEST_MEDIA_TYPES = (
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
)
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1", "[::1]")
# The reference grammar of distribution (docker/distribution/reference): tags and digests.
TAG_PATTERN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
DIGEST_PATTERN = re.compile(r"^sha256:[a-f0-9]{64}$")
PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
PATH_PATTERN = re.compile(rf"^{PATH_COMPONENT}(?:/{PATH_COMPONENT})*$")


def registry_argument_spec():
    """The options every registry module shares (``password`` is ``no_log``).

    Documented once, in the ``shipyard.fargate.registry_v2`` doc fragment (plugins/doc_fragments/registry_v2.py):
    a change here goes there too.
    """
    return dict(
        repository=dict(type="str", required=True),
        username=dict(type="str"),
        password=dict(type="str", no_log=True),
        scheme=dict(type="str", choices=["http", "https"]),
        validate_certs=dict(type="bool", default=True),
        timeout=dict(type="int", default=30),
    )


class RegistryError(Exception):
    """A registry answer (or its absence) that the caller cannot go on with."""

    def __init__(self, message, status=None):
        super().__init__(message)
        self.status = status


def split_repository(repository):
    """``host[:port]/path`` -> ``(host, path)``; raises ValueError when the host or the path is missing or bad."""
    host, sep, path = (repository or "").partition("/")
    if not sep or not path:
        raise ValueError(f"'{repository}' has no repository path: expected <registry host>/<repository>")
    if not ("." in host or ":" in host or host == "localhost"):
        raise ValueError(
            f"'{repository}' does not start with a registry host (a name with a '.' or a ':port', or localhost)"
        )
    if not PATH_PATTERN.match(path):
        raise ValueError(f"'{path}' is not a valid repository path (lowercase components separated by '/')")
    return host, path


def default_scheme(host):
    """http for a registry on the loopback interface (the local stack), https for every other host."""
    hostname = host.rsplit(":", 1)[0] if host.count(":") == 1 or host.startswith("[") else host
    return "http" if hostname in LOOPBACK_HOSTS else "https"


def is_reference(value):
    """A tag or a ``sha256:`` digest."""
    return bool(TAG_PATTERN.match(value) or DIGEST_PATTERN.match(value))


def manifest_digest(body):
    """The content digest of a manifest, as the registry computes it (sha256 of the exact bytes)."""
    return "sha256:" + hashlib.sha256(body).hexdigest()


def error_codes(body):
    """The ``errors[].code`` values of a registry error body (``MANIFEST_UNKNOWN``, ``DENIED``, ...)."""
    try:
        payload = json.loads(body or b"{}")
    except ValueError:
        return []
    if not isinstance(payload, dict):
        return []
    return [str(e.get("code")) for e in payload.get("errors") or [] if isinstance(e, dict) and e.get("code")]


# ECR's registry hosts: deleting the repository (force) deletes its images, so nothing is deleted image by image.
ECR_HOST_PATTERN = re.compile(r"^[0-9]{12}\.dkr\.ecr(-fips)?\.[a-z0-9-]+\.amazonaws\.com(\.cn)?(:443)?$")


def deletes_images_with_repository(host):
    """True for ECR, whose repository deletion takes its images along; any other registry keeps them."""
    return bool(ECR_HOST_PATTERN.match(host or ""))


def digests_to_delete(tag_digests):
    """The manifests to delete so that no tag is left: each digest once, in a stable order. Pure.

    ``tag_digests`` maps each tag to its digest (None: the tag vanished between the listing and the look-up).
    """
    return sorted({digest for digest in tag_digests.values() if digest})


def media_type_of(headers):
    """The manifest media type from a Content-Type header, without parameters."""
    return (headers.get("Content-Type") or "").split(";", 1)[0].strip() or None


class RegistryClient:
    """Manifests of one repository in one registry."""

    def __init__(self, repository, username=None, password=None, scheme=None, timeout=30, validate_certs=True):
        self.host, self.path = split_repository(repository)
        self.scheme = scheme or default_scheme(self.host)
        hostname = self.host.rsplit(":", 1)[0]
        self._request = Request(
            url_username=username,
            url_password=password,
            force_basic_auth=bool(username),
            timeout=timeout,
            validate_certs=validate_certs,
            # The local stack's registry is on 127.0.0.1: never send that through a proxy.
            use_proxy=hostname not in LOOPBACK_HOSTS,
            use_netrc=False,  # only the credentials given here
        )
        self.authenticated = bool(username)

    def manifest_url(self, reference):
        return f"{self.scheme}://{self.host}/v2/{self.path}/manifests/{reference}"

    def tags_url(self):
        return f"{self.scheme}://{self.host}/v2/{self.path}/tags/list"

    def _open(self, method, reference, data=None, headers=None, url=None):
        url = url or self.manifest_url(reference)
        try:
            return self._request.open(method, url, data=data, headers=headers or {})
        except HTTPError as e:
            body = e.read() if hasattr(e, "read") else b""
            raise RegistryError(self._explain(e.code, url, error_codes(body)), status=e.code) from None
        except URLError as e:
            raise RegistryError(f"Cannot reach the registry at {url}: {e.reason}") from None
        except OSError as e:  # connection reset, timeout, TLS errors
            raise RegistryError(f"Cannot reach the registry at {url}: {e}") from None

    def _explain(self, status, url, codes):
        detail = f" ({', '.join(codes)})" if codes else ""
        if status == 401:
            who = "the username/password" if self.authenticated else "anonymous access (no username/password given)"
            return (
                f"The registry refused {who} for {url}: HTTP 401 Unauthorized{detail}. "
                "Check username and password (for ECR: the ecr_authorization_token module's result, "
                "which expires after 12 hours)."
            )
        if status == 403:
            return f"The registry denied access to {url}: HTTP 403 Forbidden{detail}."
        return f"The registry answered HTTP {status} for {url}{detail}."

    def head(self, reference):
        """``{"exists", "digest", "media_type"}`` of a tag or digest; a missing manifest is not an error."""
        headers = {"Accept": ", ".join(MANIFEST_MEDIA_TYPES)}
        try:
            response = self._open("HEAD", reference, headers=headers)
        except RegistryError as e:
            if e.status == 404:
                return {"exists": False, "digest": None, "media_type": None}
            raise
        digest = response.headers.get("Docker-Content-Digest")
        media_type = media_type_of(response.headers)
        if not digest:  # not every registry sends it for HEAD: hash the manifest itself
            manifest = self.get(reference)
            digest, media_type = manifest["digest"], manifest["media_type"]
        return {"exists": True, "digest": digest, "media_type": media_type}

    def get(self, reference):
        """The manifest of a tag or digest: ``{"body" (bytes), "digest", "media_type"}``."""
        response = self._open("GET", reference, headers={"Accept": ", ".join(MANIFEST_MEDIA_TYPES)})
        body = response.read()
        digest = manifest_digest(body)
        if DIGEST_PATTERN.match(reference) and digest != reference:
            raise RegistryError(f"The manifest at {self.manifest_url(reference)} does not match its digest ({digest})")
        return {"body": body, "digest": digest, "media_type": media_type_of(response.headers)}

    def put(self, tag, body, media_type):
        """Store the exact manifest bytes under ``tag`` (a re-tag: the digest stays the same); returns the digest."""
        response = self._open("PUT", tag, data=body, headers={"Content-Type": media_type})
        return response.headers.get("Docker-Content-Digest") or manifest_digest(body)

    def tags(self):
        """Every tag of the repository, sorted (``[]`` when the registry does not know the repository)."""
        found, url = [], self.tags_url()
        while url:
            try:
                response = self._open("GET", None, url=url)
            except RegistryError as e:
                if e.status == 404:  # NAME_UNKNOWN: no image was ever pushed (or every one is gone)
                    return sorted(found)
                raise
            try:
                payload = json.loads(response.read() or b"{}")
            except ValueError:
                raise RegistryError(f"The registry answered {url} with something that is not JSON") from None
            found.extend(payload.get("tags") or [])
            url = _next_link(response.headers.get("Link"), f"{self.scheme}://{self.host}")
        return sorted(set(found))

    def delete(self, digest):
        """Delete the manifest ``digest`` (and so every tag on it); False when it was already gone."""
        if not DIGEST_PATTERN.match(digest or ""):
            raise RegistryError(f"Only a manifest digest (sha256:...) can be deleted, not {digest!r}")
        try:
            self._open("DELETE", digest)
        except RegistryError as e:
            if e.status == 404:
                return False
            if e.status == 405:
                raise RegistryError(
                    f"{e} The registry does not allow deletes: distribution needs storage.delete.enabled: true "
                    "in its configuration.",
                    status=405,
                ) from None
            raise
        return True


def _next_link(link, base):
    """The next page of a paginated listing, from an RFC 5988 ``Link: <...>; rel="next"`` header (None: last page)."""
    match = re.match(r'^\s*<([^>]+)>\s*;\s*rel="?next"?', link or "")
    if not match:
        return None
    target = match.group(1)
    return target if "://" in target else base + target


def client_for_module(module):
    """The RegistryClient of a registry module's common options (repository, username, password, scheme, timeout,
    validate_certs); a repository that is not ``host/path`` fails the module, naming the option."""
    params = module.params
    try:
        return RegistryClient(
            params["repository"],
            username=params["username"],
            password=params["password"],
            scheme=params["scheme"],
            timeout=params["timeout"],
            validate_certs=params["validate_certs"],
        )
    except ValueError as e:
        module.fail_json(msg=f"repository: {e}")
