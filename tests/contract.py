"""The OpenAPI contract harness: each service's answers checked against its document.

``Contract`` is one OpenAPI document: its operations, and a check that an
answer's status is one the document lists, its Content-Type one the
document gives for that status, its required headers present, and a JSON
body valid against the documented schema (JSON Schema 2020-12,
``#/components/...`` resolved within the document). ``Api`` calls a real
service and checks every answer; ``Clients`` is what the contract tests use.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
from jsonschema import Draft202012Validator, FormatChecker
from multidict import CIMultiDictProxy
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from tests.service import submission, unique_metadata

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = {
    "signer": ROOT / "signer" / "api" / "openapi.json",
    "verifier": ROOT / "verifier" / "openapi.json",
}
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
TIMEOUT = aiohttp.ClientTimeout(total=60)
PUBLISH_TIMEOUT = 30.0


def _date_time(value: object) -> bool:
    """RFC 3339 date-time with its offset (jsonschema checks it only with extra packages)."""
    if not isinstance(value, str):
        return True
    if "T" not in value.upper():
        return False
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return parsed.tzinfo is not None


FORMATS = FormatChecker()
FORMATS.checks("date-time")(_date_time)


def escape(segment: str) -> str:
    return segment.replace("~", "~0").replace("/", "~1")


def load_document(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(DOCUMENTS[name].read_text(encoding="utf-8"))
    return document


@dataclass(frozen=True)
class Answer:
    status: int
    content_type: str
    headers: CIMultiDictProxy[str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Contract:
    """One OpenAPI document: its operations, and checks of answers against them."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.document = load_document(name)
        self.base = f"urn:ketqua:openapi:{name}"
        resource: Resource[Any] = Resource.from_contents(
            self.document, default_specification=DRAFT202012
        )
        self.registry: Registry[Any] = Registry().with_resource(self.base, resource)

    def operations(self) -> Iterator[tuple[str, str, dict[str, Any]]]:
        for path, item in self.document["paths"].items():
            for method in METHODS:
                if method in item:
                    yield path, method, item[method]

    def operation(self, path: str, method: str) -> dict[str, Any]:
        item = self.document["paths"].get(path)
        assert item is not None, f"{path} is not documented for the {self.name}"
        operation = item.get(method.lower())
        assert operation is not None, f"{method} {path} is not documented for the {self.name}"
        found: dict[str, Any] = operation
        return found

    def resolve(self, pointer: str) -> tuple[str, Any]:
        """The object at ``pointer``, following local ``$ref``s; and its own pointer."""
        node: Any = self.document
        for raw in pointer.split("/")[1:]:
            segment = raw.replace("~1", "/").replace("~0", "~")
            node = node[int(segment)] if isinstance(node, list) else node[segment]
        target = node.get("$ref") if isinstance(node, dict) else None
        if isinstance(target, str) and target.startswith("#/"):
            return self.resolve(target[1:])
        return pointer, node

    def validator(self, pointer: str) -> Any:
        schema = {"$ref": f"{self.base}#{pointer}"}
        return Draft202012Validator(schema, registry=self.registry, format_checker=FORMATS)

    def validate(self, instance: Any, pointer: str) -> None:
        errors = list(self.validator(pointer).iter_errors(instance))
        assert not errors, "\n".join(
            f"{'/'.join(str(p) for p in e.absolute_path)}: {e.message}" for e in errors
        )

    def check(self, path: str, method: str, answer: Answer) -> None:
        responses = self.operation(path, method)["responses"]
        status = str(answer.status)
        assert status in responses, (
            f"{method} {path} answered {status}, documented: {sorted(responses)}: "
            f"{answer.body[:300]!r}"
        )
        base = f"/paths/{escape(path)}/{method.lower()}/responses/{status}"
        pointer, response = self.resolve(base)
        for name in response.get("headers", {}):
            header_pointer, header = self.resolve(f"{pointer}/headers/{escape(name)}")
            value = answer.headers.get(name)
            if header.get("required"):
                assert value is not None, f"{method} {path} {status}: no {name} header"
            if value is not None and "schema" in header:
                self.validate(value, f"{header_pointer}/schema")
        content = response.get("content")
        if not content:
            assert answer.body == b"", f"{method} {path} {status}: a body where none is documented"
            return
        assert answer.content_type in content, (
            f"{method} {path} {status}: Content-Type {answer.content_type}, "
            f"documented: {sorted(content)}"
        )
        media = f"{pointer}/content/{escape(answer.content_type)}"
        if answer.content_type.endswith("json"):
            self.validate(answer.json(), f"{media}/schema")
        elif answer.content_type == "application/pdf":
            assert answer.body.startswith(b"%PDF-")
        else:
            self.validate(answer.body.decode("utf-8"), f"{media}/schema")


CONTRACTS = {name: Contract(name) for name in DOCUMENTS}
OPERATIONS = [
    (name, path, method)
    for name, contract in CONTRACTS.items()
    for path, method, _ in contract.operations()
]


class Api:
    """Calls to one service, each checked against its document."""

    def __init__(self, session: aiohttp.ClientSession, url: str, contract: Contract) -> None:
        self.session = session
        self.url = url
        self.contract = contract

    async def call(
        self,
        method: str,
        path: str,
        expect: int,
        *,
        key: str | None = None,
        result_id: str | None = None,
        seal: str | None = None,
        dossier: str | None = None,
        **kwargs: Any,
    ) -> Answer:
        headers: dict[str, str] = dict(kwargs.pop("headers", {}))
        if key is not None:
            headers["Authorization"] = f"Bearer {key}"
        target = path.replace("{id}", result_id) if result_id is not None else path
        target = target.replace("{seal}", seal) if seal is not None else target
        target = target.replace("{dossier_code}", dossier) if dossier is not None else target
        async with self.session.request(
            method, self.url + target, headers=headers, **kwargs
        ) as response:
            answer = Answer(
                response.status, response.content_type, response.headers, await response.read()
            )
        assert answer.status == expect, f"{method} {target}: {answer.status} {answer.body[:500]!r}"
        self.contract.check(path, method, answer)
        return answer


@dataclass
class Clients:
    signer: Api
    verifier: Api
    verifier_alone: Api
    key: str
    pdf: bytes

    async def submit(
        self, metadata: dict[str, object] | bytes, pdf: bytes | None = None, expect: int = 202
    ) -> Answer:
        form = submission(metadata, self.pdf if pdf is None else pdf)
        return await self.signer.call("POST", "/api/v1/results", expect, key=self.key, data=form)

    async def result(self, result_id: str) -> dict[str, Any]:
        answer = await self.signer.call(
            "GET", "/api/v1/results/{id}", 200, key=self.key, result_id=result_id
        )
        body: dict[str, Any] = answer.json()
        return body

    async def wait_for(self, result_id: str, *states: str) -> dict[str, Any]:
        deadline = asyncio.get_running_loop().time() + PUBLISH_TIMEOUT
        while True:
            body = await self.result(result_id)
            if body["state"] in states:
                return body
            assert asyncio.get_running_loop().time() < deadline, f"still {body['state']}: {body}"
            await asyncio.sleep(0.1)

    async def published(self, **changes: object) -> dict[str, Any]:
        accepted = (await self.submit(unique_metadata(**changes))).json()
        return await self.wait_for(accepted["id"], "published")
