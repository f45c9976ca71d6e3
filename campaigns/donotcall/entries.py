"""Numbers as people give them: one typed, many pasted (one a line or comma separated), or a CSV. A
number in international format is taken as is; one in national format ("(415) 555-0142", "020 7946 0958")
is read in each country the workspace holds numbers in, and taken when exactly one reading is valid."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

import phonenumbers
from django.core.exceptions import ValidationError
from django.db.models import Min
from django.db.models.functions import Left

from campaigns.destinations import _column, _dialect, destinations_text
from phone_numbers.models import PhoneNumber
from phone_numbers.services import normalize_e164

MAX_PASTED = 5_000
# A CSV import is read in the request: phonenumbers takes 200 to 300 µs a row on this 2-core machine at load
# 10 (50,000 rows: 10 to 15 s), so a file holds at most 20,000; longer lists are split.
MAX_ROWS = 20_000
_SEPARATORS = re.compile(r"[,;\n]")
_PUNCTUATION = re.compile(r"[\s().\-/]")


@dataclass(frozen=True)
class EntryError:
    where: str  # "Line 3", "Row 12"
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


@dataclass(frozen=True)
class Parsed:
    numbers: tuple[str, ...]  # E.164, first occurrence of each, in the order given
    errors: tuple[EntryError, ...]
    duplicates: int


def workspace_regions() -> tuple[str, ...]:
    """The countries (regions) of the numbers the workspace holds or held: how its people write numbers.
    One sample per leading five characters ("+1415", "+4420") stands for the rest."""
    samples = (
        PhoneNumber.objects.annotate(lead=Left("e164", 5))
        .values("lead")
        .annotate(sample=Min("e164"))
        .values_list("sample", flat=True)
        .order_by()
    )
    regions = set()
    for sample in samples[:200]:
        try:
            region = phonenumbers.region_code_for_number(phonenumbers.parse(sample))
        except phonenumbers.NumberParseException:
            continue
        if region and region != "001":
            regions.add(region)
    return tuple(sorted(regions))


def number_read(text: str, regions: tuple[str, ...]) -> str:
    """One number as E.164, or a ValidationError saying what is wrong with it."""
    text = text.strip()
    if not text:
        raise ValidationError("Enter a phone number, e.g. +14155550142.")
    if any(ch.isalpha() for ch in text):
        raise ValidationError(f"“{text[:30]}” is not a phone number: letters aren't part of one.")
    if text.startswith("00"):
        text = "+" + text[2:]  # the international prefix most countries dial
    if text.startswith("+"):
        return normalize_e164(text)
    readings = set()
    for region in regions:
        try:
            parsed = phonenumbers.parse(text, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(parsed):
            readings.add(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))
    if len(readings) == 1:
        return readings.pop()
    if readings:
        both = " or ".join(sorted(readings))
        raise ValidationError(f"“{text[:30]}” could be {both}: write it with + and the country code.")
    where = f" in {', '.join(regions)}" if regions else ""
    raise ValidationError(
        f"“{text[:30]}” is not a valid number{where}. Write it with + and the country code, e.g. +14155550142."
    )


def numbers_pasted(text: str, regions: tuple[str, ...]) -> Parsed:
    """Numbers one a line, or separated by commas or semicolons; each bad one reported by its line."""
    items = (
        (f"Line {line_no}", item)
        for line_no, line in enumerate(text.splitlines(), start=1)
        for item in _SEPARATORS.split(line)
        if item.strip()
    )
    return _gathered(
        items, regions, most=MAX_PASTED,
        too_many=f"Paste at most {MAX_PASTED:,} numbers at a time, or import a CSV.",
        empty="Enter at least one phone number.",
    )  # fmt: skip


def numbers_csv(data: bytes, regions: tuple[str, ...]) -> Parsed:
    """A CSV of numbers: one a row, in a column named phone/number (or the first column), as campaign
    destination lists are read (campaigns/destinations.py)."""
    text = destinations_text(data)
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), _dialect(text), strict=True))
    except csv.Error as exc:
        raise ValidationError(f"The file is not valid CSV ({exc}).") from None
    column, start = _column(rows)
    items = (
        (f"Row {index}", row[column].strip() if column < len(row) else "")
        for index, row in enumerate(rows[start:], start=start + 1)
        if any(cell.strip() for cell in row)
    )
    return _gathered(
        items, regions, most=MAX_ROWS,
        too_many=f"Import at most {MAX_ROWS:,} numbers a file; split the list.",
        empty="The file has no numbers: put one phone number per row.",
    )  # fmt: skip


def _gathered(items, regions: tuple[str, ...], *, most: int, too_many: str, empty: str) -> Parsed:
    """(where, text) items read as numbers, in order and once each; a bad one reported by where it is."""
    numbers: dict[str, None] = {}
    errors: list[EntryError] = []
    duplicates = 0
    for where, item in items:
        if len(numbers) + len(errors) >= most:
            raise ValidationError(too_many)
        try:
            e164 = number_read(item, regions)
        except ValidationError as exc:
            errors.append(EntryError(where, exc.messages[0]))
            continue
        duplicates += e164 in numbers
        numbers[e164] = None
    if not numbers and not errors:
        raise ValidationError(empty)
    return Parsed(tuple(numbers), tuple(errors), duplicates)
