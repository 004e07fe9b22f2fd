"""How long `manage.py import_contacts` takes for a big file, against a plain
COPY of the same file.

    .venv/bin/python bench/import_contacts.py [N=1000000] [--keep]

The file: N rows of a Mailchimp-like CSV (Email Address, First Name, Last
Name, Language, MEMBER_RATING) with addresses in mixed case, 1% of them again
further down (duplicates), 0.5% malformed, a few role addresses and typos of
common providers, names in several scripts. 10% of the addresses are
contacts already (100,000 for a million; 2% of those unsubscribed), so the
default "skip existing" path has work to do.

Baseline: `COPY scratch FROM STDIN (FORMAT csv, HEADER)` of the same file into
a scratch table of text columns with no index, in the same run.

Product: `manage.py import_contacts FILE` in a child process (no --group:
adding every row to a group costs about as much again, mostly in the
membership table's indexes and foreign-key checks), with the address
checks on and the DNS lookup off (ADDRESS_CHECK_DNS=0): decoding, sniffing,
validation, de-duplication, loading and the rejected-rows file. Its peak memory is the
child's maximum resident set size.

Ends with: RESULT import_contacts <seconds> s ratio <copy/import> to copy
"""

import argparse
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import harness

TARGET_SECONDS = 60
DOMAINS = ["example.com", "Example.org", "shop.example.net", "mail.example.co.uk", "gmail.com"]
FIRST = ["Olivia", "Liam", "Emma", "Noah", "Tomás", "Анна", "Kenji", "美玲", ""]
LAST = ["Smith", "Garcia", "Sato", "Haddad", "Иванова", "Müller", "O'Brien", ""]


def address(i: int) -> str:
    if i % 200 == 3:
        return f"broken{i}.example.com"  # no @: rejected
    if i % 1000 == 5:
        return f"info{i}@gmial.com"  # a typo, flagged
    if i % 1000 == 6:
        return f"sales@shop{i}.example.com"  # a role address, flagged
    return f"Customer.{i}@{DOMAINS[i % len(DOMAINS)]}"


def file_write(path: Path, count: int) -> None:
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write("Email Address,First Name,Last Name,Language,MEMBER_RATING\n")
        for i in range(count):
            j = i - 7 if i % 100 == 99 else i  # 1% repeat an earlier row
            name = f'"{FIRST[j % len(FIRST)]}","{LAST[j % len(LAST)]}"'
            out.write(f"{address(j)},{name},{'de' if j % 7 == 0 else 'en'},{j % 5}\n")


def existing_load(count: int) -> None:
    from contacts.models import Contact

    rows = harness.CopyRows(Contact, ["email", "status"])
    lines = "".join(
        f"customer.{i}@{DOMAINS[i % len(DOMAINS)].lower()}\t"
        f"{'unsubscribed' if i % 50 == 0 else 'subscribed'}{rows.tail}"
        for i in range(0, count, 10)
        if i % 200 != 3 and i % 1000 not in (5, 6)
    ).encode()
    with harness.raw_connection() as db:
        rows.copy(db, lines)
        db.execute("VACUUM ANALYZE contacts_contact")


def copy_baseline(path: Path) -> float:
    with harness.raw_connection() as db:
        db.execute(
            "CREATE TABLE bench_scratch (email text, first_name text, last_name text, "
            "language text, rating text)"
        )
        started = time.perf_counter()
        with (
            db.cursor() as cursor,
            path.open("rb") as source,
            cursor.copy("COPY bench_scratch FROM STDIN (FORMAT csv, HEADER)") as copy,
        ):
            while block := source.read(1 << 20):
                copy.write(block)
        seconds = time.perf_counter() - started
        db.execute("DROP TABLE bench_scratch")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("count", nargs="?", type=int, default=1_000_000, help="rows (N)")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    args = parser.parse_args()

    harness.environment(ADDRESS_CHECK_DNS="0")
    database = harness.database_recreate()
    work = Path(os.environ["VAR_DIR"])
    try:
        harness.migrate()
        harness.django_setup()
        path = work / "contacts.csv"
        started = time.perf_counter()
        file_write(path, args.count)
        existing_load(args.count)
        size = path.stat().st_size
        print(
            f"database {database}: {args.count:,} rows, {size / 1024**2:.0f} MB, "
            f"made in {time.perf_counter() - started:.1f} s",
            flush=True,
        )
        copy_seconds = copy_baseline(path)
        print(f"COPY of the file into a scratch table: {copy_seconds:.1f} s", flush=True)
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "manage.py", "import_contacts", str(path)],
            cwd=harness.ROOT,
            env=os.environ,
            capture_output=True,
            text=True,
        )
        seconds = time.perf_counter() - started
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(done.stdout.strip())
        if done.returncode:
            print(done.stderr[-3000:])
            sys.exit(f"import_contacts failed with exit code {done.returncode}")
        from contacts.models import Contact

        print(
            harness.table(
                [
                    ("COPY into a scratch table", copy_seconds, args.count / copy_seconds),
                    ("import_contacts", seconds, args.count / seconds),
                ],
                ("", "seconds", "rows/s"),
            )
        )
        print(f"contacts now: {Contact.objects.count():,}; import peak memory {peak_mb:,.0f} MB")
        if seconds > TARGET_SECONDS:
            print(f"SLOWER than the target of {TARGET_SECONDS} s")
    finally:
        if not args.keep:
            harness.database_drop(database)
        shutil.rmtree(work, ignore_errors=True)
    print()
    print(harness.result_line("import_contacts", seconds, "s", copy_seconds / seconds, "copy"))


if __name__ == "__main__":
    main()
