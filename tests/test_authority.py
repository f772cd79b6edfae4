"""The signer API acts only within its authority: an agency's own dossiers, by its own keys.

Before: a dossier code of another agency was signed and published under this
one; a revoked result could be "corrected" into superseded; any API key read,
revoked and resent every result of a registry that several agencies share;
a key could resend one result without end to flood an applicant's inbox.
"""

from __future__ import annotations

import aiohttp
import pytest

from tests.pdfs import result_pdf
from tests.service import (
    API,
    Client,
    Service,
    create_api_key,
    issue,
    submission,
    unique_metadata,
)

pytestmark = pytest.mark.slow  # the real signer API

OTHER_AGENCY = "000.00.15.H49"


async def test_a_dossier_of_another_agency_is_refused_naming_the_field(client: Client) -> None:
    metadata = unique_metadata()
    code = str(metadata["dossier_code"])
    metadata["dossier_code"] = OTHER_AGENCY + code[code.index("-") :]
    status, problem = await client.submit(metadata, result_pdf(trailing_text="other-dossier"))
    assert status == 422, problem
    assert problem["field"] == "dossier_code"
    assert OTHER_AGENCY in problem["detail"]


async def test_a_revoked_result_cannot_be_corrected(client: Client) -> None:
    old = await issue(client, "revoked-then-corrected")
    await client.revoke(old["id"], "cấp nhầm")
    metadata = unique_metadata(supersedes=old["id"])
    metadata["dossier_code"] = old["dossier_code"]
    status, problem = await client.submit(metadata, result_pdf(trailing_text="correction"))
    assert status == 422, problem
    assert problem["field"] == "supersedes"
    assert (await client.result(old["id"]))["state"] == "revoked"  # and stays so


async def test_a_key_for_another_agency_sees_and_changes_nothing_of_this_one(
    client: Client, service: Service
) -> None:
    ours = await issue(client, "not-yours")
    other = create_api_key(service.home, "desk-of-another-agency", agencies=(OTHER_AGENCY,))
    headers = {"Authorization": f"Bearer {other}"}
    base = service.signer_url + API
    async with aiohttp.ClientSession(headers=headers) as session:
        async with session.get(f"{base}/{ours['id']}") as response:
            assert response.status == 404
        async with session.get(f"{base}/{ours['id']}/document") as response:
            assert response.status == 404
        async with session.post(
            f"{base}/{ours['id']}/revoke", json={"reason_code": "other"}
        ) as response:
            assert response.status == 404
        async with session.post(f"{base}/{ours['id']}/resend") as response:
            assert response.status == 404
        async with session.get(f"{base}?limit=200") as response:
            listed = await response.json()
        assert all(item["id"] != ours["id"] for item in listed["items"])
        metadata = unique_metadata()
        async with session.post(
            base, data=submission(metadata, result_pdf(trailing_text="by-another-desk"))
        ) as response:
            problem = await response.json(content_type=None)
            assert response.status == 403, problem
            assert problem["field"] == "agency.code"
    assert (await client.result(ours["id"]))["state"] == "published"


async def test_a_result_is_sent_again_three_times_an_hour_at_most(client: Client) -> None:
    result = await issue(client, "resend-flood", deliver={"email": True})
    statuses = []
    retry_after = None
    for _ in range(4):
        async with client.session.post(
            client.url(f"{API}/{result['id']}/resend"), headers=client.headers
        ) as response:
            statuses.append(response.status)
            retry_after = response.headers.get("Retry-After")
    assert statuses == [202, 202, 202, 429]
    assert retry_after is not None
    assert 3000 < int(retry_after) <= 3600
