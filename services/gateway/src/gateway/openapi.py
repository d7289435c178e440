"""One OpenAPI document for the whole API, merged from the services' own documents."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import httpx

from gateway.routing import RouteLike, match_upstream
from retailcare_shared.logging import get_logger

log = get_logger(__name__)
SCHEMA_REF = "#/components/schemas/"


def _rename_refs(node: Any, renames: dict[str, str]) -> Any:
    if isinstance(node, dict):
        return {
            key: (
                SCHEMA_REF
                + renames.get(value.removeprefix(SCHEMA_REF), value.removeprefix(SCHEMA_REF))
                if key == "$ref" and isinstance(value, str) and value.startswith(SCHEMA_REF)
                else _rename_refs(value, renames)
            )
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_rename_refs(item, renames) for item in node]
    return node


def merge_documents(
    gateway_document: dict[str, Any],
    service_documents: dict[str, dict[str, Any]],
    routes: Sequence[RouteLike],
) -> dict[str, Any]:
    """Merge: each service brings the `/api/v1` paths it owns; clashing schemas get a prefix."""
    merged = {**gateway_document, "paths": dict(gateway_document.get("paths", {}))}
    schemas: dict[str, Any] = dict(merged.get("components", {}).get("schemas", {}))
    for service, document in sorted(service_documents.items()):
        own_schemas = document.get("components", {}).get("schemas", {})
        renames = {
            name: f"{service.replace('-', '_')}__{name}"
            for name, schema in own_schemas.items()
            if name in schemas and schemas[name] != schema
        }
        for name, schema in own_schemas.items():
            schemas[renames.get(name, name)] = _rename_refs(schema, renames)
        for path, operations in document.get("paths", {}).items():
            if match_upstream(path, routes) == service:
                tagged = {
                    method: {**operation, "tags": operation.get("tags") or [service]}
                    if isinstance(operation, dict)
                    else operation
                    for method, operation in operations.items()
                }
                merged["paths"][path] = _rename_refs(tagged, renames)
    merged["components"] = {**merged.get("components", {}), "schemas": schemas}
    return merged


async def fetch_documents(
    client: httpx.AsyncClient, upstreams: dict[str, str], timeout: float = 5.0
) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Every reachable service's OpenAPI document, and the names of those that did not answer."""

    async def fetch(name: str, base_url: str) -> tuple[str, dict[str, Any] | None]:
        try:
            response = await client.get(f"{base_url}/openapi.json", timeout=timeout)
            response.raise_for_status()
            document: dict[str, Any] = response.json()
            return name, document
        except (httpx.HTTPError, ValueError) as error:
            log.warning("openapi_unavailable", upstream=name, error=type(error).__name__)
            return name, None

    results = await asyncio.gather(*(fetch(name, url) for name, url in upstreams.items()))
    documents = {name: document for name, document in results if document is not None}
    missing = sorted(name for name, document in results if document is None)
    return documents, missing
