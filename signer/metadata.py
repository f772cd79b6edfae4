"""The metadata that comes with a result, as in DESIGN.md, validated into an immutable model.

Checks: required fields, the dossier code format of Circular 01/2018/TT-VPCP
(``<agency code>-<YYMMDD>-<NNNN>``), result number >= 1, timezone-aware
dates with received <= resolved and received <= due, email syntax.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime

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

from plumbing.vietnam import AGENCY_CODE
from signer.errors import MetadataError

DOSSIER_CODE_RE = re.compile(
    rf"^(?P<agency>{AGENCY_CODE})-(?P<date>[0-9]{{6}})-(?P<seq>[0-9]{{4}})$"
)
AGENCY_CODE_RE = re.compile(rf"^{AGENCY_CODE}$")
PROCEDURE_CODE_RE = re.compile(r"^[0-9]{1,3}\.[0-9]{6}$")


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class Procedure(_Model):
    code: str = Field(pattern=PROCEDURE_CODE_RE.pattern, description="e.g. 1.004227")
    name: str = Field(min_length=1, max_length=500)


class Agency(_Model):
    code: str = Field(pattern=AGENCY_CODE_RE.pattern, description="e.g. 000.18.27.H47")
    name: str = Field(min_length=1, max_length=200)


class Applicant(_Model):
    name: str = Field(min_length=1, max_length=200)
    email: EmailStr | None = None


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

    @field_validator("dossier_code")
    @classmethod
    def _dossier_code(cls, value: str) -> str:
        match = DOSSIER_CODE_RE.fullmatch(value)
        if not match:
            raise ValueError("must look like 000.18.27.H47-220301-0012 (agency-YYMMDD-NNNN)")
        yymmdd = match["date"]
        try:
            date(2000 + int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:]))
        except ValueError:
            raise ValueError(f"{yymmdd} is not a date (YYMMDD)") from None
        return value

    @field_validator("lookup_secret")
    @classmethod
    def _hard_to_guess(cls, value: str | None) -> str | None:
        if value is not None and secret_strength(value) < MIN_SECRET_BITS:
            raise ValueError(
                "is too easy to guess: use at least 8 letters and digits mixed, or 13 digits"
            )
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
    try:
        return ResultMetadata.model_validate_json(data, strict=True)
    except ValidationError as exc:
        first = exc.errors()[0]
        if first["type"] == "json_invalid":
            reason = (first.get("ctx") or {}).get("error", "")
            message = f"not valid JSON: {reason}".rstrip(": ")
        else:
            message = first["msg"].removeprefix("Value error, ")
        loc = ".".join(str(part) for part in first["loc"])
        if first["type"] == "email_required":
            loc = "applicant.email"
        if first["type"] == "dossier_of_another_agency":
            loc = "dossier_code"
        message = _PLAIN.get((loc, first["type"]), _PLAIN.get(("*", first["type"]), message))
        # pydantic's own error repeats the input (names, addresses): not kept as the cause
        raise MetadataError(message, field=loc or "metadata") from None


# pydantic's wording where a clerk needs an example instead
_ISO = "must be an ISO 8601 date and time with its UTC offset, e.g. 2022-03-14T10:00:00+07:00"
_PLAIN = {
    ("procedure.code", "string_pattern_mismatch"): "must look like 1.004227",
    ("agency.code", "string_pattern_mismatch"): "must look like 000.18.27.H47",
    ("*", "datetime_from_date_parsing"): _ISO,
    ("*", "datetime_parsing"): _ISO,
    ("*", "datetime_type"): _ISO,
    ("*", "timezone_aware"): _ISO,
}
