"""Property-based testing from the OpenAPI documents: schemathesis against a real ``ketqua serve``.

Every operation of both documents gets requests generated from its schema
(valid ones and, mostly, ones that break it) by schemathesis, seeded so a
run is repeatable. Each answer must be no server error, a status the
document lists for the operation, of a documented content type, with the
documented headers and a body valid against the documented schema. The
signer's requests carry a real API key; the verifier's rate limit is raised
for the session's service (one address sends them all).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import hypothesis
import pytest
import requests
import schemathesis
from schemathesis import Case
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.contract import DOCUMENTS
from tests.service import Service

pytestmark = pytest.mark.slow  # both real services, hundreds of requests

EXAMPLES = 100  # per operation: 27 operations, ~2,000 requests
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]

# the library's Case is generic over its operation type, four parameters deep
Operation = Case[Any]
signer = schemathesis.openapi.from_path(DOCUMENTS["signer"])
verifier = schemathesis.openapi.from_path(DOCUMENTS["verifier"])
SETTINGS = hypothesis.settings(
    max_examples=EXAMPLES,
    derandomize=True,  # the same requests every run: a failure reproduces
    deadline=None,
    suppress_health_check=list(hypothesis.HealthCheck),
    database=None,
)


@pytest.fixture(scope="module")
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


@signer.parametrize()
@SETTINGS
def test_the_signer_answers_every_request_as_documented(
    case: Operation, service: Service, api_key: str, http: requests.Session
) -> None:
    case.call_and_validate(
        base_url=service.signer_url,
        session=http,
        headers={"Authorization": f"Bearer {api_key}"},
        checks=CHECKS,
        timeout=30,
    )


@verifier.parametrize()
@SETTINGS
def test_the_verifier_answers_every_request_as_documented(
    case: Operation, service: Service, http: requests.Session
) -> None:
    case.call_and_validate(base_url=service.verifier_url, session=http, checks=CHECKS, timeout=30)
