"""Validated field types shared by the API schemas: money, French identifiers, bank details,
addresses. Validation uses maintained libraries (python-stdnum, schwifty, email-validator)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Annotated, Any, ClassVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    PlainSerializer,
    WithJsonSchema,
    model_validator,
)
from schwifty import BIC, IBAN
from stdnum import exceptions as stdnum_exc
from stdnum.eu import vat as eu_vat
from stdnum.fr import siren as fr_siren
from stdnum.fr import siret as fr_siret

# A schema's example (`json_schema_extra={"examples": [...]}`): a JSON object as the API shows it.
JsonExample = dict[str, Any]

CENT = Decimal("0.01")
MAX_MONEY = Decimal("999999999999.99")


class InputModel(BaseModel):
    """Every request body: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class PatchModel(InputModel):
    """A PATCH body: absent fields are left alone, null clears an optional field, and null is
    refused for the fields listed in `required_fields`."""

    required_fields: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="after")
    def _no_null_for_required(self) -> PatchModel:
        for name in self.required_fields:
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


def quantize_money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


# What a money string may be, as the schema publishes it: ASCII digits only (Python's `\d` and
# Decimal() also take other scripts' digits, and Decimal() ignores surrounding whitespace).
MONEY_PATTERN = r"^-?[0-9]{1,12}(\.[0-9]{1,2})?$"
RATE_PATTERN = r"^[0-9]{1,3}(\.[0-9]{1,3})?$"


_COMPILED = {MONEY_PATTERN: re.compile(MONEY_PATTERN), RATE_PATTERN: re.compile(RATE_PATTERN)}


def _decimal(value: Any, pattern: str, example: str) -> Decimal:
    """A JSON number or a string matching `pattern`, as a Decimal (ValueError otherwise)."""
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise ValueError(f"must be a decimal string such as '{example}' or a number")
    if isinstance(value, str):
        if _COMPILED[pattern].fullmatch(value) is None:
            raise ValueError(
                f"must be a decimal string such as '{example}' (ASCII digits, at most one "
                "dot, no spaces; see the field's pattern)"
            )
        return Decimal(value)
    try:
        # A JSON number arrives as float: its shortest repr is what the client wrote.
        return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except InvalidOperation:  # pragma: no cover - every int and finite float converts
        raise ValueError(f"must be a decimal amount such as '{example}'") from None


def _parse_money(value: Any) -> Decimal:
    parsed = _decimal(value, MONEY_PATTERN, "1250.00")
    if not parsed.is_finite():
        raise ValueError("must be a finite amount")
    exponent = parsed.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2 and parsed != parsed.quantize(CENT):
        raise ValueError("must have at most 2 decimals")
    if abs(parsed) > MAX_MONEY:
        raise ValueError(f"must be at most {MAX_MONEY}")
    return parsed.quantize(CENT)


def _positive(value: Decimal) -> Decimal:
    if value <= 0:
        raise ValueError("must be greater than 0")
    return value


def _non_negative(value: Decimal) -> Decimal:
    if value < 0:
        raise ValueError("must not be negative")
    return value


_MONEY_IN_SCHEMA = WithJsonSchema(
    {
        "anyOf": [
            {"type": "string", "pattern": MONEY_PATTERN},
            {"type": "number", "multipleOf": 0.01},
        ],
        "examples": ["1250.00"],
    }
)
_MONEY_OUT_SCHEMA = WithJsonSchema(
    {"type": "string", "pattern": r"^-?\d+\.\d{2}$", "examples": ["1250.00"]}
)

PositiveMoney = Annotated[
    Decimal, BeforeValidator(_parse_money), AfterValidator(_positive), _MONEY_IN_SCHEMA
]
NonNegativeMoney = Annotated[
    Decimal, BeforeValidator(_parse_money), AfterValidator(_non_negative), _MONEY_IN_SCHEMA
]
MoneyOut = Annotated[
    Decimal,
    PlainSerializer(lambda v: f"{quantize_money(v):.2f}", return_type=str),
    _MONEY_OUT_SCHEMA,
]


def _parse_rate(value: Any) -> Decimal:
    parsed = _decimal(value, RATE_PATTERN, "12.15")
    if not parsed.is_finite() or not Decimal(0) <= parsed <= Decimal(100):
        raise ValueError("must be a percentage between 0 and 100")
    if parsed != parsed.quantize(Decimal("0.001")):
        raise ValueError("must have at most 3 decimals")
    return parsed


RateIn = Annotated[
    Decimal,
    BeforeValidator(_parse_rate),
    WithJsonSchema(
        {
            "anyOf": [{"type": "string", "pattern": RATE_PATTERN}, {"type": "number"}],
            "description": "percent per year",
            "examples": ["12.15"],
        }
    ),
]
RateOut = Annotated[
    Decimal,
    PlainSerializer(lambda v: format(v.normalize(), "f"), return_type=str),
    WithJsonSchema({"type": "string", "description": "percent per year", "examples": ["12.15"]}),
]


def _stdnum(module: Any, label: str) -> Any:
    def check(value: str) -> str:
        try:
            return str(module.validate(value))
        except stdnum_exc.ValidationError:
            raise ValueError(f"is not a valid {label}") from None

    return AfterValidator(check)


Siren = Annotated[str, Field(max_length=20, examples=["732829320"]), _stdnum(fr_siren, "SIREN")]
Siret = Annotated[
    str, Field(max_length=20, examples=["73282932000074"]), _stdnum(fr_siret, "SIRET")
]


def siret_outside_siren(siren: str | None, siret: str | None) -> bool:
    """Whether a SIRET names an establishment of another company than the SIREN (its first 9
    digits are the SIREN)."""
    return bool(siren and siret and not siret.startswith(siren))


VatNumber = Annotated[
    str, Field(max_length=20, examples=["FR44732829320"]), _stdnum(eu_vat, "EU VAT number")
]


def _iban(value: str) -> str:
    try:
        return str(IBAN(value).compact)
    except ValueError as exc:
        raise ValueError(f"is not a valid IBAN ({exc})") from None


def _bic(value: str) -> str:
    try:
        return str(BIC(value).compact)
    except ValueError as exc:
        raise ValueError(f"is not a valid BIC ({exc})") from None


Iban = Annotated[
    str, Field(max_length=42, examples=["FR1420041010050500013M02606"]), AfterValidator(_iban)
]
Bic = Annotated[str, Field(max_length=11, examples=["BNPAFRPPXXX"]), AfterValidator(_bic)]
Email = Annotated[EmailStr, Field(max_length=254)]
Phone = Annotated[str, Field(min_length=3, max_length=32, pattern=r"^\+?[0-9 ().-]{3,32}$")]
ExternalId = Annotated[str, Field(min_length=1, max_length=200)]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Note = Annotated[str, Field(max_length=2000)]
Currency = Annotated[
    str, Field(pattern=r"^[A-Z]{3}$", examples=["EUR"], description="ISO 4217 code")
]


def _reasonable_date(value: dt.date) -> dt.date:
    if not 1990 <= value.year <= 2100:
        raise ValueError("must be between 1990 and 2100")
    return value


Day = Annotated[dt.date, AfterValidator(_reasonable_date)]


class Address(InputModel):
    line1: str = Field(min_length=1, max_length=200)
    line2: str | None = Field(default=None, max_length=200)
    postal_code: str = Field(min_length=1, max_length=16)
    city: str = Field(min_length=1, max_length=100)
    country: str = Field(default="FR", pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2")

    @model_validator(mode="after")
    def _french_postal_code(self) -> Address:
        if self.country == "FR" and not (len(self.postal_code) == 5 and self.postal_code.isdigit()):
            raise ValueError("postal_code must be 5 digits in France")
        return self
