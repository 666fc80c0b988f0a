"""botocore's service model as the contract of the local cloud's own answers (the operations moto lacks).

:func:`shape_errors` says where an answer breaks an operation's output shape: members the shape does not have,
required members missing, wrong types, values outside an enum. Tests check every answer of the engine's own
operations (service deployments, ...) with it, in-process and over HTTP, so clients written against AWS's
contract (``ecs_rollout``) read what AWS would send.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any


@cache
def _model(service: str):
    import botocore.session

    return botocore.session.get_session().get_service_model(service)


def output_shape(service: str, operation: str):
    return _model(service).operation_model(operation).output_shape


def shape_errors(shape, value: Any, path: str = "$") -> list[str]:
    """Where ``value`` breaks botocore ``shape`` (empty: it conforms)."""
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            return [f"{path}: {type(value).__name__}, not a structure"]
        errors = [f"{path}.{name}: required member missing" for name in shape.required_members if name not in value]
        for name, item in value.items():
            if name not in shape.members:
                errors.append(f"{path}.{name}: not a member of {shape.name}")
            else:
                errors += shape_errors(shape.members[name], item, f"{path}.{name}")
        return errors
    if kind == "list":
        if not isinstance(value, list):
            return [f"{path}: not a list"]
        return [e for i, item in enumerate(value) for e in shape_errors(shape.member, item, f"{path}[{i}]")]
    if kind == "map":
        if not isinstance(value, dict):
            return [f"{path}: not a map"]
        return [e for k, item in value.items() for e in shape_errors(shape.value, item, f"{path}[{k!r}]")]
    if kind == "string":
        if not isinstance(value, str):
            return [f"{path}: {value!r} is not a string"]
        return [f"{path}: {value!r} not in {shape.enum}"] if shape.enum and value not in shape.enum else []
    if kind in ("integer", "long"):
        return [] if isinstance(value, int) and not isinstance(value, bool) else [f"{path}: {value!r} not an integer"]
    if kind == "boolean":
        return [] if isinstance(value, bool) else [f"{path}: {value!r} not a boolean"]
    if kind in ("double", "float"):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return [] if ok else [f"{path}: {value!r} not a number"]
    if kind == "timestamp":
        return [] if isinstance(value, datetime) else [f"{path}: {value!r} not a timestamp"]
    return [f"{path}: unchecked type {kind}"]


def answer_errors(service: str, operation: str, answer: dict) -> list[str]:
    """Where ``answer`` (an operation's output, ``ResponseMetadata`` aside) breaks the operation's output shape."""
    body = {k: v for k, v in answer.items() if k != "ResponseMetadata"}
    return shape_errors(output_shape(service, operation), body)
