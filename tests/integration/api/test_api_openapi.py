"""The OpenAPI document describes the API a Plum user would call."""

from __future__ import annotations

from api_support import TestClient

ENDPOINTS = {
    ("post", "/api/apps/{application_id}/{deployment_id}/queue"),
    ("post", "/api/apps/{application_id}/{deployment_id}/bulk_queue"),
    ("delete", "/api/apps/{application_id}/{deployment_id}/cancel"),
    ("get", "/api/apps/{application_id}/{deployment_id}/calls"),
    ("get", "/api/outbound/{call_id}"),
    ("delete", "/api/outbound/{call_id}"),
    ("get", "/api/batches/{batch_id}"),
}


def test_openapi_json_lists_every_endpoint(client: TestClient) -> None:
    response = client.get("/openapi.json")

    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.")
    assert document["info"]["title"] == "outdial"
    listed = {
        (method, path)
        for path, operations in document["paths"].items()
        for method in operations
        if method in ("get", "post", "put", "patch", "delete")
    }
    assert listed >= ENDPOINTS


def test_queue_documents_its_three_body_formats(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    queue = document["paths"]["/api/apps/{application_id}/{deployment_id}/queue"]["post"]

    media = set(queue["requestBody"]["content"])

    assert media == {
        "application/json",
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    }
    schema = queue["requestBody"]["content"]["application/json"]["schema"]
    assert "phone_number" in schema["required"]
    assert {"max_retries", "retry_interval", "scheduled_timestamp"} <= set(schema["properties"])


def test_the_api_declares_basic_auth(client: TestClient) -> None:
    document = client.get("/openapi.json").json()

    schemes = document["components"]["securitySchemes"]
    assert any(s.get("type") == "http" and s.get("scheme") == "basic" for s in schemes.values())


def test_the_interactive_docs_are_served(client: TestClient) -> None:
    response = client.get("/docs")

    assert response.status_code == 200
    assert "openapi.json" in response.text
