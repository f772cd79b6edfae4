"""The metadata that comes with a result, as in DESIGN.md, validated into an immutable model.

Checks: required fields; the agency code of QCVN 102:2016; the dossier code
of Circular 01/2018/TT-VPCP (``<agency code>-<YYMMDD>-<NNNN>``: the agency's
own code, the day it was received in Vietnam time, a sequence from 0001);
codes read in any case and stored in capitals; result number >= 1;
timezone-aware dates with received <= resolved and received <= due; the
document's number and symbol in the Decree 30/2020 form (``12/GPXD-UBND``)
and its date no later than the day it was resolved; e-mail syntax; an
electronic copy's form and what it copies.
"""

from __future__ import annotations

import math
import re
import unicodedata
from datetime import date, datetime
from typing import Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from plumbing.vietnam import AGENCY_CODE, VIETNAM_TIME, agency_code_fault, normalised_code
from signer.errors import MetadataError

DOSSIER_CODE_RE = re.compile(
    rf"^(?P<agency>{AGENCY_CODE})-(?P<date>[0-9]{{6}})-(?P<seq>[0-9]{{4}})$"
)
AGENCY_CODE_RE = re.compile(rf"^{AGENCY_CODE}$")
PROCEDURE_CODE_RE = re.compile(r"^[0-9]{1,3}\.[0-9]{6}$")
# Decree 30/2020, Appendix I, box 3: the number (a leading zero below 10), an optional year
# (legal documents: 15/2022/QĐ-UBND), then the symbol: capitals, groups joined by hyphens
DOCUMENT_NUMBER_RE = re.compile(
    r"^(?:0[1-9]|[1-9][0-9]{1,6})(?:/[0-9]{4})?/[0-9A-ZĐ]+(?:[-.][0-9A-ZĐ]+)*$"
)


FIRST_YEAR, LAST_YEAR = 2000, 2099

# abbreviations the decree writes out in an issuing agency's name
_ABBREVIATIONS = frozenset({"UBND", "HĐND", "HDND", "TTHC", "SXD", "STNMT"})


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    @field_validator("*")
    @classmethod
    def _no_control_characters(cls, value: object) -> object:
        # a NUL or an escape in a name is no one's name (and PostgreSQL refuses a NUL)
        if isinstance(value, str) and any(unicodedata.category(c) == "Cc" for c in value):
            raise ValueError("must not contain control characters")
        return value


class Procedure(_Model):
    code: str = Field(pattern=PROCEDURE_CODE_RE.pattern, description="e.g. 1.004227")
    name: str = Field(min_length=1, max_length=500)


class Agency(_Model):
    code: str = Field(description="QCVN 102:2016, e.g. 000.00.14.H49")
    name: str = Field(min_length=1, max_length=200, description="in full, as on its seal")

    @field_validator("name")
    @classmethod
    def _in_full(cls, value: str) -> str:
        # Decree 30/2020: the issuing agency's name is written in full (box 2)
        value = " ".join(unicodedata.normalize("NFC", value).split())
        short = next((w for w in value.replace(".", " ").split() if w in _ABBREVIATIONS), None)
        if short is not None:
            raise ValueError(
                f"must be written in full, not {short}: e.g. Ủy ban nhân dân huyện Vân Đồn"
            )
        return value

    @field_validator("code")
    @classmethod
    def _qcvn_102(cls, value: str) -> str:
        value = normalised_code(value)
        fault = agency_code_fault(value)
        if fault is not None:
            raise ValueError(fault)
        return value


class Applicant(_Model):
    name: str = Field(min_length=1, max_length=200)
    email: EmailStr | None = None
    # an organisation's name is not personal data (Decree 13/2023): shown in full
    kind: Literal["person", "organization"] = "person"

    @field_validator("name")
    @classmethod
    def _composed(cls, value: str) -> str:
        return unicodedata.normalize("NFC", value)


class Copy(_Model):
    """An electronic copy (Decree 30/2020, Part II): of a paper original, or an attachment.

    ``form``: ``sao_y``, ``sao_luc``, ``trich_sao`` (a copy), or ``attachment`` (an
    appendix in a separate file, which shows the document's number and symbol
    instead of a copy form). ``original``: what it is a copy of, as people name it.
    """

    form: Literal["sao_y", "sao_luc", "trich_sao", "attachment"]
    original: str = Field(min_length=1, max_length=300)


class Delivery(_Model):
    email: bool = True


class ResultMetadata(_Model):
    """One resolved dossier's result, as the back office describes it."""

    dossier_code: str = Field(description="<agency code>-<YYMMDD>-<NNNN>")
    result_no: int = Field(ge=1, le=999)
    procedure: Procedure
    agency: Agency
    applicant: Applicant = Field(repr=False)  # personal data: never in a log line or traceback
    received_at: AwareDatetime
    due_at: AwareDatetime
    resolved_at: AwareDatetime
    deliver: Delivery = Delivery()
    publish: bool = True
    lookup_secret: str | None = Field(default=None, min_length=8, max_length=64, repr=False)
    supersedes: str | None = None
    document_number: str | None = Field(
        default=None, max_length=60, description="số, ký hiệu: e.g. 12/GPXD-UBND"
    )
    document_date: date | None = None
    copy_of: Copy | None = Field(default=None, alias="copy")

    @field_validator("dossier_code", "supersedes")
    @classmethod
    def _capitals(cls, value: str | None) -> str | None:
        return None if value is None else normalised_code(value)

    @field_validator("dossier_code")
    @classmethod
    def _dossier_code(cls, value: str) -> str:
        match = DOSSIER_CODE_RE.fullmatch(value)
        if not match:
            raise ValueError("must look like 000.00.14.H49-220301-0012 (agency-YYMMDD-NNNN)")
        yymmdd = match["date"]
        try:
            date(2000 + int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:]))
        except ValueError:
            raise ValueError(f"{yymmdd} is not a date (YYMMDD)") from None
        if match["seq"] == "0000":
            raise ValueError("a day's dossiers are numbered from 0001")
        return value

    @field_validator("document_number")
    @classmethod
    def _decree_30_number(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = unicodedata.normalize("NFC", value).upper().replace(" ", "")
        if not DOCUMENT_NUMBER_RE.fullmatch(value):
            raise ValueError(
                "must be a number and symbol as Decree 30/2020 writes them, e.g. "
                "12/GPXD-UBND or 05/QĐ-UBND (a leading zero below 10)"
            )
        return value

    @field_validator("lookup_secret")
    @classmethod
    def _hard_to_guess(cls, value: str | None) -> str | None:
        if value is not None and secret_strength(value) < MIN_SECRET_BITS:
            raise ValueError(
                "is too easy to guess: use at least 8 letters and digits mixed, or 13 digits"
            )
        return value

    @field_validator("received_at", "due_at", "resolved_at", "document_date")
    @classmethod
    def _this_century(cls, value: date | None) -> date | None:
        # dossier codes write the year in two digits (YYMMDD): 2000 to 2099
        if value is not None and not FIRST_YEAR <= value.year <= LAST_YEAR:
            raise ValueError(f"must be in the years {FIRST_YEAR} to {LAST_YEAR}")
        return value

    @field_validator("due_at", "resolved_at")
    @classmethod
    def _not_before_received(cls, value: datetime, info: ValidationInfo) -> datetime:
        # fields validate in declaration order: received_at is in info.data if it was valid
        received = info.data.get("received_at")
        if received is not None and value < received:
            raise ValueError("is before received_at")
        return value

    @model_validator(mode="after")
    def _dossier_of_this_agency(self) -> ResultMetadata:
        # Circular 01/2018: a dossier code starts with the code of the agency that received it
        if not self.dossier_code.startswith(f"{self.agency.code}-"):
            raise PydanticCustomError(
                "dossier_of_another_agency",
                "belongs to agency {prefix}, not to agency.code {agency}",
                {"prefix": self.dossier_code.rsplit("-", 2)[0], "agency": self.agency.code},
            )
        return self

    @model_validator(mode="after")
    def _received_that_day(self) -> ResultMetadata:
        # Circular 01/2018: YYMMDD is the day the dossier was received, in Vietnam time
        received = self.received_at.astimezone(VIETNAM_TIME).strftime("%y%m%d")
        written = self.dossier_code.rsplit("-", 2)[1]
        if written != received:
            raise PydanticCustomError(
                "dossier_of_another_day",
                "says it was received on {written} (YYMMDD), but received_at is {received}",
                {"written": written, "received": received},
            )
        return self

    @model_validator(mode="after")
    def _dated_by_resolution(self) -> ResultMetadata:
        resolved = self.resolved_at.astimezone(VIETNAM_TIME).date()
        if self.document_date is not None and self.document_date > resolved:
            raise PydanticCustomError(
                "document_after_resolution",
                "is after the day the dossier was resolved ({resolved})",
                {"resolved": resolved.isoformat()},
            )
        attachment = self.copy_of is not None and self.copy_of.form == "attachment"
        if attachment and self.document_number is None:
            raise PydanticCustomError(
                "attachment_without_number",
                "is required for an attachment: its stamp shows the number and symbol",
                {},
            )
        return self

    @model_validator(mode="after")
    def _email_to_deliver_to(self) -> ResultMetadata:
        if self.deliver.email and self.applicant.email is None:
            raise PydanticCustomError(
                "email_required", "is required when deliver.email is true", {}
            )
        return self

    @property
    def result_code(self) -> str:
        """``<dossier code>-KQ<n>``, the code printed on the stamp."""
        return f"{self.dossier_code}-KQ{self.result_no}"


# An access code of the applicant's own opens their result to whoever guesses it: the
# portal allows a client 10 wrong guesses an hour (README, Security), so 40 bits take a
# thousand clients about 6,000 years on average for one dossier, a million about 6
MIN_SECRET_BITS = 40


def secret_strength(secret: str) -> float:
    """Bits a guesser must cover: the length times log2 of the alphabet its character
    classes span (digits 10, each case 26, anything else 33); a secret of fewer than 5
    different characters counts as its distinct characters only."""
    classes = (
        (str.isdigit, 10),
        (str.islower, 26),
        (str.isupper, 26),
        (lambda c: not c.isalnum(), 33),
    )
    alphabet = sum(size for test, size in classes if any(test(c) for c in secret))
    length = len(secret) if len(set(secret)) >= 5 else len(set(secret))
    return length * math.log2(max(alphabet, 2))


def parse_metadata(data: bytes | str) -> ResultMetadata:
    """Parse JSON metadata; the error names the first field at fault (dotted path).

    Strict: JSON types must match (``"result_no": true`` or ``"1"`` is refused,
    not coerced); dates are ISO 8601 strings with a UTC offset.
    Errors about the document as a whole (not JSON, not an object) name ``metadata``.
    """
    parsed = checked_metadata(data)
    if isinstance(parsed, ResultMetadata):
        return parsed
    raise parsed[0] from None  # pydantic's error (it repeats the input) is not its context


def checked_metadata(data: bytes | str) -> ResultMetadata | list[MetadataError]:
    """The metadata, or every fault found in it (a form shows each beside its field)."""
    try:
        return ResultMetadata.model_validate_json(data, strict=True)
    except ValidationError as exc:
        # pydantic's own error repeats the input (names, addresses): never kept as a cause
        return [_fault(error) for error in exc.errors()]


def _fault(error: Any) -> MetadataError:
    if error["type"] == "json_invalid":
        reason = (error.get("ctx") or {}).get("error", "")
        message = f"not valid JSON: {reason}".rstrip(": ")
    else:
        message = error["msg"].removeprefix("Value error, ")
    loc = ".".join(str(part) for part in error["loc"])
    loc = _FIELD_OF.get(error["type"], loc)
    message = _PLAIN.get((loc, error["type"]), _PLAIN.get(("*", error["type"]), message))
    return MetadataError(message, field=loc or "metadata")


# errors of the model as a whole, and the field each one is about
_FIELD_OF = {
    "email_required": "applicant.email",
    "dossier_of_another_agency": "dossier_code",
    "dossier_of_another_day": "dossier_code",
    "document_after_resolution": "document_date",
    "attachment_without_number": "document_number",
}

# pydantic's wording where a clerk needs an example instead
_ISO = "must be an ISO 8601 date and time with its UTC offset, e.g. 2022-03-14T10:00:00+07:00"
_PLAIN = {
    ("procedure.code", "string_pattern_mismatch"): "must look like 1.004227",
    ("*", "datetime_from_date_parsing"): _ISO,
    ("*", "datetime_parsing"): _ISO,
    ("*", "datetime_type"): _ISO,
    ("*", "timezone_aware"): _ISO,
    ("document_date", "date_from_datetime_parsing"): "must be a date, YYYY-MM-DD",
    ("document_date", "date_parsing"): "must be a date, YYYY-MM-DD",
    ("document_date", "date_type"): "must be a date, YYYY-MM-DD",
}
