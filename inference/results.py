"""The base of every task's result type."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np


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
