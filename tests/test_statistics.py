"""On-time statistics: the rule at its edges, and the seed report to the last dossier."""

from __future__ import annotations

import json
import re
import subprocess
import urllib.request
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Connection, update

from plumbing.vietnam import VIETNAM_TIME
from plumbing.web.problems import Problem
from registry import results
from registry.database import open_database, upgrade
from registry.ids import new_id
from registry.results import NewResult
from registry.schema import results as results_table
from registry.timeliness import Timeliness, timeliness
from tests.service import Service, ketqua_command, registry_url
from verifier.statistics import parse_period

AGENCY = "000.00.14.H49"


def vn(day: str, clock: str = "10:00") -> datetime:
    return datetime.fromisoformat(f"{day}T{clock}:00").replace(tzinfo=VIETNAM_TIME)


@pytest.mark.parametrize(
    ("resolved", "due", "expected"),
    [
        (vn("2022-03-14"), vn("2022-03-15", "17:00"), Timeliness.AHEAD),
        (vn("2022-03-15", "23:59"), vn("2022-03-15", "08:00"), Timeliness.ON_TIME),
        (vn("2022-03-15", "00:01"), vn("2022-03-15", "17:00"), Timeliness.ON_TIME),
        (vn("2022-03-16", "00:01"), vn("2022-03-15", "23:59"), Timeliness.LATE),
        # the same instants written in UTC: the day is Vietnam's, not UTC's
        (vn("2022-03-16", "06:30").astimezone(UTC), vn("2022-03-15", "17:00"), Timeliness.LATE),
        (vn("2022-03-15", "20:00"), None, Timeliness.NO_DUE),
    ],
)
def test_the_day_in_vietnam_decides(
    resolved: datetime, due: datetime | None, expected: Timeliness
) -> None:
    assert timeliness(resolved, due) is expected


@pytest.mark.parametrize(
    ("query", "first", "last"),
    [
        ({"period": "2022-Q1"}, date(2022, 1, 1), date(2022, 3, 31)),
        ({"period": "2024-02"}, date(2024, 2, 1), date(2024, 2, 29)),
        ({"period": "2022-12"}, date(2022, 12, 1), date(2022, 12, 31)),
        ({"period": "2022"}, date(2022, 1, 1), date(2022, 12, 31)),
        ({"from": "2022-01-10", "to": "2022-01-10"}, date(2022, 1, 10), date(2022, 1, 10)),
    ],
)
def test_periods(query: dict[str, str], first: date, last: date) -> None:
    period = parse_period(query)
    assert (period.first, period.last) == (first, last)
    start, end = period.bounds
    assert start == datetime(first.year, first.month, first.day, tzinfo=VIETNAM_TIME)
    assert end - start == timedelta(days=(last - first).days + 1)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"period": "2022-Q5"}, "period"),
        ({"from": "2022-01-01"}, "to"),
        ({"from": "2022-13-01", "to": "2022-01-01"}, "from"),
        ({"from": "2022-02-01", "to": "2022-01-01"}, "to"),
    ],
)
def test_a_bad_period_names_the_parameter(query: dict[str, str], field: str) -> None:
    with pytest.raises(Problem) as caught:
        parse_period(query)
    assert caught.value.status == 400
    assert caught.value.field == field


def _seed(conn: Connection) -> None:
    """Q1 2022 of one district: 944 ahead, 2,781 on time, 3 late; and what must not count."""
    metadata = json.dumps(
        {"agency": {"name": "Ủy ban nhân dân huyện Vân Đồn"}, "procedure": {"name": "Cấp phép"}}
    )
    n = 0

    def add(
        resolved: datetime,
        due: datetime,
        state: str,
        agency: str = AGENCY,
        *,
        result_no: int = 1,
        dossier: str | None = None,
    ) -> str:
        nonlocal n
        n += 1
        day = 1 + n % 28
        dossier_code = dossier or f"{agency}-2201{day:02d}-{n:04d}"
        new = NewResult(
            id=new_id(),
            dossier_code=dossier_code,
            result_no=result_no,
            agency_code=agency,
            procedure_code="1.004227",
            metadata_json=metadata,
            publish=True,
            received_at=resolved - timedelta(days=10),
            due_at=due,
            resolved_at=resolved,
            original_sha256=f"{n:064x}",
            original_size=1,
        )
        created = results.insert_result(conn, new, actor="seed")
        conn.execute(
            update(results_table).where(results_table.c.id == created.id).values(state=state)
        )
        return dossier_code

    start = vn("2022-01-03")
    dossiers = []
    for i in range(3728):
        resolved = start + timedelta(hours=(i * 7) % (85 * 24))  # spread over the quarter
        if i < 944:
            due = resolved + timedelta(days=2)
        elif i < 944 + 2781:
            due = resolved.replace(hour=17, minute=0)  # due that same day
        else:
            due = resolved - timedelta(days=1)
        # the first dossier: its KQ1 corrected by a KQ2 (which counts, as resolved ahead)
        state = "superseded" if i == 0 else ["published", "delivered", "signed"][i % 3]
        dossiers.append(add(resolved, due, state))
    # one dossier, counted once: the correction of the first, and a second standing result
    add(start, start + timedelta(days=2), "published", result_no=2, dossier=dossiers[0])
    add(start, start + timedelta(days=2), "published", result_no=2, dossier=dossiers[1])
    # not counted: another agency, April, revoked, replaced by a correction, not yet signed
    add(vn("2022-02-01"), vn("2022-02-05"), "published", agency="000.00.15.H49")
    add(vn("2022-04-01"), vn("2022-04-05"), "published")
    add(vn("2022-02-01"), vn("2022-02-05"), "revoked")
    add(vn("2022-02-01"), vn("2022-02-05"), "superseded")
    add(vn("2022-02-01"), vn("2022-02-05"), "queued")


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    import asyncio

    home = tmp_path_factory.mktemp("stats") / "home"
    subprocess.run(
        ketqua_command("keys", "init", "--dir", str(home / "keys")),
        check=True,
        capture_output=True,
    )

    async def load() -> None:
        db = open_database(registry_url(home))
        await upgrade(db)
        await db.write(_seed)
        await db.close()

    asyncio.run(load())
    service = Service(home, role="verifier").start()
    yield service
    service.stop()


def get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 - loopback
        return response.status, response.read()


@pytest.mark.slow
def test_the_seed_report_comes_out_exactly(seeded: Service) -> None:
    base = seeded.verifier_url
    for query in ("period=2022-Q1", "from=2022-01-01&to=2022-03-31"):
        status, body = get(f"{base}/api/v1/statistics?agency={AGENCY}&{query}")
        assert status == 200
        figures = json.loads(body)
        assert figures["resolved"] == 3728
        assert (figures["ahead"], figures["on_time"], figures["late"]) == (944, 2781, 3)
        assert figures["rate"] == 0.9992
        assert figures["rate_percent"] == "99.92%"
        assert figures["no_due"] == 0
    _, page = get(f"{base}/thong-ke?agency={AGENCY}&period=2022-Q1")
    text = page.decode()
    assert "<strong>3.728</strong>" in text  # Vietnamese numbers: a dot between thousands
    assert "<strong>99,92%</strong>" in text  # and a decimal comma
    assert "Trước hạn" in text
    assert "Từ ngày 01/01/2022 đến 31/03/2022" in text
    assert "Cơ quan: Ủy ban nhân dân huyện Vân Đồn" in text  # by name, not by code
    assert "chỉ gồm hồ sơ có kết quả được ký số và trả qua hệ thống này" in text  # the scope
    # the breakdown by month: the seed's own spread, counted independently here
    start = vn("2022-01-03")
    expected = Counter(
        f"{(start + timedelta(hours=(i * 7) % (85 * 24))).month:02d}/2022" for i in range(3728)
    )
    months = re.findall(r'<tr><th scope="row">(\d\d/\d{4})</th><td>([\d.]+)</td>', text)
    assert {month: int(n.replace(".", "")) for month, n in months} == dict(expected)
    assert '<tr><th scope="row">Cấp phép</th><td>3.728</td><td>3</td>' in text  # by procedure
    bars = re.findall(r'<rect [^>]*fill="#1d7a38"', text)
    assert len(bars) == 3  # one bar a month, drawn on the server
    _, page = get(f"{base}/thong-ke?agency={AGENCY}&period=2022-Q1&lang=en")
    assert "<strong>3,728</strong>" in page.decode()
    assert "<strong>99.92%</strong>" in page.decode()
    # every agency together: the other agency's result counts too
    _, body = get(f"{base}/api/v1/statistics?period=2022-Q1")
    assert json.loads(body)["resolved"] == 3729
