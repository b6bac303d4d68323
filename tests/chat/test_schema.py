"""The OpenAPI document describes the bot API completely and validates without warnings."""

import json

from django.core.management import call_command

ERROR_REF = "#/components/schemas/Error"


def generate(tmp_path) -> dict:
    path = tmp_path / "schema.json"
    call_command(
        "spectacular",
        "--validate",
        "--fail-on-warn",
        "--format",
        "openapi-json",
        "--file",
        str(path),
    )
    return json.loads(path.read_text())


def test_schema_validates_and_describes_both_endpoints(tmp_path):
    """`spectacular --validate --fail-on-warn` passes; both endpoints are there with the
    bearer scheme, the Idempotency-Key header and the error schema on every error."""
    schema = generate(tmp_path)

    create = schema["paths"]["/api/v1/escalations/"]["post"]
    detail = schema["paths"]["/api/v1/escalations/{id}/"]["get"]

    assert schema["components"]["securitySchemes"]["botToken"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schema["components"]["securitySchemes"]["botToken"]["description"],
    }
    for operation in (create, detail):
        assert operation["security"] == [{"botToken": []}]
    assert {"Idempotency-Key"} <= {p["name"] for p in create["parameters"] if p["in"] == "header"}
    assert create["requestBody"]["content"]["application/json"]["schema"]["$ref"] == (
        "#/components/schemas/EscalationRequest"
    )

    assert set(create["responses"]) == {
        "200",
        "201",
        "400",
        "401",
        "403",
        "409",
        "413",
        "415",
        "429",
    }
    assert set(detail["responses"]) == {"200", "401", "403", "404", "429"}
    for operation in (create, detail):
        for code, response in operation["responses"].items():
            if code.startswith(("4", "5")):
                ref = response["content"]["application/json"]["schema"]["$ref"]
                assert ref == ERROR_REF, code
        assert "Retry-After" in operation["responses"]["429"]["headers"]
        assert "WWW-Authenticate" in operation["responses"]["401"]["headers"]

    error = schema["components"]["schemas"]["Error"]
    assert set(error["required"]) == {"code", "message", "errors"}
    entry = schema["components"]["schemas"]["TranscriptEntryRequest"]
    assert set(entry["properties"]) == {"from", "text", "at"}


def test_live_schema_and_docs_are_served(client):
    """/api/schema/ serves the document and /api/docs/ the Swagger UI, without login."""
    schema = client.get("/api/schema/?format=json")
    docs = client.get("/api/docs/")

    assert schema.status_code == 200
    assert "/api/v1/escalations/" in schema.json()["paths"]
    assert docs.status_code == 200
    assert b"swagger" in docs.content.lower()
