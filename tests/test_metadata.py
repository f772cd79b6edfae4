"""Metadata validation: what the back office sends is parsed into an immutable model or refused
with a ``MetadataError`` naming the field at fault as a dotted path."""

from __future__ import annotations

import copy
import json
import unicodedata
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from plumbing.errors import InputError
from signer.errors import MetadataError
from signer.metadata import ResultMetadata, parse_metadata
from tests.pdfs import example_metadata

DOSSIER = "000.00.14.H49-220301-0012"


def _with(path: str, value: object) -> bytes:
    """The example metadata with ``path`` (dotted) set to ``value``, as JSON."""
    data = copy.deepcopy(example_metadata())
    *parents, leaf = path.split(".")
    node = data
    for part in parents:
        child = node[part]
        assert isinstance(child, dict)
        node = child
    node[leaf] = value
    return json.dumps(data, ensure_ascii=False).encode("utf-8")


def _without(path: str) -> bytes:
    data = copy.deepcopy(example_metadata())
    *parents, leaf = path.split(".")
    node = data
    for part in parents:
        child = node[part]
        assert isinstance(child, dict)
        node = child
    del node[leaf]
    return json.dumps(data, ensure_ascii=False).encode("utf-8")


def _refused(data: bytes | str) -> MetadataError:
    with pytest.raises(MetadataError) as info:
        parse_metadata(data)
    return info.value


def test_the_example_parses_into_typed_values() -> None:
    meta = parse_metadata(json.dumps(example_metadata(), ensure_ascii=False).encode("utf-8"))
    assert meta.dossier_code == DOSSIER
    assert meta.result_no == 1
    assert meta.procedure.code == "1.004227"
    assert meta.agency.code == "000.00.14.H49"
    assert meta.agency.name == "Ủy ban nhân dân huyện Vân Đồn"
    assert meta.applicant.name == "Nguyễn Văn An"
    assert meta.applicant.email == "an.nguyen@example.vn"
    assert meta.received_at == datetime(2022, 3, 1, 1, 0, tzinfo=UTC)
    assert meta.received_at.utcoffset() == timedelta(hours=7)
    assert meta.deliver.email is True
    assert meta.publish is True
    assert meta.lookup_secret is None


def test_result_code_is_the_dossier_code_and_result_number() -> None:
    assert parse_metadata(_with("result_no", 1)).result_code == f"{DOSSIER}-KQ1"
    assert parse_metadata(_with("result_no", 12)).result_code == f"{DOSSIER}-KQ12"


def test_text_input_and_surrounding_whitespace_are_accepted() -> None:
    meta = parse_metadata(_with("dossier_code", f"  {DOSSIER} ").decode("utf-8"))
    assert meta.dossier_code == DOSSIER


def test_optional_fields_may_be_left_out() -> None:
    data = copy.deepcopy(example_metadata())
    for key in ("deliver", "publish"):
        del data[key]
    meta = parse_metadata(json.dumps(data))
    assert meta.deliver.email is True
    assert meta.publish is True
    without_email = copy.deepcopy(example_metadata())
    without_email["deliver"] = {"email": False}
    applicant = without_email["applicant"]
    assert isinstance(applicant, dict)
    del applicant["email"]
    assert parse_metadata(json.dumps(without_email)).applicant.email is None


def test_delivery_by_email_needs_an_address() -> None:
    data = copy.deepcopy(example_metadata())
    applicant = data["applicant"]
    assert isinstance(applicant, dict)
    del applicant["email"]
    error = _refused(json.dumps(data))
    assert error.field == "applicant.email"
    assert str(error) == "applicant.email: is required when deliver.email is true"


def test_chronology_compares_instants_across_time_zones() -> None:
    # 01:00 UTC is 08:00 at +07:00: resolved at the very instant it was received is fine
    same_instant = json.loads(_with("received_at", "2022-03-01T01:00:00Z"))
    del same_instant["document_date"]  # the example's is the 14th, after these resolutions
    same_instant["resolved_at"] = "2022-03-01T08:00:00+07:00"
    parse_metadata(json.dumps(same_instant))
    # one second earlier, written in another zone, is before
    same_instant["resolved_at"] = "2022-03-01T07:59:59+07:00"
    error = _refused(json.dumps(same_instant))
    assert error.field == "resolved_at"


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("dossier_code", "000.00.14.H49-220301-12", "must look like"),
        ("dossier_code", "H49-220301-0012", "must look like"),
        ("dossier_code", "000.00.14.H49-220230-0012", "220230 is not a date"),
        ("dossier_code", "000.00.14.H49-２２0301-0012", "must look like"),
        ("dossier_code", "000.00.14.H49-220301-0000", "numbered from 0001"),
        ("dossier_code", "000.00.14.H49-220302-0012", "received on 220302 (YYMMDD)"),
        ("document_number", "5/QĐ-UBND", "a leading zero below 10"),
        ("document_number", "12-GPXD-UBND", "e.g. 12/GPXD-UBND"),
        ("document_number", "12/GPXD-", "e.g. 12/GPXD-UBND"),
        ("document_date", "14/03/2022", "must be a date, YYYY-MM-DD"),
        ("document_date", "2022-03-15", "after the day the dossier was resolved (2022-03-14)"),
        ("applicant.kind", "company", "'person' or 'organization'"),
        ("result_no", 0, "greater than or equal to 1"),
        ("result_no", -1, "greater than or equal to 1"),
        ("result_no", 1000, "less than or equal to 999"),
        ("result_no", True, "valid integer"),
        ("result_no", "1", "valid integer"),
        ("result_no", 1.5, "valid integer"),
        ("received_at", "2022-03-01T08:00:00", "ISO 8601 date and time with its UTC offset"),
        ("received_at", "2022-03-01", "ISO 8601 date and time"),
        ("received_at", "hôm qua", "e.g. 2022-03-14T10:00:00+07:00"),
        ("due_at", "2022-03-15T17:00:00", "UTC offset"),
        ("resolved_at", "2022-02-28T10:00:00+07:00", "is before received_at"),
        ("due_at", "2022-02-28T17:00:00+07:00", "is before received_at"),
        ("applicant.email", "an.nguyen.example.vn", "not a valid email"),
        ("applicant.email", "an@", "not a valid email"),
        ("applicant.name", "   ", "at least 1 character"),
        ("agency.code", "H49", "must look like 000.00.14.H49"),
        ("agency.name", "UBND huyện Vân Đồn", "must be written in full, not UBND"),
        ("agency.code", "000.05.00.H49", "level-3 unit (Z1Z2) under no level-2"),
        ("agency.code", "001.00.14.H49", "level-4 unit (V1V2V3) under no level-3"),
        ("procedure.code", "1.4227", "must look like 1.004227"),
        ("procedure.code", "thủ tục", "must look like 1.004227"),
        ("publish", "yes", "valid boolean"),
        ("deliver.email", 1, "valid boolean"),
        ("lookup_secret", "short", "at least 8 characters"),
        ("lookup_secret", "12345678", "too easy to guess"),
        ("lookup_secret", "abcdefgh", "too easy to guess"),
        ("lookup_secret", "aaaaaaaaaaaaaaaa", "too easy to guess"),
    ],
)
def test_invalid_value_names_its_field(path: str, value: object, message: str) -> None:
    error = _refused(_with(path, value))
    assert error.field == path
    assert message in error.message
    assert str(error) == f"{path}: {error.message}"
    assert "\n" not in str(error)


def test_a_copy_form_is_one_of_the_decrees() -> None:
    error = _refused(_with("copy", {"form": "photocopy", "original": "x"}))
    assert (error.field, "'sao_y'" in error.message) == ("copy.form", True)


def test_codes_are_read_in_any_case_with_spaces_around() -> None:
    data = copy.deepcopy(example_metadata())
    data["dossier_code"] = "  000.00.14.h49-220301-0012 "
    data["agency"] = {"code": " 000.00.14.h49", "name": "Ủy ban nhân dân huyện Vân Đồn"}
    data["supersedes"] = "01m958xhnx4ajefemjskr9ymzy"
    data["document_number"] = " 12/gpxd-ubnd "
    meta = parse_metadata(json.dumps(data, ensure_ascii=False))
    assert meta.dossier_code == DOSSIER
    assert meta.agency.code == "000.00.14.H49"
    assert meta.supersedes == "01M958XHNX4AJEFEMJSKR9YMZY"
    assert meta.document_number == "12/GPXD-UBND"  # đ -> Đ too: "05/qđ-ubnd" is 05/QĐ-UBND
    assert parse_metadata(_with("document_number", "05/qđ-ubnd")).document_number == "05/QĐ-UBND"


def test_the_dossier_day_is_the_day_received_in_vietnam() -> None:
    # 17:30 UTC on 28 February is 00:30 on 1 March in Vietnam: the code's 220301 is right
    meta = parse_metadata(_with("received_at", "2022-02-28T17:30:00Z"))
    assert meta.dossier_code == DOSSIER
    # 16:30 UTC is still 28 February in Vietnam
    error = _refused(_with("received_at", "2022-02-28T16:30:00Z"))
    assert error.field == "dossier_code"
    assert "received_at is 220228" in error.message


def test_the_document_number_and_date_and_the_applicants_kind() -> None:
    data = copy.deepcopy(example_metadata())
    data["document_number"] = "15/2022/QĐ-UBND"
    data["document_date"] = "2022-03-14"
    data["applicant"] = {**data["applicant"], "kind": "organization"}  # type: ignore[dict-item]
    meta = parse_metadata(json.dumps(data, ensure_ascii=False))
    assert meta.document_number == "15/2022/QĐ-UBND"
    assert meta.document_date is not None
    assert meta.document_date.isoformat() == "2022-03-14"
    assert meta.applicant.kind == "organization"
    assert parse_metadata(_with("publish", True)).applicant.kind == "person"


def test_a_name_typed_with_combining_accents_is_stored_composed() -> None:
    decomposed = unicodedata.normalize("NFD", "Nguyễn Văn An")
    assert decomposed != "Nguyễn Văn An"
    assert parse_metadata(_with("applicant.name", decomposed)).applicant.name == "Nguyễn Văn An"


def test_an_electronic_copy_says_what_it_copies_and_an_attachment_its_number() -> None:
    original = "Giấy phép xây dựng số 12/GPXD-UBND ngày 05/01/2022"
    meta = parse_metadata(_with("copy", {"form": "sao_y", "original": original}))
    assert meta.copy_of is not None
    assert meta.copy_of.form == "sao_y"
    assert meta.copy_of.original == original
    attachment = json.loads(_with("copy", {"form": "attachment", "original": original}))
    del attachment["document_number"]
    error = _refused(json.dumps(attachment))
    assert error.field == "document_number"
    assert "required for an attachment" in error.message


@pytest.mark.parametrize(
    "path",
    ["dossier_code", "result_no", "procedure", "agency.code", "applicant.name", "resolved_at"],
)
def test_missing_field_is_named(path: str) -> None:
    error = _refused(_without(path))
    assert error.field == path
    assert str(error) == f"{path}: Field required"


@pytest.mark.parametrize("path", ["signature", "agency.phone", "deliver.sms"])
def test_unknown_field_is_refused_by_name(path: str) -> None:
    error = _refused(_with(path, "x"))
    assert error.field == path
    assert str(error) == f"{path}: Extra inputs are not permitted"


@pytest.mark.parametrize(
    "data", [b"{not json", b"", b'{"dossier_code": "\xff"}', b"{}}"], ids=repr
)
def test_not_json_names_the_whole_document(data: bytes) -> None:
    error = _refused(data)
    assert error.field == "metadata"
    assert str(error).startswith("metadata: not valid JSON")
    assert "\n" not in str(error)


@pytest.mark.parametrize("data", [b"[]", b"null", b'"text"', b"12"])
def test_json_that_is_not_an_object_names_the_whole_document(data: bytes) -> None:
    error = _refused(data)
    assert error.field == "metadata"


def test_metadata_error_is_an_input_error_without_pydantic_context() -> None:
    error = _refused(_with("result_no", 0))
    assert isinstance(error, InputError)
    assert error.__cause__ is None
    assert error.__suppress_context__


def test_first_error_is_reported_when_several_fields_are_wrong() -> None:
    data = json.loads(_with("result_no", 0))
    data["dossier_code"] = "nope"
    # dossier_code comes first in the model
    assert _refused(json.dumps(data)).field == "dossier_code"


def test_models_are_immutable() -> None:
    meta = parse_metadata(json.dumps(example_metadata()))
    with pytest.raises(ValidationError, match="frozen"):
        meta.result_no = 2
    with pytest.raises(ValidationError, match="frozen"):
        meta.agency.code = "000.00.00.A00"
    assert meta.result_no == 1
    assert meta.agency.code == "000.00.14.H49"
    assert isinstance(meta, ResultMetadata)


def test_repr_leaves_out_personal_data_and_the_access_code() -> None:
    data = {**example_metadata(), "lookup_secret": "K7-PQ9-ZX42"}
    text = repr(parse_metadata(json.dumps(data)))
    assert "Nguyễn" not in text
    assert "an.nguyen@example.vn" not in text
    assert "K7-PQ9-ZX42" not in text
    assert "000.00.14.H49-220301-0012" in text


def test_control_characters_and_years_out_of_range_are_refused_naming_the_field() -> None:
    # a NUL is refused by PostgreSQL and year 1 overflows in Vietnam time: 422s, not 500s
    for field, value, named in (
        ("applicant", {"name": "An\u0000"}, "applicant.name"),
        ("procedure", {"code": "1.004227", "name": "Cấp phép\u001b[2J"}, "procedure.name"),
        ("received_at", "0001-01-01T00:00:00+07:00", "received_at"),
        ("due_at", "9999-12-31T23:59:59-12:00", "due_at"),
        ("document_date", "1999-12-31", "document_date"),
    ):
        error = _refused(_with(field, value))
        assert error.field == named, (field, error)
