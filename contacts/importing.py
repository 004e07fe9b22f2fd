"""Importing contacts from a CSV or XLSX file: the one place for its rules.

The import page, the admin (for files too large for its own form) and the
`import_contacts` command all call `import_run`. A file is streamed, never
read whole: its encoding and delimiter are sniffed from the first bytes, each
row is checked in Python (contacts.addresses, cached per domain), and valid
rows are loaded in chunks into a temporary table (COPY on PostgreSQL) from
which two statements update the existing contacts and insert the new ones.
The status rules live in those statements: an import never turns an
unsubscribed, bounced, complained or suppressed address into a subscribed
one, whatever the file says. A bad row is written to the rejected-rows file
with its reason and never stops the others.
"""

import codecs
import csv
import io
import json
import queue
import re
import threading
import unicodedata
import zipfile
import zoneinfo
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from charset_normalizer import from_bytes
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.utils import timezone

from contacts.addresses import address_check
from contacts.models import Contact, Group, Suppression

SAMPLE_BYTES = 256 * 1024
CHUNK_ROWS = 20_000
MAX_CELL_CHARS = 10_000  # a longer cell is not a name or an attribute
CSV_FIELD_LIMIT = 4 * 1024 * 1024  # past this the file is not a table at all
XLSX_MAX_UNCOMPRESSED = 2 * 1024**3
XLSX_MAX_RATIO = 200  # real sheets compress 5 to 50 times
DELIMITERS = [",", ";", "\t", "|"]

# What a column can be imported as.
EMAIL, FIRST_NAME, LAST_NAME, FULL_NAME = "email", "first_name", "last_name", "full_name"
STATUS, LOCALE, TIME_ZONE, ATTRIBUTES = "status", "locale", "time_zone", "attributes"
ATTRIBUTE, IGNORE = "attribute", ""
TARGETS = {
    EMAIL: "Email address",
    FIRST_NAME: "First name",
    LAST_NAME: "Last name",
    FULL_NAME: "Full name (split into first and last)",
    STATUS: "Status",
    LOCALE: "Language",
    TIME_ZONE: "Time zone",
    ATTRIBUTES: "Attributes (a JSON object)",
    ATTRIBUTE: "Keep as an attribute",
    IGNORE: "Do not import",
}
_ONE_PER_FILE = {EMAIL, FIRST_NAME, LAST_NAME, FULL_NAME, STATUS, LOCALE, TIME_ZONE, ATTRIBUTES}

# Header names, squeezed to letters and digits, that say what a column is:
# ours, Mailchimp's ("Email Address", "First Name", "TIMEZONE") and
# listmonk's ("email", "name", "attributes", "status").
HEADER_ALIASES = {
    EMAIL: "email emailaddress e-mail mail emailaddr mailaddress correo courriel "
    "subscriberemail customeremail",
    FIRST_NAME: "firstname first givenname fname forename vorname prenom nombre",
    LAST_NAME: "lastname last surname familyname lname nachname nom apellido",
    FULL_NAME: "name fullname displayname subscribername customername",
    STATUS: "status subscriptionstatus",
    LOCALE: "locale language lang",
    TIME_ZONE: "timezone tz",
    ATTRIBUTES: "attributes attribs",
}
_ALIASES = {alias.replace("-", ""): target for target, names in HEADER_ALIASES.items()
            for alias in names.split()}  # fmt: skip

# Status words of our own and of other tools; anything else is a bad row.
STATUS_WORDS = {
    "subscribed": Contact.Status.SUBSCRIBED,
    "enabled": Contact.Status.SUBSCRIBED,
    "active": Contact.Status.SUBSCRIBED,
    "confirmed": Contact.Status.SUBSCRIBED,
    "yes": Contact.Status.SUBSCRIBED,
    "unconfirmed": Contact.Status.UNCONFIRMED,
    "pending": Contact.Status.UNCONFIRMED,
    "not_subscribed": Contact.Status.NOT_SUBSCRIBED,
    "not subscribed": Contact.Status.NOT_SUBSCRIBED,
    "non-subscribed": Contact.Status.NOT_SUBSCRIBED,
    "transactional": Contact.Status.NOT_SUBSCRIBED,
    "unsubscribed": Contact.Status.UNSUBSCRIBED,
    "blocklisted": Contact.Status.UNSUBSCRIBED,
    "blacklisted": Contact.Status.UNSUBSCRIBED,
    "no": Contact.Status.UNSUBSCRIBED,
    "bounced": Contact.Status.BOUNCED,
    "cleaned": Contact.Status.BOUNCED,
    "complained": Contact.Status.COMPLAINED,
}
OPTED_OUT = [Contact.Status.UNSUBSCRIBED, Contact.Status.BOUNCED, Contact.Status.COMPLAINED]
_LOCALE = re.compile(r"[a-z]{2,3}(?:[-_][a-z0-9]{2,8})?")


class FileProblem(ValueError):
    """Why a whole file cannot be imported, written for the person importing."""


# --- Reading a file -----------------------------------------------------------


@dataclass
class Table:
    """An opened file: its header and a stream of rows (lists of text)."""

    kind: str  # "csv" or "xlsx"
    headers: list[str]
    rows: Iterator[list[str]]
    progress: Callable[[], float]
    encoding: str = ""
    delimiter: str = ""
    has_header: bool = True
    first_line: int = 2  # the file line of the first data row
    email_column: int | None = None  # of a file without a header

    def mapping_guess(self) -> list[str]:
        mapping = mapping_guess(self.headers)
        if self.email_column is not None and EMAIL not in mapping:
            mapping[self.email_column] = EMAIL
        return mapping


@contextmanager
def table_open(path: Path | str, *, encoding: str = "") -> Iterator[Table]:
    """Open a file as a table, or raise FileProblem saying why it is not one."""
    path = Path(path)
    size = path.stat().st_size
    with path.open("rb") as raw:
        head = raw.read(SAMPLE_BYTES)
        raw.seek(0)
        if not head.strip():
            raise FileProblem("The file is empty." if not head else "The file has only blanks.")
        if head.startswith(b"PK\x03\x04"):
            with _xlsx_table(path) as table:
                yield table
            return
        if head.startswith(b"\xd0\xcf\x11\xe0"):
            raise FileProblem(
                "This is an old Excel file (.xls). Save it as .xlsx or as CSV and upload that."
            )
        encoding = encoding or encoding_sniff(head)
        text = io.TextIOWrapper(raw, encoding=encoding, errors="replace", newline="")
        sample = head.decode(encoding, errors="replace")
        sample = sample[: sample.rfind("\n") + 1] or sample
        if not _is_text(sample):
            raise FileProblem(_BINARY)
        delimiter = delimiter_sniff(sample)
        csv.field_size_limit(CSV_FIELD_LIMIT)
        reader = csv.reader(text, delimiter=delimiter)  # NUL bytes are fine since 3.11
        table = _with_header(reader, lambda: raw.tell() / size if size else 1.0)
        table.kind, table.encoding, table.delimiter = "csv", encoding, delimiter
        try:
            yield table
        except csv.Error as error:
            raise FileProblem(
                f"The file could not be read as a table past row {reader.line_num}: {error}. "
                "Is it really a CSV file?"
            ) from None


def encoding_sniff(head: bytes) -> str:
    """UTF-8 (with or without BOM), UTF-16 (with BOM, or plainly ASCII-ish
    without), else the likelier of GB18030 and Windows-1252/Latin-1."""
    for bom, name in [
        (codecs.BOM_UTF32_LE, "utf-32"),
        (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ]:
        if head.startswith(bom):
            return name
    even, odd = head[0::2], head[1::2]
    if len(head) >= 4 and odd.count(0) > 0.4 * len(odd) and even.count(0) < 0.05 * len(even):
        return "utf-16-le"
    if len(head) >= 4 and even.count(0) > 0.4 * len(even) and odd.count(0) < 0.05 * len(odd):
        return "utf-16-be"
    if _looks_binary(head):
        raise FileProblem(_BINARY)
    cut = head[: head.rfind(b"\n") + 1] or head
    try:
        cut.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    best = from_bytes(cut, cp_isolation=["gb18030", "cp1252", "latin_1"]).best()
    return best.encoding if best else "cp1252"


_BINARY = "This file is not a table: it holds binary data. Upload a CSV or an XLSX file."


def _is_text(sample: str) -> bool:
    """Mostly letters, digits, punctuation and blanks once decoded."""
    odd = sum(
        1
        for char in sample[:20_000]
        if not (char.isprintable() or char in "\t\r\n") or char == "\N{REPLACEMENT CHARACTER}"
    )
    return odd <= 0.02 * min(len(sample), 20_000)


def _looks_binary(head: bytes) -> bool:
    controls = sum(head.count(byte) for byte in range(0, 32) if byte not in (9, 10, 13, 12))
    return head.count(0) > max(1, len(head) // 1000) or controls > max(2, len(head) // 100)


def delimiter_sniff(sample: str) -> str:
    """The delimiter that cuts the first line into columns, and the most of
    the next lines into as many; a comma when none does."""
    best, best_score = ",", (0, 0.0, 0)
    for delimiter in DELIMITERS:
        try:
            counts = [len(row) for row in csv.reader(io.StringIO(sample), delimiter=delimiter)]
        except csv.Error:
            continue
        counts = [count for count in counts[:200] if count]
        if not counts:
            continue
        # The header row is the likeliest to be complete.
        width = counts[0]
        score = (int(width > 1), counts.count(width) / len(counts), width)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _with_header(rows: Iterator[list[str]], progress) -> Table:
    """The first non-blank row is the header, unless it already holds an
    address (a file without a header)."""
    rows = iter(rows)
    line = 0
    for first in rows:
        line += 1
        if any(cell.strip() for cell in first):
            break
    else:
        raise FileProblem("The file has no rows.")
    if first and first[0].startswith("\ufeff"):
        first[0] = first[0][1:]
    addresses = [address_check(cell, check_domain_dns=False).problem is None for cell in first]
    if not any(map(header_target, first)) and any(addresses):
        headers = [f"Column {index + 1}" for index in range(len(first))]
        table = Table("", headers, _chain([first], rows), progress, has_header=False, first_line=1)
        table.email_column = addresses.index(True)
        return table
    headers = [_cell_text(cell) for cell in first]
    return Table("", headers, rows, progress, first_line=line + 1)


def _chain(first, rest):
    yield from first
    yield from rest


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value).strip()


@contextmanager
def _xlsx_table(path: Path) -> Iterator[Table]:
    xlsx_guard(path)
    import openpyxl  # read-only: rows are streamed; defusedxml parses the XML

    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many kinds for a broken file
        raise FileProblem(f"This XLSX file could not be opened: {error}.") from None
    try:
        sheet = workbook.worksheets[0]
        total = sheet.max_row or 0
        read = [0]

        def rows():
            for values in sheet.iter_rows(values_only=True):
                read[0] += 1
                yield [_cell_text(value) for value in values]

        table = _with_header(rows(), lambda: min(read[0] / total, 1.0) if total else 0.0)
        table.kind = "xlsx"
        try:
            yield table
        except FileProblem:
            raise
        except (ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
            raise FileProblem(f"This XLSX file could not be read: {error}.") from None
        except Exception as error:  # a forbidden DTD or entity in the sheet's XML
            if type(error).__module__.startswith(("defusedxml", "xml")):
                raise FileProblem(_XML_DTD_PROBLEM) from None
            raise
    finally:
        workbook.close()


_XML_DTD_PROBLEM = (
    "This XLSX file declares XML entities or a document type, which a spreadsheet "
    "never needs and an attack does (XXE, “billion laughs”). It was not read."
)


def xlsx_guard(path: Path) -> None:
    """Refuse a workbook that would unpack to far more than it weighs (a zip
    bomb) or whose XML declares a DTD, before any XML is parsed."""
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise FileProblem("This file looks like an XLSX workbook but is damaged.") from None
    with archive:
        members = archive.infolist()
        total = sum(member.file_size for member in members)
        packed = sum(member.compress_size for member in members)
        too_dense = any(
            member.file_size > 10 * 1024 * 1024
            and member.file_size > XLSX_MAX_RATIO * max(member.compress_size, 1)
            for member in members
        )
        if len(members) > 10_000 or total > XLSX_MAX_UNCOMPRESSED or too_dense:
            raise FileProblem(
                f"This workbook would unpack from {packed // 1024:,} KB to "
                f"{total // 1024**2:,} MB; "
                "that is a zip bomb, not a spreadsheet. It was not opened."
            )
        for member in members:
            if member.filename.endswith((".xml", ".rels")):
                with archive.open(member) as part:
                    head = part.read(4096)
                if (
                    b"<!DOCTYPE" in head.upper()
                    or b"<!ENTITY" in head.upper()
                    or (b"\0" in head and b"D\0O\0C\0T\0Y\0P\0E" in head.upper())
                ):
                    raise FileProblem(_XML_DTD_PROBLEM)


# --- Mapping columns ------------------------------------------------------------


def _squeeze(header: str) -> str:
    header = unicodedata.normalize("NFKD", header).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", header.lower())


def header_target(header: str) -> str:
    return _ALIASES.get(_squeeze(header or ""), IGNORE)


def mapping_guess(headers: list[str]) -> list[str]:
    """A target for each column from its header; each target once."""
    taken: set[str] = set()
    mapping = []
    for header in headers:
        target = header_target(header)
        if target in taken:
            target = IGNORE
        taken.add(target)
        mapping.append(target)
    if FULL_NAME in taken and (FIRST_NAME in taken or LAST_NAME in taken):
        mapping = [IGNORE if target == FULL_NAME else target for target in mapping]
    return mapping


def mapping_problem(mapping: list[str]) -> str | None:
    if EMAIL not in mapping:
        return "Choose the column that holds the email addresses."
    for target in _ONE_PER_FILE:
        if mapping.count(target) > 1:
            return f"Only one column can be imported as “{TARGETS[target]}”."
    unknown = set(mapping) - set(TARGETS)
    if unknown:
        return f"Unknown column target(s): {', '.join(sorted(unknown))}."
    return None


@dataclass
class Preview:
    kind: str
    encoding: str
    delimiter: str
    has_header: bool
    headers: list[str]
    mapping: list[str]
    rows: list[list[str]]


def file_preview(path: Path | str, *, rows: int = 5) -> Preview:
    """The header, a guessed mapping and the first rows, for the mapping page."""
    with table_open(path) as table:
        sample = []
        for row in table.rows:
            if any(cell.strip() for cell in row):
                sample.append(row)
            if len(sample) >= rows:
                break
    if not sample:
        raise FileProblem("The file has a header but no rows of contacts.")
    width = max(len(table.headers), *(len(row) for row in sample))
    headers = table.headers + [f"Column {i + 1}" for i in range(len(table.headers), width)]
    sample = [row + [""] * (width - len(row)) for row in sample]
    mapping = table.mapping_guess() + [IGNORE] * (width - len(table.headers))
    if EMAIL not in mapping:
        mapping = _email_column_guess(mapping, sample)
    return Preview(
        table.kind, table.encoding, table.delimiter, table.has_header, headers, mapping, sample
    )


def _email_column_guess(mapping: list[str], sample: list[list[str]]) -> list[str]:
    for index in range(len(mapping)):
        if mapping[index] == IGNORE and all("@" in row[index] for row in sample):
            return [EMAIL if i == index else target for i, target in enumerate(mapping)]
    return mapping


# --- Checking rows --------------------------------------------------------------


@dataclass
class ImportOptions:
    mapping: list[str] | None = None  # None: guessed from the header
    group_ids: list[int] = field(default_factory=list)
    update_existing: bool = False
    consent_source: str = "import"
    encoding: str = ""


@dataclass
class ImportResult:
    rows: int = 0
    created: int = 0
    updated: int = 0
    skipped: int = 0
    duplicates: int = 0
    rejected: int = 0
    flagged: int = 0
    rejected_path: str = ""

    def summary(self) -> str:
        return (
            f"{self.rows:,} rows: {self.created:,} created, {self.updated:,} updated, "
            f"{self.skipped:,} skipped ({self.duplicates:,} duplicate rows), "
            f"{self.rejected:,} rejected; {self.flagged:,} addresses flagged."
        )


Row = tuple  # (email, first, last, locale, time_zone, attributes json, status, flag)


class RowChecker:
    """Turns a file row into a contact row, or into the reason it is refused."""

    def __init__(self, headers: list[str], mapping: list[str]):
        self.width = len(mapping)
        self.index = {
            target: mapping.index(target) for target in _ONE_PER_FILE if target in mapping
        }
        self.attribute_columns = [
            (index, headers[index] if index < len(headers) else f"Column {index + 1}")
            for index, target in enumerate(mapping)
            if target == ATTRIBUTE
        ]
        self.time_zones = zoneinfo.available_timezones()
        self.seen: set[str] = set()
        self.email_index = self.index[EMAIL]
        self.locales: dict[str, str] = {}  # as written -> as stored, "" if bad
        self.check_dns = settings.ADDRESS_CHECK_DNS
        self.full_name_index = self.index.get(FULL_NAME)
        self.optional = [
            self.index.get(target)
            for target in (FIRST_NAME, LAST_NAME, LOCALE, TIME_ZONE, STATUS, ATTRIBUTES)
        ]

    def check(self, cells: list[str]) -> Row | str | None:
        """A contact row, a reason for refusing it, or None for a blank or
        duplicate row (counted apart)."""
        width = len(cells)
        if width > self.width and any(cell.strip() for cell in cells[self.width :]):
            return f"The row has {width} cells; the header has {self.width}."
        if width < self.width:
            cells = cells + [""] * (self.width - width)
        longest = max(map(len, cells))
        if longest > MAX_CELL_CHARS:
            return f"A cell is {longest:,} characters long; at most {MAX_CELL_CHARS:,} are read."
        verdict = address_check(cells[self.email_index], check_domain_dns=self.check_dns)
        if verdict.problem:
            return verdict.problem
        email = verdict.email
        if email in self.seen:
            return None
        first, last, locale, time_zone, status_text, json_text = [
            cells[index].strip() if index is not None else "" for index in self.optional
        ]
        if self.full_name_index is not None:
            first, _, last = cells[self.full_name_index].strip().partition(" ")
            first, last = first.strip(), last.strip()
        problem = None
        if len(first) > 100 or len(last) > 100:
            problem = "A name is longer than 100 characters."
        if locale:
            known = self.locales.get(locale)
            if known is None:
                known = locale.lower().replace("_", "-")
                known = self.locales[locale] = known if _LOCALE.fullmatch(known) else ""
            if not known:
                problem = f"“{locale}” is not a language code such as en or pt-BR."
            locale = known
        if time_zone and time_zone not in self.time_zones:
            problem = f"“{time_zone}” is not a time zone; use a name like Europe/Berlin."
        status = None
        if status_text:
            status = STATUS_WORDS.get(status_text.lower())
            if status is None:
                problem = (
                    f"“{status_text}” is not a status: use subscribed, unconfirmed or unsubscribed."
                )
        attributes = None
        if json_text or self.attribute_columns:
            attributes, attribute_problem = self._attributes(cells, json_text)
            problem = problem or attribute_problem
        if problem:
            return problem
        self.seen.add(email)
        return (email, first, last, locale, time_zone, attributes, status, verdict.flag)

    def _attributes(self, cells, json_text: str) -> tuple[str | None, str | None]:
        attributes = {}
        if json_text:
            try:
                attributes = json.loads(json_text)
            except ValueError:
                attributes = None
            if not isinstance(attributes, dict):
                return None, 'The attributes must be a JSON object, e.g. {"city": "Riga"}.'
        for index, name in self.attribute_columns:
            if index < len(cells) and cells[index].strip():
                attributes[name] = cells[index].strip()
        return (json.dumps(attributes, ensure_ascii=False) if attributes else None), None


# --- Loading --------------------------------------------------------------------


def contact_import_status(*, before: str | None, wanted: str, suppression_reason: str | None):
    """The status a contact gets from an import, row by row (the admin's
    small-file import); the bulk statements below say the same in SQL. An
    opted-out contact stays as it is, a suppressed address is never
    subscribed, whatever the file says."""
    if before in OPTED_OUT:
        return before
    if suppression_reason is not None:
        return {
            Suppression.Reason.BOUNCED: Contact.Status.BOUNCED,
            Suppression.Reason.COMPLAINED: Contact.Status.COMPLAINED,
        }.get(suppression_reason, Contact.Status.UNSUBSCRIBED)
    return wanted


_COLUMNS = "line, email, first_name, last_name, locale, time_zone, attributes, status, flag"
_TEMP = "contacts_import_rows"


def _temp_table_create(cursor) -> None:
    json_type = "jsonb" if connection.vendor == "postgresql" else "text"
    cursor.execute(f"DROP TABLE IF EXISTS {_TEMP}")
    cursor.execute(
        f"CREATE TEMP TABLE {_TEMP} (line integer, email text PRIMARY KEY, first_name text, "
        f"last_name text, locale text, time_zone text, attributes {json_type}, status text, "
        "flag text)"
    )


def _temp_table_fill(cursor, rows: list[tuple]) -> None:
    if connection.vendor == "postgresql":
        with cursor.cursor.copy(f"COPY {_TEMP} ({_COLUMNS}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    else:
        marks = ", ".join(["%s"] * 9)
        cursor.executemany(f"INSERT INTO {_TEMP} ({_COLUMNS}) VALUES ({marks})", rows)


def _suppressed_status_sql() -> str:
    """The status an address on the suppression list must have."""
    return (
        f"CASE s.reason WHEN '{Suppression.Reason.BOUNCED}' THEN '{Contact.Status.BOUNCED}' "
        f"WHEN '{Suppression.Reason.COMPLAINED}' THEN '{Contact.Status.COMPLAINED}' "
        f"ELSE '{Contact.Status.UNSUBSCRIBED}' END"
    )


def _chunk_load(
    cursor, *, chunk_size: int, options: ImportOptions, now: datetime, default_status: str
) -> dict:
    """Update or count the existing contacts of the temporary table, insert
    the new ones, add all to the groups. Returns the counts."""
    contact, suppression = Contact._meta.db_table, Suppression._meta.db_table
    opted_out = ", ".join(f"'{status}'" for status in OPTED_OUT)
    counts = {"created": 0, "updated": 0, "skipped": 0}
    if connection.vendor == "postgresql":
        # Each chunk is small next to the contacts table: look its rows up in
        # the email index one by one. The planner, left alone, hashes the
        # whole table for every chunk, which makes an import quadratic.
        cursor.execute("SET LOCAL enable_hashjoin = off")
        cursor.execute("SET LOCAL enable_mergejoin = off")
    if options.update_existing:
        merge = (
            f"{contact}.attributes || COALESCE(r.attributes, '{{}}'::jsonb)"
            if connection.vendor == "postgresql"
            else f"json_patch({contact}.attributes, COALESCE(r.attributes, '{{}}'))"
        )
        keep = {name: f"COALESCE(NULLIF(r.{name}, ''), {contact}.{name})"
                for name in ("first_name", "last_name", "locale", "time_zone")}  # fmt: skip
        cursor.execute(
            f"UPDATE {contact} SET first_name = {keep['first_name']}, "
            f"last_name = {keep['last_name']}, locale = {keep['locale']}, "
            f"time_zone = {keep['time_zone']}, attributes = {merge}, address_flag = r.flag, "
            f"status = CASE WHEN {contact}.status IN ({opted_out}) THEN {contact}.status "
            f"WHEN s.reason IS NOT NULL THEN {_suppressed_status_sql()} "
            f"ELSE COALESCE(r.status, {contact}.status) END, updated_at = %s "
            f"FROM {_TEMP} r LEFT JOIN {suppression} s ON s.email = r.email "
            f"WHERE {contact}.email = r.email",
            [now],
        )
        counts["updated"] = cursor.rowcount
    cursor.execute(
        f"INSERT INTO {contact} (email, first_name, last_name, locale, time_zone, attributes, "
        "status, consent_at, consent_source, address_flag, created_at, updated_at) "
        "SELECT r.email, COALESCE(r.first_name, ''), COALESCE(r.last_name, ''), "
        "COALESCE(NULLIF(r.locale, ''), %s), COALESCE(NULLIF(r.time_zone, ''), %s), "
        f"COALESCE(r.attributes, '{{}}'), "
        f"CASE WHEN s.reason IS NOT NULL THEN {_suppressed_status_sql()} "
        "ELSE COALESCE(r.status, %s) END, %s, %s, r.flag, %s, %s "
        f"FROM {_TEMP} r LEFT JOIN {suppression} s ON s.email = r.email "
        f"WHERE NOT EXISTS (SELECT 1 FROM {contact} c WHERE c.email = r.email) "
        "ON CONFLICT (email) DO NOTHING",
        ["en", "UTC", default_status, now, options.consent_source[:200], now, now],
    )
    counts["created"] = cursor.rowcount
    if not options.update_existing:
        counts["skipped"] = chunk_size - counts["created"]
    if options.group_ids:
        members = Contact.groups.through._meta.db_table
        values = " UNION ALL ".join(["SELECT %s AS group_id"] * len(options.group_ids))
        cursor.execute(
            f"INSERT INTO {members} (contact_id, group_id) SELECT c.id, g.group_id "
            f"FROM {_TEMP} r JOIN {contact} c ON c.email = r.email CROSS JOIN ({values}) g "
            "WHERE true ON CONFLICT DO NOTHING",
            options.group_ids,
        )
    return counts


def _rows_in_chunks(table: Table, checker: RowChecker, result: ImportResult, reject):
    chunk: list[tuple] = []
    for line, cells in enumerate(table.rows, start=table.first_line):
        joined = "".join(cells)
        if not joined.strip():
            continue
        if "\0" in joined:  # the database stores no NUL; a stray one is dropped
            cells = [cell.replace("\0", "") for cell in cells]
        result.rows += 1
        verdict = checker.check(cells)
        if verdict is None:
            result.duplicates += 1
        elif isinstance(verdict, str):
            result.rejected += 1
            reject(line, cells, verdict)
        else:
            result.flagged += bool(verdict[-1])
            chunk.append((line, *verdict))
            if len(chunk) >= CHUNK_ROWS:
                yield chunk
                chunk = []
    if chunk:
        yield chunk


def _chunks_load(chunks, *, table, options, result, on_progress) -> None:
    """Load each chunk. On PostgreSQL the loading runs in other threads, so
    that checking the next chunks (Python) and loading earlier ones (the
    database) overlap: IMPORT_LOADERS threads with a connection each, or,
    inside a caller's transaction (tests), one thread on the caller's
    connection, which the checking thread leaves alone meanwhile."""
    counting = threading.Lock()

    def load_one(cursor, chunk) -> None:
        with transaction.atomic():
            cursor.execute(f"DELETE FROM {_TEMP}")
            _temp_table_fill(cursor, chunk)
            counts = _chunk_load(
                cursor,
                chunk_size=len(chunk),
                options=options,
                now=timezone.now(),
                default_status=Contact.Status.SUBSCRIBED,
            )
        with counting:
            result.created += counts["created"]
            result.updated += counts["updated"]
            result.skipped += counts["skipped"]
            if on_progress:
                on_progress(table.progress(), result)

    def load_all(chunk_source) -> None:
        with connection.cursor() as cursor:
            _temp_table_create(cursor)
            for chunk in chunk_source:
                load_one(cursor, chunk)
            cursor.execute(f"DROP TABLE IF EXISTS {_TEMP}")

    if connection.vendor != "postgresql":
        load_all(chunks)
        return
    shared = connections[DEFAULT_DB_ALIAS]
    own_connections = not shared.in_atomic_block
    loaders = max(1, settings.IMPORT_LOADERS) if own_connections else 1
    handoff: queue.Queue = queue.Queue(maxsize=loaders)
    failures: list[BaseException] = []

    def worker() -> None:
        ended = False

        def handed_chunks():
            nonlocal ended
            while (chunk := handoff.get()) is not None:
                yield chunk
            ended = True

        if not own_connections:
            connections[DEFAULT_DB_ALIAS] = shared
        try:
            load_all(handed_chunks())
        except BaseException as error:  # re-raised in the calling thread
            failures.append(error)
            while not ended and handoff.get() is not None:
                pass
        finally:
            if own_connections:
                connections[DEFAULT_DB_ALIAS].close()

    if not own_connections:
        shared.inc_thread_sharing()
    threads = [
        threading.Thread(target=worker, name=f"import-loader-{n}", daemon=True)
        for n in range(loaders)
    ]
    for thread in threads:
        thread.start()
    try:
        for chunk in chunks:
            if failures:
                break
            handoff.put(chunk)
    finally:
        for _ in threads:
            handoff.put(None)
        for thread in threads:
            thread.join()
        if not own_connections:
            shared.dec_thread_sharing()
    if failures:
        raise failures[0]


def import_run(
    path: Path | str,
    *,
    options: ImportOptions,
    rejected_path: Path | str,
    on_progress: Callable[[float, ImportResult], None] | None = None,
) -> ImportResult:
    """Import a file; raises FileProblem when the whole file is refused
    (nothing is then changed). Bad rows go to `rejected_path` with their reason."""
    result = ImportResult()
    groups = list(Group.objects.filter(id__in=options.group_ids).values_list("id", flat=True))
    options.group_ids = groups
    with table_open(path, encoding=options.encoding) as table:
        mapping = options.mapping or table.mapping_guess()
        mapping = mapping + [IGNORE] * (len(table.headers) - len(mapping))
        if problem := mapping_problem(mapping):
            raise FileProblem(
                f"No column of email addresses was found (the header is: "
                f"{', '.join(table.headers)[:300]}). Name one column “email”."
                if EMAIL not in mapping
                else problem
            )
        checker = RowChecker(table.headers, mapping)
        with _rejected_writer(Path(rejected_path), table.headers) as reject:
            chunks = _rows_in_chunks(table, checker, result, reject)
            _chunks_load(
                chunks, table=table, options=options, result=result, on_progress=on_progress
            )
    if result.rows == 0:
        raise FileProblem("The file has a header but no rows of contacts.")
    result.skipped += result.duplicates
    if result.rejected:
        result.rejected_path = str(rejected_path)
    else:
        Path(rejected_path).unlink(missing_ok=True)
    if result.rejected == result.rows:
        raise FileProblem(
            f"None of the {result.rows:,} rows could be imported; the reasons are in the "
            "rejected rows."
        )
    return result


@contextmanager
def _rejected_writer(path: Path, headers: list[str]):
    """Rejected rows as CSV (UTF-8 with BOM, for spreadsheets): the line, the
    reason, then the row as it was, formula-escaped."""
    from contacts.resources import csv_cell_escape

    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["line", "reason", *headers])

        def reject(line: int, cells: list[str], reason: str) -> None:
            cells = [cell[:MAX_CELL_CHARS] for cell in cells]
            writer.writerow([line, reason, *map(csv_cell_escape, cells)])

        yield reject


# --- Background imports (ImportJob) ---------------------------------------------


def import_job_create(*, upload, actor):
    """Store an uploaded file on disk for a background import; the file is
    read only far enough to preview it. Raises FileProblem (and keeps
    nothing) when it is not a table."""
    from contacts.models import ImportJob

    if upload.size > settings.IMPORT_MAX_FILE_BYTES:
        limit = settings.IMPORT_MAX_FILE_BYTES // 1024**2
        raise FileProblem(f"This file is larger than {limit:,} MB; split it into smaller files.")
    job = ImportJob.objects.create(
        created_by=actor if actor and actor.is_authenticated else None,
        file_name=Path(upload.name).name[:255] or "upload",
        file_size=upload.size,
    )
    folder = Path(settings.IMPORT_DIR) / str(job.pk)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / ("upload" + _safe_suffix(job.file_name))
    with path.open("wb") as out:
        for part in upload.chunks():
            out.write(part)
    job.file_path = str(path)
    job.save(update_fields=["file_path"])
    try:
        file_preview(path)
    except FileProblem:
        import_job_discard(job=job)
        raise
    return job


def _safe_suffix(name: str) -> str:
    suffix = Path(name).suffix.lower()
    return suffix if suffix in (".csv", ".txt", ".tsv", ".xlsx") else ".csv"


def import_job_discard(*, job) -> None:
    folder = Path(job.file_path).parent if job.file_path else None
    if folder and folder.is_dir():
        for child in folder.iterdir():
            child.unlink(missing_ok=True)
        folder.rmdir()
    job.delete()


def import_job_start(
    *,
    job,
    mapping: list[str],
    group_ids: list[int],
    new_group_name: str = "",
    update_existing: bool,
    consent_confirmed: bool,
) -> None:
    """Record the choices of the mapping page and queue the import."""
    from contacts.models import ImportJob
    from contacts.tasks import import_contacts_task

    if problem := mapping_problem(mapping):
        raise FileProblem(problem)
    if not consent_confirmed:
        raise FileProblem("Confirm that these people agreed to receive mail from you.")
    ids = list(group_ids)
    if new_group_name.strip():
        group, _ = Group.objects.get_or_create(name=new_group_name.strip()[:200])
        ids.append(group.pk)
    job.mapping = mapping
    job.update_existing = update_existing
    job.consent_confirmed = True
    job.status = ImportJob.Status.QUEUED
    job.save()
    job.groups.set(ids)
    transaction.on_commit(lambda: import_contacts_task.delay(job.pk))


def import_job_run(*, job_id: int) -> None:
    """Run a queued import (the Celery task), recording progress on the job."""
    from contacts.audit import Action, audit_record
    from contacts.models import ImportJob

    now = timezone.now()
    claimed = ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.QUEUED).update(
        status=ImportJob.Status.RUNNING, started_at=now, heartbeat_at=now
    )
    if not claimed:
        return  # already run, or discarded
    job = ImportJob.objects.get(pk=job_id)
    options = ImportOptions(
        mapping=job.mapping or None,
        group_ids=list(job.groups.values_list("id", flat=True)),
        update_existing=job.update_existing,
        consent_source=f"import: {job.file_name}",
    )
    rejected_path = Path(job.file_path).with_name("rejected.csv")

    def on_progress(fraction: float, result: ImportResult) -> None:
        ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.RUNNING).update(
            progress=fraction, heartbeat_at=timezone.now(), **_counts(result)
        )

    try:
        result = import_run(
            job.file_path, options=options, rejected_path=rejected_path, on_progress=on_progress
        )
    except FileProblem as problem:
        Path(job.file_path).unlink(missing_ok=True)
        kept = rejected_path if rejected_path.exists() else None
        ImportJob.objects.filter(pk=job_id).update(
            status=ImportJob.Status.FAILED,
            error=str(problem),
            finished_at=timezone.now(),
            rejected_path=str(kept or ""),
        )
        return
    # The upload holds personal data and is not needed again; the rejected
    # rows stay for their download.
    Path(job.file_path).unlink(missing_ok=True)
    ImportJob.objects.filter(pk=job_id).update(
        status=ImportJob.Status.DONE,
        progress=1.0,
        finished_at=timezone.now(),
        rejected_path=result.rejected_path,
        **_counts(result),
    )
    details = {"file": job.file_name, **_counts(result)}
    audit_record(actor=job.created_by, action=Action.IMPORTED, target=Contact, details=details)


_COUNT_FIELDS = ("rows", "created", "updated", "skipped", "duplicates", "rejected", "flagged")


def _counts(result: ImportResult) -> dict[str, int]:
    return {name: getattr(result, name) for name in _COUNT_FIELDS}


STALLED_ERROR = (
    "The worker running it ended before the end of the file. "
    "The contacts it had imported are kept. Run it again to import the rest: contacts "
    "already imported are recognised by their address and never doubled."
)


def import_jobs_stalled_mark() -> int:
    """Show as stopped the imports whose worker died (no heartbeat for
    IMPORT_STALLED_SECONDS). They are not restarted behind the user's back:
    the page offers to run them again. Returns how many were marked."""
    from contacts.models import ImportJob

    silent_since = timezone.now() - timedelta(seconds=settings.IMPORT_STALLED_SECONDS)
    return ImportJob.objects.filter(
        status=ImportJob.Status.RUNNING, heartbeat_at__lt=silent_since
    ).update(
        status=ImportJob.Status.FAILED,
        stalled=True,
        error=STALLED_ERROR,
        finished_at=timezone.now(),
    )


def import_job_run_again(*, job) -> bool:
    """Queue a stopped import once more, from the top of its file: what it had
    imported is found again as existing contacts. False when it cannot be."""
    from contacts.models import ImportJob
    from contacts.tasks import import_contacts_task

    if not job.can_run_again:
        return False
    queued = ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.FAILED, stalled=True)
    if not queued.update(
        status=ImportJob.Status.QUEUED, stalled=False, error="", progress=0, finished_at=None,
        **dict.fromkeys(_COUNT_FIELDS, 0),
    ):  # fmt: skip
        return False
    transaction.on_commit(lambda: import_contacts_task.delay(job.pk))
    return True
