"""The OpenAPI document is served, valid, and lists exactly the routes the matrix covers."""

import re

import pytest
from openapi_spec_validator import validate

from tests.api.conftest import ApiClient
from tests.api.routes import ROUTES

pytestmark = pytest.mark.django_db


def test_openapi_document_is_valid_and_lists_every_route():
    response = ApiClient(None).get("/api/v1/openapi.json")  # public: it describes, it holds no data
    assert response.status_code == 200
    document = response.json()
    validate(document)
    served = {
        (method.upper(), path) for path, operations in document["paths"].items() for method in operations
    }
    assert served == {(r.method, r.path) for r in ROUTES}
    assert document["components"]["securitySchemes"]["KeyAuth"] == {"type": "http", "scheme": "bearer"}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            assert operation.get("security") == [{"KeyAuth": []}], (method, path)
            assert operation.get("summary"), (method, path)


def test_every_api_url_is_in_the_document():
    """No URL under /api/v1/ escapes the document (and so the matrix)."""
    from django.urls import get_resolver

    from tests.test_isolation_matrix import url_patterns

    document = ApiClient(None).get("/api/v1/openapi.json").json()
    routes = {route for _, route in url_patterns(get_resolver().url_patterns) if route.startswith("api/v1/")}
    normalized = {"/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", r) for r in routes}
    # The document itself, and Ninja's root, which without interactive docs says only "not found".
    assert ApiClient(None).get("/api/v1/").status_code == 404
    normalized -= {"/api/v1/openapi.json", "/api/v1/"}
    assert normalized <= set(document["paths"]), normalized - set(document["paths"])
