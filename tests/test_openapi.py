"""Each service answers as its OpenAPI document says, against a real ``ketqua serve``.

Every documented path and method is called, and each answer is checked by the
contract harness (``tests/contract.py``) against the document.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import aiohttp
import pytest
from aiohttp import web
from jsonschema import Draft202012Validator
from yarl import URL

from plumbing.web.metrics import Metrics
from registry.database import Database
from signer.api.app import create_app as create_signer_app
from signer.api.context import SignerContext
from signer.metadata import parse_metadata
from tests.contract import (
    CONTRACTS,
    DOCUMENTS,
    OPERATIONS,
    Api,
    Clients,
    escape,
    load_document,
)
from tests.pdfs import example_metadata, result_pdf, small_page_pdf
from tests.service import Service, resolved_on, submission, unique_metadata
from verifier.app import create_app as create_verifier_app

pytestmark = pytest.mark.slow  # every route of both real services

OPEN_SIGNER_PATHS = {"/healthz", "/metrics", "/api/v1/openapi.json"}
UNKNOWN_ID = "01J8Z3W6T0G5K7Q2R9X4B1C3DE"
TIMEOUT = aiohttp.ClientTimeout(total=60)


@pytest.fixture(scope="module")
def verifier_alone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """``ketqua serve --role verifier`` with an empty home: no trust list, its own /metrics."""
    home = tmp_path_factory.mktemp("verifier-alone") / "home"
    svc = Service(home, role="verifier").start()
    yield svc
    if svc.process is not None and svc.process.poll() is None:
        svc.stop()


@pytest.fixture
async def clients(
    service: Service, api_key: str, verifier_alone: Service, example_pdf: bytes
) -> AsyncIterator[Clients]:
    async with aiohttp.ClientSession(timeout=TIMEOUT) as session:
        yield Clients(
            signer=Api(session, service.signer_url, CONTRACTS["signer"]),
            verifier=Api(session, service.verifier_url, CONTRACTS["verifier"]),
            verifier_alone=Api(session, verifier_alone.verifier_url, CONTRACTS["verifier"]),
            key=api_key,
            pdf=example_pdf,
        )


# -- the documents themselves ---------------------------------------------------------------


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_the_document_is_well_formed(name: str) -> None:
    contract = CONTRACTS[name]
    document = contract.document
    assert document["openapi"] == "3.1.0"
    assert document["info"]["title"] == f"ketqua {name}"
    for ref in _refs(document):
        assert ref.startswith("#/"), ref
        contract.resolve(ref[1:])  # raises if it leads nowhere
    for schema in document["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)
    operation_ids = [op["operationId"] for _, _, op in contract.operations()]
    assert len(operation_ids) == len(set(operation_ids))
    for path, method, operation in contract.operations():
        assert operation["responses"], f"{method} {path}"
        for status in operation["responses"]:
            assert len(status) == 3, f"{method} {path} {status}"
            assert 100 <= int(status) <= 599, f"{method} {path} {status}"
            _, resolved = contract.resolve(f"/paths/{escape(path)}/{method}/responses/{status}")
            assert resolved["description"]
            for media in (resolved.get("content") or {}).values():
                assert "schema" in media, f"{method} {path} {status}"
        parameters = [
            contract.resolve(f"/paths/{escape(path)}/{where}/{i}")[1]
            for where, params in (
                ("parameters", document["paths"][path].get("parameters", [])),
                (f"{method}/parameters", operation.get("parameters", [])),
            )
            for i in range(len(params))
        ]
        in_path = {p["name"] for p in parameters if p["in"] == "path"}
        assert in_path == {part[1:-1] for part in path.split("/") if part.startswith("{")}


def test_the_signer_needs_a_key_except_on_its_open_routes() -> None:
    contract = CONTRACTS["signer"]
    assert contract.document["security"] == [{"bearer": []}]
    scheme = contract.document["components"]["securitySchemes"]["bearer"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    for path, method, operation in contract.operations():
        if path in OPEN_SIGNER_PATHS:
            assert operation.get("security") == [], f"{method} {path}"
        else:
            assert "security" not in operation, f"{method} {path}"
            assert "401" in operation["responses"], f"{method} {path}"


def _routes(app: web.Application) -> set[tuple[str, str]]:
    return {
        (route.resource.canonical, route.method.lower())
        for route in app.router.routes()
        if route.resource is not None and route.method != "HEAD"
    }


def test_the_documents_list_exactly_the_routes_of_the_applications() -> None:
    # the applications are only built, never started: their context is not touched
    signer_ctx = cast(SignerContext, SimpleNamespace(pipeline=SimpleNamespace(pool=None)))
    signer = create_signer_app(signer_ctx, Metrics())
    verifier = create_verifier_app(
        cast(Database, None), Path("trust-list.json"), Metrics(), with_metrics=True
    )
    for name, app in (("signer", signer), ("verifier", verifier)):
        documented = {(path, method) for path, method, _ in CONTRACTS[name].operations()}
        assert _routes(app) == documented, name


def test_the_documented_metadata_is_the_metadata_the_signer_reads() -> None:
    contract = CONTRACTS["signer"]
    pointer = "/components/schemas/ResultMetadata"
    schema = contract.resolve(pointer)[1]
    for example in [*schema["examples"], example_metadata(), unique_metadata()]:
        contract.validate(example, pointer)
        parse_metadata(json.dumps(example))
    without_email = {**example_metadata(), "applicant": {"name": "Nguyễn Văn An"}}
    assert not contract.validator(pointer).is_valid(without_email)
    assert contract.validator(pointer).is_valid({**without_email, "deliver": {"email": False}})
    assert not contract.validator(pointer).is_valid({**example_metadata(), "extra": 1})
    assert not contract.validator(pointer).is_valid({**example_metadata(), "result_no": "1"})


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
async def test_the_served_document_is_the_one_in_the_repository(
    clients: Clients, name: str
) -> None:
    api = clients.signer if name == "signer" else clients.verifier
    answer = await api.call("GET", "/api/v1/openapi.json", 200)
    assert answer.json() == load_document(name)


# -- every documented operation, called as a client would ----------------------------------


async def _create_result(c: Clients) -> None:
    metadata = unique_metadata()
    accepted = await c.submit(metadata)
    body = accepted.json()
    assert body["state"] in ("queued", "signing")  # a worker may claim it before the answer
    assert accepted.headers["Location"] == f"/api/v1/results/{body['id']}"
    again = await c.submit(metadata, expect=200)
    assert again.json()["id"] == body["id"]


async def _list_results(c: Clients) -> None:
    first = await c.published()
    second = await c.published()
    path = "/api/v1/results"
    query = {"state": "published", "limit": "1"}
    page = (await c.signer.call("GET", path, 200, key=c.key, params=query)).json()
    assert [item["state"] for item in page["items"]] == ["published"]
    assert page["next"] is not None
    following = URL(page["next"])
    assert following.path == path
    assert dict(following.query) == {**query, "after": page["items"][0]["id"]}
    then = (await c.signer.call("GET", path, 200, key=c.key, params=following.query)).json()
    assert then["items"][0]["id"] > page["items"][0]["id"]
    mine = {**query, "limit": "50", "after": first["id"]}
    last = (await c.signer.call("GET", path, 200, key=c.key, params=mine)).json()
    assert [item["id"] for item in last["items"]] == [second["id"]]
    assert last["next"] is None


async def _get_result(c: Clients) -> None:
    result = await c.published()
    assert result["signature"] is not None
    assert result["links"]["document"] == f"/api/v1/results/{result['id']}/document"
    assert result["verification_url"] == result["links"]["verification"]
    states = [e["state"] for e in result["events"]]
    assert states[0] == "queued"
    assert states[-3:] == ["signing", "signed", "published"]


async def _get_document(c: Clients) -> None:
    result = await c.published()
    path = "/api/v1/results/{id}/document"
    answer = await c.signer.call("GET", path, 200, key=c.key, result_id=result["id"])
    digest = hashlib.sha256(answer.body).hexdigest()
    assert digest == result["signature"]["document_sha256"]
    assert answer.headers["ETag"] == f'"{digest}"'
    assert f'filename="{result["result_code"]}.pdf"' in answer.headers["Content-Disposition"]
    again = await c.signer.call(
        "GET",
        path,
        304,
        key=c.key,
        result_id=result["id"],
        headers={"If-None-Match": f'"{digest}"'},
    )
    assert again.headers["ETag"] == f'"{digest}"'


async def _revoke(c: Clients) -> None:
    result = await c.published()
    path = "/api/v1/results/{id}/revoke"
    answer = await c.signer.call(
        "POST",
        path,
        200,
        key=c.key,
        result_id=result["id"],
        json={"reason_code": "issued_in_error", "reason": "  wrong  applicant "},
    )
    revoked = answer.json()
    assert revoked["state"] == "revoked"
    assert revoked["revocation_code"] == "issued_in_error"
    assert revoked["revoked_reason"] == "wrong applicant"
    last = revoked["events"][-1]
    assert (last["state"], last["detail"]) == ("revoked", "issued_in_error: wrong applicant")
    assert last["actor"] != "pipeline"
    again = await c.signer.call(
        "POST",
        path,
        200,
        key=c.key,
        result_id=result["id"],
        json={"reason_code": "other", "reason": "another reason"},
    )
    assert again.json()["revocation_code"] == "issued_in_error"
    assert again.json()["revoked_reason"] == "wrong applicant"


async def _resend(c: Clients) -> None:
    accepted = (await c.submit(unique_metadata(deliver={"email": True}))).json()
    result = await c.wait_for(accepted["id"], "delivered")
    assert len(result["deliveries"]) == 1
    answer = await c.signer.call(
        "POST", "/api/v1/results/{id}/resend", 202, key=c.key, result_id=result["id"]
    )
    assert "resend" in [e["state"] for e in answer.json()["events"]]
    assert len(answer.json()["deliveries"]) == 2
    quiet = await c.published()  # asks for no email: nothing to resend
    await c.signer.call(
        "POST", "/api/v1/results/{id}/resend", 409, key=c.key, result_id=quiet["id"]
    )


async def _signer_openapi(c: Clients) -> None:
    await c.signer.call("GET", "/api/v1/openapi.json", 200)


async def _signer_health(c: Clients) -> None:
    health = (await c.signer.call("GET", "/healthz", 200)).json()
    assert health["status"] == "ok"
    assert health["workers"]["size"] == 2


async def _signer_metrics(c: Clients) -> None:
    text = (await c.signer.call("GET", "/metrics", 200)).body.decode()
    assert "ketqua_results{" in text
    assert "ketqua_queue_depth " in text


async def _trust_list(c: Clients) -> None:
    trust = (await c.verifier.call("GET", "/api/v1/trust-list", 200)).json()
    assert trust["seal_keys"]
    assert trust["document_roots"]
    alone = (await c.verifier_alone.call("GET", "/api/v1/trust-list", 503)).json()
    assert alone["type"] == "urn:ketqua:problem:unavailable"


async def _seal_page(c: Clients, path: str = "/v/{seal}") -> None:
    result = await c.published()
    seal = result["verification_url"].rsplit("/", 1)[1]
    json_ = {"Accept": "application/json"}
    valid = await c.verifier.call("GET", path, 200, seal=seal, headers=json_)
    assert valid.json()["verdict"] == "valid"
    page = await c.verifier.call("GET", path, 200, seal=seal)
    assert page.content_type == "text/html"
    forged = await c.verifier.call("GET", path, 200, seal="AAAA" + seal[4:], headers=json_)
    assert forged.json()["verdict"] == "invalid"


async def _seal_page_upper(c: Clients) -> None:
    await _seal_page(c, "/V/{seal}")


async def _verify_upload(c: Clients) -> None:
    result = await c.published()
    pdf = await c.signer.call(
        "GET", "/api/v1/results/{id}/document", 200, key=c.key, result_id=result["id"]
    )
    form = aiohttp.FormData()
    form.add_field("document", pdf.body, filename="kq.pdf", content_type="application/pdf")
    report = await c.verifier.call("POST", "/api/v1/verify", 200, data=form)
    assert report.json()["verdict"] == "valid"
    bad = aiohttp.FormData()
    bad.add_field("document", b"not a pdf", filename="x.pdf", content_type="application/pdf")
    await c.verifier.call("POST", "/api/v1/verify", 422, data=bad)
    await c.verifier.call("POST", "/api/v1/verify", 415, json={})


async def _check_form(c: Clients) -> None:
    page = await c.verifier.call("GET", "/kiem-tra", 200)
    assert 'enctype="multipart/form-data"' in page.body.decode()


async def _check_from_form(c: Clients) -> None:
    result = await c.published()
    pdf = await c.signer.call(
        "GET", "/api/v1/results/{id}/document", 200, key=c.key, result_id=result["id"]
    )
    form = aiohttp.FormData()
    form.add_field("document", pdf.body, filename="kq.pdf", content_type="application/pdf")
    report = await c.verifier.call("POST", "/kiem-tra", 200, data=form)
    assert 'class="verdict valid"' in report.body.decode()
    bad = aiohttp.FormData()
    bad.add_field("document", b"not a pdf", filename="x.pdf", content_type="application/pdf")
    await c.verifier.call("POST", "/kiem-tra", 422, data=bad)
    await c.verifier.call("POST", "/kiem-tra", 415, json={})


async def _statistics(c: Clients) -> None:
    published = await c.published()
    day = resolved_on(str(published["dossier_code"]))  # its resolved_at, in Vietnam
    path = "/api/v1/statistics"
    figures = await c.verifier.call("GET", path, 200, params={"from": day, "to": day})
    assert figures.json()["resolved"] >= 1
    await c.verifier.call("GET", path, 400, params={"period": "2022-Q9"})


async def _statistics_page(c: Clients) -> None:
    page = await c.verifier.call("GET", "/thong-ke", 200, params={"period": "2022"})
    assert "01/01/2022" in page.body.decode()  # as people read dates
    await c.verifier.call("GET", "/thong-ke", 200)  # no period: the current quarter
    await c.verifier.call("GET", "/thong-ke", 400, params={"period": "2022-Q5"})


async def _lookup(c: Clients) -> None:
    result = await c.published()
    path = "/api/v1/lookup/{dossier_code}"
    status = await c.verifier.call("GET", path, 200, dossier=result["dossier_code"])
    assert status.json()["status"] == "resolved"
    await c.verifier.call("GET", path, 400, dossier="not-a-code")


async def _lookup_document(c: Clients) -> None:
    result = await c.published()
    path = "/api/v1/lookup/{dossier_code}/document"
    await c.verifier.call("GET", path, 401, dossier=result["dossier_code"])


async def _listing(c: Clients, path: str = "/api/v1/published") -> None:
    await c.published()
    first = await c.verifier.call("GET", path, 200)
    await c.verifier.call("GET", path, 304, headers={"If-None-Match": first.headers["ETag"]})
    await c.verifier.call("GET", path, 400, params={"from": "soon"})


async def _feed(c: Clients) -> None:
    await _listing(c, "/api/v1/published.atom")


async def _listing_page(c: Clients) -> None:
    await _listing(c, "/ket-qua")


async def _lookup_page(c: Clients) -> None:
    result = await c.published()
    page = await c.verifier.call(
        "GET", "/tra-cuu/{dossier_code}", 200, dossier=result["dossier_code"]
    )
    assert result["dossier_code"] in page.body.decode()
    await c.verifier.call("GET", "/tra-cuu/{dossier_code}", 400, dossier="x")


async def _lookup_page_with_code(c: Clients) -> None:
    result = await c.published()
    path = "/tra-cuu/{dossier_code}"
    wrong = await c.verifier.call(
        "POST", path, 200, dossier=result["dossier_code"], data={"ma": "khong-dung"}
    )
    assert "ma" in wrong.body.decode()


async def _home(c: Clients) -> None:
    page = await c.verifier.call("GET", "/", 200)
    assert 'action="/tra-cuu"' in page.body.decode()


async def _lookup_form(c: Clients) -> None:
    page = await c.verifier.call("GET", "/tra-cuu", 200)
    assert 'name="ma_ho_so"' in page.body.decode()


async def _lookup_from_form(c: Clients) -> None:
    result = await c.published()
    typed = " " + str(result["dossier_code"]).lower().replace("-", " - ") + " "
    page = await c.verifier.call("POST", "/tra-cuu", 200, data={"ma_ho_so": typed, "ma": ""})
    assert result["dossier_code"] in page.body.decode()
    await c.verifier.call("POST", "/tra-cuu", 400, data={"ma_ho_so": "abc"})


async def _lookup_page_document(c: Clients) -> None:
    result = await c.published()
    path = "/tra-cuu/{dossier_code}/van-ban"
    await c.verifier.call("POST", path, 403, dossier=result["dossier_code"], data={"ma": "sai"})


async def _stylesheet(c: Clients) -> None:
    css = await c.verifier.call("GET", "/static/ketqua.css", 200)
    assert b"max-width" in css.body


async def _verifier_openapi(c: Clients) -> None:
    await c.verifier.call("GET", "/api/v1/openapi.json", 200)
    await c.verifier_alone.call("GET", "/api/v1/openapi.json", 200)


async def _verifier_health(c: Clients) -> None:
    for api in (c.verifier, c.verifier_alone):
        assert (await api.call("GET", "/healthz", 200)).json() == {
            "status": "ok",
            "database": "ok",
        }


async def _verifier_metrics(c: Clients) -> None:
    # beside the signer (one process): the signer's /metrics carries the verifier's series
    await c.verifier.call("GET", "/metrics", 404)
    await c.verifier_alone.call("GET", "/healthz", 200)  # a request to count, in any order
    text = (await c.verifier_alone.call("GET", "/metrics", 200)).body.decode()
    assert 'service="verifier"' in text


DRIVERS: dict[tuple[str, str], Callable[[Clients], Awaitable[None]]] = {
    ("signer", "createResult"): _create_result,
    ("signer", "listResults"): _list_results,
    ("signer", "getResult"): _get_result,
    ("signer", "getResultDocument"): _get_document,
    ("signer", "revokeResult"): _revoke,
    ("signer", "resendResult"): _resend,
    ("signer", "getOpenApi"): _signer_openapi,
    ("signer", "getHealth"): _signer_health,
    ("signer", "getMetrics"): _signer_metrics,
    ("verifier", "getTrustList"): _trust_list,
    ("verifier", "getSealPage"): _seal_page,
    ("verifier", "getSealPageUpper"): _seal_page_upper,
    ("verifier", "getStylesheet"): _stylesheet,
    ("verifier", "home"): _home,
    ("verifier", "lookupForm"): _lookup_form,
    ("verifier", "lookupFromForm"): _lookup_from_form,
    ("verifier", "lookupPage"): _lookup_page,
    ("verifier", "lookupPageWithCode"): _lookup_page_with_code,
    ("verifier", "lookupPageDocument"): _lookup_page_document,
    ("verifier", "listPublished"): _listing,
    ("verifier", "publishedFeed"): _feed,
    ("verifier", "publishedPage"): _listing_page,
    ("verifier", "lookupDossier"): _lookup,
    ("verifier", "lookupDocument"): _lookup_document,
    ("verifier", "getStatistics"): _statistics,
    ("verifier", "getStatisticsPage"): _statistics_page,
    ("verifier", "verifyUpload"): _verify_upload,
    ("verifier", "checkForm"): _check_form,
    ("verifier", "checkFromForm"): _check_from_form,
    ("verifier", "getOpenApi"): _verifier_openapi,
    ("verifier", "getHealth"): _verifier_health,
    ("verifier", "getMetrics"): _verifier_metrics,
}


@pytest.mark.parametrize(
    ("name", "path", "method"), OPERATIONS, ids=[f"{n}:{m.upper()} {p}" for n, p, m in OPERATIONS]
)
async def test_every_documented_operation_answers_as_documented(
    clients: Clients, name: str, path: str, method: str
) -> None:
    operation_id = CONTRACTS[name].operation(path, method)["operationId"]
    driver = DRIVERS.get((name, operation_id))
    assert driver is not None, f"no test request for the {name}'s {method.upper()} {path}"
    await driver(clients)


async def test_every_get_route_answers_head(clients: Clients) -> None:
    result = await clients.published()
    for api in (clients.signer, clients.verifier):
        for path, method, _ in api.contract.operations():
            if method != "get":
                continue
            url = api.url + path.replace("{id}", result["id"])
            async with api.session.get(
                url, headers={"Authorization": f"Bearer {clients.key}"}
            ) as got:
                await got.read()
            async with api.session.head(
                url, headers={"Authorization": f"Bearer {clients.key}"}
            ) as head:
                assert head.status == got.status, path
                assert head.content_type == got.content_type, path
                assert await head.read() == b""


# -- the refusals, each as documented -------------------------------------------------------


async def test_without_a_valid_key_every_protected_route_is_401(clients: Clients) -> None:
    api = clients.signer
    for path, method, operation in api.contract.operations():
        if operation.get("security") == []:
            continue
        for key in (None, "kq_0000_not-a-key"):
            answer = await api.call(method.upper(), path, 401, key=key, result_id=UNKNOWN_ID)
            assert answer.headers["WWW-Authenticate"] == 'Bearer realm="ketqua"'
            assert answer.json()["type"] == "urn:ketqua:problem:unauthorized"


async def test_unknown_results_are_404(clients: Clients) -> None:
    api = clients.signer
    for path, method, _ in api.contract.operations():
        if "{id}" not in path:
            continue
        for result_id in (UNKNOWN_ID, "not-an-id"):
            extra: dict[str, Any] = {"json": {"reason_code": "other"}} if method == "post" else {}
            answer = await api.call(
                method.upper(), path, 404, key=clients.key, result_id=result_id, **extra
            )
            assert answer.json()["field"] == "id"


async def test_undocumented_paths_and_methods_are_problems(clients: Clients) -> None:
    nowhere = "/api/v1/nowhere"
    for api, key in ((clients.signer, clients.key), (clients.verifier, None)):
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        assert nowhere not in api.contract.document["paths"]
        async with api.session.get(api.url + nowhere, headers=headers) as response:
            body = await response.json(content_type=None)
            assert (response.status, response.content_type) == (404, "application/problem+json")
        api.contract.validate(body, "/components/schemas/Problem")
        assert body["type"] == "urn:ketqua:problem:not-found"
        async with api.session.post(api.url + "/healthz") as response:
            body = await response.json(content_type=None)
            assert (response.status, response.content_type) == (405, "application/problem+json")
            assert response.headers["Allow"] == "GET,HEAD"
        api.contract.validate(body, "/components/schemas/Problem")
    # the key is checked before the route: a stranger learns nothing about paths
    async with clients.signer.session.get(clients.signer.url + nowhere) as response:
        assert response.status == 401


async def test_submissions_refused_as_documented(clients: Clients) -> None:
    api, key, path = clients.signer, clients.key, "/api/v1/results"
    not_multipart = await api.call("POST", path, 415, key=key, json=unique_metadata())
    assert not_multipart.json()["type"] == "urn:ketqua:problem:unsupported-media-type"

    form = aiohttp.FormData()
    form.add_field("metadata", json.dumps(unique_metadata()), content_type="application/json")
    missing = await api.call("POST", path, 400, key=key, data=form)
    assert missing.json()["field"] == "document"

    big = json.dumps({**unique_metadata(), "padding": "x" * 70_000}).encode()
    over = await api.call("POST", path, 413, key=key, data=submission(big, clients.pdf))
    assert over.json()["field"] == "metadata"

    cases: list[tuple[dict[str, object] | bytes, bytes, str]] = [
        (b"{not json", clients.pdf, "metadata"),
        (unique_metadata(dossier_code="000.00.14.H49-221399-0001"), clients.pdf, "dossier_code"),
        (
            unique_metadata(applicant={"name": "An"}, deliver={"email": True}),
            clients.pdf,
            "applicant.email",
        ),
        (unique_metadata(due_at="2022-02-01T08:00:00+07:00"), clients.pdf, "due_at"),
        (unique_metadata(result_no=0), clients.pdf, "result_no"),
        (
            unique_metadata(
                agency={"code": "000.00.15.H49", "name": "Ủy ban nhân dân huyện Cô Tô"}
            ),
            clients.pdf,
            "dossier_code",  # the dossier's code names another agency than agency.code
        ),
        (unique_metadata(supersedes=UNKNOWN_ID), clients.pdf, "supersedes"),
        (unique_metadata(), b"not a PDF at all", "document"),
    ]
    for metadata, pdf, field in cases:
        form = submission(metadata, pdf)
        refused = await api.call("POST", path, 422, key=key, data=form)
        assert refused.json()["field"] == field, refused.json()
        assert refused.json()["errors"][0]["pointer"] == "#/" + field.replace(".", "/")

    foreign = unique_metadata(
        agency={"code": "000.00.15.H49", "name": "Ủy ban nhân dân huyện Cô Tô"}
    )
    foreign["dossier_code"] = "000.00.15.H49" + str(foreign["dossier_code"])[13:]
    refused = await api.call("POST", path, 403, key=key, data=submission(foreign, clients.pdf))
    assert refused.json()["field"] == "agency.code"  # this key acts for this signer's agency

    metadata = unique_metadata()
    first = (await clients.submit(metadata)).json()
    other = result_pdf(trailing_text="other bytes")
    conflict = (await clients.submit(metadata, other, expect=409)).json()
    assert conflict["existing"] == first["id"]
    assert conflict["type"] == "urn:ketqua:problem:conflict"


async def test_corrections_and_revocations_refused_as_documented(clients: Clients) -> None:
    api, key = clients.signer, clients.key
    old = await clients.published()
    corrected = result_pdf(trailing_text="corrected")
    correction = unique_metadata(dossier_code=old["dossier_code"], supersedes=old["id"])
    new = (await clients.submit(correction, corrected)).json()
    assert new["result_no"] == old["result_no"] + 1
    superseded = await clients.result(old["id"])
    assert superseded["state"] == "superseded"
    assert superseded["superseded_by"] == new["id"]

    again = result_pdf(trailing_text="corrected twice")
    twice = (await clients.submit(correction, again, expect=409)).json()
    assert twice["existing"] == new["id"]

    revoke = "/api/v1/results/{id}/revoke"
    reason = {"reason_code": "issued_in_error", "reason": "wrong applicant"}
    refused = await api.call("POST", revoke, 409, key=key, result_id=old["id"], json=reason)
    assert refused.json()["field"] == "id"
    await api.call("POST", "/api/v1/results/{id}/resend", 409, key=key, result_id=old["id"])

    target = new["id"]
    not_json = await api.call("POST", revoke, 400, key=key, result_id=target, data=b"reason?")
    assert not_json.json()["field"] == "reason_code"
    refusals: list[tuple[object, str]] = [
        ({}, "reason_code"),
        ({"reason": "wrong applicant"}, "reason_code"),
        ({"reason_code": "because"}, "reason_code"),
        (["reason_code"], "reason_code"),
        ({"reason_code": "other", "reason": 7}, "reason"),
        ({"reason_code": "other", "reason": "x" * 501}, "reason"),
    ]
    for body, field in refusals:
        invalid = await api.call("POST", revoke, 422, key=key, result_id=target, json=body)
        assert invalid.json()["field"] == field
    huge = {"reason_code": "other", "reason": "x" * 70_000}
    await api.call("POST", revoke, 413, key=key, result_id=target, json=huge)

    revoked = (await api.call("POST", revoke, 200, key=key, result_id=target, json=reason)).json()
    assert revoked["state"] == "revoked"
    resend = await api.call("POST", "/api/v1/results/{id}/resend", 409, key=key, result_id=target)
    assert resend.json()["type"] == "urn:ketqua:problem:conflict"


async def test_a_result_that_cannot_be_signed_has_no_document(clients: Clients) -> None:
    accepted = (await clients.submit(unique_metadata(), small_page_pdf(100, 100))).json()
    failed = await clients.wait_for(accepted["id"], "failed")
    assert failed["failure"]
    assert failed["signature"] is None
    assert "document" not in failed["links"]
    api, key = clients.signer, clients.key
    no_document = await api.call(
        "GET", "/api/v1/results/{id}/document", 409, key=key, result_id=accepted["id"]
    )
    assert no_document.json()["type"] == "urn:ketqua:problem:conflict"
    await api.call("POST", "/api/v1/results/{id}/resend", 409, key=key, result_id=accepted["id"])
    failed_ids: list[str] = []
    query: dict[str, str] = {"state": "failed", "limit": "200"}
    while True:
        page = (await api.call("GET", "/api/v1/results", 200, key=key, params=query)).json()
        assert {item["state"] for item in page["items"]} <= {"failed"}
        failed_ids += [item["id"] for item in page["items"]]
        if page["next"] is None:
            break
        query = dict(URL(page["next"]).query)
    assert accepted["id"] in failed_ids


async def test_bad_list_queries_are_400(clients: Clients) -> None:
    for params, field in (
        ({"state": "lost"}, "state"),
        ({"limit": "0"}, "limit"),
        ({"limit": "201"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"after": "yesterday"}, "after"),
    ):
        answer = await clients.signer.call(
            "GET", "/api/v1/results", 400, key=clients.key, params=params
        )
        assert answer.json()["field"] == field
