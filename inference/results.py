"""The base of every task's result type."""

from __future__ import annotations

import dataclasses
import functools
import math
import types
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

import numpy as np

ResultT = TypeVar("ResultT", bound="Result")


def json_safe(value: Any) -> Any:
    """Turn ``value`` into plain JSON types: numpy scalars become floats and ints,
    dataclasses and tuples become dicts and lists, bytes are left out (they are
    attachments, written elsewhere), NaN and infinities become None."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: json_safe(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if not isinstance(getattr(value, f.name), (bytes, bytearray))
        }
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items() if not isinstance(v, bytes)}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return json_safe(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@dataclasses.dataclass
class Result:
    """A task's answer to one request. Subclasses are plain dataclasses."""

    def to_dict(self) -> dict[str, Any]:
        """The result as JSON-safe built-in types (binary payloads are left out)."""
        return json_safe(self)

    def attachment(self) -> tuple[str, bytes] | None:
        """A file the result carries (an image, a recording) as (file name, bytes)."""
        return None


def from_dict(cls: type[ResultT], data: Mapping[str, Any], blob: bytes | None = None) -> ResultT:
    """Rebuild a result from its ``to_dict()`` form (sent by an inference server, say).

    Nested dataclasses, lists, tuples and optional fields are rebuilt from their type
    hints; keys the class has no field for (``size``, an ``attachment``) are ignored.
    ``blob`` fills the field typed ``bytes`` (the attachment, which ``to_dict()`` leaves
    out). Raises ``TypeError`` when a required field is missing."""
    hints = _type_hints(cls)
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if not f.init:
            continue
        hint = hints[f.name]
        if _is_bytes(hint):
            if blob is not None:
                kwargs[f.name] = blob
            elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                kwargs[f.name] = None if _is_optional(hint) else b""
        elif f.name in data:
            kwargs[f.name] = _convert(hint, data[f.name])
    return cls(**kwargs)


@functools.cache
def _type_hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _union_args(hint: Any) -> tuple[Any, ...] | None:
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return typing.get_args(hint)
    return None


def _is_optional(hint: Any) -> bool:
    return type(None) in (_union_args(hint) or ())


def _is_bytes(hint: Any) -> bool:
    args = _union_args(hint)
    return hint in (bytes, bytearray) or bool(args and (bytes in args or bytearray in args))


def _convert(hint: Any, value: Any) -> Any:
    """``value`` (plain JSON) as the type ``hint`` names, as far as JSON can tell."""
    if value is None:
        return None
    args = _union_args(hint)
    if args is not None:
        candidates = [a for a in args if a is not type(None)]
        if isinstance(value, Mapping):  # an optional nested dataclass, most likely
            candidates.sort(key=lambda a: not dataclasses.is_dataclass(a))
        return _convert(candidates[0], value) if candidates else value
    if isinstance(hint, type) and dataclasses.is_dataclass(hint) and isinstance(value, Mapping):
        return from_dict(hint, value)  # type: ignore[arg-type]
    origin, params = typing.get_origin(hint), typing.get_args(hint)
    if origin in (list, tuple, set, frozenset) and isinstance(value, (list, tuple)):
        if origin is tuple and params and params[-1] is not Ellipsis:
            return tuple(_convert(p, v) for p, v in zip(params, value, strict=False))
        item = params[0] if params else Any
        return origin(_convert(item, v) for v in value)
    if origin is dict and isinstance(value, Mapping):
        item = params[1] if len(params) == 2 else Any
        return {k: _convert(item, v) for k, v in value.items()}
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value
