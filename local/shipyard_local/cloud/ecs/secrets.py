"""Container secrets: a ``valueFrom`` read from the emulator's Secrets Manager or SSM, in-process, as ECS words it."""

from __future__ import annotations

import json

from .. import rules

SECRETS_UNREADABLE = (  # ECS's wording for a task whose secrets cannot be read
    "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: "
)


def resolve_secret(account_id: str, region: str, value_from: str) -> tuple[str, str | None]:
    """A container secret's value from the emulator's Secrets Manager or SSM, in-process.

    Returns ``(value, None)`` or ``("", stoppedReason)`` worded as ECS words it. Values are never logged.
    """
    ref = rules.parse_secret_ref(value_from)
    if ref.service == "ssm":
        from moto.ssm.models import ssm_backends

        try:
            parameter = ssm_backends[ref.account or account_id][ref.region or region].get_parameter(ref.secret_id)
        except Exception:
            parameter = None
        if parameter is None:
            return "", (
                f"{SECRETS_UNREADABLE}unable to retrieve secrets from ssm: service call has been retried 1 time(s): "
                f"invalid ssm parameters: {ref.secret_id}"
            )
        return parameter.value, None
    from moto.secretsmanager.models import secretsmanager_backends

    prefix = (
        f"{SECRETS_UNREADABLE}unable to retrieve secret from asm: service call has been retried 1 time(s): "
        f"failed to fetch secret {ref.secret_id} from secrets manager: "
    )
    backend = secretsmanager_backends[ref.account or account_id][ref.region or region]
    try:
        found = backend.get_secret_value(ref.secret_id, ref.version_id, ref.version_stage)
    except Exception as error:
        kind = type(error).__name__.replace("SecretNotFoundException", "ResourceNotFoundException")
        if kind.endswith("HasNoValueException"):
            kind = "ResourceNotFoundException"
            stage = ref.version_stage or "AWSCURRENT"
            message = f"Secrets Manager can't find the specified secret value for staging label: {stage}"
        elif kind == "ResourceNotFoundException":
            message = "Secrets Manager can't find the specified secret."
        else:
            message = getattr(error, "message", "") or str(error)
        return "", f"{prefix}{kind}: {message}"
    value = found.get("SecretString")
    if value is None:
        return "", f"{prefix}ResourceNotFoundException: Secrets Manager can't find the specified secret value"
    if ref.json_key:
        try:
            data = json.loads(value)
        except ValueError:
            data = None
        if not isinstance(data, dict) or ref.json_key not in data:
            return "", (
                f"{SECRETS_UNREADABLE}unable to retrieve secret from asm: service call has been retried 1 time(s): "
                f"retrieved secret from Secrets Manager did not contain json key {ref.json_key}"
            )
        item = data[ref.json_key]
        value = item if isinstance(item, str) else json.dumps(item)
    return value, None
