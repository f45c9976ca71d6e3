"""Destination lists: a CSV upload read into E.164 numbers, with a report of every row that is not one."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass

from django.core.exceptions import ValidationError

from phone_numbers.services import normalize_e164

MAX_BYTES = 5 * 1024 * 1024  # enforced as the upload streams in (campaigns/uploads.py)
TOO_BIG = f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB; split the list."
MAX_ROWS = 100_000
# Past this size (about 4,000 rows) a list is read by a worker, with its progress on the campaign page.
BACKGROUND_BYTES = 64 * 1024
PROGRESS_EVERY = 1_000  # rows
HEADER_NAMES = {"phone", "phone_number", "phone number", "number", "to", "destination", "e164", "msisdn"}


@dataclass(frozen=True)
class RowError:
    row: int
    value: str
    message: str

    def __str__(self) -> str:
        shown = f"“{self.value[:30]}”: " if self.value else ""
        return f"Row {self.row}: {shown}{self.message}"


@dataclass(frozen=True)
class Destinations:
    numbers: tuple[tuple[int, str], ...]  # (row, E.164), first occurrence of each
    errors: tuple[RowError, ...]
    duplicates: int


def destinations_parse(data: bytes, *, progress: Callable[[int], None] | None = None) -> Destinations:
    """Read a CSV of destinations: one per row, in a column named phone/number/to (or the first column).

    Raises ValidationError when the file as a whole can't be read; bad rows are reported, not raised.
    `progress` hears the number of rows read every PROGRESS_EVERY rows.
    """
    text = destinations_text(data)
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), _dialect(text), strict=True))
    except csv.Error as exc:
        raise ValidationError(f"The file is not valid CSV ({exc}).") from None
    column, start = _column(rows)
    numbers: list[tuple[int, str]] = []
    errors: list[RowError] = []
    seen: set[str] = set()
    duplicates = 0
    for index, row in enumerate(rows[start:], start=start + 1):
        if progress is not None and index % PROGRESS_EVERY == 0:
            progress(index)
        if not any(cell.strip() for cell in row):
            continue
        if len(numbers) + len(errors) >= MAX_ROWS:
            raise ValidationError(f"A campaign takes at most {MAX_ROWS:,} destinations; split the list.")
        value = row[column].strip() if column < len(row) else ""
        if not value:
            errors.append(RowError(index, "", "no phone number in this row."))
            continue
        try:
            e164 = normalize_e164(value)
        except ValidationError as exc:
            errors.append(RowError(index, value, exc.messages[0]))
            continue
        if e164 in seen:
            duplicates += 1
            continue
        seen.add(e164)
        numbers.append((index, e164))
    if not numbers and not errors:
        raise ValidationError("The file has no destinations: put one phone number per row.")
    return Destinations(numbers=tuple(numbers), errors=tuple(errors), duplicates=duplicates)


def destinations_text(data: bytes) -> str:
    """The file as text, or a ValidationError saying why it is not a CSV we can read (quick: no rows read)."""
    if len(data) > MAX_BYTES:
        raise ValidationError(TOO_BIG)
    if b"\x00" in data[:8192]:
        raise ValidationError("That is not a CSV file. Export the list as CSV (comma-separated values).")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError("The file is not UTF-8 text. Export it as “CSV UTF-8”.") from None


def rows_estimated(data: bytes) -> int:
    """The file's lines: what a progress bar counts to (blank lines and a header included)."""
    return data.count(b"\n") + (0 if data.endswith(b"\n") else 1)


def _dialect(text: str):
    try:
        return csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        return csv.excel  # one column: nothing to sniff


def _column(rows: list[list[str]]) -> tuple[int, int]:
    """(column of the numbers, first data row): a header row names the column, else the first column."""
    if not rows:
        return 0, 0
    header = [cell.strip().lower() for cell in rows[0]]
    for i, name in enumerate(header):
        if name in HEADER_NAMES:
            return i, 1
    first = header[0] if header else ""
    if first and not any(ch.isdigit() for ch in first):
        return 0, 1  # a header with another name
    return 0, 0
