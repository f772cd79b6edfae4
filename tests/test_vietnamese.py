"""How people in Vietnam read things: dates, numbers, masked names, codes, one word per thing."""

from __future__ import annotations

import unicodedata
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from plumbing import formats
from plumbing.masking import HIDDEN, mask_name, public_name
from plumbing.terms import COPY_FORMS, REVOCATION_REASONS, TERMS, labels
from plumbing.vietnam import agency_code_fault, normalised_code
from registry.states import RevocationReason
from verifier import texts
from verifier.validation import _UNFIT_ENGLISH


def test_dates_and_times_are_read_in_vietnam() -> None:
    # 20:30 UTC on 31 December is already 1 January in Vietnam
    late = datetime(2021, 12, 31, 20, 30, 5, tzinfo=UTC)
    assert formats.day(late) == "01/01/2022"
    assert formats.moment(late) == "01/01/2022 03:30:05"
    assert formats.iso(late) == "2022-01-01T03:30:05+07:00"
    assert formats.day(date(2022, 3, 5)) == "05/03/2022"
    with pytest.raises(ValueError, match="time zone"):
        formats.moment(datetime(2022, 1, 1))


def test_numbers_in_each_language() -> None:
    assert formats.whole(3728) == "3.728"
    assert formats.whole(4334, "en") == "4,334"
    assert formats.whole(1_234_567) == "1.234.567"
    assert formats.whole(944) == "944"
    assert formats.percent(99.92) == "99,92%"
    assert formats.percent(99.92, "en") == "99.92%"
    assert formats.percent(100) == "100,00%"


@given(st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=-5))])))
def test_a_moment_is_always_dd_mm_yyyy_hh_mm_ss(value: datetime) -> None:
    shown = formats.moment(value)
    parsed = datetime.strptime(shown, "%d/%m/%Y %H:%M:%S").replace(
        tzinfo=timezone(timedelta(hours=7))
    )
    assert parsed == value.replace(microsecond=0)


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("Nguyễn Văn An", f"Nguyễn V{HIDDEN} A{HIDDEN}"),
        ("Lê Thị Hồng Nhung", f"Lê T{HIDDEN} H{HIDDEN} N{HIDDEN}"),
        ("Đặng Ân", f"Đặng Â{HIDDEN}"),
        ("H'Hen Niê", f"H'Hen N{HIDDEN}"),
        ("An", f"A{HIDDEN}"),  # one word: the first letter only, not the whole name
        ("  Nguyễn   Văn  An ", f"Nguyễn V{HIDDEN} A{HIDDEN}"),
        ("", ""),
    ],
)
def test_names_are_masked_so_the_owner_recognises_them(name: str, masked: str) -> None:
    assert mask_name(name) == masked


def test_a_name_masks_the_same_however_its_accents_were_typed() -> None:
    composed = "Ẩn Ông Ưng"
    decomposed = unicodedata.normalize("NFD", composed)
    assert decomposed != composed
    assert mask_name(decomposed) == mask_name(composed) == f"Ẩn Ô{HIDDEN} Ư{HIDDEN}"


@given(st.lists(st.text(alphabet="abcdeghiklmnopqrstuvxyăâđêôơư", min_size=1), min_size=2))
def test_a_mask_tells_nothing_of_the_hidden_words_lengths(words: list[str]) -> None:
    masked = mask_name(" ".join(words)).split()
    assert masked[0] == words[0]
    assert all(len(m) == 1 + len(HIDDEN) for m in masked[1:])


def test_organisations_are_shown_in_full_and_people_masked() -> None:
    company = "Công ty TNHH Thương mại Vân Đồn"
    assert public_name(company, "organization") == company
    assert public_name(company, "person") != company
    assert public_name(unicodedata.normalize("NFD", company), "organization") == company


@pytest.mark.parametrize(
    ("code", "fault"),
    [
        ("000.00.00.H49", None),  # the Provincial People's Committee of Quảng Ninh
        ("000.00.14.H49", None),
        ("000.03.14.H49", None),
        ("001.03.14.H49", None),
        ("000.03.00.H49", "level-3 unit (Z1Z2) under no level-2"),
        ("001.00.14.H49", "level-4 unit (V1V2V3) under no level-3"),
        ("000.00.14.49", "must look like 000.00.14.H49"),
        ("000.00.14.H49 ", "must look like"),
    ],
)
def test_agency_codes_follow_qcvn_102(code: str, fault: str | None) -> None:
    found = agency_code_fault(code)
    assert (found is None) == (fault is None)
    if fault is not None:
        assert found is not None
        assert fault in found


def test_codes_are_read_as_typed() -> None:
    assert normalised_code("  000.00.14.h49-220301-0012\t") == "000.00.14.H49-220301-0012"


def test_every_term_has_both_languages_and_the_labels_are_unique() -> None:
    for lang in ("vi", "en"):
        shown = labels(lang)
        assert len(set(shown.values())) == len(shown), f"two things share a name in {lang}"
    # the access code and the seal's check code must not be confused
    assert TERMS["access_code"].vi != TERMS["verification_code"].vi
    assert "Mã xác minh" not in {t.vi for t in TERMS.values()}


def test_the_revocation_reasons_are_the_registrys() -> None:
    assert set(REVOCATION_REASONS) == {r.value for r in RevocationReason}
    for lang in ("vi", "en"):
        assert set(texts.REASONS[lang]) == set(REVOCATION_REASONS)
    assert set(COPY_FORMS) == {"sao_y", "sao_luc", "trich_sao"}


def test_every_reason_a_pdf_is_not_the_agencys_is_said_in_both_languages() -> None:
    for lang in ("vi", "en"):
        assert set(texts.UNFIT[lang]) == set(_UNFIT_ENGLISH)


def test_vietnamese_pages_carry_no_english_words() -> None:
    english = {"the", "and", "valid", "genuine", "result", "seal", "agency", "signature"}
    for key, text in texts.TEXTS["vi"].items():
        words = {w.strip(".,:;()").lower() for w in text.split()}
        assert not words & english, (key, text)


def test_the_readme_glossary_is_the_table_the_surfaces_use() -> None:
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    section = readme.split("## One name for each thing (glossary)", 1)[1].split("\n## ", 1)[0]
    rows = [
        [cell.strip() for cell in line.strip("|").split("|")]
        for line in section.splitlines()
        if line.startswith("| ") and not line.startswith("| Vietnamese") and "---" not in line
    ]
    assert rows == [[t.vi, t.en, t.meaning] for t in TERMS.values()]
