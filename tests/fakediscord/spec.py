"""Discord's OpenAPI description, used to check every request body the bot sends.

The spec lives outside the repository, in ``<repo>/../shared/discord-api/openapi.json``
(set ``DISCORD_OPENAPI`` to point elsewhere). It is loaded once per process and
one validator is built per (route, method) on first use.
"""

from __future__ import annotations

import functools
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import referencing
from referencing.jsonschema import DRAFT202012

_REPO_ROOT = Path(__file__).resolve().parents[2]
_SPEC_URI = "urn:discord-openapi"


def openapi_path() -> Path:
    """Where the OpenAPI file is: ``$DISCORD_OPENAPI``, else ``<repo>/../shared/...``."""
    override = os.environ.get("DISCORD_OPENAPI")
    if override:
        return Path(override)
    return _REPO_ROOT / ".." / "shared" / "discord-api" / "openapi.json"


@dataclass(frozen=True)
class _Template:
    """One path template of the spec, compiled to a regex."""

    template: str
    regex: re.Pattern[str]
    n_params: int


def _compile(template: str) -> _Template:
    parts = re.split(r"(\{[^}]+\})", template)
    pattern = "".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts)
    return _Template(template, re.compile(f"^{pattern}$"), template.count("{"))


class OpenAPISpec:
    """Route matching and request-body validation against Discord's OpenAPI spec."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self._patch_snowflakes()
        resource = DRAFT202012.create_resource(document)
        self._registry: referencing.Registry = referencing.Registry().with_resource(
            _SPEC_URI, resource
        )
        # Literal segments win over parameters ("@original" over "{message_id}").
        self._templates = sorted((_compile(t) for t in document["paths"]), key=lambda t: t.n_params)
        self._validators: dict[tuple[str, str], jsonschema.protocols.Validator | None] = {}

    def _patch_snowflakes(self) -> None:
        """Accept integer snowflakes too: discord.py sends new attachment ids as ``{"id": 0}``."""
        schemas = self.document["components"]["schemas"]
        original = schemas["SnowflakeType"]
        if "anyOf" not in original:
            schemas["SnowflakeType"] = {"anyOf": [original, {"type": "integer", "minimum": 0}]}

    def match(self, path: str) -> str | None:
        """The spec's path template for a concrete API path (without ``/api/v10``), if any."""
        for template in self._templates:
            if template.regex.match(path):
                return template.template
        return None

    def _validator(self, template: str, method: str) -> jsonschema.protocols.Validator | None:
        key = (template, method)
        if key not in self._validators:
            operation = self.document["paths"].get(template, {}).get(method)
            content = (operation or {}).get("requestBody", {}).get("content", {})
            if "application/json" not in content:
                self._validators[key] = None
            else:
                pointer = "/".join(
                    _escape(p)
                    for p in (
                        "paths",
                        template,
                        method,
                        "requestBody",
                        "content",
                        "application/json",
                        "schema",
                    )
                )
                schema = {"$ref": f"{_SPEC_URI}#/{pointer}"}
                self._validators[key] = jsonschema.Draft202012Validator(
                    schema, registry=self._registry
                )
        return self._validators[key]

    def validate(self, template: str, method: str, body: Any) -> list[str]:
        """Problems with ``body`` for this route, as readable strings; empty when it conforms."""
        validator = self._validator(template, method.lower())
        if validator is None:
            return []
        errors = list(validator.iter_errors(body))
        if not errors:
            return []
        return [f"{method.upper()} {template}: {_describe(error)}" for error in errors]


def _describe(error: jsonschema.ValidationError) -> str:
    """A readable message; for ``anyOf``/``oneOf`` unions, the failure inside the likeliest branch.

    A union error ("is not valid under any of the given schemas") says nothing useful, so
    descend into its branches: skip those ruled out by their ``type`` tag, then take the
    branch with the fewest errors (the one the sender most likely meant).
    """
    while error.context:
        branches: dict[Any, list[jsonschema.ValidationError]] = {}
        for child in error.context:
            branches.setdefault(child.relative_schema_path[0], []).append(child)
        plausible = [
            errs for errs in branches.values() if not any(_rules_out(error, e) for e in errs)
        ]
        error = min(plausible or list(branches.values()), key=len)[0]
    where = "/".join(str(p) for p in error.absolute_path) or "<root>"
    if error.validator in ("maxLength", "maxItems"):
        return f"at {where}: too long (at most {error.validator_value})"
    if error.validator in ("minLength", "minItems"):
        return f"at {where}: too short (at least {error.validator_value})"
    return f"at {where}: {_shorten(error.message)}"


def _rules_out(parent: jsonschema.ValidationError, error: jsonschema.ValidationError) -> bool:
    """True when a union branch failed on what tells branches apart: JSON type or ``type`` tag."""
    if error.validator == "type" and error.absolute_path == parent.absolute_path:
        return True
    return error.validator in ("enum", "const") and list(error.absolute_path)[-1:] == ["type"]


def _shorten(message: str, limit: int = 300) -> str:
    return message if len(message) <= limit else message[: limit - 3] + "..."


def _escape(token: str) -> str:
    """JSON-pointer escaping (RFC 6901) plus percent-escaping of the braces in path templates."""
    token = token.replace("~", "~0").replace("/", "~1")
    return token.replace("{", "%7B").replace("}", "%7D")


@functools.lru_cache(maxsize=1)
def load_spec() -> OpenAPISpec:
    """The process-wide spec (parsing 1 MB of JSON and building validators is done once)."""
    path = openapi_path()
    if not path.is_file():
        raise FileNotFoundError(
            f"Discord OpenAPI spec not found at {path}; set DISCORD_OPENAPI to its location"
        )
    with path.open(encoding="utf-8") as f:
        return OpenAPISpec(json.load(f))
