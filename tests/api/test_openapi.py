"""The OpenAPI document is generated from the code, complete, and self-contained; so is its page."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask

from views.api.core import OPERATIONS
from workflow.errors import RefusalCode


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        for value in node.values():
            found += _refs(value)
        return found
    if isinstance(node, list):
        return [ref for item in node for ref in _refs(item)]
    return []


def test_the_document_lists_every_operation_with_its_security_and_idempotency(
    app: Flask,
) -> None:
    document = app.test_client().get("/api/v1/openapi.json").get_json()

    assert document["openapi"].startswith("3.1")
    for op in OPERATIONS:
        entry = document["paths"][op.path][op.method.lower()]
        assert entry["operationId"] == op.endpoint
        headers = {p["name"] for p in entry["parameters"] if p["in"] == "header"}
        if op.roles is None:
            assert entry["security"] == []
        else:
            assert entry["security"] == [{"bearer": []}]
            assert "401" in entry["responses"]
        assert ("Idempotency-Key" in headers) == (op.method == "POST" and op.roles is not None)
        for status in ("404", "503"):
            problem = entry["responses"][status]["content"]["application/problem+json"]
            assert problem["schema"] == {"$ref": "#/components/schemas/ProblemOut"}


def test_every_reference_in_the_document_resolves(app: Flask) -> None:
    document = app.test_client().get("/api/v1/openapi.json").get_json()
    schemas = document["components"]["schemas"]

    references = _refs(document)
    assert references, "a document without references would pass vacuously"
    for ref in references:
        assert ref.startswith("#/components/schemas/"), ref
        assert ref.rsplit("/", 1)[1] in schemas, ref


def test_the_docs_page_is_served_from_our_own_files_and_names_every_code(app: Flask) -> None:
    response = app.test_client().get("/api/v1/docs")
    page = response.get_data(as_text=True)

    assert response.status_code == 200
    # No script, stylesheet or image from elsewhere: polling stations may be offline.
    assert not re.search(r"""(src|href)=["']https?://""", page)
    assert "<script" not in page
    for code in RefusalCode:
        assert f'id="problem-{code}"' in page
    for op in OPERATIONS:
        assert f'id="op-{op.endpoint}"' in page
