"""The importing module and the import_contacts command, fed friendly and
hostile files as people really send them."""

import csv
import io
import zipfile
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from contacts.importing import FileProblem, ImportOptions, file_preview, import_run
from contacts.models import AuditEntry, Contact, Group, Suppression
from tests.factories import ContactFactory, GroupFactory
from tests.spreadsheets import xlsx_bytes

pytestmark = pytest.mark.django_db

ROWS = [
    ["email", "first_name", "last_name"],
    ["ann@example.com", "Ann", "Lee"],
    ["Zoë.Ørsted@example.org", "Zoë", "Ørsted"],
    ["王伟@例子.公司", "伟", "王"],
]


def write(tmp_path: Path, content: bytes, name: str = "list.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


def csv_text(rows, delimiter=",") -> str:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return out.getvalue()


def run(path: Path, **options):
    return import_run(
        path, options=ImportOptions(**options), rejected_path=path.with_suffix(".rej")
    )


def rejected_rows(path: Path) -> list[list[str]]:
    with path.with_suffix(".rej").open(encoding="utf-8-sig", newline="") as source:
        return list(csv.reader(source))[1:]


def emails() -> set[str]:
    return set(Contact.objects.values_list("email", flat=True))


# --- Encodings and delimiters ---------------------------------------------------


@pytest.mark.parametrize(
    "encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "gb18030"]
)
def test_it_reads_every_common_encoding(tmp_path, encoding):
    path = write(tmp_path, csv_text(ROWS).encode(encoding))

    result = run(path)

    assert result.created == 3
    assert emails() == {"ann@example.com", "zoë.ørsted@example.org", "王伟@例子.公司"}
    assert Contact.objects.get(email="ann@example.com").first_name == "Ann"  # no BOM left over
    assert Contact.objects.get(email="王伟@例子.公司").last_name == "王"


def test_it_reads_latin_1_with_its_accents(tmp_path):
    rows = [["email", "first_name", "last_name"]] + [
        [f"c{i}@example.com", "José", "Müller-Grâce"] for i in range(20)
    ]
    path = write(tmp_path, csv_text(rows).encode("latin-1"))

    run(path)

    assert Contact.objects.get(email="c3@example.com").last_name == "Müller-Grâce"


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_it_finds_the_delimiter(tmp_path, delimiter):
    path = write(tmp_path, csv_text(ROWS, delimiter).encode())

    assert run(path).created == 3
    assert Contact.objects.get(email="ann@example.com").last_name == "Lee"


def test_it_keeps_quoted_newlines_and_skips_blank_and_repeated_rows(tmp_path):
    content = (
        'email,first_name\r\n"ann@example.com","Ann\nMarie"\r\n\r\n,\r\n'
        "ANN@example.com,Again\r\nbob@example.com,Bob\r\n"
    )
    path = write(tmp_path, content.encode())

    result = run(path)

    assert (result.created, result.duplicates, result.rejected) == (2, 1, 0)
    assert Contact.objects.get(email="ann@example.com").first_name == "Ann\nMarie"


def test_a_mailchimp_export_imports_as_it_is(tmp_path):
    content = (
        '"Email Address","First Name","Last Name",MEMBER_RATING,OPTIN_TIME,TIMEZONE,LEID\n'
        "ann@example.com,Ann,Lee,2,2024-01-01 10:00:00,Europe/Riga,12\n"
    )
    path = write(tmp_path, content.encode())

    assert file_preview(path).mapping == [
        "email",
        "first_name",
        "last_name",
        "",
        "",
        "time_zone",
        "",
    ]
    run(path)

    ann = Contact.objects.get()
    assert (ann.first_name, ann.last_name, ann.time_zone) == ("Ann", "Lee", "Europe/Riga")


def test_a_listmonk_export_imports_names_attributes_and_blocklisting(tmp_path):
    content = (
        "uuid,email,name,attributes,status,created_at,updated_at\n"
        'u1,ann@example.com,Ann Marie Lee,"{""city"": ""Riga""}",enabled,2024-01-01,2024-01-01\n'
        'u2,bob@example.com,Bob,"{}",blocklisted,2024-01-01,2024-01-01\n'
    )
    path = write(tmp_path, content.encode())

    run(path)

    ann = Contact.objects.get(email="ann@example.com")
    assert (ann.first_name, ann.last_name, ann.attributes) == ("Ann", "Marie Lee", {"city": "Riga"})
    assert ann.status == Contact.Status.SUBSCRIBED
    assert Contact.objects.get(email="bob@example.com").status == Contact.Status.UNSUBSCRIBED


def test_a_file_without_a_header_is_read_from_its_first_row(tmp_path):
    path = write(tmp_path, b"ann@example.com,Ann\nbob@example.com,Bob\n")

    assert run(path).created == 2


# --- Bad rows and bad files -----------------------------------------------------


def test_bad_rows_are_rejected_with_their_reason_and_the_rest_imported(tmp_path):
    rows = [["email", "first_name", "time_zone"]]
    rows += [[f"c{i}@example.com", f"C{i}", "Europe/Paris"] for i in range(19)]
    rows.insert(5, ["not-an-address", "Bad", ""])
    rows.insert(8, ["x@example.com", "Mars", "Mars/Olympus"])
    path = write(tmp_path, csv_text(rows).encode())

    result = run(path)

    assert (result.created, result.rejected) == (19, 2)
    reasons = {row[2]: row[1] for row in rejected_rows(path)}
    assert "@-sign" in reasons["not-an-address"]
    assert "Mars/Olympus" in reasons["x@example.com"]
    assert [row[0] for row in rejected_rows(path)] == ["6", "9"]  # the file's line numbers


def test_ragged_rows_are_padded_or_rejected(tmp_path):
    content = b"email,first_name,last_name\nann@example.com\nbob@example.com,Bob,B,extra\n"
    path = write(tmp_path, content)

    result = run(path)

    assert emails() == {"ann@example.com"}
    assert result.rejected == 1
    assert "4 cells" in rejected_rows(path)[0][1]


def test_a_150_kb_cell_rejects_only_its_row(tmp_path):
    content = f"email,first_name\nann@example.com,{'x' * 150_000}\nbob@example.com,Bob\n"
    path = write(tmp_path, content.encode())

    result = run(path)

    assert emails() == {"bob@example.com"}
    assert "150,000 characters" in rejected_rows(path)[0][1]
    assert result.rejected == 1


def test_formula_cells_are_kept_as_text_and_escaped_in_the_rejected_rows(tmp_path):
    content = b'email,first_name\nann@example.com,"=HYPERLINK(""http://evil"")"\n=1+2,x\n'
    path = write(tmp_path, content)

    run(path)

    assert Contact.objects.get().first_name == '=HYPERLINK("http://evil")'
    assert rejected_rows(path)[0][2] == "'=1+2"  # a spreadsheet shows it, never runs it


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"   \n\n", "only blanks"),
        (b"email,first_name\r\n", "no rows"),
        (b"first_name,last_name\nAnn,Lee\n", "No column of email addresses"),
        (bytes(range(256)) * 40, "binary"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 2000, "binary"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "old Excel"),
        (b"PK\x03\x04 not really a zip", "damaged"),
    ],
    ids=["0-byte", "blank", "header-only", "no-email", "binary", "png-renamed", "xls", "bad-zip"],
)
def test_a_file_that_is_not_a_table_gets_one_clear_error(tmp_path, content, message):
    path = write(tmp_path, content)

    with pytest.raises(FileProblem, match=message):
        run(path)

    assert not Contact.objects.exists()


def test_a_file_of_only_bad_rows_is_refused_but_its_rows_are_explained(tmp_path):
    path = write(tmp_path, b"email\nnope\nalso-nope\n")

    with pytest.raises(FileProblem, match="None of the 2 rows"):
        run(path)

    assert len(rejected_rows(path)) == 2


# --- Workbooks ----------------------------------------------------------------------


def test_it_imports_a_workbook_with_numbers_and_formula_results(tmp_path):
    phone = 4915112345678.0  # Excel keeps numbers as floats
    workbook = xlsx_bytes(["Email", "First name", "Phone"], ["ann@example.com", "Ann", phone])
    path = write(tmp_path, workbook, "list.xlsx")

    preview = file_preview(path)
    run(path, mapping=["email", "first_name", "attribute"])

    assert preview.kind == "xlsx"
    assert Contact.objects.get().attributes == {"Phone": "4915112345678"}


def _workbook_with(tmp_path, part: str, data: bytes, compress=zipfile.ZIP_DEFLATED) -> Path:
    """A real workbook with one part replaced."""
    source = zipfile.ZipFile(io.BytesIO(xlsx_bytes(["email"], ["ann@example.com"])))
    path = tmp_path / "hostile.xlsx"
    with zipfile.ZipFile(path, "w", compress) as out:
        for item in source.infolist():
            out.writestr(item.filename, data if item.filename == part else source.read(item))
    return path


def test_a_zip_bomb_workbook_is_refused_before_it_is_unpacked(tmp_path):
    bomb = b"<x>" + b" " * (300 * 1024 * 1024) + b"</x>"  # 300 MB of blanks, ~300 KB packed
    path = _workbook_with(tmp_path, "xl/worksheets/sheet1.xml", bomb)
    del bomb
    assert path.stat().st_size < 2 * 1024 * 1024

    with pytest.raises(FileProblem, match="zip bomb"):
        run(path)


XXE = b"""<?xml version="1.0"?>
<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>
<row r="1"><c r="A1" t="inlineStr"><is><t>email</t></is></c></row>
<row r="2"><c r="A2" t="inlineStr"><is><t>&xxe;</t></is></c></row>
</sheetData></worksheet>"""
LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>
<row r="1"><c r="A1" t="inlineStr"><is><t>&lol3;</t></is></c></row></sheetData></worksheet>"""


@pytest.mark.parametrize("xml", [XXE, LAUGHS], ids=["xxe", "billion-laughs"])
def test_a_workbook_with_xml_entities_is_refused(tmp_path, xml):
    path = _workbook_with(tmp_path, "xl/worksheets/sheet1.xml", xml)

    with pytest.raises(FileProblem, match="XML entities"):
        run(path)

    assert not Contact.objects.exists()


# --- The status rules -----------------------------------------------------------


@pytest.mark.parametrize(
    "status", [Contact.Status.UNSUBSCRIBED, Contact.Status.BOUNCED, Contact.Status.COMPLAINED]
)
def test_an_opted_out_contact_stays_opted_out_through_an_update(tmp_path, status):
    ContactFactory(email="ann@example.com", first_name="Ann", status=status)
    content = b"email,first_name,status\nann@example.com,Annie,subscribed\n"
    path = write(tmp_path, content)

    result = run(path, update_existing=True)

    ann = Contact.objects.get()
    assert result.updated == 1
    assert (ann.first_name, ann.status) == ("Annie", status)


def test_a_suppressed_address_is_never_imported_as_subscribed(tmp_path):
    Suppression.objects.create(email="ann@example.com", reason=Suppression.Reason.COMPLAINED)
    Suppression.objects.create(email="bob@example.com", reason=Suppression.Reason.MANUAL)
    ContactFactory(email="bob@example.com", status=Contact.Status.SUBSCRIBED)
    path = write(
        tmp_path, b"email,status\nann@example.com,subscribed\nbob@example.com,subscribed\n"
    )

    run(path, update_existing=True)

    assert Contact.objects.get(email="ann@example.com").status == Contact.Status.COMPLAINED
    assert Contact.objects.get(email="bob@example.com").status == Contact.Status.UNSUBSCRIBED


def test_skip_mode_leaves_existing_contacts_alone_but_adds_them_to_the_group(tmp_path):
    ContactFactory(email="ann@example.com", first_name="Ann")
    group = GroupFactory(name="Spring sale")
    path = write(tmp_path, b"email,first_name\nann@example.com,Changed\nbob@example.com,Bob\n")

    result = run(path, group_ids=[group.pk])

    assert (result.created, result.skipped, result.updated) == (1, 1, 0)
    assert Contact.objects.get(email="ann@example.com").first_name == "Ann"
    assert set(group.contacts.values_list("email", flat=True)) == emails()


def test_new_contacts_carry_the_import_as_their_consent_and_their_address_flags(tmp_path):
    path = write(tmp_path, b"email\ninfo@shop.example.com\nann@gmial.com\nx@mailinator.com\n")

    result = run(path, consent_source="import: list.csv")

    flags = dict(Contact.objects.values_list("email", "address_flag"))
    assert flags == {
        "info@shop.example.com": "role",
        "ann@gmial.com": "typo",
        "x@mailinator.com": "disposable",
    }
    assert result.flagged == 3
    ann = Contact.objects.get(email="ann@gmial.com")
    assert ann.consent_source == "import: list.csv" and ann.consent_at is not None
    assert "gmail.com" in ann.address_flag_text


def test_a_lookalike_domain_is_rejected_and_a_real_international_one_kept(tmp_path):
    lookalike = f"ann@gm{chr(0x430)}il.com"  # a Cyrillic a
    path = write(tmp_path, f"email\n{lookalike}\nиван@пример.рф\n".encode())  # noqa: RUF001

    run(path)

    assert emails() == {"иван@пример.рф"}
    assert "alphabets" in rejected_rows(path)[0][1]


# --- The command ----------------------------------------------------------------


def test_the_command_imports_reports_and_writes_the_rejected_rows_next_to_the_file(
    tmp_path, capsys
):
    path = write(tmp_path, b"email;first_name\nann@example.com;Ann\nbad;Bad\n")

    call_command("import_contacts", str(path), "--group", "Fair 2026")

    out = capsys.readouterr()
    assert "1 created" in out.out and "1 rejected" in out.out
    assert "100%" in out.err  # the progress bar
    assert (tmp_path / "list.csv.rejected.csv").exists()
    assert list(Group.objects.get(name="Fair 2026").contacts.values_list("email", flat=True)) == [
        "ann@example.com"
    ]
    assert AuditEntry.objects.filter(action="imported").count() == 1


def test_the_command_fails_when_the_whole_file_is_refused(tmp_path):
    path = write(tmp_path, b"\x00\x01\x02binary" * 100)

    with pytest.raises(CommandError, match="binary"):
        call_command("import_contacts", str(path))


def test_a_stray_nul_byte_costs_nothing_but_its_cell(tmp_path):
    path = write(tmp_path, b"email,first_name\nann@example.com,A\x00nn\nbob@example.com,Bob\n")

    assert run(path).created == 2
    assert Contact.objects.get(email="ann@example.com").first_name == "Ann"
