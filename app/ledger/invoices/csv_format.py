"""Reading a CSV export as French accounting software writes it: any encoding (Windows-1252 as
often as UTF-8), `;`, `,` or tab separators, French or English headers, "1 234,56 €" amounts and
day-first dates ("15/10/26", "15.10.2026"). Pure functions: the file's text in, the rows as
values the batch upsert takes out, or a reason per cell."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

import charset_normalizer
from babel.numbers import NumberFormatError, parse_decimal
from stdnum.fr import siren as fr_siren

# What a column may mean. `creditor` and `debtor` are references (a Relance id, a SIREN or
# SIRET, the client's own code); the `debtor_*` columns let a row create a debtor not yet known.
INVOICE_FIELDS = (
    "number",
    "issue_date",
    "due_date",
    "amount",
    "currency",
    "late_penalty_rate",
    "external_id",
)
PARTY_FIELDS = ("creditor", "debtor", "debtor_name", "debtor_siren", "debtor_kind", "debtor_email")
FIELDS = (*INVOICE_FIELDS, *PARTY_FIELDS)
REQUIRED = ("number", "issue_date", "amount", "debtor")

# Header aliases, compared after `header_key` (no case, accents or punctuation: "N° facture" is
# "n facture", "Échéance" is "echeance"). A bare "SIREN" is the client's: an export of sales
# names the seller once, the buyer on every row.
_ALIASES: dict[str, tuple[str, ...]] = {
    "number": (
        "number", "invoice number", "invoice no", "invoice", "n facture", "no facture",
        "num facture", "numero", "numero facture", "numero de facture", "facture", "n piece",
        "no piece", "numero piece", "piece", "ref facture", "reference facture",
    ),
    "issue_date": (
        "issue date", "invoice date", "date", "date facture", "date de facture",
        "date de la facture", "date emission", "date d emission", "date piece",
    ),
    "due_date": (
        "due date", "echeance", "date echeance", "date d echeance", "date limite de paiement",
    ),
    "amount": (
        "amount", "amount due", "montant", "montant ttc", "total ttc", "ttc", "net a payer",
        "montant facture", "total",
    ),
    "currency": ("currency", "devise", "monnaie"),
    "late_penalty_rate": (
        "late penalty rate", "taux penalites", "taux de penalites", "taux penalites de retard",
        "taux de penalites de retard",
    ),
    "external_id": ("external id", "id externe", "identifiant externe", "reference externe"),
    "creditor": (
        "creditor", "creditor id", "creancier", "id creancier", "siren creancier",
        "siret creancier", "emetteur", "siren emetteur", "vendeur", "siren vendeur", "societe",
    ),
    "debtor": (
        "debtor", "debtor id", "client", "code client", "id client", "debiteur", "code debiteur",
        "customer", "customer id", "customer code", "compte client",
    ),
    "debtor_name": (
        "debtor name", "customer name", "nom client", "nom du client", "client nom", "nom",
        "raison sociale", "raison sociale client", "nom debiteur",
    ),
    "debtor_siren": (
        "debtor siren", "customer siren", "siren", "siren client", "siret", "siret client",
        "siren debiteur",
    ),
    "debtor_kind": ("debtor kind", "kind", "type client", "type de client", "categorie client"),
    "debtor_email": (
        "debtor email", "email", "e mail", "email client", "e mail client", "courriel",
    ),
}  # fmt: skip


def header_key(name: str) -> str:
    """A header as compared: "N° Facture" -> "n facture", "Échéance" -> "echeance"."""
    decomposed = unicodedata.normalize("NFKD", name)
    letters = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", letters).split())


_BY_ALIAS = {alias: target for target, aliases in _ALIASES.items() for alias in aliases}
_BY_ALIAS.update({header_key(target): target for target in FIELDS})  # "creditor_id" and such


class CsvFormatError(ValueError):
    """The file cannot be read as an invoice export (encoding, header): nothing was imported."""


# --- the file ------------------------------------------------------------------------------------


@dataclass
class DecodedFile:
    text: str
    encoding: str


# What French software writes besides UTF-8: Windows-1252 (Excel, most accounting exports), the
# DOS code page 850 of older ERPs, Mac Roman, and Excel's "texte Unicode" (UTF-16). Unrestricted,
# charset-normalizer takes a short French export for Hungarian cp1250 ("è" read as "č").
_FRENCH_ENCODINGS = ["cp1252", "cp850", "mac_roman", "utf_16"]


def decode(data: bytes) -> DecodedFile:
    """UTF-8 (with or without BOM) when the bytes are UTF-8, else the French encoding that
    charset-normalizer finds most plausible (else whatever it finds)."""
    try:
        return DecodedFile(data.decode("utf-8-sig"), "utf-8")
    except UnicodeDecodeError:
        pass
    best = (
        charset_normalizer.from_bytes(data, cp_isolation=_FRENCH_ENCODINGS).best()
        or charset_normalizer.from_bytes(data).best()
    )
    if best is None:
        raise CsvFormatError("cannot tell the file's encoding: is it a CSV text file?")
    return DecodedFile(str(best), best.encoding)


def sniff_delimiter(text: str) -> str:
    """The header names the columns, so its most frequent separator is the file's (csv.Sniffer
    is fooled by decimal commas in the rows)."""
    header = text.split("\n", 1)[0]
    return max(";,\t", key=header.count)


# --- the header ----------------------------------------------------------------------------------


@dataclass
class ColumnMap:
    """Which file column feeds which field, and the columns left out (each said once)."""

    fields: dict[str, str]  # field -> the file's header
    ignored: list[str] = field(default_factory=list)


def parse_mapping(option: str | None) -> dict[str, str]:
    """`--map "N° pièce=number,Client=debtor"` as {header key: field}."""
    mapping: dict[str, str] = {}
    for part in (option or "").split(","):
        if not part.strip():
            continue
        header, sep, target = part.rpartition("=")
        target = target.strip().removesuffix("_id")  # creditor_id and debtor_id are accepted
        if not sep or not header.strip():
            raise CsvFormatError(f"--map: '{part.strip()}' is not HEADER=FIELD")
        if target not in FIELDS:
            raise CsvFormatError(f"--map: unknown field '{target}' (fields: {', '.join(FIELDS)})")
        mapping[header_key(header)] = target
    return mapping


def map_columns(
    headers: list[str], explicit: Mapping[str, str], *, creditor_given: bool
) -> ColumnMap:
    """The fields of `headers`: `explicit` (from --map) first, then the aliases. A second column
    for a field already taken, or an unknown one, is ignored; a required field missing is an
    error, before any row is read."""
    keys = {header_key(h): h for h in headers}
    missing = [h for h in explicit if h not in keys]
    if missing:
        raise CsvFormatError(
            f"--map names columns not in the file: {', '.join(missing)} "
            f"(columns: {', '.join(headers)})"
        )
    columns = ColumnMap(fields={})
    for header in headers:
        target = explicit.get(header_key(header)) or _BY_ALIAS.get(header_key(header))
        if target is None or target in columns.fields:
            columns.ignored.append(header)
        else:
            columns.fields[target] = header
    required = [f for f in REQUIRED if f not in columns.fields]
    if "creditor" not in columns.fields and not creditor_given:
        required.append("creditor (or --creditor)")
    if required:
        raise CsvFormatError(
            f"no column for {', '.join(required)} (columns: {', '.join(headers)}); "
            'name them with --map "HEADER=FIELD,..."'
        )
    return columns


# --- the cells -----------------------------------------------------------------------------------

_DATE_FORMATS = ("%d/%m/%Y", "%d.%m.%Y", "%d-%m-%Y", "%d/%m/%y", "%d.%m.%y", "%Y-%m-%d")
_SPACES = re.compile(r"[\s\u00a0\u202f\u2009]+")
_NARROW_NBSP = "\u202f"  # the fr_FR grouping separator in CLDR


def parse_date(value: str) -> str:
    """Day-first French dates (15/10/2026, 5/10/2026, 15.10.2026, 15/10/26) or ISO, as ISO."""
    for pattern in _DATE_FORMATS:
        try:
            # A calendar day, not an instant: no time zone to attach.
            return dt.datetime.strptime(value, pattern).date().isoformat()  # noqa: DTZ007
        except ValueError:
            continue
    raise ValueError(f"'{value}' is not a date (dd/mm/yyyy, dd.mm.yyyy, dd/mm/yy or yyyy-mm-dd)")


def parse_decimal_fr(value: str) -> str:
    """ "1 234,56 €", "1.234,56", "1234.56" or "12,5 %" as a plain decimal string ("1234.56").
    Babel reads the French form; dots used as thousands separators (before a decimal comma, or
    several of them) are dropped first, a lone dot is a decimal point as in "1234.56"."""
    text = value.replace("€", "").replace("%", "").strip().removesuffix("EUR").strip()
    text = _SPACES.sub(_NARROW_NBSP, text)
    if "," in text and "." in text:
        # Whichever comes last is the decimal separator.
        text = text.replace(".", "") if text.rfind(",") > text.rfind(".") else text.replace(",", "")
    elif text.count(".") > 1:
        text = text.replace(".", "")
    try:
        number = parse_decimal(text, locale="fr_FR", strict=True)
    except NumberFormatError:
        raise ValueError(f"'{value}' is not an amount such as 1 234,56") from None
    return str(number)


_KINDS = {
    "business": "business", "entreprise": "business", "professionnel": "business",
    "pro": "business", "b2b": "business", "societe": "business",
    "consumer": "consumer", "particulier": "consumer", "consommateur": "consumer",
    "b2c": "consumer",
}  # fmt: skip


def parse_kind(value: str) -> str:
    kind = _KINDS.get(header_key(value))
    if kind is None:
        raise ValueError(f"'{value}' is neither business (entreprise) nor consumer (particulier)")
    return kind


def company_number(value: str) -> str:
    """A SIREN, or a SIRET's first 9 digits (its SIREN), spaces removed."""
    digits = fr_siren.compact(value)
    return digits[:9] if len(digits) == 14 and digits.isdigit() else digits


def looks_like_siren(value: str) -> bool:
    return fr_siren.is_valid(company_number(value))


_PARSERS = {
    "issue_date": parse_date,
    "due_date": parse_date,
    "amount": parse_decimal_fr,
    "late_penalty_rate": parse_decimal_fr,
    "debtor_kind": parse_kind,
    "debtor_siren": company_number,
}


@dataclass
class Row:
    """One data row: its line in the file, its cells as read (for the rejected-rows file), the
    fields parsed, and what was wrong with them."""

    line: int
    raw: dict[str, str]
    values: dict[str, str]
    errors: list[str]


def parse_row(line: int, raw: dict[str, str], columns: ColumnMap) -> Row:
    values: dict[str, str] = {}
    errors: list[str] = []
    for target, header in columns.fields.items():
        cell = (raw.get(header) or "").strip()
        if cell == "":
            continue  # an empty cell means "not given": defaults apply
        parser = _PARSERS.get(target)
        try:
            values[target] = parser(cell) if parser else cell
        except ValueError as exc:
            errors.append(f"{target}: {exc}")
    return Row(line=line, raw=raw, values=values, errors=errors)


def read_rows(text: str, delimiter: str) -> tuple[list[str], Iterator[tuple[int, dict[str, str]]]]:
    """The header and the data rows with their line numbers; empty rows and rows of separators
    only (";;;;", spreadsheets add them) are skipped."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    headers = [h.strip() for h in next(reader, [])]
    if not any(headers):
        raise CsvFormatError("the file is empty: a header row is expected")

    def rows() -> Iterator[tuple[int, dict[str, str]]]:
        ended = reader.line_num  # the line the last row read ended on
        try:
            for cells in reader:
                line, ended = reader.line_num, reader.line_num
                if any(cell.strip() for cell in cells):
                    # Cells past the header (a trailing separator) have no column: dropped.
                    yield line, dict(zip(headers, cells, strict=False))
        except csv.Error as exc:  # e.g. an unclosed quote swallowing the rest of the file
            raise CsvFormatError(
                f"line {ended + 1}: {exc}; the rows before it were imported"
            ) from None

    return headers, rows()
