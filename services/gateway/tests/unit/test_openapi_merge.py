"""Merging the services' OpenAPI documents: owned paths only, clashing schemas renamed."""

from gateway.config import DEFAULT_ROUTES
from gateway.openapi import merge_documents


def document(paths: dict[str, object], schemas: dict[str, object]) -> dict[str, object]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "x", "version": "1"},
        "paths": paths,
        "components": {"schemas": schemas},
    }


def test_each_service_contributes_the_paths_it_owns_and_clashes_are_prefixed() -> None:
    ref = {"$ref": "#/components/schemas/Item"}
    customer = document(
        {
            "/api/v1/customers": {
                "get": {"responses": {"200": {"content": {"application/json": {"schema": ref}}}}}
            },
            "/healthz": {"get": {}},
        },
        {"Item": {"type": "object", "properties": {"license_no": {"type": "string"}}}},
    )
    complaint = document(
        {
            "/api/v1/complaints": {
                "post": {"requestBody": {"content": {"application/json": {"schema": ref}}}}
            },
            "/api/v1/customers": {"get": {"summary": "not owned by complaint-svc"}},
        },
        {"Item": {"type": "object", "properties": {"ref": {"type": "string"}}}},
    )

    merged = merge_documents(
        document({}, {}), {"customer-svc": customer, "complaint-svc": complaint}, DEFAULT_ROUTES
    )

    assert set(merged["paths"]) == {"/api/v1/customers", "/api/v1/complaints"}
    assert merged["paths"]["/api/v1/customers"]["get"]["tags"] == ["customer-svc"]
    complaint_ref = merged["paths"]["/api/v1/complaints"]["post"]["requestBody"]["content"][
        "application/json"
    ]
    customer_ref = merged["paths"]["/api/v1/customers"]["get"]["responses"]["200"]["content"][
        "application/json"
    ]
    assert complaint_ref["schema"]["$ref"] != customer_ref["schema"]["$ref"]
    schemas = merged["components"]["schemas"]
    assert {
        complaint_ref["schema"]["$ref"].rsplit("/", 1)[1],
        customer_ref["schema"]["$ref"].rsplit("/", 1)[1],
    } <= set(schemas)
