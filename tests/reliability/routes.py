"""Every route of the app, read from the app itself (so a new route is probed without anyone
listing it), with a plausible request for each: path parameters filled with real ids of the right
kind, query parameters and a body built from the route's OpenAPI schema unless a better one is
known."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, routing

# Path or body/query field name -> the kind of object whose id it holds (a key of a World).
ID_FIELDS = {
    "creditor_id": "creditor",
    "debtor_id": "debtor",
    "invoice_id": "invoice",
    "dispute_id": "dispute",
    "action_id": "action",
    "policy_id": "policy",
    "dunning_policy_id": "policy",
    "endpoint_id": "endpoint",
    "event_id": "event",
    "document_id": "document",
    "payment_id": "payment",
    "plan_id": "plan",
    "delivery_id": "delivery",
    # Admin routes (probed with tenant keys and without a key only).
    "tenant_id": "tenant",
    "key_id": "api_key",
}
# Fields ending in _id that are not references to another object.
# message_id: a platform's message (lifecycle); report_id: a registered-mail provider's report
NOT_REFERENCES = {"external_id", "message_id", "report_id"}
# Path parameters that are not ids, with a value every route accepts.
PATH_VALUES = {"kind": "reminder_1", "provider": "ar24"}

PUBLIC_PREFIXES = ("/healthz", "/readyz", "/metrics", "/docs", "/redoc", "/openapi.json")


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    name: str
    operation: dict[str, Any] = field(hash=False, compare=False)

    @property
    def path_params(self) -> list[str]:
        return re.findall(r"{(\w+)}", self.path)

    @property
    def is_admin(self) -> bool:
        return self.path.startswith("/v1/admin")

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def api_routes(app: FastAPI) -> list[Route]:
    """Every (method, path) of the app outside the public operator pages, with its OpenAPI
    operation ({} for a route hidden from the schema)."""
    spec = app.openapi()
    out: list[Route] = []
    for ctx in routing.iter_route_contexts(app.routes):
        path = getattr(ctx, "path", "")
        if not path or path.startswith(PUBLIC_PREFIXES):
            continue
        for method in sorted(getattr(ctx, "methods", None) or ()):
            if method in ("HEAD", "OPTIONS"):
                continue
            operation = spec["paths"].get(path, {}).get(method.lower(), {})
            out.append(Route(method, path, getattr(ctx, "name", path), operation))
    return out


class Schemas:
    """Plausible values for OpenAPI schemas (the required parts only)."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.components = spec.get("components", {}).get("schemas", {})

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            schema = self.components[schema["$ref"].rsplit("/", 1)[-1]]
        return schema

    def properties(self, schema: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
        if not schema:
            return {}
        schema = self.resolve(schema)
        for option in schema.get("anyOf", []):
            if self.resolve(option).get("type") == "object":
                return self.properties(option)
        return dict(schema.get("properties", {}))

    def example(self, schema: dict[str, Any], ids: dict[str, str], name: str = "") -> Any:
        schema = self.resolve(schema)
        if name in ID_FIELDS and ID_FIELDS[name] in ids:
            return ids[ID_FIELDS[name]]
        if schema.get("examples"):
            return schema["examples"][0]
        if "default" in schema and schema["default"] is not None:
            return schema["default"]
        if "enum" in schema:
            return schema["enum"][0]
        if "anyOf" in schema:
            options = [o for o in schema["anyOf"] if self.resolve(o).get("type") != "null"]
            return self.example(options[0], ids, name) if options else None
        kind = schema.get("type")
        if kind == "object" or "properties" in schema:
            return {
                key: self.example(sub, ids, key)
                for key, sub in schema.get("properties", {}).items()
                if key in schema.get("required", [])
            }
        if kind == "array":
            count = max(int(schema.get("minItems", 1)), 1)
            return [self.example(schema.get("items", {}), ids, name) for _ in range(count)]
        if kind == "integer":
            return int(schema.get("minimum", 1))
        if kind == "number":
            return schema.get("minimum", 1)
        if kind == "boolean":
            return False
        fmt = schema.get("format")
        if fmt == "date":
            return "2026-02-20"
        if fmt == "date-time":
            return "2026-02-20T10:00:00+01:00"
        if fmt == "email":
            return "probe@example.com"
        if fmt in ("uri", "url"):
            return "http://127.0.0.1:9/probe"
        return "probe"

    def body_schema(self, operation: dict[str, Any]) -> dict[str, Any] | None:
        content = operation.get("requestBody", {}).get("content", {})
        media = content.get("application/json")
        return media.get("schema") if media else None

    def query(self, operation: dict[str, Any], ids: dict[str, str]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for param in operation.get("parameters", []):
            if param.get("in") == "query" and param.get("required"):
                out[param["name"]] = self.example(param.get("schema", {}), ids, param["name"])
        return out

    def reference_fields(self, operation: dict[str, Any]) -> tuple[list[str], list[str]]:
        """(body fields, query parameters) that hold another object's id."""
        body = [
            key
            for key in self.properties(self.body_schema(operation))
            if key.endswith("_id") and key not in NOT_REFERENCES
        ]
        query = [
            p["name"]
            for p in operation.get("parameters", [])
            if p.get("in") == "query" and p["name"].endswith("_id")
            if p["name"] not in NOT_REFERENCES
        ]
        return body, query


def performed_at(now: dt.datetime) -> str:
    return (now - dt.timedelta(hours=1)).isoformat()
